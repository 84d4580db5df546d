"""TTFT in milliseconds under the column ttft_s: `fit` warned only above a median of 2000 "s", so typical
prompts (80-600 ms written as 80-600) fitted without a word, the latency model's prefill pinned at its slowest
(eta_prefill at its lower bound, prefill_batch_factor at its upper one) to reach them, and its TTFT predictions
came out in the wrong unit. The warning now also fires when both prefill parameters end at those bounds; and the
median check no longer says TTFT is "per token"."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from energylens.cli.main import main

GOOD = pd.DataFrame({
    "model": ["meta-llama/Meta-Llama-3.1-8B-Instruct"] * 6 + ["meta-llama/Meta-Llama-3.1-70B-Instruct"] * 6,
    "params_b": [8.03] * 6 + [70.55] * 6,
    "gpu": ["NVIDIA H100 80GB HBM3"] * 12,
    "tp": [1, 1, 2, 2, 4, 4, 2, 2, 4, 4, 8, 8],
    "batch_size": [16.0, 64.0] * 6,
    "input_tokens": [512.0] * 12,
    "output_tokens": [256.0] * 12,
    "energy_j": [40.0, 18.0, 60.0, 26.0, 90.0, 40.0, 300.0, 120.0, 380.0, 160.0, 520.0, 230.0],
    "tpot_s": [0.012, 0.016, 0.010, 0.013, 0.009, 0.011, 0.030, 0.040, 0.022, 0.030, 0.018, 0.025],
    "ttft_s": np.linspace(0.08, 0.6, 12),
})


def _fit(tmp_path, frame, capsys, command="fit") -> str:
    path = tmp_path / "p.csv"
    frame.to_csv(path, index=False)
    argv = (["fit", str(path), "-o", str(tmp_path / "m.json"), "--bootstrap", "0"] if command == "fit" else
            ["evaluate", str(path), "--no-progress", "--repeats", "1", "--splits", "random", "--train-size", "6",
             "--methods", "latency_proxy"])
    assert main(argv) == 0
    return capsys.readouterr().err


@pytest.mark.parametrize("command", ["fit", "evaluate"])
def test_ttft_in_milliseconds_is_warned_of(tmp_path, capsys, command):
    err = _fit(tmp_path, GOOD.assign(ttft_s=GOOD["ttft_s"] * 1000), capsys, command)
    assert "ttft_s" in err and "milliseconds" in err, err


def test_ttft_in_seconds_is_not(tmp_path, capsys):
    assert "milliseconds" not in _fit(tmp_path, GOOD, capsys)


def test_a_huge_median_ttft_is_not_called_per_token(tmp_path, capsys):
    err = _fit(tmp_path, GOOD.assign(ttft_s=5000.0), capsys)
    line = next(x for x in err.splitlines() if "median ttft_s" in x)
    assert "per token" not in line and "milliseconds" in line, line
