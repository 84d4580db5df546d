"""A fit whose rows cannot identify the parameters (no more distinct configurations than parameters) printed a
90 % interval for every parameter from its bootstrap: 20 copies of one measured row gave
'eta_compute 0.03905 [0.039, 0.039]', a parameter the data cannot pin down shown as known exactly, on the
line below 'parameters NOT identified, no prediction intervals' (predict refuses the intervals as falsely
precise). `energylens fit` and `energylens demo` now print no interval for them and say why."""

from __future__ import annotations

import io
import re

import pandas as pd

from energylens.cli.demo import run_demo
from energylens.cli.main import main

ROW = {"model": "meta-llama/Meta-Llama-3.1-8B-Instruct", "gpu": "NVIDIA H100 80GB HBM3", "tp": 1,
       "batch_size": 16.0, "input_tokens": 512.0, "output_tokens": 256.0, "energy_j": 40.0, "tpot_s": 0.012}

_INTERVAL = re.compile(r"\[\s*[-0-9.e+]+,\s*[-0-9.e+]+\]")


def _param_lines(text: str, names) -> list[str]:
    return [line for line in text.splitlines() if line.split()[:1] and line.split()[0] in names]


def test_fit_prints_no_parameter_interval_when_the_rows_identify_none(tmp_path, capsys):
    path = tmp_path / "p.csv"
    pd.DataFrame([ROW] * 20).to_csv(path, index=False)
    assert main(["fit", str(path), "-o", str(tmp_path / "m.json")]) == 0
    out = capsys.readouterr().out
    lines = _param_lines(out, {"eta_compute", "eta_memory", "static_power_frac", "seq_overhead_us"})
    assert len(lines) == 4, out
    assert not any(_INTERVAL.search(line) for line in lines), out
    assert all("[no interval: not identified]" in line for line in lines), out


def test_fit_still_prints_intervals_when_the_rows_identify_the_parameters(tmp_path, capsys):
    path = tmp_path / "p.csv"
    rows = [dict(ROW, tp=tp, batch_size=b, input_tokens=i, energy_j=40.0 * tp * 64 / b, tpot_s=0.01 + b / 1e4)
            for tp in (1, 2, 4) for b in (8.0, 32.0, 128.0) for i in (256.0, 1024.0)]
    pd.DataFrame(rows).to_csv(path, index=False)
    assert main(["fit", str(path), "-o", str(tmp_path / "m.json")]) == 0
    lines = _param_lines(capsys.readouterr().out, {"eta_memory", "static_power_frac"})
    assert lines and all(_INTERVAL.search(line) for line in lines)


def test_demo_prints_no_parameter_interval_from_as_few_rows_as_parameters():
    out = io.StringIO()
    assert run_demo(compare=False, out=out, train_size=12) == 0
    lines = _param_lines(out.getvalue(), {"eta_compute", "eta_memory", "static_power_frac", "seq_overhead_us"})
    assert len(lines) == 4 and not any(_INTERVAL.search(line) for line in lines), out.getvalue()
