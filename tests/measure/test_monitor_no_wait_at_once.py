"""EnergyMonitor(wait=False) with a window closed at once: its energy_j is NaN and energy_source '' (no power reading
lies inside the window or past its end yet, and a figure from none would be made up), which is right, but the user
must be told why and what to do. The NotYetReadWarning said no reading 'past the window's end' had arrived and to
measure again; it now also says the window holds no power reading (so energy_source is '') and the ways out:
wait=True, closing the window later (after the sampler's first reading), or measuring the span again."""

from __future__ import annotations

import math
import time

import pytest

from energylens.measure.monitor import EnergyMonitor, NotYetReadWarning
from energylens.measure.sampler import PowerSampler


def _flat(**kw):
    return PowerSampler.synthetic([([0.0, 60.0], [300.0, 300.0])], **kw)


def test_a_window_closed_at_once_says_it_holds_no_power_reading_and_what_to_do():
    # the driver buffer's first reading 0.5 s after the start: a window closed at once, 50 ms in, holds none
    with EnergyMonitor(_flat(buffer_period_s=0.5), sync=False, wait=False) as mon:
        time.sleep(0.05)
        mon.begin_window("a")
        with pytest.warns(NotYetReadWarning) as got:
            m = mon.end_window("a")
    assert math.isnan(m.energy_j) and m.energy_source == "" and m.sample_count == 0
    text = str(got[0].message)
    assert text.startswith("end_window('a'): energy_j"), text
    assert "the window holds no power reading" in text, text
    assert "wait=True" in text and "close the window later" in text, text
    assert "energy_source is ''" in text, text
    assert f"mon.measure('a', {m.start_ns}, {m.end_ns})" in text, text
