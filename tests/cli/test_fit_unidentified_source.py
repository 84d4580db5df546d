"""A parameter no training row depends on (pp_bubble without a pp > 1 row) was explained as 'where the fit
started it (the template's start value, one of --starts' perturbed ones, or the prior's)' whatever the fit: with
--prior it is the prior's value exactly, without one it cannot be, and a latency-only fit has no prior at all.
The line now names the one that applies."""
from __future__ import annotations

import json

import pytest

from energylens.cli.main import main
from energylens.model import EnergyModel
from energylens.model.closed_form import bundled_prior
from energylens.profiles.datasets import mlenergy_v2


def _rows(tmp_path):
    frame = mlenergy_v2()
    path = tmp_path / "p.csv"
    frame[frame["pp"] == 1].sample(30, random_state=3).to_csv(path, index=False)
    return str(path)


def _line(text: str) -> str:
    return next(x for x in text.splitlines() if x.startswith("  not identified: no training row depends on"))


@pytest.mark.filterwarnings("ignore")
def test_with_a_prior_the_value_is_named_the_priors(tmp_path, capsys):
    out = tmp_path / "m.json"
    assert main(["fit", _rows(tmp_path), "-o", str(out), "--bootstrap", "0", "--prior", "bundled"]) == 0
    line = _line(capsys.readouterr().out)
    assert "pp_bubble" in line and "the prior's value (--prior bundled)" in line and "--starts" not in line
    fitted = json.loads(out.read_text())["energy"]["params"]["pp_bubble"]
    assert fitted == pytest.approx(bundled_prior()[EnergyModel().param_names.index("pp_bubble")], rel=1e-6)


@pytest.mark.parametrize("extra", [[], ["--latency-only"]])
def test_without_a_prior_no_prior_is_named(tmp_path, capsys, extra):
    assert main(["fit", _rows(tmp_path), "-o", str(tmp_path / "m.json"), "--bootstrap", "0", *extra]) == 0
    line = _line(capsys.readouterr().out)
    assert "prior" not in line and "--starts" in line
