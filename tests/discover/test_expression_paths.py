"""The expression engine's evaluation paths against NumPy ``lambdify``: several blocks with a partial
last one (values path: 1024 rows, Jacobian path: 256), integer powers by multiplication (negative bases,
signed zeros, NaN, inf, underflow), the vectorised exp/log with out-of-range inputs in some blocks only,
buffer reuse through common subexpressions, folded constants, broadcast columns, and sparse forward-mode
derivatives (each term with its own constants) against central differences."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from energylens.model.compile import compile_expression

a, b = sp.symbols("a b", real=True)
ROWS = 3 * 1024 + 7


def _same(got: np.ndarray, ref: np.ndarray, rtol: float) -> np.ndarray:
    """Equal within rtol, or the same non-finite value (NaN for NaN, inf of the same sign)."""
    both_nan = np.isnan(got) & np.isnan(ref)
    same_inf = np.isinf(ref) & (got == ref)
    with np.errstate(all="ignore"):
        close = np.isfinite(ref) & np.isclose(got, ref, rtol=rtol, atol=0)
    return both_nan | same_inf | close


def _lambdify(c, features):
    """NumPy lambdify of the compiled expression, its constants as trailing arguments."""
    return sp.lambdify(list(features) + [sp.Symbol(n, real=True) for n in c.param_names], c.expr, "numpy")


def _columns() -> list[np.ndarray]:
    rng = np.random.default_rng(7)
    ca = rng.uniform(-4.0, 4.0, ROWS)
    cb = rng.uniform(-4.0, 4.0, ROWS)
    # Specials in the second values block (rows 1024..2047) and in a Jacobian block of their own.
    specials_a = [0.0, -0.0, np.nan, np.inf, -np.inf, 1e-70, -1e-70, 1e200, -1e160, 3.0]
    specials_b = [2.0, -2.0, 1.0, np.nan, 0.0, -0.0, np.inf, 1e-300, -5.0, 1e155]
    ca[1500:1510] = specials_a
    cb[1500:1510] = specials_b
    return [ca, cb]


POWER_EXPRS = [
    a**3 - 2 * b**5 + a**-3,
    (a * b) ** -2 + a**7 / (b**4 + 1) - b**-1,
    3 * a**2 * b**-3 + (a - b) ** 6 + a**-5,
    (1.5 * a) ** -3 + 0.5 * (a * b + 0.25) ** 3,  # constants inside the base: the Jacobian path's powers
]


@pytest.mark.parametrize("expr", POWER_EXPRS)
def test_integer_powers_over_several_blocks_match_lambdify(expr):
    c = compile_expression(expr, ["a", "b"])
    assert "powi" in c.program.listing
    cols = _columns()
    with np.errstate(all="ignore"):
        ref = np.asarray(_lambdify(c, [a, b])(*cols, *c.start), dtype=float)
    for got in (c.evaluate(cols), c.evaluate(cols, jacobian=True)[0] if len(c.start) else c.evaluate(cols)):
        ok = _same(got, ref, 1e-11)
        assert ok.all(), (np.flatnonzero(~ok)[:5], got[~ok][:5], ref[~ok][:5])


def test_exp_and_log_with_out_of_range_inputs_in_some_blocks():
    x = sp.Symbol("x", real=True)
    expr = sp.exp(x) + sp.log(x) * 0.5 + sp.exp(-x) * sp.log(x * x + 1)
    c = compile_expression(expr, ["x"])
    rng = np.random.default_rng(11)
    col = rng.uniform(0.01, 700.0, ROWS)
    col[2100:2108] = [-800.0, 710.0, np.nan, 0.0, -1.0, np.inf, -np.inf, 1e-310]  # third block only
    with np.errstate(all="ignore"):
        ref = _lambdify(c, [x])(col, *c.start)
        got = c.evaluate([col])
    ok = _same(got, ref, 1e-14)
    assert ok.all(), (np.flatnonzero(~ok)[:5], got[~ok][:5], ref[~ok][:5])


def test_shared_subexpressions_constant_folding_and_broadcast():
    s = a * b + 1
    expr = sp.exp(s / 7) + s**2 * sp.sqrt(sp.Abs(s)) - 1.5 * 2.5 * a / (0.5 * b) + sp.Max(s, a) / 4 - 3
    c = compile_expression(expr, ["a", "b"])
    assert "store" in c.program.listing and "load" in c.program.listing
    cols = _columns()
    cols = [np.nan_to_num(col, nan=0.5, posinf=4.0, neginf=-4.0).clip(-4, 4) for col in cols]
    f = _lambdify(c, [a, b])
    with np.errstate(all="ignore"):
        ref = f(*cols, *c.start)
        ok = _same(c.evaluate(cols), ref, 1e-12)
        assert ok.all()
        one_b = np.float64(1.25)  # a 0-d column stands for every row
        np.testing.assert_allclose(c.evaluate([cols[0], one_b]), f(cols[0], 1.25, *c.start), rtol=1e-12)


def test_sparse_jacobian_matches_central_differences_over_blocks(jacobian_matches_central_differences):
    x, y = sp.symbols("x y", positive=True)
    expr = (1.3 * x**3 + 0.7 * sp.exp(-0.4 * y) + 2.1 * (x * y) ** -2 + 0.5 * (1.2 * x + 0.3) ** -3
            + 0.9 * sp.sqrt(x * y) + sp.log(0.8 * x + y) * 0.6 - 0.2 * (0.5 * y) ** 4)
    c = compile_expression(expr, ["x", "y"])
    assert len(c.start) >= 10
    rng = np.random.default_rng(4)
    cols = [rng.uniform(0.3, 2.5, 700) for _ in range(2)]  # 2 full Jacobian blocks and a partial one
    v, _ = c.evaluate(cols, jacobian=True)
    np.testing.assert_allclose(v, c.evaluate(cols), rtol=1e-13)
    jacobian_matches_central_differences(c, cols, 1e-7)


def test_threads_give_the_same_bits_as_one_thread():
    from energylens import _core

    x, y = sp.symbols("x y", positive=True)
    c = compile_expression(0.3 * x**2 / (y + 0.1) + sp.exp(-0.5 * y) * sp.sqrt(x) - 1.2 * x * y, ["x", "y"])
    rng = np.random.default_rng(5)
    cols = [rng.uniform(0.1, 3.0, 70_001) for _ in range(2)]  # enough rows for more than one thread
    many = c.evaluate(cols), *c.evaluate(cols, jacobian=True)
    _core.set_max_threads(1)
    try:
        one = c.evaluate(cols), *c.evaluate(cols, jacobian=True)
    finally:
        _core.set_max_threads(0)
    for m, o in zip(many, one, strict=True):
        np.testing.assert_array_equal(m, o)


def test_columns_in_any_numeric_form_give_the_same_values_and_bad_ones_are_named():
    # Float64 C-contiguous arrays are read in place (the fast path of the binding); strided views,
    # other dtypes, big-endian arrays, lists and rows of a 2-D array are converted to the same values.
    c = compile_expression(1.5 * a * b + b / a - 2.0, ["a", "b"])
    rng = np.random.default_rng(11)
    wide = rng.uniform(0.5, 3.0, (2, 2 * 1300))
    ca, cb = np.ascontiguousarray(wide[0, ::2]), np.ascontiguousarray(wide[1, ::2])
    ref = c.evaluate([ca, cb])
    forms = {
        "strided": [wide[0, ::2], wide[1, ::2]],
        "float32": [ca.astype(np.float32).astype(np.float64), cb.astype(np.float32).astype(np.float64)],
        "big-endian": [ca.astype(">f8"), cb.astype(">f8")],
        "lists": [ca.tolist(), cb.tolist()],
        "tuple": (ca, cb),
        "2-D rows": np.stack([ca, cb]),
    }
    for name, cols in forms.items():
        want = ref if name != "float32" else c.evaluate([np.asarray(x) for x in cols])
        np.testing.assert_array_equal(c.program.evaluate(cols, c.start, False), want, err_msg=name)
    np.testing.assert_array_equal(c.program.evaluate([ca.astype(np.int64), cb], c.start, False),
                                  c.evaluate([ca.astype(np.int64).astype(float), cb]))
    with pytest.raises(ValueError, match="column 1 is not numeric"):
        c.program.evaluate([ca, ["x"] * len(cb)], c.start, False)
    with pytest.raises(ValueError, match="column 0 must be 1-D"):
        c.program.evaluate([np.stack([ca, ca]), cb], c.start, False)
    with pytest.raises(ValueError, match="reads 2 feature columns, got 3"):
        c.program.evaluate([ca, cb, cb], c.start, False)
    with pytest.raises(TypeError, match="sequence"):
        c.program.evaluate(3.0, c.start, False)
    n = len(c.start)
    with pytest.raises(ValueError, match=f"params must be 1-D with {n} values"):
        c.program.evaluate([ca, cb], c.start[:-1], False)


def _ulps(got: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Distance in units in the last place of ref (0 where both are the same non-finite value)."""
    with np.errstate(all="ignore"):
        d = np.abs(got - ref) / np.spacing(np.abs(ref))
    return np.where((got == ref) | (np.isnan(got) & np.isnan(ref)), 0.0, d)


