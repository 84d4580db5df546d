"""A window integrated from ``nvml_average`` (nvmlDeviceGetPowerUsage, a ~1 s moving average: the power chain's last
resort, or a trace of it) was reported without a word: on the real H200 trace, 0.7 s across the load step read
177.9 J where the energy counter read 455.1 J (-61 %), and 1.4 s of steady load 817.9 J against 975.2 J (-16 %),
while the instant readings of the same polls read 389.8 J and 978.5 J. ``attribute()`` refuses this source; a window
now warns (AveragedPowerWarning), naming the counter's figure where a counter brackets the window."""

from __future__ import annotations

import time
import warnings

import pytest

from energylens.measure.monitor import AveragedPowerWarning, EnergyMonitor
from energylens.measure.sampler import PowerSampler
from energylens.measure.trace import Trace

T0 = 10_000_000_000  # the fixture's steady-clock start


def _measure(trace: Trace, a_s: float, b_s: float):
    with EnergyMonitor(PowerSampler.replay(trace, realtime=False, rebase=False), sync=False, wait=False) as mon:
        time.sleep(0.05)
        return mon.measure("w", T0 + int(a_s * 1e9), T0 + int(b_s * 1e9))


def _only(trace: Trace, *sources: str) -> Trace:
    s = trace.samples
    return Trace(samples=s[s["source"].isin(sources)], meta=trace.meta)


def test_a_window_from_the_moving_average_warns_with_the_counters_figure(h200_trace):
    trace = _only(h200_trace, "nvml_average", "nvml_energy")
    # (453.7 J until the counter's raw-poll changes were stamped mid-bracket: test_counter_holes.py)
    with pytest.warns(AveragedPowerWarning, match=r"~1 s moving average.*counter read 455\.1 J") as got:
        m = _measure(trace, 0.9, 1.6)
    assert m.source == "nvml_average" and m.energy_j == pytest.approx(177.9, abs=0.1)
    assert m.counter_energy_j == pytest.approx(455.1, abs=0.1)
    assert "177.9 J" in str(got[0].message) and "0.70 s" in str(got[0].message)


def test_without_a_counter_the_warning_says_none_brackets_the_window(h200_trace):
    with pytest.warns(AveragedPowerWarning, match="no energy counter brackets it"):
        _measure(_only(h200_trace, "nvml_average"), 1.3, 2.7)


def test_a_window_from_the_instant_readings_does_not_warn(h200_trace):
    with warnings.catch_warnings():
        warnings.simplefilter("error", AveragedPowerWarning)
        m = _measure(h200_trace, 0.9, 1.6)
    assert m.source == "nvml_instant"


def test_a_window_long_against_the_counter_takes_its_figure_without_a_warning(h200_trace):
    """Since 2026-12-07 a window at least ten times the counter's uncertainty at its ends long takes the counter's
    figure as energy_j (docs/sampler.md, "Which figure is energy_j"); the average's stays power_energy_j."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", AveragedPowerWarning)
        m = _measure(_only(h200_trace, "nvml_average", "nvml_energy"), 0.7, 3.3)
    assert m.source == "nvml_average" and m.energy_source == "nvml_energy"
    assert m.energy_j == m.counter_energy_j and abs(m.power_energy_j - m.energy_j) > 0.05 * m.energy_j
