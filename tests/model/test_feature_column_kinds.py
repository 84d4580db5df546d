"""Feature columns a scheduler may hand predict_features that were read as something else:

- a datetime64 / timedelta64 column (a timestamp in the wrong key) was taken as its count of days or seconds
  since the epoch (tp = 18262 for 2020-01-01): a silent energy of 5e5 J; it is refused as the text and boolean
  kinds are;
- a NumPy masked array's masked entries (missing values) were computed from the data under the mask: a masked
  row is now refused as a missing value (NaN) is, naming the row; a masked array with nothing masked is taken;
- a pandas column with a missing value (``pd.NA`` in an Int64 / Float64 / Arrow column: a scheduler's nullable
  frame) read "row 2 is nan; it must be finite" with ``validate=True`` and came back as a NaN energy with
  ``validate=False``; it is refused as a masked entry is, naming the row, either way;
- an empty column with every other feature a scalar (an empty sweep over fixed specs) was "feature 'tp' has 0
  rows, feature 'pp' has 1" (the expression model: "column 0 has 0 rows, another has 1"); as NumPy broadcasts, it
  is 0 rows: an empty result.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from energylens.model import EnergyModel
from energylens.profiles.datasets import mlenergy_v2
from energylens.profiles.features import build_features


@pytest.fixture(scope="module")
def models():
    data = mlenergy_v2().head(40)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return [EnergyModel(bootstrap=0).fit(data, latency=False),
                EnergyModel.from_expression("0.001*input_tokens*tp + 0.01*output_tokens + 3.0", bootstrap=0).fit(data)]


@pytest.fixture(scope="module")
def features():
    return build_features(mlenergy_v2().head(4))


@pytest.mark.parametrize("k", [0, 1])
@pytest.mark.parametrize("column, kind", [
    (np.array(["2020-01-01"] * 4, dtype="datetime64[D]"), "a date/time"),
    (np.array([1, 2, 3, 4], dtype="timedelta64[s]"), "a time span"),
    (np.datetime64("2020-01-01"), "a date/time"),
])
def test_time_columns_are_refused(models, features, k, column, kind):
    with pytest.raises(ValueError, match=f"feature 'tp' is {kind}; features are real numbers"):
        models[k].predict_features({**features, "tp": column})


@pytest.mark.parametrize("k", [0, 1])
def test_masked_entries_are_refused(models, features, k):
    masked = np.ma.masked_array(features["tp"], mask=[0, 0, 1, 0])
    with pytest.raises(ValueError, match=r"feature 'tp' row 2 is masked \(a missing value\)"):
        models[k].predict_features({**features, "tp": masked})
    clear = np.ma.masked_array(features["tp"], mask=[0, 0, 0, 0])
    np.testing.assert_array_equal(models[k].predict_features({**features, "tp": clear}),
                                  models[k].predict_features(features))


@pytest.mark.parametrize("k", [0, 1])
@pytest.mark.parametrize("dtype", ["Float64", "Int64", "float64[pyarrow]"])
@pytest.mark.parametrize("validate", [True, False])
def test_pandas_missing_values_are_refused(models, features, k, dtype, validate):
    column = pd.Series(features["tp"], dtype=dtype)
    column[2] = pd.NA
    for holder in (column, column.array):
        with pytest.raises(ValueError, match=r"feature 'tp' row 2 is missing \(<NA>\)"):
            models[k].predict_features({**features, "tp": holder}, validate=validate)
    full = pd.Series(features["tp"], dtype=dtype)  # nothing missing: taken as the numbers it holds
    np.testing.assert_array_equal(models[k].predict_features({**features, "tp": full}),
                                  models[k].predict_features(features))


@pytest.mark.parametrize("k", [0, 1])
def test_an_empty_column_among_scalars_is_zero_rows(models, features, k):
    scalars = {n: float(v[0]) for n, v in features.items()}
    out = models[k].predict_features({**scalars, "tp": np.array([])})
    assert out.shape == (0,) and out.dtype == np.float64
    with pytest.raises(ValueError, match=r"has 4( rows)?\b") as err:  # the lengths named, whichever first
        models[k].predict_features({**features, "tp": np.array([])})
    assert "has 0" in str(err.value)


def test_template_evaluate_features_empty_among_scalars(models, features):
    scalars = {n: float(v[0]) for n, v in features.items()}
    pre, dec = models[0].evaluate_features({**scalars, "batch_size": np.array([])})
    assert pre.shape == dec.shape == (0,)
    out = (np.empty(0), np.empty(0))
    pre, dec = models[0].evaluate_features({**scalars, "batch_size": np.array([])}, out=out)
    assert pre.shape == (0,)
