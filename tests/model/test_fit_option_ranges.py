"""The least-squares options' ranges are checked where the options are made, naming the option: a negative
initial_damping hung the fit (the damping loop never grew past its bound), 0 or NaN gave up at once."""

import math

import numpy as np
import pytest
import sympy as sp

from energylens import _core
from energylens.model.compile import compile_expression

BAD = [("initial_damping", -1.0), ("initial_damping", 0.0), ("initial_damping", math.nan),
       ("initial_damping", math.inf), ("ftol", -1e-8), ("xtol", math.nan), ("gtol", math.inf)]


@pytest.mark.parametrize("name, value", BAD)
def test_fit_options_out_of_range_are_value_errors_naming_the_option(name, value):
    with pytest.raises(ValueError, match=name):
        _core.FitOptions(**{name: value})


@pytest.mark.parametrize("name, value", BAD)
def test_expression_fit_options_out_of_range_are_value_errors_naming_the_option(name, value):
    c = compile_expression(sp.sympify("1.0*x + 1.0"), ["x"])
    cols = [np.linspace(1.0, 2.0, 10)]
    target = c.evaluate(cols, np.array(c.start))
    with pytest.raises(ValueError, match=name):
        _core.fit_expression(c.program, cols, target, c.start, None, None, {name: value})


def test_zero_tolerances_are_allowed():
    o = _core.FitOptions(ftol=0.0, xtol=0.0, gtol=0.0, initial_damping=1e-6)
    assert (o.ftol, o.xtol, o.gtol, o.initial_damping) == (0.0, 0.0, 0.0, 1e-6)
