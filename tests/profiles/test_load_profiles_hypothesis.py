"""load_profiles on random frames (issue 13): whatever the frame, the outcome is a validated frame or one
of the documented errors (ProfileSchemaError, naming source and column), never another exception; frames
built from valid rows always load, with their values and row count kept."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from energylens.errors import ProfileSchemaError
from energylens.profiles import load_profiles
from energylens.profiles.schema import COLUMN_ORDER, OPTIONAL_DEFAULTS, REQUIRED_COLUMNS, SCHEMA_VERSION

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

MODELS = (("meta-llama/Meta-Llama-3.1-8B-Instruct", 8.03), ("meta-llama/Meta-Llama-3.1-70B-Instruct", 70.55),
          ("mistralai/Mixtral-8x7B-Instruct-v0.1", 46.70), ("google/gemma-2-9b-it", 9.24))
GPUS = ("A100-SXM4-40GB", "H100 SXM", "H200")
COLUMNS = (*REQUIRED_COLUMNS, *OPTIONAL_DEFAULTS, "ttft_s", "tpot_s", "prefill_energy_j", "notes", "Energy_J")

# Any cell a user's file might hold: numbers of every sign and size, NaN and inf, text, numbers as text,
# booleans, None.
CELLS = st.one_of(
    st.integers(min_value=-10**12, max_value=10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["1", "0", "-1", "1e9", "nan", "inf", "", " 8 ", "H100 SXM", "bf16", "fp8", "text"]),
    st.sampled_from([m for m, _ in MODELS] + list(GPUS)),
    st.booleans(),
    st.none(),
)


@st.composite
def random_frames(draw) -> pd.DataFrame:
    names = draw(st.lists(st.sampled_from(COLUMNS), min_size=0, max_size=len(COLUMNS), unique=True))
    if draw(st.booleans()):  # mostly the required columns present, so the row checks are reached
        names = list(dict.fromkeys([*REQUIRED_COLUMNS, *names]))
    n = draw(st.integers(min_value=0, max_value=6))
    return pd.DataFrame({c: draw(st.lists(CELLS, min_size=n, max_size=n)) for c in names}, dtype=object)


@st.composite
def valid_frames(draw) -> pd.DataFrame:
    n = draw(st.integers(min_value=1, max_value=8))
    rows = []
    for _ in range(n):
        model, pb = draw(st.sampled_from(MODELS))
        tp, pp = draw(st.sampled_from([1, 2, 4, 8])), draw(st.sampled_from([1, 2]))
        rows.append(dict(
            model=model, params_b=pb, gpu=draw(st.sampled_from(GPUS)), tp=tp, pp=pp,
            batch_size=draw(st.floats(min_value=1, max_value=4096)),
            input_tokens=draw(st.floats(min_value=1, max_value=1e5)),
            output_tokens=draw(st.floats(min_value=1, max_value=1e5)),
            energy_j=draw(st.floats(min_value=1e-3, max_value=1e7))))
    return pd.DataFrame(rows)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frame=random_frames(), require_energy=st.booleans())
def test_random_frames_load_or_raise_a_located_schema_error(frame, require_energy):
    before = frame.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            out = load_profiles(frame, require_energy=require_energy)
        except ProfileSchemaError as exc:
            assert "<DataFrame>" in str(exc) and exc.source == "<DataFrame>"
            # The column named is one of the frame's or a missing required one; rows are positions in it.
            assert exc.column is None or exc.column in frame.columns or exc.column in REQUIRED_COLUMNS
            assert all(0 <= r < len(frame) for r in exc.rows)
            assert "Traceback" not in str(exc)
        else:
            assert len(out) == len(frame)
            assert out.attrs["schema_version"] == SCHEMA_VERSION
            assert list(out.columns[: len(COLUMN_ORDER)]) == list(COLUMN_ORDER)
    pd.testing.assert_frame_equal(frame, before)  # the input is never modified


@settings(max_examples=100, deadline=None)
@given(frame=random_frames())
def test_drop_invalid_never_raises_for_bad_rows(frame):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            out = load_profiles(frame, drop_invalid=True)
        except ProfileSchemaError as exc:  # only a header problem still raises: a missing required column,
            if "missing required column" in str(exc):  # or a near miss of a known one ('Energy_J')
                assert any(c not in frame.columns for c in REQUIRED_COLUMNS)
            else:
                assert "only in case or surrounding spaces" in str(exc) and "Energy_J" in frame.columns
        else:
            assert len(out) + len(out.attrs.get("dropped", ())) == len(frame)


@settings(max_examples=100, deadline=None)
@given(frame=valid_frames())
def test_valid_frames_always_load_with_their_values(frame):
    out = load_profiles(frame)
    assert len(out) == len(frame)
    for col in REQUIRED_COLUMNS:
        if col in ("model", "gpu"):
            assert out[col].tolist() == frame[col].tolist()
        else:
            np.testing.assert_array_equal(out[col].to_numpy(dtype=float), frame[col].to_numpy(dtype=float))
    assert (out["n_gpus"] == out["tp"] * out["pp"] * out["ep"]).all()
