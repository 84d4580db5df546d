"""A feature given as None (``dict(features, tp=None)``: a scheduler's field never filled) was reported as
"feature 'tp' row 0 is nan", a NaN the caller never wrote, or with validate=False priced as NaN without a word.
None, as a scalar or in a list or object column, is now named as a missing value, where it is, either way."""

import warnings

import numpy as np
import pytest

from energylens.model import EnergyModel
from energylens.profiles.datasets import mlenergy_v2
from energylens.profiles.features import build_features


@pytest.fixture(scope="module")
def model_and_features():
    data = mlenergy_v2().head(40)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = EnergyModel(bootstrap=0).fit(data)
    return model, {k: np.asarray(v, dtype=np.float64) for k, v in build_features(data.head(3)).items()}


@pytest.mark.parametrize("value, where", [(None, "is None"), ([1.0, None, 2.0], "row 1 is None"),
                                          (np.array([1.0, 2.0, None], dtype=object), "row 2 is None")])
@pytest.mark.parametrize("validate", [True, False])
def test_none_is_named(model_and_features, value, where, validate):
    model, features = model_and_features
    with pytest.raises(ValueError) as info:
        model.predict_features(dict(features, tp=value), validate=validate)
    text = str(info.value)
    assert f"feature 'tp' {where}" in text and "missing value" in text, text


def test_numbers_in_lists_and_object_columns_still_pass(model_and_features):
    model, features = model_and_features
    ref = model.predict_features(features)
    tp = features["tp"]
    np.testing.assert_array_equal(model.predict_features(dict(features, tp=list(tp))), ref)
    np.testing.assert_array_equal(model.predict_features(dict(features, tp=tp.astype(object))), ref)
