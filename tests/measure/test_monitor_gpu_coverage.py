"""A window over a trace of several GPUs whose readings end at different times (another tool's trace, one GPU's
log cut short): the GPU whose readings stopped had its last reading held to the window's end without a word
(1102.6 J for a GPU that was read for half the window, more than the GPU read throughout). It is now a ValueError
naming the GPU, its readings' range and the window."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from energylens.measure import EnergyMonitor, PowerSampler, Trace, synthetic_trace


@pytest.fixture(scope="module")
def two_gpus():
    tr = synthetic_trace(duration_s=4.0, seed=2)[0]
    s = tr.samples
    t0, t1 = int(s["t_ns"].min()), int(s["t_ns"].max())
    mid = (t0 + t1) // 2
    meta = dict(tr.meta, gpus=[{"index": 0, "name": "a", "uuid": ""}, {"index": 1, "name": "b", "uuid": ""}])
    cut = Trace(samples=pd.concat([s, s[s["t_ns"] < mid].assign(gpu=1)]), meta=meta)
    both = Trace(samples=pd.concat([s, s.assign(gpu=1)]), meta=meta)
    return cut, both, t0, t1, mid


def _measure(trace, start, end):
    with EnergyMonitor(PowerSampler.replay(trace, realtime=False, rebase=False)) as mon:
        return mon.measure("w", start, end, recorded=True)


def test_a_window_past_one_gpus_last_reading_names_that_gpu(two_gpus):
    cut, _, t0, t1, mid = two_gpus
    with pytest.raises(ValueError, match=r"GPU 1.*readings.*end at t_ns [0-9]+.*\[[0-9]+, [0-9]+\]"):
        _measure(cut, t0 + 10**8, t1 - 10**8)


def test_a_window_before_one_gpus_first_reading_names_that_gpu(two_gpus):
    _, both, t0, t1, mid = two_gpus
    s = both.samples
    late = Trace(samples=s[(s["gpu"] == 0) | (s["t_ns"] > mid)], meta=both.meta)
    with pytest.raises(ValueError, match=r"GPU 1.*readings.*begin at t_ns"):
        _measure(late, t0 + 10**8, t1 - 10**8)


def test_windows_every_gpu_covers_are_measured(two_gpus):
    cut, both, t0, t1, mid = two_gpus
    m = _measure(cut, t0 + 10**8, mid - 10**8)  # inside both GPUs' readings
    assert m.energy_j_per_gpu[0] == pytest.approx(m.energy_j_per_gpu[1])
    m = _measure(both, t0 + 10**8, t1 - 10**8)
    assert np.isfinite(m.energy_j) and m.energy_j_per_gpu[0] == pytest.approx(m.energy_j_per_gpu[1])
