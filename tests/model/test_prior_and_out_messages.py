"""``EnergyModel(prior=EnergyModel())`` (a prior not fitted yet) said "this EnergyModel is not fitted yet: call
fit(profiles) or load(path)", as if the model being made were the one to fit; ``evaluate_features(..., out=)`` with
float32 arrays, lists, or float64 arrays under ``dtype=np.float32`` said "out[0] must be a NumPy array of the
evaluation dtype" without naming the dtype wanted or given. Both now say it (a big-endian array's byte order too)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from energylens.model import EnergyModel
from energylens.profiles.datasets import mlenergy_v2
from energylens.profiles.features import build_features


@pytest.fixture(scope="module")
def model():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return EnergyModel(bootstrap=0).fit(mlenergy_v2().head(40), latency=False)


def test_unfitted_prior_is_named():
    with pytest.raises(ValueError, match=r"^prior: the EnergyModel given is not fitted"):
        EnergyModel(prior=EnergyModel())


@pytest.mark.parametrize("out, dtype, said", [
    ((np.empty(4, np.float32), np.empty(4, np.float32)), np.float64, "float64 array (this call's dtype); got float32"),
    (([0.0] * 4, [0.0] * 4), np.float64, "float64 array (this call's dtype); got list"),
    ((np.empty(4), np.empty(4)), np.float32, "float32 array (this call's dtype); got float64"),
    # a big-endian float64 array (read from a file written on another machine) said "got float64, float64": the
    # dtype wanted, given as the reason
    ((np.empty(4, ">f8"), np.empty(4, ">f8")), np.float64, "got big-endian float64 ('>f8'), big-endian float64"),
])
def test_out_dtype_is_named(model, out, dtype, said):
    features = build_features(mlenergy_v2().head(4))
    with pytest.raises(ValueError, match=r"out\[0\] must be") as err:
        model.evaluate_features(features, out=out, dtype=dtype)
    assert said in str(err.value)
