"""EnergyMonitor(wait=False) does not wait for readings past a window's end: a window closed before the sampler
delivered a power reading read energy_j NaN, and one closed before the energy counter moved past its end read
counter_energy_j NaN, both without a word. Each NaN now comes with a NotYetReadWarning that names the window, the
signal not yet read past its end, and the fix (measure the span again once it is, or wait=True)."""

import math
import time
import warnings

import pytest

from energylens.measure.monitor import EnergyMonitor, NotYetReadWarning
from energylens.measure.sampler import PowerSampler
from energylens.measure.trace import synthetic_trace


def _flat(power_w=300.0):
    return PowerSampler.synthetic([([0.0, 60.0], [power_w, power_w])])


def test_a_window_closed_before_the_first_power_reading_says_why_it_is_nan():
    with EnergyMonitor(_flat(), sync=False, wait=False) as mon:
        mon.begin_window("a")
        with pytest.warns(NotYetReadWarning) as got:
            m = mon.end_window("a")
        assert math.isnan(m.energy_j)
        text = str(got[0].message)
        assert text.startswith("end_window('a'): energy_j") and "wait=False" in text and "no power" in text
        assert f"measure('a', {m.start_ns}, {m.end_ns})" in text  # the fix, with the span's own numbers
        time.sleep(0.15)  # the synthetic driver buffer publishes every 20 ms
        with warnings.catch_warnings():
            warnings.simplefilter("error", NotYetReadWarning)
            later = mon.measure("a", m.start_ns, m.end_ns)  # the fix the warning names does work
    assert later.energy_j == pytest.approx(300.0 * later.duration_s, rel=1e-6)


def test_a_window_closed_before_the_counter_moved_past_its_end_says_so():
    with EnergyMonitor(_flat(), sync=False, wait=False) as mon:
        time.sleep(0.1)
        mon.begin_window("b")
        time.sleep(0.3)
        with pytest.warns(NotYetReadWarning, match=r"counter_energy_j") as got:
            m = mon.end_window("b")
        assert math.isfinite(m.energy_j) and math.isnan(m.counter_energy_j)
        assert str(got[0].message).startswith("end_window('b'): counter_energy_j is NaN: no energy-counter reading")
        time.sleep(0.25)  # the synthetic counter moves every 100 ms
        later = mon.measure("b", m.start_ns, m.end_ns)
    assert later.counter_energy_j == pytest.approx(300.0 * later.duration_s, abs=2 * 300.0 * 0.1)


def test_no_warning_where_the_readings_are_there_or_wait_is_true():
    trace, _ = synthetic_trace(duration_s=2.0, seed=0)
    s = trace.samples["t_ns"]
    a, b = int(s.min()) + 500_000_000, int(s.min()) + 1_500_000_000
    with warnings.catch_warnings():
        warnings.simplefilter("error", NotYetReadWarning)
        with EnergyMonitor(PowerSampler.replay(trace, realtime=False, rebase=False), sync=False, wait=False) as mon:
            m = mon.measure("r", a, b)
            # past the trace's last counter reading: NaN, as no reading will ever come (all played at the start)
            last = int(trace.samples[trace.samples["source"] == "nvml_energy"]["t_ns"].max())
            past = mon.measure("p", last - 50_000_000, last + 50_000_000)
        assert math.isfinite(m.energy_j) and math.isfinite(m.counter_energy_j)
        assert math.isnan(past.counter_energy_j)
        with EnergyMonitor(_flat(), sync=False) as mon:  # wait=True: end_window waits for both readings
            mon.begin_window("w")
            m = mon.end_window("w")
        assert math.isfinite(m.energy_j)
