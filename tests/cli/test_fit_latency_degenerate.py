"""`energylens fit` on as few rows as the latency model has parameters (10 rows, --prior bundled so the energy
model fits): the latency fit is degenerate (DegenerateFitWarning on stderr) but the printed summary named only
its two prefill parameters as not identified, so the other eight read as measured. The latency line now says
its parameters are not identified, with the counts, as the energy model's data line does."""
from __future__ import annotations

import json

import pytest

from energylens.cli.main import main
from energylens.profiles.datasets import mlenergy_v2


@pytest.mark.filterwarnings("ignore")
def test_a_degenerate_latency_fit_says_so_in_the_summary(tmp_path, capsys):
    path, out = tmp_path / "p.csv", tmp_path / "m.json"
    mlenergy_v2().sample(10, random_state=1).to_csv(path, index=False)
    assert main(["fit", str(path), "-o", str(out), "--bootstrap", "0", "--prior", "bundled"]) == 0
    text = capsys.readouterr().out
    n_params = len(json.loads(out.read_text())["latency"]["params"])
    assert n_params >= 10  # as many parameters as rows, or more: nothing identified
    line = next(x for x in text.splitlines() if x.startswith("latency model:"))
    assert "parameters NOT identified" in line, text
    assert f"10 distinct configuration(s) for {n_params} parameters" in line


def test_an_identified_latency_fit_says_nothing_of_it(tmp_path, capsys):
    path, out = tmp_path / "p.csv", tmp_path / "m.json"
    mlenergy_v2().sample(50, random_state=1).to_csv(path, index=False)
    assert main(["fit", str(path), "-o", str(out), "--bootstrap", "0"]) == 0
    assert "NOT identified" not in capsys.readouterr().out
