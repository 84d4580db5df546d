"""A validated frame edited afterwards (docs/profile-schema.md, "Plausibility limits"; profiles/recheck.py): an
edit the schema would refuse (a count out of range, a size beyond its plausibility limit, NaN, a wrong dtype)
is caught by the re-check, and ``predict`` fails with the schema's error on the same frame read afresh; a frame
the re-check keeps predicts as the schema's frame does. And the features of a validated frame built from NumPy
columns (profiles/frame_columns.py ``FrameColumns``) equal the pandas path's bit for bit.

Random tables are test_paths_differential.py's (valid ones: its noise level 0)."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from feature_parity import assert_same_features
from test_paths_differential import _model, _predicted, raw_tables

from energylens.errors import ProfileSchemaError
from energylens.profiles import load_profiles, tables
from energylens.profiles.features import features_of
from energylens.profiles.frame_columns import FrameColumns
from energylens.profiles.limits import (
    LIMITS,
    MAX_BATCH,
    MAX_GPU_COUNT,
    MAX_TOKENS,
    MIN_ACTIVE_FRACTION,
    within_limits,
)
from energylens.profiles.recheck import still_valid

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, assume, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_NEAR = 1 + 1e-9
#: The columns the re-checks cover (recheck._CHECKS, limits._RECHECKED), and values an edit may set there.
EDITS = {
    "tp": (0, -1, 1.5, np.nan, np.inf, MAX_GPU_COUNT + 1, 2, 4),
    "pp": (0, 1.5, np.nan, MAX_GPU_COUNT + 1, 2),
    "dp": (0, 0.5, np.nan, MAX_GPU_COUNT + 1, 2),
    "ep": (0, 2.5, np.nan, MAX_GPU_COUNT + 1),
    "n_gpus": (0, 1.5, np.nan, MAX_GPU_COUNT + 1),
    "params_b": (0.0, -1.0, 1e-10, 1.1e5, np.nan, np.inf, 1e-9, 1e5, 70.0),
    "active_params_b": (0.0, -1.0, 1e-10, 1e-12, 1e-310, 1.1e5, np.inf, 1e-9),
    "batch_size": (0.0, -1.0, 1e-7, 1e-310, 1e-6 / _NEAR, MAX_BATCH * _NEAR, np.nan, np.inf, 1e-6, MAX_BATCH, 0.5),
    "input_tokens": (0.0, 0.5, 1e-310, MAX_TOKENS + 1, np.nan, np.inf, 1.0, MAX_TOKENS),
    "output_tokens": (0.0, 0.999, 1e300, MAX_TOKENS + 1, np.nan, np.inf, 1.0, MAX_TOKENS),
    "energy_j": (0.0, -1.0, 1e-10, 1e13, np.inf, np.nan, 1e-9, 1e12),
    "tpot_s": (0.0, 1e-10, 1e10, np.inf, np.nan, 0.01),
    "ttft_s": (0.0, -1.0, 1e-10, 1e10, np.nan, 0.2),
}
DTYPES = ("same", "float64", "float32", "object", "str", "Float64", "category")


def _validated(raw: pd.DataFrame) -> pd.DataFrame | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return load_profiles(raw, require_energy=False)
        except (ProfileSchemaError, ValueError, KeyError):
            return None


def _edited(frame: pd.DataFrame, column: str, row: int, value: float, dtype: str) -> pd.DataFrame:
    """``frame`` (attrs kept, as pandas keeps them) with one cell set and the column in ``dtype``."""
    out = frame.copy()
    values = out[column].to_numpy(dtype=np.float64).copy()
    values[row] = value
    if dtype == "same" and out[column].dtype.kind in "iu" and np.isfinite(values).all() \
            and (values == np.round(values)).all():
        out[column] = values.astype(out[column].dtype)
    elif dtype in ("same", "float64"):
        out[column] = values
    elif dtype == "float32":
        with np.errstate(over="ignore"):
            out[column] = values.astype(np.float32)
    else:
        out[column] = pd.Series(values, index=out.index).astype(dtype)
    out.attrs = dict(frame.attrs)
    return out


def _afresh(frame: pd.DataFrame) -> object:
    """load_profiles of ``frame`` as if never validated (its attrs dropped): the frame or the exception."""
    plain = frame.copy()
    plain.attrs = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return load_profiles(plain, require_energy=False)
        except Exception as exc:  # noqa: BLE001 - compared by type
            return exc


def check_edit(frame: pd.DataFrame, column: str, row: int, value: float, dtype: str) -> None:
    assert not isinstance(_afresh(frame), Exception)  # the schema takes its own output (test_reload_idempotent.py)
    if column == "active_params_b" and frame["params_b"].iloc[row] < LIMITS["params_b"].low / MIN_ACTIVE_FRACTION:
        return  # below its limit, a value the fill can give on so small a row passes (limits._filled_active)
    edited = _edited(frame, column, row, value, dtype)
    fresh = _afresh(edited)
    kept = still_valid(edited, MAX_GPU_COUNT) and within_limits(edited)
    # (an edit that breaks a rule between columns, a stale n_gpus after tp, an ep that no longer divides it, an
    # active_params_b above an edited params_b, is compared too since 2026-12-05: profiles/recheck.py checks them)
    if isinstance(fresh, Exception):
        assert not kept, f"the re-check keeps an edit the schema refuses: {fresh}"
        got = _predicted(edited)
        assert type(got) is type(fresh), (got, fresh)
        if isinstance(fresh, ProfileSchemaError):
            assert got.column == fresh.column, (got, fresh)
        return
    if kept:
        check_frame_columns(edited)
    _same_prediction(edited, fresh)


def _same_prediction(edited: pd.DataFrame, fresh: pd.DataFrame) -> None:
    got, want = _predicted(edited), _predicted(fresh)
    if isinstance(got, Exception) or isinstance(want, Exception):
        assert type(got) is type(want), (got, want)
    else:
        np.testing.assert_array_equal(got, want)


def check_text_dtype(frame: pd.DataFrame, column: str, dtype: str) -> None:
    """A validated frame's text column in another dtype (categorical, object, pandas string): the re-check has
    nothing to catch, and FrameColumns and predict read it as the schema's frame."""
    edited = frame.copy()
    edited[column] = edited[column].astype(dtype)
    edited.attrs = dict(frame.attrs)
    fresh = _afresh(edited)
    if isinstance(fresh, Exception):
        return
    check_frame_columns(edited)
    _same_prediction(edited, fresh)


