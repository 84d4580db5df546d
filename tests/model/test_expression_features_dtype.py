"""ExpressionEnergyModel.predict_features had no ``dtype=`` where EnergyModel.predict_features has one: a scheduler
holding float32 feature columns and switching to a discovered formula got a TypeError ('unexpected keyword argument
dtype'). It takes ``dtype`` now, with the template's semantics: np.float64 (the default) or np.float32, the result in
that dtype, the features read as that dtype (float32 rounded, as the template's float32 loop reads them), and the
template's errors for any other dtype (ValueError; NumPy's TypeError for what is not a dtype)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from energylens.model import EnergyModel
from energylens.profiles.datasets import mlenergy_v2
from energylens.profiles.features import build_features

EXPR = "0.001*input_tokens*tp + 0.01*output_tokens + 3.0"


@pytest.fixture(scope="module")
def data():
    return mlenergy_v2()[lambda d: d["gpu"].str.contains("H100")].head(40)


@pytest.fixture(scope="module")
def models(data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {"expression": EnergyModel.from_expression(EXPR, bootstrap=0).fit(data),
                "template": EnergyModel(bootstrap=0).fit(data, latency=False)}


@pytest.fixture(scope="module")
def features(data):
    return build_features(data)


@pytest.mark.parametrize("kind", ["expression", "template"])
def test_float32_returns_float32_close_to_float64(models, features, kind):
    model = models[kind]
    e64 = model.predict_features(features)
    e32 = model.predict_features(features, dtype=np.float32)
    also = model.predict_features({k: v.astype(np.float32) for k, v in features.items()}, dtype="float32")
    assert e64.dtype == np.float64 and e32.dtype == np.float32 and also.dtype == np.float32
    np.testing.assert_allclose(e32, e64, rtol=1e-5)
    np.testing.assert_array_equal(also, e32)
    np.testing.assert_array_equal(model.predict_features(features, dtype=np.float64), e64)


def test_float32_reads_the_features_rounded_to_float32(models):
    # input_tokens 2**24 + 1 is 2**24 in float32: the float32 call prices the float32 value, as the template's does
    model = models["expression"]
    base = {n: np.array([1.0]) for n in model.feature_names}
    odd = dict(base, input_tokens=np.array([2.0**24 + 1]), tp=np.array([1.0]), output_tokens=np.array([100.0]))
    even = dict(odd, input_tokens=np.array([2.0**24]))
    assert model.predict_features(odd)[0] != model.predict_features(even)[0]
    assert model.predict_features(odd, dtype=np.float32)[0] == np.float32(model.predict_features(even)[0])


@pytest.mark.parametrize("kind", ["expression", "template"])
def test_other_dtypes_are_the_same_errors(models, features, kind):
    model = models[kind]
    for bad in (np.float16, np.int64, "complex128", np.dtype(">f4")):
        with pytest.raises(ValueError, match=r"dtype must be numpy.float64 or numpy.float32, got"):
            model.predict_features(features, dtype=bad)
    with pytest.raises(TypeError, match="not understood"):
        model.predict_features(features, dtype="float33")


def test_validation_holds_in_float32(models, features):
    model = models["expression"]
    bad = dict(features, tp=np.where(np.arange(len(features["tp"])) == 1, -1.0, features["tp"]))
    with pytest.raises(ValueError, match=r"feature 'tp' row 1"):
        model.predict_features(bad, dtype=np.float32)
    # validate=False skips the domain check only, in float32 as in float64
    assert model.predict_features(bad, dtype=np.float32, validate=False).dtype == np.float32
