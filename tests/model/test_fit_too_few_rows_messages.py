"""Too few rows to fit read "EnergyModel.fit: 1 measurements for 12 parameters" (one fitted from a dict, a
scheduler's single request) and, for an expression model, "ExpressionEnergyModel.fit: 1 rows for 2 constants", which
said neither how many it needs nor what to do. Both now count in the singular where it is one, and the expression
model's says how many rows it needs and why."""

from __future__ import annotations

import pytest

from energylens.model import EnergyModel
from energylens.profiles.datasets import mlenergy_v2


@pytest.fixture(scope="module")
def data():
    return mlenergy_v2().head(5)


def test_template_counts_one_measurement(data):
    with pytest.raises(ValueError, match=r"EnergyModel.fit: 1 measurement for 12 parameters; .* at least 12"):
        EnergyModel(bootstrap=0).fit(data.iloc[0].to_dict(), latency=False)
    with pytest.raises(ValueError, match=r"EnergyModel.fit: 2 measurements for 12 parameters"):
        EnergyModel(bootstrap=0).fit(data.head(2), latency=False)


@pytest.mark.parametrize("rows, said", [(0, "0 rows"), (1, "1 row "), (2, "2 rows")])
def test_expression_says_what_it_needs(data, rows, said):
    model = EnergyModel.from_expression("0.001*input_tokens + 0.01*output_tokens + 3.0", bootstrap=0)
    with pytest.raises(ValueError) as err:
        model.fit(data.head(rows))
    text = str(err.value)
    assert f"ExpressionEnergyModel.fit: {said}" in text and "3 constants" in text
    assert "at least 3 rows" in text and "more distinct configurations than constants" in text
