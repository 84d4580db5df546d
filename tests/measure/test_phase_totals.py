"""Marks at kernel boundaries split a run's energy into phases that add up to the run's total: the phases of
``attribute_phases`` (each reading source) against the window from the first mark to the last measured on the
replayed trace, and the windows between consecutive marks against that one window (the integral is additive)."""

from __future__ import annotations

import time
import warnings

import pytest

from energylens.measure.attribution import attribute_phases
from energylens.measure.monitor import EnergyMonitor, ShortWindowWarning
from energylens.measure.sampler import PowerSampler
from energylens.measure.trace import synthetic_trace


@pytest.fixture(scope="module")
def run():
    return synthetic_trace(duration_s=20.0, seed=1, class_power_w={"gemm": 520.0, "attention": 330.0, "memcpy": 190.0},
                           phases={"prefill": {"gemm": 3, "attention": 1}, "decode": {"attention": 2, "memcpy": 1}})


@pytest.mark.parametrize("source", ["nvml_samples", "nvml_instant", "nvml_energy"])
def test_phase_energies_sum_to_the_window_between_the_first_and_last_mark(run, source):
    trace, truth = run
    phases = attribute_phases(trace, source=source, bootstrap=0)
    assert set(phases.phases) == {"prefill", "decode"}
    for name, energy in zip(phases.phases, phases.energy_j, strict=True):
        assert energy == pytest.approx(truth.phase_energy_j[name], rel=1e-3), name
    t = trace.marks["t_ns"].sort_values().to_numpy()
    with EnergyMonitor(PowerSampler.replay(trace, realtime=False, rebase=False), sync=False, wait=False) as mon:
        time.sleep(0.05)
        whole = mon.measure("run", int(t[0]), int(t[-1]))
    assert whole.source == "nvml_samples"
    assert phases.energy_j.sum() == pytest.approx(whole.energy_j, rel=1e-3)


def test_the_windows_between_consecutive_marks_sum_to_the_whole_window(run):
    trace, _ = run
    t = trace.marks["t_ns"].sort_values().to_numpy()
    with EnergyMonitor(PowerSampler.replay(trace, realtime=False, rebase=False), sync=False, wait=False) as mon:
        time.sleep(0.05)
        whole = mon.measure("run", int(t[0]), int(t[-1]))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ShortWindowWarning)  # a few spans are shorter than 20 ms
            parts = [mon.measure(f"span{i}", int(a), int(b)) for i, (a, b) in enumerate(zip(t[:-1], t[1:], strict=True))]
    assert len(parts) == len(t) - 1 > 50
    assert sum(p.energy_j for p in parts) == pytest.approx(whole.energy_j, rel=1e-9)
    assert sum(p.duration_s for p in parts) == pytest.approx(whole.duration_s, rel=1e-12)
