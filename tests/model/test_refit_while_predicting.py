"""A scheduler that refits its model in place (``model.fit(new_rows)``) while request threads predict with it:
``fit`` says a call on another thread sees the old or the new fit, never a half-set one. A calibrated model's
``predict`` read its parameters and, after the native pass, its calibration factors: a refit landing in between
gave energies of neither fit (141 of 583 predicts from two threads during 8 s of refits on the bundled rows). Each
prediction call now works on the model's state as one fit. The refit is made to land mid-call here (at the
call's first ``_chunks``), as a thread's would."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from energylens.model import EnergyModel, LatencyModel
from energylens.profiles.datasets import mlenergy_v2


@pytest.fixture(scope="module")
def data():
    data = mlenergy_v2()
    return data.sample(80, random_state=1), data.sample(80, random_state=2), data.iloc[::11]


def _fitted(cls, rows, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return cls(bootstrap=10, n_starts=1, seed=0, calibration="family", **kw).fit(rows)


def _landing_mid_call(model, new_rows, call):
    """``call(model)`` with ``model.fit(new_rows)`` run when the call first asks for its rows' chunks."""
    cls_chunks, landed = type(model)._chunks, []

    def chunks(*args, **kwargs):
        if not landed:
            landed.append(True)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model.fit(new_rows)
        return cls_chunks(model, *args, **kwargs)  # (the feature columns are the template's, either fit)

    model._chunks = chunks
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return call(model)
    finally:
        vars(model).pop("_chunks", None)
        assert landed


CALLS = {
    "predict": lambda m, rows: m.predict(rows),
    "predict_phases": lambda m, rows: m.predict_phases(rows).to_numpy(),
    "predict_interval": lambda m, rows: m.predict_interval(rows).to_numpy(),
    "predict_bootstrap": lambda m, rows: m.predict_bootstrap(rows),
}
LATENCY_CALLS = {
    "predict": lambda m, rows: m.predict(rows).to_numpy(),
    "predict_interval": lambda m, rows: m.predict_interval(rows).to_numpy(),
}


def _one_of(got, *fits):
    return any(np.array_equal(got, want, equal_nan=True) for want in fits)


@pytest.mark.parametrize("name", CALLS)
def test_a_calibrated_energy_prediction_is_of_one_fit(data, name):
    a, b, rows = data
    call = CALLS[name]
    old, new = call(_fitted(EnergyModel, a), rows), call(_fitted(EnergyModel, b), rows)
    assert not np.array_equal(old, new)
    got = _landing_mid_call(_fitted(EnergyModel, a), b, lambda m: call(m, rows))
    assert _one_of(got, old, new), f"{name}: neither the old fit's nor the new one's"


@pytest.mark.parametrize("name", LATENCY_CALLS)
def test_a_calibrated_latency_prediction_is_of_one_fit(data, name):
    a, b, rows = data
    call = LATENCY_CALLS[name]
    old, new = call(_fitted(LatencyModel, a), rows), call(_fitted(LatencyModel, b), rows)
    assert not np.array_equal(old, new)
    got = _landing_mid_call(_fitted(LatencyModel, a), b, lambda m: call(m, rows))
    assert _one_of(got, old, new), f"{name}: neither the old fit's nor the new one's"