def test_vectorised_exp_and_log_are_within_one_ulp_of_libm():
    # The engine's exp (fdlibm reduction, in [-708, 708]) and log (positive normal inputs) run as vector
    # kernels; blocks holding anything else go to std::exp / std::log. Measured here against libm (math)
    # over the whole range, the edges of the fast kernels and the values that leave them.
    import math

    rng = np.random.default_rng(5)
    xe = np.concatenate([rng.uniform(-708.0, 708.0, 20000), rng.uniform(-1.0, 1.0, 20000),
                         [-708.0, 708.0, -707.99, 707.99, 0.0, -0.0, 1e-300, -1e-300, 0.5 * np.log(2), np.log(2)]])
    xl = np.concatenate([np.exp(rng.uniform(-700.0, 700.0, 20000)), rng.uniform(0.5, 2.0, 20000),
                         [np.finfo(float).tiny, np.finfo(float).max, 1.0, np.sqrt(0.5), np.sqrt(2.0), 1 - 2**-53]])
    for fn, xs, libm in ((sp.exp, xe, math.exp), (sp.log, xl, math.log)):
        c = compile_expression(fn(a), ["a"])
        ref = np.array([libm(v) for v in xs])
        assert _ulps(c.evaluate([xs]), ref).max() <= 1.0, fn
    # Out of the fast range: overflow, underflow to subnormals and zero, NaN, non-positive logs, each
    # exactly libm's; the in-range value in the same block is its own row's fast value (row-local, as the
    # generated kernels compute it), the same as evaluated alone.
    c = compile_expression(sp.exp(a), ["a"])
    xs = np.array([709.5, -720.0, -745.0, -746.0, np.nan, np.inf, -np.inf, 1.0])
    with np.errstate(all="ignore"):
        got = c.evaluate([xs])
        np.testing.assert_array_equal(got[:-1], np.array([math.exp(v) if np.isfinite(v) and v < 709.8
                                                          else np.exp(v) for v in xs[:-1]]))
    assert got[-1] == c.evaluate([np.array([1.0])])[0] and _ulps(got[-1:], np.array([math.e])).max() <= 1.0
    c = compile_expression(sp.log(a), ["a"])
    xs = np.array([0.0, -0.0, -1.0, 5e-324, 1e-310, np.inf, np.nan, 3.0])
    with np.errstate(all="ignore"):
        got = c.evaluate([xs])
        np.testing.assert_array_equal(got[:-1], np.log(xs[:-1]))
    assert got[-1] == c.evaluate([np.array([3.0])])[0] and _ulps(got[-1:], np.log(xs[-1:])).max() <= 1.0


