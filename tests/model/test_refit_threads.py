"""A refit replaces the model's state in one step: threads predicting meanwhile see the old fit or the new
one, never the half-set state of before 2026-12-05 (``latency_model`` None mid-fit, energy parameters of
one fit beside the calibration of another)."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from energylens.model import EnergyModel
from energylens.profiles.datasets import mlenergy_v2


def test_threads_see_the_old_or_the_new_fit_while_it_is_refitted():
    data = mlenergy_v2()
    a, b = data.sample(60, random_state=1), data.sample(60, random_state=2)
    probe = data.iloc[:5]
    ref = {key: EnergyModel(bootstrap=0).fit(rows) for key, rows in (("a", a), ("b", b))}
    expected = [(m.predict(probe, check_range=False), m.latency_model.predict(probe, check_range=False))
                for m in ref.values()]
    model = EnergyModel(bootstrap=0).fit(a)
    stop, seen, errors = threading.Event(), [], []

    def read():
        while not stop.is_set():
            try:
                lat = model.latency_model  # one read: the old or the new latency model
                seen.append((model.predict(probe, check_range=False), lat.predict(probe, check_range=False)))
            except Exception as exc:  # noqa: BLE001 - what the test looks for
                errors.append(exc)

    readers = [threading.Thread(target=read) for _ in range(3)]
    for r in readers:
        r.start()
    try:
        for k in range(6):
            model.fit(b if k % 2 == 0 else a)
    finally:
        stop.set()
        for r in readers:
            r.join()
    assert not errors, errors[:3]
    assert seen
    for energy, latency in seen:
        assert any(np.array_equal(energy, e) for e, _ in expected)
        assert any(np.array_equal(latency, lt) for _, lt in expected)


def test_a_failed_refit_leaves_the_model_as_it_was():
    data = mlenergy_v2()
    model = EnergyModel(bootstrap=0).fit(data.sample(60, random_state=1))
    before, lat = model.theta, model.latency_model
    with pytest.raises(ValueError, match="measurements for 12 parameters"):
        model.fit(data.iloc[:3])
    assert np.array_equal(model.theta, before) and model.latency_model is lat
