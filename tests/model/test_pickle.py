"""Fitted models pickle and deep-copy (multiprocessing, joblib, Ray and Dask ship them that way) and predict
the same bits afterwards."""
from __future__ import annotations

import copy
import multiprocessing
import pickle
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest

from energylens.model import EnergyModel, LatencyModel
from energylens.profiles.datasets import mlenergy_v2


def _predict(model: EnergyModel, frame) -> np.ndarray:
    return model.predict(frame, check_range=False)


@pytest.mark.parametrize("calibration", [None, "family"])
def test_energy_model_round_trips(calibration):
    data = mlenergy_v2()
    model = EnergyModel(bootstrap=20, n_starts=1, seed=0, calibration=calibration).fit(data.sample(50, random_state=0))
    for other in (pickle.loads(pickle.dumps(model)), copy.deepcopy(model)):
        np.testing.assert_array_equal(other.predict(data, check_range=False), model.predict(data, check_range=False))
        np.testing.assert_array_equal(other.predict_interval(data, check_range=False).to_numpy(),
                                      model.predict_interval(data, check_range=False).to_numpy())
        np.testing.assert_array_equal(other.latency_model.predict(data, check_range=False).to_numpy(),
                                      model.latency_model.predict(data, check_range=False).to_numpy())
        assert [p.value for p in other.params.values()] == [p.value for p in model.params.values()]


def test_unfitted_and_latency_models_copy():
    assert not copy.deepcopy(EnergyModel()).is_fitted
    data = mlenergy_v2()
    lat = LatencyModel(bootstrap=0, n_starts=1).fit(data.sample(40, random_state=1))
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(lat)).predict(data).to_numpy(), lat.predict(data).to_numpy())


@pytest.mark.parametrize("start", [None, "spawn"])
def test_a_process_pool_gets_the_model(start):
    """The default start method, and spawn (macOS's and Windows' default, and a scheduler's choice next to
    threads): a fresh interpreter imports energylens and unpickles the model, with the same predictions."""
    data = mlenergy_v2()
    model = EnergyModel(bootstrap=0, n_starts=1).fit(data.sample(50, random_state=0))
    context = None if start is None else multiprocessing.get_context(start)
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        got = pool.submit(_predict, model, data.iloc[:30]).result(timeout=120)
    np.testing.assert_array_equal(got, model.predict(data.iloc[:30], check_range=False))


def test_expression_model_round_trips():
    pytest.importorskip("sympy")
    from energylens.model import ExpressionEnergyModel
    data = mlenergy_v2()
    model = ExpressionEnergyModel("a*tp*pp*tdp_w*output_tokens/batch_size + b", params={"a": 1.0, "b": 3.0},
                                  bootstrap=0).fit(data.sample(50, random_state=0))
    other = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(other.predict(data), model.predict(data))
    assert other.compiled.param_names == ("a", "b")
