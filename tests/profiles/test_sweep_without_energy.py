"""A sweep measured where NVML was missing (energy_j NaN, energy_measured False): ``load_profiles`` refused it,
as it should without ``require_energy=False``, but its advice was ``drop_invalid=True``, which drops every row,
while ``energylens fit`` fits the latency model alone on the same rows. The error now names
``require_energy=False`` and ``LatencyModel``, and offers ``drop_invalid=True`` only where rows would be left."""

from __future__ import annotations

import math

import pandas as pd
import pytest

import energylens
from energylens.errors import ProfileSchemaError

ROWS = pd.DataFrame({
    "model": ["meta-llama/Meta-Llama-3.1-8B-Instruct"] * 6,
    "gpu": ["NVIDIA H100 80GB HBM3"] * 6,
    "tp": [1, 1, 2, 2, 4, 4],
    "batch_size": [16.0, 64.0] * 3,
    "input_tokens": [512.0] * 6,
    "output_tokens": [256.0] * 6,
    "energy_j": [math.nan] * 6,
    "energy_measured": [False] * 6,
    "power_source": ["none (NVML unavailable: no driver)"] * 6,
    "tpot_s": [0.012, 0.016, 0.010, 0.013, 0.009, 0.011],
})


def test_rows_without_energy_point_at_require_energy_not_at_dropping_them(tmp_path):
    path = tmp_path / "sweep.csv"
    ROWS.to_csv(path, index=False)
    with pytest.raises(ProfileSchemaError) as info:
        energylens.load_profiles(path)
    text = str(info.value)
    assert "energy_j" in text and "require_energy=False" in text and "LatencyModel" in text, text
    assert "drop_invalid=True" not in text, text  # every row would go
    # the advice works: the rows read, and the latency model fits on them
    profiles = energylens.load_profiles(path, require_energy=False)
    assert len(profiles) == len(ROWS) and profiles["energy_j"].isna().all()


def test_drop_invalid_is_still_offered_where_rows_would_be_left(tmp_path):
    path = tmp_path / "sweep.csv"
    ROWS.assign(energy_j=[math.nan, 20.0, 30.0, 40.0, 50.0, 60.0]).to_csv(path, index=False)
    with pytest.raises(ProfileSchemaError) as info:
        energylens.load_profiles(path)
    text = str(info.value)
    assert "drop_invalid=True" in text and "require_energy=False" in text, text
