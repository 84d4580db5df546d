"""The native least-squares fit stops at the same point whatever the units of the data and of the constants.

Its step test compared |dx| with |x| over all parameters in their own units, its gradient test |J^T r| with
a fixed 1e-12, and its damping floored diag(J^T J) at a fixed 1e-12, so the same fit with a feature in other
units (its constant that many times larger) stopped elsewhere: x 1e9 "converged_gradient" 8e-5 off the
optimum (log residuals), x 1e12 after one step at 30 x the optimal cost (log) or 6e-3 off (absolute). The
tests are now MINPACK's, in the parameters scaled by their Jacobian columns' norms (docs/model.md section 5).
Energies in J or kJ and rows weighted alike never moved the fit (the cost test was relative already): the
first two tests keep it so.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("sympy")

from energylens import EnergyModel, _core  # noqa: E402
from energylens.model.compile import compile_expression  # noqa: E402
from energylens.profiles.datasets import mlenergy_v2  # noqa: E402

TIGHT = {"ftol": 1e-15, "xtol": 1e-15, "gtol": 0.0, "max_iterations": 20000}


@pytest.fixture(scope="module")
def rows():
    return mlenergy_v2().sample(80, random_state=0)


def _linear(s: float) -> str:
    return f"{1.68 * s}*E_comp + {1.47 * s}*E_mem*pp + {2.31 * s}*E_pf + {141.7 * s}*E_seq + {0.59 * s}"


@pytest.mark.parametrize("s", [1e3, 1e-3])
def test_energies_in_other_units_fit_the_same_constants(rows, s):
    base = EnergyModel.from_expression(_linear(1.0), bootstrap=0, n_starts=1).fit(rows)
    scaled_rows = rows.assign(energy_j=rows["energy_j"] * s)
    scaled = EnergyModel.from_expression(_linear(s), bootstrap=0, n_starts=1).fit(scaled_rows)
    assert scaled.summary.status == base.summary.status == "converged_cost"
    # (the constants' names follow SymPy's order of the terms, which their values can change: compared sorted)
    np.testing.assert_allclose(np.sort(np.asarray(scaled.theta) / s), np.sort(np.asarray(base.theta)), rtol=1e-6)
    assert scaled.summary.cost == pytest.approx(base.summary.cost, rel=1e-9)


def test_rows_weighted_alike_fit_the_same_template_parameters(rows):
    one = EnergyModel(bootstrap=0).fit(rows, latency=False)
    three = EnergyModel(bootstrap=0).fit(pd.concat([rows] * 3, ignore_index=True), latency=False)
    assert three.summary.iterations == one.summary.iterations
    np.testing.assert_allclose(np.asarray(three.theta), np.asarray(one.theta), rtol=1e-7)
    assert three.summary.cost == pytest.approx(3 * one.summary.cost, rel=1e-9)


def _synthetic():
    rng = np.random.default_rng(0)
    x0, x2 = rng.uniform(1, 10, 60), rng.uniform(1, 100, 60)
    y = (2.0 * x0 + 0.3 * np.sqrt(x2)) * np.exp(0.05 * rng.normal(size=60))
    program = compile_expression("a*x0 + d*sqrt(x2)", ["x0", "x2"], {"a": 1.0, "d": 1.0}, jit="off").program
    return program, x0, x2, y


@pytest.mark.parametrize("residual", ["log", "absolute"])
@pytest.mark.parametrize("unit", [1e3, 1e9, 1e12])
def test_features_in_other_units_stop_at_the_same_point(residual, unit):
    program, x0, x2, y = _synthetic()
    start = np.array([1.0, 1.0])
    ref = _core.fit_expression(program, [x0, x2], y, start, None, None, {**TIGHT, "residual": residual})
    # x0 in units `unit` times larger (a: `unit` times larger), x2 in unit^2 (d, on sqrt(x2): `unit` larger)
    fit = _core.fit_expression(program, [x0 / unit, x2 / unit**2], y, start * unit, None, None,
                               {"residual": residual})
    assert fit.status == "converged_cost", fit.status
    np.testing.assert_allclose(np.asarray(fit.params) / unit, np.asarray(ref.params), rtol=1e-6)
    assert fit.cost == pytest.approx(ref.cost, rel=1e-9)



#: Expressions (start constants times ``f``) whose log-residual fit stopped far from the optimum once ``f`` >= 1e6:
#: "converged_step" / "converged_cost" at 500-15000 x the optimal cost (the constants crawled down under heavy
#: damping, one crossed zero and a row's prediction near 0 held the rest). The fit now starts from the start
#: scaled by the overall factor that minimises the cost along it (the constants the expression is proportional to).
FAR = {"linear": lambda f: f"{1.68 * f}*E_comp + {1.47 * f}*E_mem*pp + {2.31 * f}*E_pf + {141.7 * f}*E_seq + {0.59 * f}",
       "power": lambda f: f"{1.0 * f}*(tp*tdp_w*output_tokens/batch_size)**0.9 + {5.0 * f}"}


@pytest.mark.parametrize("shape", sorted(FAR))
@pytest.mark.parametrize("f", [1e6, 1e7, 1e9, 1e-9])
def test_constants_started_far_from_the_optimum_reach_it(rows, shape, f):
    near = EnergyModel.from_expression(FAR[shape](1.0), bootstrap=0).fit(rows)
    far = EnergyModel.from_expression(FAR[shape](f), bootstrap=0).fit(rows)
    assert far.summary.converged, far.summary.status
    assert far.summary.cost == pytest.approx(near.summary.cost, rel=1e-6), (far.summary.status, far.summary.cost)
    assert far.compiled.start.tolist() == EnergyModel.from_expression(FAR[shape](f)).compiled.start.tolist()
