"""The coverage level of every prediction interval: a real number strictly between 0 and 1; anything else is
a ValueError saying so (a string used to fail inside a comparison with a bare TypeError)."""
from __future__ import annotations

import warnings

import pytest

from energylens.model import EnergyModel
from energylens.profiles.datasets import mlenergy_v2


@pytest.mark.parametrize("level", ["0.9", None, True, 0.0, 1.0, float("nan")])
def test_interval_level_must_be_a_number_in_the_open_unit_interval(level):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        v2 = mlenergy_v2()
        m = EnergyModel(bootstrap=20).fit(v2.head(60))
    for call in (m.predict_interval, m.latency_model.predict_interval):
        with pytest.raises(ValueError, match="level must be a number in"):
            call(v2.head(2), level=level)
