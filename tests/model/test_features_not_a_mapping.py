"""``EnergyModel.predict_features([1, 2])`` (a list, not a mapping of feature name -> column) raised a ValueError
listing every feature of the template as missing and ``[1, 2] are not features of the template``, as if the
keys were wrong; now a TypeError says a mapping of feature name -> column is expected and names the type given.
The expression model's predict_features and evaluate_features do the same. A DataFrame of feature columns is
still taken."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from tests.model.small_models import small_models

from energylens.profiles.datasets import mlenergy_v2
from energylens.profiles.features import build_features


@pytest.fixture(scope="module")
def models():
    return small_models()


@pytest.mark.parametrize("given", [[1, 2], (1.0,), np.array([1.0, 2.0]), "batch_size", 3.0])
@pytest.mark.parametrize("kind, call", [("template", "predict_features"), ("template", "evaluate_features"),
                                        ("expression", "predict_features"), ("latency", "evaluate_features")])
def test_not_a_mapping_is_a_type_error_naming_the_type(models, kind, call, given):
    with pytest.raises(TypeError, match=r"mapping of feature name -> column") as info:
        getattr(models[kind], call)(given)
    assert type(given).__name__ in str(info.value)
    assert "missing" not in str(info.value)


@pytest.mark.parametrize("kind", ["template", "expression"])
def test_a_dict_and_a_frame_of_features_still_predict(models, kind):
    feats = build_features(mlenergy_v2().head(5))
    got = models[kind].predict_features(feats)
    np.testing.assert_allclose(models[kind].predict_features(pd.DataFrame(feats)), got)
