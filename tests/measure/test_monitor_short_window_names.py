"""A synthetic run's short-window warning said 'shorter than the nvml_instant update period': its rows are recorded
under NVML's source names, but no NVML was read. It now names them as the hole warnings do
(:func:`energylens.measure.gaps.source_label`); an NVML run's keeps the NVML name."""

from __future__ import annotations

import time

import pytest
from test_monitor import synthetic

from energylens.measure.monitor import EnergyMonitor, ShortWindowWarning


def test_a_synthetic_runs_short_window_warning_names_the_synthetic_source():
    with EnergyMonitor(synthetic([([0.0], [200.0])], chain=("instant",)), sync=False) as mon:
        time.sleep(0.15)
        mon.begin_window("tiny")
        with pytest.warns(ShortWindowWarning) as warned:
            m = mon.end_window("tiny")
    (said,) = [str(w.message) for w in warned if issubclass(w.category, ShortWindowWarning)]
    assert "shorter than the synthetic_instant (rows of source nvml_instant) update period" in said, said
    assert m.source == "nvml_instant"  # the Measurement keeps the rows' source
