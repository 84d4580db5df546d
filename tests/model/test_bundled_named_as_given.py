"""A fit's DegenerateFitWarning about the bundled data named it by its package path ('... of
.../site-packages/energylens/data/mlenergy_v2_2024/llm_configs_flat.csv: data rows ...') where the user had
typed 'bundled'; it now names it as given."""

from __future__ import annotations

import warnings

from energylens.errors import DegenerateFitWarning
from energylens.model import EnergyModel


def test_the_warning_names_bundled_as_given():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        EnergyModel.from_expression("1.0*log(tp - 1) + 3.0*input_tokens", bootstrap=0).fit("bundled")
    said = [str(w.message) for w in caught if issubclass(w.category, DegenerateFitWarning)]
    rows = next(s for s in said if "is not finite" in s)
    assert "(1-based, header not counted) of bundled)" in rows, rows
    assert "llm_configs_flat.csv" not in rows and "energylens/data" not in rows
