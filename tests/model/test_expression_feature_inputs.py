"""ExpressionEnergyModel.predict_features checked only that each column it reads is finite and at most 1-D, where
EnergyModel.predict_features (ClosedFormModel._feature_columns) refuses with a message naming the feature:
tp = -1 or input_tokens = 0 gave a negative energy (-235 J, -87 J) instead of 'feature 'tp' row 1 is -1.0;
it must be finite and >= 1'; tp=True and tp="2" were read as 1.0 and 2.0; a misspelt key ('input_token')
was ignored without a word; a NaN said 'must be a finite scalar or 1-D array' without the row; columns of
different lengths were 'column 0 has 2 rows, another has 3' (which feature?). Each is now the template's
check. Keys that are feature names the expression does not read are still taken (a build_features dict
passes whole), and validate=False still skips the domain check only.

ExpressionEnergyModel.predict_features had no ``dtype=`` where EnergyModel.predict_features has one: a scheduler
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
    return build_features(data.head(3))


def _cols(model, features, **change):
    cols = {k: np.asarray(features[k], dtype=np.float64).copy() for k in model.feature_names}
    cols.update(change)
    return cols


@pytest.mark.parametrize("kind", ["expression", "template"])
@pytest.mark.parametrize("name, value, need", [("tp", -1.0, ">= 1"), ("input_tokens", 0.0, "> 0"),
                                               ("tp", np.nan, ">= 1")])
def test_a_value_outside_the_features_domain_is_refused(models, features, kind, name, value, need):
    model = models[kind]
    col = np.asarray(features[name], dtype=np.float64).copy()
    col[1] = value
    with pytest.raises(ValueError, match=rf"^feature '{name}' row 1 is {value!r}; it must be finite and {need}$"):
        model.predict_features(_cols(model, features, **{name: col}))


@pytest.mark.parametrize("kind", ["expression", "template"])
@pytest.mark.parametrize("value, what", [(True, "boolean"), ("2", "text"), (np.array(["1", "2", "4"]), "text")])
def test_a_feature_that_is_not_a_real_number_is_refused(models, features, kind, value, what):
    model = models[kind]
    with pytest.raises(ValueError, match=rf"^feature 'tp' is {what}; features are real numbers"):
        model.predict_features(_cols(model, features, tp=value))


@pytest.mark.parametrize("kind", ["expression", "template"])
def test_a_misspelt_key_is_named_with_its_close_match(models, features, kind):
    model = models[kind]
    cols = _cols(model, features)
    cols["input_token"] = cols["input_tokens"]
    with pytest.raises(ValueError, match=r"\['input_token'\] are not feature.*'input_token' -> did you mean "
                                         r"'input_tokens'\?"):
        model.predict_features(cols)


@pytest.mark.parametrize("kind", ["expression", "template"])
def test_columns_of_different_lengths_name_the_features(models, features, kind):
    model = models[kind]
    cols = _cols(model, features, tp=np.array([1.0, 2.0]))
    with pytest.raises(ValueError, match=r"feature '\w+' has [23] rows, feature '\w+' has [23] \(a column may also "
                                         r"hold one value for every row\)") as exc:
        model.predict_features(cols)
    assert "feature 'tp' has 2" in str(exc.value)


def test_the_expression_takes_every_feature_and_scalars(models, features):
    model = models["expression"]
    full = {k: np.asarray(v, dtype=np.float64) for k, v in features.items()}  # more than it reads
    np.testing.assert_array_equal(model.predict_features(full), model.predict_features(_cols(model, features)))
    one = model.predict_features({"tp": 2, "input_tokens": 100.0, "output_tokens": np.array([10.0, 20.0])})
    assert one.shape == (2,) and np.all(one > 0)


def test_validate_false_skips_only_the_domain_check(models, features):
    model = models["expression"]
    col = np.asarray(features["tp"], dtype=np.float64).copy()
    col[1] = -1.0
    assert np.isfinite(model.predict_features(_cols(model, features, tp=col), validate=False)).all()
    with pytest.raises(ValueError, match="feature 'tp' is boolean"):
        model.predict_features(_cols(model, features, tp=True), validate=False)


# predict_features(dtype=...): the whole 40-row table's features
@pytest.fixture(scope="module")
def all_features(data):
    return build_features(data)


@pytest.mark.parametrize("kind", ["expression", "template"])
def test_float32_returns_float32_close_to_float64(models, all_features, kind):
    model = models[kind]
    e64 = model.predict_features(all_features)
    e32 = model.predict_features(all_features, dtype=np.float32)
    also = model.predict_features({k: v.astype(np.float32) for k, v in all_features.items()}, dtype="float32")
    assert e64.dtype == np.float64 and e32.dtype == np.float32 and also.dtype == np.float32
    np.testing.assert_allclose(e32, e64, rtol=1e-5)
    np.testing.assert_array_equal(also, e32)
    np.testing.assert_array_equal(model.predict_features(all_features, dtype=np.float64), e64)


def test_float32_reads_the_features_rounded_to_float32(models):
    # input_tokens 2**24 + 1 is 2**24 in float32: the float32 call prices the float32 value, as the template's does
    model = models["expression"]
    base = {n: np.array([1.0]) for n in model.feature_names}
    odd = dict(base, input_tokens=np.array([2.0**24 + 1]), tp=np.array([1.0]), output_tokens=np.array([100.0]))
    even = dict(odd, input_tokens=np.array([2.0**24]))
    assert model.predict_features(odd)[0] != model.predict_features(even)[0]
    assert model.predict_features(odd, dtype=np.float32)[0] == np.float32(model.predict_features(even)[0])


@pytest.mark.parametrize("kind", ["expression", "template"])
def test_other_dtypes_are_the_same_errors(models, all_features, kind):
    model = models[kind]
    for bad in (np.float16, np.int64, "complex128", np.dtype(">f4")):
        with pytest.raises(ValueError, match=r"dtype must be numpy.float64 or numpy.float32, got"):
            model.predict_features(all_features, dtype=bad)
    with pytest.raises(TypeError, match="not understood"):
        model.predict_features(all_features, dtype="float33")


def test_validation_holds_in_float32(models, all_features):
    model = models["expression"]
    bad = dict(all_features, tp=np.where(np.arange(len(all_features["tp"])) == 1, -1.0, all_features["tp"]))
    with pytest.raises(ValueError, match=r"feature 'tp' row 1"):
        model.predict_features(bad, dtype=np.float32)
    # validate=False skips the domain check only, in float32 as in float64
    assert model.predict_features(bad, dtype=np.float32, validate=False).dtype == np.float32
