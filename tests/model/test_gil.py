"""The GIL around the native row loops: a long loop releases it (other Python threads run meanwhile), a short
one keeps it (releasing it for a one-row call cost more than the call: the GIL comes back only after the
running thread's switch interval, so four threads calling predict did 3x fewer calls in all than one)."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from energylens.model import EnergyModel
from energylens.profiles.datasets import mlenergy_v2
from energylens.profiles.features import build_features


@pytest.fixture(scope="module")
def fitted():
    data = mlenergy_v2()
    model = EnergyModel(bootstrap=0).fit(data.sample(60, random_state=0))
    specs = {k: float(np.asarray(v, dtype=float)[0]) for k, v in build_features(data.iloc[[0]]).items()}
    return model, specs


def _ticks_during(call) -> tuple[float, float]:
    """(ticks of a busy Python thread per second during ``call``, the same thread's rate alone)."""
    count, stop = [0], threading.Event()

    def tick():
        while not stop.is_set():
            count[0] += 1

    t = threading.Thread(target=tick)
    t.start()
    try:
        time.sleep(0.05)
        c0, t0 = count[0], time.perf_counter()
        time.sleep(0.1)
        alone = (count[0] - c0) / (time.perf_counter() - t0)
        c0, t0 = count[0], time.perf_counter()
        call()
        during = (count[0] - c0) / (time.perf_counter() - t0)
    finally:
        stop.set()
        t.join()
    return during, alone


def test_a_long_row_loop_lets_other_threads_run(fitted):
    model, specs = fitted
    n = 4_000_000
    rng = np.random.default_rng(0)
    sweep = dict(specs, batch_size=rng.integers(1, 257, n).astype(float), tp=np.full(n, 2.0))
    trials = []
    for _ in range(3):  # (the best of three: a loaded machine only lowers the ratio)
        during, alone = _ticks_during(lambda: [model.predict_features(sweep, validate=False, n_threads=1)
                                               for _ in range(3)])
        trials.append((during / alone, during, alone))
        if during > 0.3 * alone:
            break
    assert max(trials)[0] > 0.3, trials  # held, the ticker would run only in the switch slices


def test_short_calls_from_several_threads_keep_their_pace(fitted):
    model, specs = fitted
    one = {k: np.array([v]) for k, v in specs.items()}

    def rate(n_threads: int) -> float:
        count, stop = [0] * n_threads, threading.Event()

        def work(i):
            while not stop.is_set():
                model.predict_features(one)
                count[i] += 1

        workers = [threading.Thread(target=work, args=(i,)) for i in range(n_threads)]
        t0 = time.perf_counter()
        for w in workers:
            w.start()
        time.sleep(0.5)
        stop.set()
        for w in workers:
            w.join()
        return sum(count) / (time.perf_counter() - t0)

    trials = []
    for _ in range(3):  # (the best of three, interleaved: a loaded machine only lowers the ratio)
        one_thread, four = rate(1), rate(4)
        trials.append((four / one_thread, one_thread, four))
        if four > 0.7 * one_thread:
            break
    assert max(trials)[0] > 0.7, trials  # 0.6 before (50k vs 30k calls/s on the 2-core box)
