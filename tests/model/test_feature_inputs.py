"""predict_features / evaluate_features refuse inputs that would be silently wrong: boolean columns, an
``out`` pair that overlaps, a non-boolean ``check_range``."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from energylens.model import EnergyModel
from energylens.profiles.datasets import mlenergy_v2
from energylens.profiles.features import build_features


@pytest.fixture(scope="module")
def model_and_specs():
    data = mlenergy_v2()
    model = EnergyModel(bootstrap=0, n_starts=1).fit(data.sample(50, random_state=0))
    return model, {k: v[0] for k, v in build_features(data.iloc[[0]]).items()}


def test_boolean_columns_are_refused(model_and_specs):
    model, specs = model_and_specs
    for bad in (True, np.bool_(True), np.array([True, False]),  # (np.bool_ passed as 1.0 until 2026-12-05)
                pd.Series([True, False]), pd.array([True, False], dtype="boolean"), [True, False]):
        # (a Series, pandas' nullable boolean array and a list passed as 1.0 / 0.0 until 2026-12-05)
        with pytest.raises(ValueError, match="feature 'tp' is boolean"):
            model.predict_features(dict(specs, tp=bad))


def test_complex_columns_are_refused(model_and_specs):
    """A complex column lost its imaginary part with only NumPy's ComplexWarning until 2026-12-05."""
    model, specs = model_and_specs
    for bad in (np.array([1.0 + 2j, 3.0]), pd.Series([1.0 + 2j, 3.0]), [1.0 + 2j, 3.0], 1.0 + 2j, np.complex128(2)):
        with pytest.raises(ValueError, match="feature 'batch_size' is complex"):
            model.predict_features(dict(specs, batch_size=bad))


def test_real_containers_still_accepted(model_and_specs):
    """The check looks at the dtype only: float and integer Series, lists and pandas' nullable integers pass."""
    model, specs = model_and_specs
    want = model.predict_features(dict(specs, batch_size=np.array([1.0, 4.0])))
    for good in (pd.Series([1, 4]), [1, 4], (1.0, 4.0), pd.array([1, 4], dtype="Int64")):
        np.testing.assert_array_equal(model.predict_features(dict(specs, batch_size=good)), want)


def test_an_out_pair_that_overlaps_is_refused(model_and_specs):
    model, specs = model_and_specs
    sweep = dict(specs, batch_size=np.arange(1.0, 11.0))
    a = np.empty(10)
    with pytest.raises(ValueError, match="out: the two arrays overlap"):
        model.evaluate_features(sweep, out=(a, a))
    b = np.empty(20)
    with pytest.raises(ValueError, match="overlap"):
        model.evaluate_features(sweep, out=(b[:10], b[5:15]))
    c, d = np.empty(10), np.empty(10)
    model.evaluate_features(sweep, out=(c, d))
    np.testing.assert_allclose(c + d, model.predict_features(sweep), rtol=1e-15)


def test_check_range_must_be_a_bool(model_and_specs):
    model, _ = model_and_specs
    rows = mlenergy_v2().iloc[:3]
    with pytest.raises(TypeError, match="check_range must be True or False"):
        model.predict(rows, check_range="no")


def test_text_columns_are_refused(model_and_specs):
    """A string such as "2" (a CSV column read without dtypes, a config value never parsed) was converted to
    2.0 silently until 2026-12-05."""
    model, specs = model_and_specs
    for bad in ("2", np.array(["2", "4"]), pd.Series(["2", "4"]), pd.Series([2, "4"], dtype=object), [2, "4"],
                b"2"):
        with pytest.raises(ValueError, match="feature 'tp' is text"):
            model.predict_features(dict(specs, tp=bad))
    np.testing.assert_array_equal(model.predict_features(dict(specs, tp=pd.Series([2.0, 4.0], dtype=object))),
                                  model.predict_features(dict(specs, tp=np.array([2.0, 4.0]))))
