"""Plausibility limits of schema v1's numbers (energylens.profiles.limits, docs/profile-schema.md).

The schema accepted any positive number: an ``output_tokens`` of 1e300 or a denormal ``batch_size`` of 1e-310
loaded, and a fit failed far from the cause with a non-finite error. Every number now has a plausible range,
generous enough that every real row (the bundled ML.ENERGY v2 table, the shared v3 export and Splitwise
table) is far inside, and an error names the file, the 1-based data row, the column and the range. The light
path and a once-validated frame edited afterwards go to the same check.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from data_paths import SPLITWISE, V3
from energylens import EnergyModel
from energylens.cli.main import main as cli_main
from energylens.errors import ProfileSchemaError
from energylens.profiles import as_profiles, limits, load_profiles, read_profiles
from energylens.profiles.light import light_profiles
from energylens.profiles.schema import DroppedRowsWarning
from energylens.profiling import spec


def _frame(n: int = 4) -> pd.DataFrame:
    return pd.DataFrame({
        "model": ["meta-llama/Meta-Llama-3.1-8B-Instruct"] * n, "params_b": [8.03] * n,
        "gpu": ["NVIDIA H100 80GB HBM3"] * n, "tp": [1] * n, "pp": [1] * n,
        "batch_size": [16.0 * (i + 1) for i in range(n)], "input_tokens": [200.0] * n,
        "output_tokens": [300.0] * n, "energy_j": [50.0 + i for i in range(n)],
    })


# (column, an absurd value, the range the message states)
ABSURD = [
    ("output_tokens", 1e300, "between 1 and 10,000,000"),
    ("output_tokens", 0.5, "between 1 and 10,000,000"),
    ("input_tokens", 1e300, "between 1 and 10,000,000"),
    ("input_tokens", 1e-310, "between 1 and 10,000,000"),
    ("batch_size", 1e-310, "between 1e-06 and 1.04858e+12"),
    ("batch_size", 1e300, "between 1e-06 and 1.04858e+12"),
    ("energy_j", 1e300, "between 1e-09 and 1e+12"),
    ("energy_j", 1e-310, "between 1e-09 and 1e+12"),
    ("params_b", 1e-310, "between 1e-09 and 100,000"),
    ("params_b", 1e300, "between 1e-09 and 100,000"),
    ("active_params_b", 1e-310, "between 1e-09 and 100,000"),
    ("tpot_s", 1e-310, "between 1e-09 and 1e+09"),
    ("ttft_s", 1e300, "between 1e-09 and 1e+09"),
    ("latency_s", 1e300, "between 1e-09 and 1e+09"),
    ("prefill_energy_j", 1e-310, "between 1e-09 and 1e+12"),
    ("decode_energy_j", 1e300, "between 1e-09 and 1e+12"),
    ("avg_power_w", 1e300, "between 0.001 and 1e+10"),
    ("n_layers", 1e300, "between 1 and 16,777,216"),
    ("d_model", 2.0**30, "between 1 and 16,777,216"),
    ("image_tokens_per_image", 1e300, "between 0 and 10,000,000"),
    ("n_gpus", 1e300, "<= 1048576"),
    ("video_frames", 1e300, "<= 10,000,000"),
]


@pytest.mark.parametrize(("column", "value", "allowed"), ABSURD)
def test_an_absurd_number_names_file_row_column_and_range(tmp_path, column, value, allowed):
    frame = _frame()
    if column not in frame:
        frame[column] = np.nan
    frame[column] = frame[column].astype(float)
    frame.loc[2, column] = value
    path = tmp_path / "runs.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(ProfileSchemaError) as info:
        load_profiles(path)
    head = str(info.value).splitlines()[0]
    assert head.startswith(f"{path}: profile table violates schema v1: column {column!r}: must be ")
    assert allowed in head and "in data row 3 (1-based, header not counted)" in head, head
    assert info.value.column == column and info.value.rows == [2]


def test_the_command_line_exits_non_zero_naming_the_row(tmp_path, capsys):
    frame = _frame()
    frame.loc[1, "output_tokens"] = 1e300
    path = tmp_path / "runs.csv"
    frame.to_csv(path, index=False)
    assert cli_main(["fit", str(path), "-o", str(tmp_path / "m.json"), "--bootstrap", "0"]) == 2
    err = capsys.readouterr().err
    assert re.search(rf"{re.escape(str(path))}: .*column 'output_tokens': must be between 1 and 10,000,000 .* "
                     r"in data row 2 \(1-based", err)
    assert not (tmp_path / "m.json").exists()


@pytest.mark.parametrize(("column", "value"), [("output_tokens", 1e300), ("batch_size", 1e-310),
                                               ("input_tokens", 2e7), ("tpot_s", 1e-310)])
def test_the_light_path_and_an_edited_validated_frame_take_the_same_check(column, value):
    raw = _frame()
    raw[column] = raw.get(column, 0.01)
    raw.loc[1, column] = value
    assert light_profiles(raw, require_energy=True) is None  # the full path then names it
    with pytest.raises(ProfileSchemaError, match=f"column '{column}': must be between"):
        EnergyModel(bootstrap=0).fit(raw, latency=False)
    validated = load_profiles(_frame().assign(tpot_s=0.01))
    validated.loc[1, column] = value  # attrs say validated: the re-check must not trust it
    with pytest.raises(ProfileSchemaError, match=f"column '{column}': must be between .* data row 2 of the DataFrame"):
        as_profiles(validated)


def test_the_bounds_themselves_and_a_batch_below_one_are_accepted():
    """Both ends are allowed. A running batch below one is a real measurement: the profiler's server mode at
    max_num_seqs 1 counts a request while it streams tokens, not while it prefills or travels."""
    frame = _frame(4).assign(batch_size=[0.8, 1e-6, limits.MAX_BATCH, 3.0],
                             input_tokens=[1.0, limits.MAX_TOKENS, 5.0, 6.0],
                             output_tokens=[limits.MAX_TOKENS, 1.0, 7.0, 8.0], energy_j=[1e-9, 1e12, 3.0, 4.0])
    out = load_profiles(frame)
    assert out["batch_size"].tolist() == [0.8, 1e-6, limits.MAX_BATCH, 3.0]
    assert light_profiles(frame, require_energy=True) is not None


def test_drop_invalid_drops_the_absurd_rows_with_the_reason():
    frame = _frame(4)
    frame.loc[0, "output_tokens"] = 1e300
    frame.loc[3, "batch_size"] = 1e-310
    with pytest.warns(DroppedRowsWarning, match=r"dropped 2 of 4 rows"):
        out = load_profiles(frame, drop_invalid=True)
    assert out.index.tolist() == [1, 2]
    reasons = out.attrs["dropped"]["reason"].tolist()
    assert reasons[0].startswith("output_tokens: must be between 1 and 10,000,000")
    assert reasons[1].startswith("batch_size: must be between 1e-06")


def test_the_token_and_batch_limits_are_the_profiling_specs():
    """One number for the longest prompt or output and the largest max_num_seqs, in the spec and the schema
    (profiling imports profiles, so the schema cannot import the spec's constants: this keeps them equal)."""
    assert spec.MAX_TOKENS == limits.MAX_TOKENS
    assert spec.MAX_NUM_SEQS == limits.MAX_NUM_SEQS


def test_every_real_row_is_inside_the_limits():
    frames = [read_profiles("bundled")]
    if V3.is_file():
        frames.append(read_profiles(V3))
    if SPLITWISE.is_file():
        with pytest.warns(DroppedRowsWarning):  # its derived (not measured) rows, as always
            frames.append(read_profiles(SPLITWISE, require_energy=False))
    for df in frames:
        assert limits.within_limits(df)
        for column, lim in limits.LIMITS.items():
            v = df[column].to_numpy(dtype=float)
            v = v[~np.isnan(v)]
            assert ((v >= lim.low) & (v <= lim.high)).all(), column
    assert len(frames[0]) == 356
