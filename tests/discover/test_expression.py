"""The native expression engine: compile/evaluate parity with SymPy lambdify (edge values included),
forward-mode derivatives against central differences, the native refit, and EnergyModel.from_expression."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import sympy as sp

from energylens import _core
from energylens.model import EnergyModel, ExpressionEnergyModel, load_model
from energylens.model.compile import UnsupportedExpressionError, compile_expression, parametrize
from energylens.model.symbolic import feature_symbols
from energylens.profiles.datasets import load_profiles_or_bundled

x, y, z = sp.symbols("x y z", positive=True)
EXPRS = [
    1.5 * x**2 / (y + 0.3) - sp.exp(-0.2 * z) + sp.log(x * y) * sp.sqrt(z),
    sp.Max(x, y) / z**3 + x**0.7 - 2 * y + sp.Abs(x - y) + sp.tanh(x / y),
    sp.Min(x, 2.5) * y ** sp.Rational(3, 2) - 1 / (x + 1.0) + 0.25 * z ** (-2),
    x**y + 3.0 * sp.exp(sp.log(z) * 0.5),
]


@pytest.mark.parametrize("expr", EXPRS)
def test_evaluate_matches_lambdify_on_random_and_edge_values(expr):
    c = compile_expression(expr, ["x", "y", "z"])
    rng = np.random.default_rng(1)
    edges = np.array([1e-300, 1e-12, 1.0, 1e3, 1e12])
    cols = [np.concatenate([rng.uniform(0.01, 5.0, 997), edges]) for _ in range(3)]
    f = sp.lambdify([x, y, z], expr, "numpy")
    with np.errstate(all="ignore"):
        ref = np.asarray(f(*cols), dtype=float) * np.ones(len(cols[0]))
    got = c.evaluate(cols)
    same_nonfinite = ~np.isfinite(ref) & ~np.isfinite(got)
    ok = np.isclose(got, ref, rtol=1e-11, atol=0) | same_nonfinite
    assert ok.all(), (got[~ok][:5], ref[~ok][:5])


def test_zero_and_negative_inputs_follow_ieee_like_numpy():
    a, b = sp.symbols("a b", real=True)
    expr = a**2 - 3 * b + sp.Abs(a) * b**3 + a / (b**2 + 1)
    c = compile_expression(expr, ["a", "b"])
    cols = [np.array([0.0, -1.0, -1e150, 2.0, -0.0]), np.array([0.0, -2.0, 1e100, -1e-200, 3.0])]
    with np.errstate(all="ignore"):
        ref = sp.lambdify([a, b], expr, "numpy")(*cols)
    np.testing.assert_allclose(c.evaluate(cols), ref, rtol=1e-12)


@pytest.mark.parametrize("expr", EXPRS)
def test_jacobian_matches_central_differences(expr, jacobian_matches_central_differences):
    c = compile_expression(expr, ["x", "y", "z"])
    rng = np.random.default_rng(2)
    cols = [rng.uniform(0.2, 3.0, 600) for _ in range(3)]
    v, _ = c.evaluate(cols, jacobian=True)
    np.testing.assert_allclose(v, c.evaluate(cols), rtol=1e-12, atol=1e-12)
    jacobian_matches_central_differences(c, cols, 1e-6)


def test_unsupported_operator_and_unknown_symbol_are_named():
    with pytest.raises(UnsupportedExpressionError, match="'sin'"):
        compile_expression(sp.sin(x) + 1.0, ["x"])
    tp = sp.Symbol("tp", positive=True)
    with pytest.raises(UnsupportedExpressionError, match="'Piecewise'"):  # not a TypeError of parametrize
        EnergyModel.from_expression(2.0 * tp + sp.Piecewise((1.0, tp > 1), (0.0, True)))
    with pytest.raises(UnsupportedExpressionError, match="'w'"):
        compile_expression(x + sp.Symbol("w"), ["x"])
    with pytest.raises(ValueError, match="leaves 2 values"):
        _core.ExpressionProgram([(0, 0, 0.0), (0, 0, 0.0)], 1, 0)
    with pytest.raises(ValueError, match="reads column 3"):
        _core.ExpressionProgram([(0, 3, 0.0)], 1, 0)


def test_parametrize_keeps_integer_exponents_fixed():
    e, starts = parametrize(2.5 * x**2.0 + 0.5)
    assert len(starts) == 2 and e.has(x**2)


def test_native_refit_recovers_constants_and_unknown_option_is_typeerror():
    c = compile_expression(sp.sympify("1.0*x*exp(0.1*y) + 1.0*z"), ["x", "y", "z"])
    rng = np.random.default_rng(3)
    cols = [rng.uniform(0.5, 2.0, 50) for _ in range(3)]
    truth = np.array([2.0, 0.7, 0.3])[[c.param_names.index(n) for n in c.param_names]]
    target = c.evaluate(cols, truth)
    fit = _core.fit_expression(c.program, cols, target, c.start, None, None, {"residual": "log"})
    assert fit.converged
    np.testing.assert_allclose(c.evaluate(cols, fit.params), target, rtol=1e-6)
    with pytest.raises(TypeError, match="'bogus'"):
        _core.fit_expression(c.program, cols, target, c.start, None, None, {"bogus": 1})


@pytest.fixture(scope="module")
def bundled():
    return load_profiles_or_bundled("bundled").reset_index(drop=True)


def test_from_expression_matches_template_then_fits_predicts_saves(bundled, tmp_path):
    template = EnergyModel(bootstrap=0).fit(bundled.iloc[:60], latency=False)
    pf, dec = template.to_sympy()
    expr = (pf + dec).xreplace({s: sp.Symbol(n, positive=True) for n, s in feature_symbols().items()})
    model = EnergyModel.from_expression(expr, bootstrap=20, n_starts=1)
    assert isinstance(model, ExpressionEnergyModel)
    np.testing.assert_allclose(model.predict(bundled), template.predict(bundled), rtol=1e-5)
    names = model.param_names
    bounds = {n: (0.0, np.inf) for n in names}
    # the expression's constants are unbounded above: Levenberg-Marquardt needs ~500-850 iterations from the
    # template's fit, more than the default 300, for the fit and every bootstrap refit to converge
    model = EnergyModel.from_expression(expr, bootstrap=20, n_starts=1, bounds=bounds,
                                        max_iterations=2000).fit(bundled.iloc[:60])
    assert model.summary is not None and model.summary.train_mape < 0.2
    assert model.summary.converged and model.summary.bootstrap_converged == 20
    iv = model.predict_interval(bundled.iloc[60:70])
    assert (iv["energy_j_lo"] <= iv["energy_j_hi"]).all()
    path = tmp_path / "expr.json"
    model.save(path)
    back = load_model(path)
    assert isinstance(back, ExpressionEnergyModel)
    np.testing.assert_array_equal(back.predict(bundled), model.predict(bundled))
    np.testing.assert_array_equal(back.predict_interval(bundled.iloc[60:70]), iv)



def test_cli_predict_takes_an_expression_model_file(bundled, tmp_path, capsys):
    from energylens.cli import main

    data, out = tmp_path / "p.csv", tmp_path / "out.csv"
    bundled.iloc[:5].to_csv(data, index=False)
    for boot in (20, 0):
        model = EnergyModel.from_expression("2.0*tp*pp*tdp_w*output_tokens/batch_size + 5.0", bootstrap=boot).fit(bundled)
        model.save(tmp_path / "m.json")
        assert main(["predict", str(tmp_path / "m.json"), str(data), "-o", str(out)]) == 0
        got = pd.read_csv(out)
        np.testing.assert_allclose(got["energy_j_pred"], model.predict(bundled.iloc[:5]), rtol=1e-12)
        assert got[["energy_j_lo", "energy_j_hi"]].notna().all().all() == (boot > 0)
        assert not got["extrapolated"].any()  # the file keeps its training ranges; these rows are inside them
    assert "energy interval columns are NaN" in capsys.readouterr().err


def test_named_constants_print_their_fitted_values(bundled):
    model = EnergyModel.from_expression("c0*tp*pp*tdp_w*output_tokens/batch_size + c1", params={"c0": 1.0, "c1": 5.0},
                                        bootstrap=0).fit(bundled)
    assert not model.to_sympy().free_symbols & {sp.Symbol("c0"), sp.Symbol("c1")}  # plain symbols, by name
    assert f"{model.theta[1]:.6g}"[:5] in model.to_latex()
    assert model.to_sympy(numeric=False).has(sp.Symbol("c1"))


def test_expression_bootstrap_is_the_same_on_one_and_all_threads():
    # The bootstrap's replicates run on parallel.hpp's chunk pool; each replicate draws from its own
    # seeded stream, so the thread count must not change a single bit of the refitted constants.
    from energylens import _core

    model = EnergyModel.from_expression(sp.Float(2.0) * sp.Symbol("batch_size", positive=True) ** sp.Float(0.5)
                                        + sp.Float(3.0) * sp.Symbol("tp", positive=True), bootstrap=16)
    rng = np.random.default_rng(11)
    cols = [rng.uniform(1.0, 50.0, 80), rng.uniform(1.0, 8.0, 80)]
    order = [model.compiled.feature_names.index(n) for n in ("batch_size", "tp")]
    cols = [cols[order.index(i)] for i in range(2)]
    y = model.compiled.evaluate(cols, model.compiled.start) * rng.lognormal(0.0, 0.05, 80)
    start = model.compiled.start
    lo, hi = np.zeros(len(start)), np.full(len(start), np.inf)
    many = _core.bootstrap_expression(model.compiled.program, cols, y, start, lo, hi, 16, {})
    _core.set_max_threads(1)
    try:
        one = _core.bootstrap_expression(model.compiled.program, cols, y, start, lo, hi, 16, {})
    finally:
        _core.set_max_threads(0)
    assert many[1].all()  # every replicate converged, so the comparison is of real refits
    np.testing.assert_array_equal(many[0], one[0])
    np.testing.assert_array_equal(many[1], one[1])


def test_expression_intervals_draw_the_measurement_a_residual_stands_for(bundled):
    """As the template's (tests/model/test_interval_semantics.py): 20 % of runs at 1.8x the model put the
    interval's upper bound at 1.8x the prediction and its lower bound at it, never 0.56x below."""
    model = EnergyModel.from_expression("c0*tp*pp*tdp_w*output_tokens/batch_size + c1", params={"c0": 1.0, "c1": 5.0},
                                        bootstrap=20).fit(bundled)
    model._boot = np.tile(model.theta, (200, 1))  # no parameter scatter: only the measurement's
    ratio = np.where(np.arange(100_000) % 5 == 0, 1.8, 1.0)
    model._residuals = 1.0 / ratio - 1.0
    rows = bundled.head(30)
    iv = model.predict_interval(rows, 0.9)
    pred = model.predict(rows)
    np.testing.assert_allclose(iv["energy_j_lo"] / pred, 1.0, rtol=1e-3)
    np.testing.assert_allclose(iv["energy_j_hi"] / pred, 1.8, rtol=1e-3)