@pytest.mark.parametrize("jit", ["off", "auto"])
def test_min_and_max_propagate_nan_from_either_operand_as_numpy_does(jit):
    """Min(x, y) with x = [nan, 1], y = [1, nan] gave [1, nan]: the result depended on the operand order
    and hid a NaN that lambdify propagates (Max(log(c)**(3/4), tanh(c)**-2) read 3.76 where lambdify is NaN)."""
    x, y = np.array([np.nan, 1.0, 2.0, np.nan]), np.array([1.0, np.nan, 3.0, np.nan])
    X, Y = sp.symbols("x y")
    for e in (sp.Min(X, Y), sp.Max(X, Y), sp.Min(Y, X), sp.Max(Y, X)):
        c = compile_expression(e, ["x", "y"], params={}, jit=jit)
        if jit == "auto":
            c.compile_kernel()  # the generated kernel where a compiler exists, else the interpreter again
        np.testing.assert_array_equal(c.evaluate([x, y]), sp.lambdify((X, Y), e, "numpy")(x, y))
    a = np.linspace(0.1, 3.0, 7)
    pa = np.array([0.5])
    C, P = sp.Symbol("x"), sp.Symbol("p")
    e = sp.Min(P * C, C ** 2)
    _, jac = compile_expression(e, ["x"], params={"p": 0.5}, jit="off").evaluate([np.r_[a, np.nan]], pa,
                                                                                  jacobian=True)
    assert np.isfinite(np.asarray(jac)[:-1]).all()  # the Jacobian path takes the same branch


def test_a_constant_expression_predicts_every_row():
    """An expression of no feature had no column to count rows by: predict returned [] for five rows and fit
    failed with 'target must be 1-D with 0 values'."""
    from energylens.model import EnergyModel
    from energylens.profiles.datasets import mlenergy_v2

    rows = mlenergy_v2().head(40)
    m = EnergyModel.from_expression("300.0", bootstrap=0)
    np.testing.assert_array_equal(m.predict(rows.head(5)), np.full(5, 300.0))
    m.fit(rows)
    assert m.summary.converged and np.isfinite(m.theta).all()
    assert m.predict(rows).shape == (40,) and np.unique(m.predict(rows)).size == 1


@pytest.mark.parametrize(("expr", "params", "message"), [
    ("tp/0", None, r"undefined or infinite on every row: SymPy reduced a part of it to zoo \(a division by zero"),
    ("log(0)*tp", None, "reduced a part of it to zoo"),
    ("1e400*tp*output_tokens", None, r"constant start\(s\) \{'c0': inf\} are not finite"),
    ("c0*tp", {"c0": float("nan")}, r"constant start\(s\) \{'c0': nan\} are not finite"),
])
def test_undefined_expressions_and_non_finite_starts_are_named(expr, params, message):
    """tp/0 was 'operator ComplexInfinity is not supported'; a start of inf or NaN fitted to status non_finite
    without an error."""
    from energylens.model import EnergyModel
    from energylens.model.compile import UnsupportedExpressionError

    with pytest.raises(UnsupportedExpressionError, match=message):
        EnergyModel.from_expression(expr, params=params, bootstrap=0)
