"""An expression with no fitted constant (integers and rationals stay fixed: ``2*E_mem + 1``) could not be fitted,
and ``fit`` said so in the native function's words, "fit_expression: the expression has no constants to fit",
naming neither the model, the expression, nor that writing ``2.0`` instead of ``2`` makes a constant."""
from __future__ import annotations

import pytest

from energylens.model import EnergyModel
from energylens.profiles.datasets import mlenergy_v2

pytest.importorskip("sympy")


@pytest.mark.parametrize("text", ["2*E_mem + 1", "E_mem"])
def test_fit_of_an_expression_without_constants_says_how_to_write_one(text):
    model = EnergyModel.from_expression(text, bootstrap=0)
    with pytest.raises(ValueError) as err:
        model.fit(mlenergy_v2().head(20))
    msg = str(err.value)
    assert msg.startswith("ExpressionEnergyModel.fit: ") and "no constant to fit" in msg
    assert "integers and rationals stay fixed" in msg and "2.0" in msg and "params=" in msg
    assert model.predict(mlenergy_v2().head(2)).shape == (2,)  # it predicts as written
