"""A residual discovery says 'adopt: True' when its term passes the held-out test, but expression_model refused
every residual result ('an energy model needs a discovery of target 'energy''), so an adopted term had no way
to become a model. It now builds template x exp(g) from a fitted template the caller passes."""
from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from energylens.discover import search as ds
from energylens.discover.variables import residual_variables
from energylens.model import EnergyModel
from energylens.model.compile import compile_expression
from energylens.profiles.datasets import mlenergy_v2
from energylens.profiles.features import FEATURE_NAMES, build_features


@pytest.fixture(scope="module")
def residual_result():
    tp, intensity, b = (sp.Symbol(n) for n in ("tp", "intensity", "B"))
    assert {"tp", "intensity", "B"} <= set(residual_variables())
    mp = pytest.MonkeyPatch()
    mp.setattr(ds, "run_backend", lambda *a, **k: [(5, 0.04 - 0.014 * tp), (9, 0.1 - 0.01 * tp - 50.0 * intensity / b)])
    try:
        yield ds.discover("bundled", target="residual", progress=False)
    finally:
        mp.undo()


def test_a_residual_term_becomes_the_template_times_exp_g(residual_result):
    df = mlenergy_v2().reset_index(drop=True)
    with pytest.raises(ValueError, match=r"template=EnergyModel\(bootstrap=0\)\.fit\(profiles, latency=False\)"):
        ds.expression_model(residual_result)
    template = EnergyModel(bootstrap=0).fit(df, latency=False)
    model = ds.expression_model(residual_result, template=template, bootstrap=0)
    g_expr = sp.sympify(residual_result.front[residual_result.chosen].formula)
    feats = build_features(df)
    syms = sorted(g_expr.free_symbols, key=str)
    g = np.broadcast_to(sp.lambdify(syms, g_expr)(*[np.asarray(feats[s.name], float) for s in syms]), (len(df),))
    # before the fit: the template's constants (printed to 6 digits) times the term's
    c = compile_expression(model.expression, FEATURE_NAMES, dict(zip(model.param_names, model.theta, strict=True)))
    start = c.evaluate([feats[n] for n in c.feature_names])
    np.testing.assert_allclose(start, template.predict(df) * np.exp(g), rtol=1e-4)
    model.fit(df)
    assert np.all(model.predict(df) > 0)


def test_other_targets_and_an_unfitted_template_are_refused(residual_result):
    with pytest.raises(ValueError, match="fitted"):
        ds.expression_model(residual_result, template=EnergyModel())
    prefill = ds.DiscoveryResult(**{**residual_result.__dict__, "target": "prefill"})
    with pytest.raises(ValueError, match="target 'energy'"):
        ds.expression_model(prefill)


def test_an_index_outside_the_front_names_the_front(residual_result):
    """expression_model(result, 99) was a bare "IndexError: list index out of range", naming neither the index nor
    how many expressions the front holds (fit --pick 99 names both)."""
    n = len(residual_result.front)
    with pytest.raises(IndexError, match=rf"index 99: this discovery's front holds {n} expressions, 0\.\.{n - 1}"):
        ds.expression_model(residual_result, 99)
