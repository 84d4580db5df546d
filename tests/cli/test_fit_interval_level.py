"""`energylens fit` printed each parameter's bootstrap interval as '[0.422, 0.54]' without saying which
interval it is (90 %: the refits' 5th and 95th percentiles); a reader could take it for 95 %. A header line
now names the columns and the level, and the printed bounds are the model file's refits' percentiles."""
from __future__ import annotations

import json

import numpy as np

from energylens.cli.main import main
from energylens.profiles.datasets import mlenergy_v2


def test_the_interval_level_is_printed_and_matches_the_refits(tmp_path, capsys):
    path, out = tmp_path / "p.csv", tmp_path / "m.json"
    mlenergy_v2().sample(50, random_state=1).to_csv(path, index=False)
    assert main(["fit", str(path), "-o", str(out), "--bootstrap", "40", "--no-latency"]) == 0
    lines = capsys.readouterr().out.splitlines()
    header = next(i for i, x in enumerate(lines) if "90 % interval" in x)
    energy = json.loads(out.read_text())["energy"]
    names = list(energy["params"])
    assert lines[header + 1].split()[0] == names[0]  # the header stands right above the parameters
    lo, hi = np.quantile(np.asarray(energy["bootstrap_params"]), [0.05, 0.95], axis=0)
    row = next(x for x in lines if x.split()[:1] == ["seq_overhead_us"])
    i = names.index("seq_overhead_us")
    assert f"[{lo[i]:.3g}, {hi[i]:.3g}]" in row


def test_latency_only_prints_the_header_too(tmp_path, capsys):
    path = tmp_path / "p.csv"
    mlenergy_v2().sample(50, random_state=1).to_csv(path, index=False)
    assert main(["fit", str(path), "-o", str(tmp_path / "m.json"), "--bootstrap", "20", "--latency-only"]) == 0
    assert "90 % interval" in capsys.readouterr().out
