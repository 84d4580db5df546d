"""At a recording's end the energy counter's figure was low: raw 3 ms polls of a GPU at a steady 600 W whose last
poll came 99 ms after the one before, a window ending at that poll read counter_energy_j 57.2 J for 114.3 J. The
last poll's value was kept at its poll, though the counter reached it at its last update (1.0417 s), and the counter
adds nothing after its last update. Now the last change is stamped at the counter's next update in its bracket, a
repeat at the end adds nothing, and the window's tail after the last update is filled from the power readings, with
a CounterTailWarning saying so. The truth is the synthetic GPU's own integral."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from test_counter_agreement_recording_end import _polls

from energylens.measure.counter_tail import CounterTailWarning
from energylens.measure.integrate import PowerCounterDisagreeWarning, counter_energy_j, integrate_window

S = 1_000_000_000


def _window(samples: dict, a_s: float, b_s: float):
    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always")
        w = integrate_window(samples, 1, int(a_s * S), int(b_s * S), {})
    return w, [g for g in got if g.category in (CounterTailWarning, PowerCounterDisagreeWarning)]


@pytest.mark.parametrize("fast_until", [1.0435, 1.0405])  # the last poll repeats the value before it / sees a change
@pytest.mark.parametrize("span", [(0.95, 1.1405), (1.0, 1.1405), (0.6, 1.1405)])
def test_a_window_ending_at_the_last_poll_fills_the_counters_tail_from_the_power_readings(fast_until, span):
    samples = _polls(np.r_[np.arange(0.0, fast_until, 0.003), 1.1405])
    w, said = _window(samples, *span)
    truth = 600.0 * (span[1] - span[0])
    assert w.counter_energy_j_per_gpu[0] == pytest.approx(truth, rel=0.01)  # was 57.2 J for 114.3 J
    assert [g.category for g in said] == [CounterTailWarning], [str(g.message) for g in said]
    text = str(said[0].message)
    assert "last update at t_ns 10415" in text and "from the nvml_instant readings after it" in text, text


@pytest.mark.parametrize("fast_until", [1.0435, 1.0405])
def test_a_window_before_the_last_poll_reads_the_counter_alone(fast_until):
    samples = _polls(np.r_[np.arange(0.0, fast_until, 0.003), 1.1405])
    w, said = _window(samples, 0.95, 1.0)  # ends before the last update: read 15.0 J for 30.0 J
    assert w.counter_energy_j_per_gpu[0] == pytest.approx(30.0, rel=0.02)
    assert not said, [str(g.message) for g in said]


def test_a_window_past_the_counters_last_read_stays_unbracketed():
    samples = _polls(np.r_[np.arange(0.0, 1.0435, 0.003), 1.1405])
    w, said = _window(samples, 0.95, 1.3)  # the counter was not read at the end: no figure, nothing filled
    assert math.isnan(w.counter_energy_j_per_gpu[0])
    assert not any(g.category is CounterTailWarning for g in said)


def test_counter_energy_j_ends_at_the_last_update():
    samples = _polls(np.r_[np.arange(0.0, 1.0435, 0.003), 1.1405])
    rows = samples["source"] == "nvml_energy"
    t, e = samples["t_ns"][rows], samples["energy_j"][rows]
    assert counter_energy_j(t, e, int(0.95 * S), int(1.0 * S)) == pytest.approx(30.0, rel=0.02)
    assert math.isnan(counter_energy_j(t, e, int(0.95 * S), int(1.1405 * S)))  # past its last update


def test_power_readings_that_miss_a_step_before_the_end_still_warn():
    samples = _polls(np.r_[np.arange(0.0, 1.0435, 0.003), 1.1405], power_w=720.0, read_w=120.0)
    _, said = _window(samples, 0.2, 1.1405)
    assert any(g.category is PowerCounterDisagreeWarning for g in said), [str(g.message) for g in said]
