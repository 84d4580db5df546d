"""What ``EnergyModel.from_expression`` takes, checked where it is given, with the constant or the input named:

- ``bounds={"c0": (3, 1)}`` (or a NaN side) was taken, and fit failed in the native solver with
  "levenberg_marquardt: lower > upper for parameter 0" (which constant?); ``(inf, inf)`` fitted c0 = inf; a bound
  of text, three numbers or one number was "could not convert string to float: 'a'", "too many values to unpack"
  or "cannot unpack non-iterable int object".
- ``params={"a": "x"}`` was "could not convert string to float: 'x'".
- ``None``, ``"tp, pp"`` (a tuple), ``"[tp]"`` were "AttributeError: 'NoneType' object has no attribute
  'free_symbols'"; an empty text was SymPy's "Sympify of expression 'could not parse ''' failed".

Each is now an UnsupportedExpressionError / ValueError saying what is wrong."""

from __future__ import annotations

import math

import pytest

from energylens.model import EnergyModel
from energylens.model.compile import UnsupportedExpressionError

EXPR = "2.0*output_tokens + 1.0"


@pytest.mark.parametrize("pair, said", [
    ((3, 1), "lower 3.0 > upper 1.0"),
    ((math.nan, 4), "not NaN"),
    ((1, math.nan), "not NaN"),
    ((math.inf, math.inf), "lower inf"),
    ((-math.inf, -math.inf), "upper -inf"),
    (("a", 4), "a number"),
    ((1, 2, 3), "(lower, upper)"),
    (1, "(lower, upper)"),
    ((True, 2), "a number"),
])
def test_bad_bounds_are_refused_naming_the_constant(pair, said):
    with pytest.raises(ValueError) as err:
        EnergyModel.from_expression(EXPR, bounds={"c1": pair})
    assert "'c1'" in str(err.value) and said in str(err.value)


def test_good_bounds_are_kept():
    model = EnergyModel.from_expression(EXPR, bounds={"c0": (0, 5), "c1": [-math.inf, 2.0], })
    assert model.params["c0"].lower == 0 and model.params["c0"].upper == 5
    assert model.params["c1"].lower == -math.inf and model.params["c1"].upper == 2.0


@pytest.mark.parametrize("value", ["x", None, [1.0], True])
def test_bad_param_start_names_the_constant(value):
    with pytest.raises(ValueError) as err:
        EnergyModel.from_expression("a*tp", params={"a": value})
    assert "'a'" in str(err.value) and "number" in str(err.value)


@pytest.mark.parametrize("expr", [None, "tp, pp", "[tp]", "", "   ", "tp +", "{1: 2}"])
def test_not_a_formula(expr):
    with pytest.raises(UnsupportedExpressionError) as err:
        EnergyModel.from_expression(expr)
    assert "formula" in str(err.value) and repr(expr) in str(err.value)
