"""The weight of the measured-TPOT residuals in EnergyModel's joint fit: its default, that it trades energy
residuals against TPOT residuals as weighted least squares does, that it persists, and the CLI option."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from energylens.cli.main import main as cli_main
from energylens.model import reference as R
from energylens.model.closed_form import ENERGY_TPOT_WEIGHT, EnergyModel, LatencyModel, load_model
from energylens.profiles.datasets import mlenergy_v2
from energylens.profiles.features import build_features


@pytest.fixture(scope="module")
def rows():
    data = mlenergy_v2()
    return data[np.isfinite(data["tpot_s"])].sample(80, random_state=3).reset_index(drop=True)


def _ssr(model: EnergyModel, rows) -> tuple[float, float]:
    """Sums of squared log residuals of energy and of the step time the energy implies (the two blocks)."""
    f = build_features(rows)
    e = np.log(model.predict(rows) / rows["energy_j"].to_numpy(float))
    t = np.log(R.energy_tpot(f, model.theta) / rows["tpot_s"].to_numpy(float))
    return float(e @ e), float(t @ t)


def test_default_weight_is_the_documented_one():
    assert ENERGY_TPOT_WEIGHT == 1.0
    assert EnergyModel().options["tpot_weight"] == ENERGY_TPOT_WEIGHT == LatencyModel().options["tpot_weight"]
    with pytest.raises(ValueError, match="tpot_weight must be a finite number >= 0"):
        EnergyModel(tpot_weight=-0.1)


def test_weight_trades_energy_against_tpot_residuals(rows):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fits = {w: _ssr(EnergyModel(tpot_weight=w, bootstrap=0, n_starts=5).fit(rows, latency=False), rows)
                for w in (0.0, 0.25, 1.0, 4.0)}
    energy = [fits[w][0] for w in sorted(fits)]
    tpot = [fits[w][1] for w in sorted(fits)]
    # weighted least squares: more weight on TPOT never fits TPOT worse nor energy better
    assert all(b >= a * (1 - 1e-6) for a, b in zip(energy, energy[1:], strict=False)), energy
    assert all(b <= a * (1 + 1e-6) for a, b in zip(tpot, tpot[1:], strict=False)), tpot
    assert energy[-1] > 1.05 * energy[0] and tpot[-1] < 0.5 * tpot[0]   # and the weight does matter


def test_weight_persists_and_the_latency_model_ignores_it(rows, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = EnergyModel(tpot_weight=0.5, bootstrap=0).fit(rows)
        b = EnergyModel(bootstrap=0).fit(rows)
    path = tmp_path / "m.json"
    a.save(path)
    assert load_model(path).options["tpot_weight"] == 0.5      # the file keeps the weight it was fitted with
    np.testing.assert_array_equal(load_model(path).theta, a.theta)
    assert not np.array_equal(a.theta, b.theta)
    np.testing.assert_array_equal(a.latency_model.theta, b.latency_model.theta)


def test_cli_option(rows, tmp_path, capsys):
    profiles = tmp_path / "p.csv"
    rows.to_csv(profiles, index=False)
    out = tmp_path / "m.json"
    assert cli_main(["fit", str(profiles), "-o", str(out), "--bootstrap", "0", "--tpot-weight", "0.5"]) == 0
    assert json.loads(out.read_text())["energy"]["options"]["tpot_weight"] == 0.5
    out.unlink()
    assert cli_main(["fit", str(profiles), "-o", str(out), "--bootstrap", "0"]) == 0
    assert json.loads(out.read_text())["energy"]["options"]["tpot_weight"] == ENERGY_TPOT_WEIGHT
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        cli_main(["fit", str(profiles), "-o", str(tmp_path / "x.json"), "--tpot-weight", "-1"])
    assert exc.value.code == 2
    assert "--tpot-weight" in capsys.readouterr().err