def check_frame_columns(frame: pd.DataFrame) -> None:
    """features_of on FrameColumns equals features_of on the validated DataFrame (pandas Series) bit for bit."""
    plain = frame.reset_index(drop=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            want = features_of(plain)
        except (ValueError, KeyError) as exc:  # an unknown GPU, a precision the GPU cannot run: both refuse
            with pytest.raises(type(exc)):
                features_of(FrameColumns(plain))
            return
        got = features_of(FrameColumns(plain))
    assert_same_features(got, want)


_SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)


@st.composite
def edits(draw):
    frame = _validated(draw(raw_tables()))
    assume(frame is not None)
    column = draw(st.sampled_from(sorted(EDITS)))
    return frame, column, draw(st.integers(0, len(frame) - 1)), draw(st.sampled_from(EDITS[column])), \
        draw(st.sampled_from(DTYPES))


@_SETTINGS
@given(edits())
def test_an_edit_after_validation_meets_the_schemas_decision(edit):
    check_edit(*edit)


@_SETTINGS
@given(raw_tables(), st.sampled_from(("model", "gpu", "precision", "kv_cache_dtype", "architecture")),
       st.sampled_from(("category", "object", "string", "str")))
def test_a_text_column_in_another_dtype_reads_as_the_schemas(raw, column, dtype):
    frame = _validated(raw)
    assume(frame is not None)
    check_text_dtype(frame, column, dtype)


@_SETTINGS
@given(raw_tables())
def test_frame_columns_features_equal_the_pandas_path(raw):
    frame = _validated(raw)
    assume(frame is not None)
    check_frame_columns(frame)


def test_a_filled_active_params_below_its_limit_passes_the_recheck():
    """Regression (found by this audit): the schema fills active_params_b = params_b x the model's active share,
    so a Mixtral row with params_b 1e-9 (its lower limit) gets 2.76e-10, below active_params_b's own limit. The
    re-check refused the frame load_profiles had just returned, and predict on it (or on the raw table through
    the full path) raised, while the light path predicted the same table."""
    raw = pd.DataFrame({"model": ["mistralai/Mixtral-8x7B-Instruct-v0.1"], "params_b": [1e-9],
                        "gpu": ["A100-SXM4-40GB"], "tp": [1], "pp": [1], "batch_size": [1.0], "input_tokens": [1.0],
                        "output_tokens": [1.0]})
    frame = load_profiles(raw, require_energy=False)
    assert frame["active_params_b"].iloc[0] < LIMITS["active_params_b"].low
    assert within_limits(frame)
    light = _model().predict(raw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        np.testing.assert_array_equal(_model().predict(frame), light)
        np.testing.assert_array_equal(_model().predict(raw.astype({"params_b": object})), light)  # the full path
    # an edit below the limit that the fill cannot give is still caught
    for value in (1e-12, 1e-310):
        edited = frame.copy()
        edited["active_params_b"] = value
        assert not within_limits(edited)
        with pytest.raises(ProfileSchemaError, match="active_params_b"):
            _model().predict(edited)


def test_every_model_table_share_is_above_the_fill_floor():
    t = tables.models()
    assert ((t["active_params_b"] / t["params_b"]) >= MIN_ACTIVE_FRACTION).all()
