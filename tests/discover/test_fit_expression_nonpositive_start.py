"""``energylens fit PROFILES --expression DISCOVERY.json`` where the discovery's constants predict <= 0 J on some
of the fitted rows (a discovery made on other profiles: ML.ENERGY v3's chosen entry on the bundled rows): the
log-residual fit stopped before its first step (status non_finite) and fit exited 2, while ``evaluate
--expression`` fitted the same entry (relative error first, then the log residual from there). Both now take that
start, through :func:`energylens.discover.adopt.fit_front_expression`; an expression no fit can evaluate is still
refused, saying on which rows it cannot be evaluated."""
from __future__ import annotations

import numpy as np
import pytest

sp = pytest.importorskip("sympy")

from energylens.cli import main  # noqa: E402
from energylens.discover import DiscoveredExpression, expression_model, load_discovery  # noqa: E402
from energylens.discover.adopt import fit_front_expression  # noqa: E402
from energylens.discover.result import DiscoveryResult, FrontEntry  # noqa: E402
from energylens.model import load_model  # noqa: E402
from energylens.profiles.datasets import mlenergy_v2  # noqa: E402
from energylens.profiles.features import FEATURE_NAMES  # noqa: E402

NEGATIVE = "2.0*output_tokens*tdp_w/batch_size - 10000000.0"  # <= 0 J on most bundled rows as written
NEVER = "1.0*log(2.0 - 1.0*tp) + 5.0"  # log of a non-positive number at tp >= 2 whatever the constants


def _discovery(path, formula):
    names = {n: sp.Symbol(n, positive=True) for n in FEATURE_NAMES}  # as discover writes its formulas
    entry = FrontEntry(complexity=5, expression=formula, latex="", cv_error=0.1,
                       formula=sp.srepr(sp.sympify(formula, locals=names)), heldout={"mape": 0.1})
    result = DiscoveryResult(target="energy", backend="operon", backend_reason="test", seed=0, n_train=10,
                             n_heldout=5, variables={}, front=[entry], template={"mape": 0.1}, chosen=0, seconds=1.0,
                             profiles="elsewhere.csv")
    path.write_text(result.to_json())
    return path


def test_fit_refits_constants_predicting_no_positive_energy_as_evaluate_does(tmp_path, capsys):
    path, out = _discovery(tmp_path / "d.json", NEGATIVE), tmp_path / "m.json"
    profiles = mlenergy_v2()
    plain = expression_model(load_discovery(path), bootstrap=0).fit(profiles)
    assert plain.summary.status == "non_finite" and plain.summary.iterations == 0  # the bare start
    assert main(["fit", "bundled", "--expression", str(path), "--bootstrap", "0", "-o", str(out)]) == 0, \
        capsys.readouterr().err
    text = capsys.readouterr().out
    assert "(converged)" in text and "non_finite" not in text and "a relative-error fit gave the start" in text
    model = load_model(out)
    assert model.options["residual"] == "log" and model.summary.converged
    method = DiscoveredExpression(load_discovery(path), seed=0, n_starts=3).fit(profiles)
    np.testing.assert_allclose(model.predict(profiles, check_range=False),
                               method.predict_energy(profiles), rtol=1e-9)  # the two commands agree
    assert np.all(model.predict(profiles, check_range=False) > 0)


def test_an_expression_no_fit_can_evaluate_is_still_refused(tmp_path, capsys):
    path, out = _discovery(tmp_path / "d.json", NEVER), tmp_path / "m.json"
    assert main(["fit", "bundled", "--expression", str(path), "--bootstrap", "0", "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "cannot be evaluated on" in err and "not written" in err, err  # (test_fit_expression_messages.py)
    assert not out.exists()
    model = fit_front_expression(load_discovery(path), None, mlenergy_v2().head(80), bootstrap=0)
    assert model.summary.status == "non_finite" and model.options["residual"] == "log"
