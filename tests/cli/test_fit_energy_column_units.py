"""`energylens fit` on a table whose energy column is named with another unit (energy_wh, energy_kwh,
energy_per_token_joules as ML.ENERGY v3 names it): the "did you mean" told the user to rename it to energy_j
(J per request), so renaming Wh or per-token values without converting them was the advice. The error now says
what the column's name says it holds and how to convert it; a column already in joules is still just renamed.

Another tool's table (Zeus's ``total_energy`` / ``gpu_energy``, CodeCarbon's ``energy_consumed``) was told the
same rename: those are totals over a measurement window (CodeCarbon's in kWh, CPU and RAM included); the error
now says what load_profiles says of them (GPU joules per request; kWh x 3,600,000 = J; a window's joules / its
requests).
"""

from __future__ import annotations

import pandas as pd
import pytest

from energylens.cli.main import main

ROWS = pd.DataFrame({
    "model": ["meta-llama/Meta-Llama-3.1-8B-Instruct"] * 4,
    "gpu": ["NVIDIA H100 80GB HBM3"] * 4,
    "tp": [1, 1, 2, 2],
    "batch_size": [16.0, 64.0, 16.0, 64.0],
    "input_tokens": [512.0] * 4,
    "output_tokens": [256.0] * 4,
    "energy": [40.0, 18.0, 60.0, 26.0],
})


@pytest.mark.parametrize(("column", "advice"), [
    ("energy_wh", "x 3600"),
    ("energy_kwh", "x 3.6e+06"),
    ("energy_kj", "x 1000"),
    ("energy_mj", "mJ (/ 1000) or MJ (x 1e+06)"),
    ("energy_per_token_joules", "x output_tokens"),
    ("joules_per_token", "x output_tokens"),
])
def test_the_hint_says_how_to_convert_a_column_in_other_units(tmp_path, capsys, column, advice):
    path = tmp_path / "p.csv"
    ROWS.rename(columns={"energy": column}).to_csv(path, index=False)
    assert main(["fit", str(path), "-o", str(tmp_path / "m.json")]) == 2
    err = capsys.readouterr().err
    assert f"did you mean column {column!r}?" in err and advice in err and "Convert it to J per request" in err, err
    assert not (tmp_path / "m.json").exists()


@pytest.mark.parametrize("column", ["energy_joules", "joules", "energy_per_request_j"])
def test_a_column_in_joules_per_request_is_only_renamed(tmp_path, capsys, column):
    path = tmp_path / "p.csv"
    ROWS.rename(columns={"energy": column}).to_csv(path, index=False)
    assert main(["fit", str(path), "-o", str(tmp_path / "m.json")]) == 2
    err = capsys.readouterr().err
    assert f"did you mean column {column!r}? Rename it to energy_j" in err and "Convert" not in err, err


@pytest.mark.parametrize("column", ["total_energy", "gpu_energy", "energy_consumed"])
def test_a_window_total_is_not_to_be_renamed(tmp_path, capsys, column):
    path = tmp_path / "p.csv"
    ROWS.rename(columns={"energy": column}).to_csv(path, index=False)
    assert main(["fit", str(path), "-o", str(tmp_path / "m.json")]) == 2
    err = capsys.readouterr().err
    assert "Rename it to energy_j" not in err, err
    assert repr(column) in err and "GPU joules per request" in err and "3,600,000" in err, err
    assert "requests it completed" in err and "--latency-only" in err, err
    assert not (tmp_path / "m.json").exists()
