"""``EnergyModel.from_expression(expr, name=None)`` (or a number) was taken, saved, and the file then refused to
load ("expression model name = None must be a string"): a model file its own save had written. The name is now
checked where it is given."""

from __future__ import annotations

import pytest

from energylens.model import EnergyModel


@pytest.mark.parametrize("name", [None, 5, b"x", ["a"]])
def test_a_name_that_is_not_text_is_refused(name):
    with pytest.raises(TypeError, match=r"name must be a string"):
        EnergyModel.from_expression("2.0*tp", name=name)


def test_a_text_name_is_kept():
    assert EnergyModel.from_expression("2.0*tp", name="mine").name == "mine"
