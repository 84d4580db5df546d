"""``EnergyModel.from_expression(text)`` read the text with ``sympy.sympify``, which evaluates it as Python: a
formula string from a config file or a colleague's message ran whatever it held
(``"__import__('os').system('...')"`` ran the command, then failed with an AttributeError). The model file's
expression has never been evaluated (``parse_srepr``); a formula's text is now checked before SymPy reads it:
numbers, names, + - * / ** ^, and the functions the engine runs, else an UnsupportedExpressionError saying what it
holds, and nothing runs."""

from __future__ import annotations

import numpy as np
import pytest

from energylens.model import EnergyModel
from energylens.model.compile import UnsupportedExpressionError


@pytest.mark.parametrize("text", [
    "__import__('os').system('touch {marker}')",
    "tp + __import__('os').system('touch {marker}')",
    "open('{marker}', 'w').write('x') * tp",
    "(lambda: __import__('os').system('touch {marker}'))()",
    "tp.__class__",
    "[c for c in ()]",
    "tp if 1 else pp",
    "exec('x=1')",
])
def test_code_in_the_text_is_refused_and_not_run(tmp_path, text):
    marker = tmp_path / "ran"
    with pytest.raises(UnsupportedExpressionError, match="formula"):
        EnergyModel.from_expression(text.format(marker=marker))
    assert not marker.exists()


@pytest.mark.parametrize("text, said", [
    ("sin(tp)", "'sin'"),
    ("tp > 1", "comparison"),
    ("tp % 2", "%"),
    ("1j*tp", "1j"),
])
def test_what_the_engine_lacks_is_named(text, said):
    with pytest.raises(UnsupportedExpressionError) as err:
        EnergyModel.from_expression(text)
    assert said in str(err.value)


@pytest.mark.parametrize("text, features, want", [
    ("2.0*tp^2 + sqrt(pp) - exp(0.0*tp) + log(E) + Abs(-1.5) + Max(tp, pp) - Min(tp, 1.0) + tanh(0.0*tp)",
     {"tp": np.array([1.0, 3.0]), "pp": np.array([4.0, 4.0])}, [2 + 2 - 1 + 1 + 1.5 + 4 - 1, 18 + 2 - 1 + 1 + 1.5 + 4 - 1]),
    ("1/2*tp + pi*0 + -tp + +tp", {"tp": np.array([2.0])}, [1.0]),
    ("1e-3*tp**-1", {"tp": np.array([2.0])}, [5e-4]),
])
def test_formulas_read_as_before(text, features, want):
    np.testing.assert_allclose(EnergyModel.from_expression(text).predict_features(features, validate=False), want)
