"""A profile table's row as pandas gives it (``frame.iloc[0]``, a row of ``frame.iterrows()``: a Series) was refused
by predict, predict_interval and predict_phases: "the configurations must be a pandas.DataFrame, ..., a mapping (one
row: column -> value) or a list of mappings, not Series", though a Series is that row's column -> value. It is now
one row, as the mapping it holds (a list of Series, rows)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from energylens.model import EnergyModel
from energylens.profiles.datasets import mlenergy_v2


@pytest.fixture(scope="module")
def models():
    data = mlenergy_v2().head(40)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return [EnergyModel(bootstrap=20).fit(data),
                EnergyModel.from_expression("0.001*input_tokens*tp + 0.01*output_tokens + 3.0", bootstrap=20).fit(data)]


@pytest.mark.parametrize("k", [0, 1])
def test_a_series_is_one_row(models, k):
    model, data = models[k], mlenergy_v2()
    np.testing.assert_array_equal(model.predict(data.iloc[3]), model.predict(data.iloc[[3]]))
    np.testing.assert_array_equal(model.predict([data.iloc[3], data.iloc[7]]), model.predict(data.iloc[[3, 7]]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        np.testing.assert_array_equal(model.predict_interval(data.iloc[3]).to_numpy(),
                                      model.predict_interval(data.iloc[[3]]).to_numpy())
