"""The first reading of an energy counter polled faster than it updates (a trace of raw polls: another tool's, the
shared H200 trace) holds a value published up to one update period before that poll. A window's counter figure
interpolated from it as if the counter had that value at the poll: on the full H200 trace, 0.02-0.3 s of idle
read 48.9 J where the instant readings (and ~120 W x 0.28 s) give 33.0 J (+48 %), 0.001-0.5 s read 79.5 J for
58.9 J. The energylens sampler never records such a value (its counter's first row is a move, docs/sampler.md);
in a trace of raw polls the counter's figure now starts at its first change, and a window starting before it is
not bracketed (NaN, like any window the counter does not cover)."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

from energylens.measure.integrate import counter_energy_j, counter_energy_j_per_gpu
from energylens.measure.monitor import EnergyMonitor
from energylens.measure.sampler import PowerSampler

T0 = 10_000_000_000  # the h200_trace fixture's steady-clock start


def _polled_counter(power_w: float = 100.0, stale_s: float = 0.01):
    """Polls every 5 ms from t = 0 of a counter that updates every 100 ms, its last update stale_s before t = 0."""
    polls = np.arange(0, 1_000_000_000, 5_000_000, dtype=np.int64)
    updates = (polls + int(round((0.1 - stale_s) * 1e9))) // 100_000_000  # updates at -stale_s, 0.1 - stale_s, ...
    return polls, 1000.0 + power_w * 0.1 * updates


def test_a_window_from_the_first_poll_is_not_charged_the_stale_first_value():
    t, e = _polled_counter()
    assert math.isnan(counter_energy_j(t, e, 0, 500_000_000))  # before: 59 J for 50 J of 100 W over 0.5 s
    assert math.isnan(counter_energy_j(t, e, 0, 200_000_000))  # before: 29 J for 20 J
    # from the first change on, the counter brackets windows as before: 100 W x 0.4 s, to the 5 ms poll
    assert counter_energy_j(t, e, 100_000_000, 500_000_000) == pytest.approx(40.0, abs=0.6)


def test_a_counter_stream_that_starts_with_a_move_keeps_its_first_row():
    """energylens' own counter rows (a move stamped mid-bracket, then one row per change) are unchanged."""
    t = np.array([0, 100_000_000, 200_000_000, 300_000_000], np.int64)
    e = np.array([1000.0, 1010.0, 1020.0, 1030.0])
    assert counter_energy_j(t, e, 0, 300_000_000) == pytest.approx(30.0)
    two = counter_energy_j_per_gpu(np.concatenate([t, t]), np.concatenate([e, e * 2]),
                                   np.repeat(np.array([0, 1], np.int32), 4), 2, 50_000_000, 250_000_000)
    np.testing.assert_allclose(two, [20.0, 40.0])


def test_the_real_h200_slice_counter_from_its_first_poll(h200_trace):
    """The slice's first counter value (4092.791 J) was published 19 ms before its first poll (0.6033 s): a window
    from just after that poll to 0.9 s read 37.5 J where the instant readings give 35.3 J (+6 %)."""
    first = int(h200_trace.samples["t_ns"].min())
    with EnergyMonitor(PowerSampler.replay(h200_trace, realtime=False, rebase=False), sync=False, wait=False) as mon:
        time.sleep(0.05)
        early = mon.measure("early", first + 1_000_000, T0 + 900_000_000)
        later = mon.measure("later", T0 + 700_000_000, T0 + 900_000_000)
    assert math.isnan(early.counter_energy_j) and early.energy_j == pytest.approx(35.3, abs=0.1)
    assert later.counter_energy_j == pytest.approx(later.energy_j, rel=0.01)
