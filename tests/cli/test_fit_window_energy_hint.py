"""`energylens fit` on another tool's table (Zeus's ``total_energy`` / ``gpu_energy``, CodeCarbon's
``energy_consumed``, with no energy_j) said "did you mean column 'total_energy'? Rename it to energy_j": those are
totals over a measurement window (CodeCarbon's in kWh, CPU and RAM included), not GPU joules per request, so the
rename was wrong advice. The error now says what load_profiles says of them: energy_j is the GPU joules per
request over every GPU; kWh x 3,600,000 = J; a window's joules / the requests it completed.
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
    "energy": [4000.0, 1800.0, 6000.0, 2600.0],
})


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
