"""Which figure a window's ``energy_j`` is when a power stream and the energy counter are both recorded.

Until 2026-12-07 ``energy_j`` was always the power stream's integral, even where only NVML's instant field was
recorded: it averages ~25 ms of each ~100 ms update, so on bursty work (kernels of 2-50 ms) 3 s windows read it
4.0 % off in the median, the counter 0.8 % (counter stamped as the sampler stamps it, reads every 100 ms;
bench/bench_window_estimators.py, docs/sampler.md "Which figure is energy_j"). A window long against the counter's
uncertainty at its ends (ten times) whose power stream is not the driver buffer now takes the counter's figure, says
so (``energy_source``), and keeps the power stream's as ``power_energy_j``."""

from __future__ import annotations

import time
import warnings

import numpy as np
import pytest

from energylens.measure import synthetic_trace
from energylens.measure.integrate import integrate_window
from energylens.measure.monitor import EnergyMonitor
from energylens.measure.sampler import PowerSampler
from energylens.measure.trace import Trace

POWERS = {"gemm": 520.0, "attention": 330.0, "memcpy": 190.0}


def _table(trace: Trace, sources: tuple[str, ...]) -> dict[str, np.ndarray]:
    s = trace.samples[trace.samples["source"].isin(sources)].sort_values("t_ns", kind="stable")
    out = {c: s[c].to_numpy() for c in ("t_ns", "gpu", "power_w", "energy_j")}
    out["source"] = s["source"].astype(str).to_numpy()
    return out


def _truth(trace: Trace, a: int, b: int) -> float:
    k = trace.kernels
    dp = np.array([POWERS[c] for c in k["kind"]]) - 90.0
    overlap = np.clip(np.minimum(k["end_ns"].to_numpy(), b) - np.maximum(k["start_ns"].to_numpy(), a), 0, None)
    return 90.0 * (b - a) * 1e-9 + float(np.sum(overlap * dp)) * 1e-9


def _windows(seed: int, length_s: float, n: int = 30):
    trace, _ = synthetic_trace(class_power_w=POWERS, duration_s=12, noise_w=5.0, seed=seed)
    rng = np.random.default_rng(seed)
    t0 = int(trace.samples["t_ns"].min())
    for _ in range(n):
        a = t0 + int(rng.uniform(0.5, 10.5 - length_s) * 1e9)
        yield trace, a, a + int(length_s * 1e9)


def test_instant_readings_and_a_counter_the_window_takes_the_counter_and_says_so():
    power_err, chosen_err = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for seed in (0, 1):
            for trace, a, b in _windows(seed, 3.0):
                w = integrate_window(_table(trace, ("nvml_instant", "nvml_energy")), 1, a, b,
                                     trace.meta["update_period_s"], hold_s={})
                assert w.energy_source_per_gpu == ("nvml_energy",)
                assert w.energy_j_per_gpu == w.counter_energy_j_per_gpu
                assert w.source == "nvml_instant"  # (the power stream integrated, as before)
                truth = _truth(trace, a, b)
                power_err.append(abs(w.power_energy_j_per_gpu[0] - truth) / truth)
                chosen_err.append(abs(w.energy_j_per_gpu[0] - truth) / truth)
    assert np.median(chosen_err) < np.median(power_err) / 2, (np.median(chosen_err), np.median(power_err))


def test_the_driver_buffer_stays_the_figure():
    """The driver buffer's readings are each the mean of its interval: closer than the counter at every length."""
    trace, a, b = next(_windows(0, 1.0))
    w = integrate_window(_table(trace, ("nvml_samples", "nvml_instant", "nvml_energy")), 1, a, b,
                         trace.meta["update_period_s"], hold_s={})
    assert w.source == "nvml_samples" and w.energy_source_per_gpu == ("nvml_samples",)
    assert w.energy_j_per_gpu == w.power_energy_j_per_gpu != w.counter_energy_j_per_gpu


def test_a_window_shorter_than_the_counter_update_or_without_a_counter_keeps_the_power_stream():
    trace, a, _ = next(_windows(0, 1.0))
    periods = trace.meta["update_period_s"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        short = integrate_window(_table(trace, ("nvml_instant", "nvml_energy")), 1, a, a + 50_000_000, periods,
                                 hold_s={})
        alone = integrate_window(_table(trace, ("nvml_instant",)), 1, a, a + 1_000_000_000, periods, hold_s={})
    assert short.energy_source_per_gpu == ("nvml_instant",) and short.energy_j_per_gpu == short.power_energy_j_per_gpu
    assert np.isfinite(short.counter_energy_j_per_gpu[0])
    assert alone.energy_source_per_gpu == ("nvml_instant",) and alone.energy_j_per_gpu == alone.power_energy_j_per_gpu


def test_a_measurement_names_the_source_of_energy_j_and_keeps_the_power_figure(h200_trace):
    """The shared H200 polls (instant field and counter): 0.7-3.3 s across the whole load."""
    s = h200_trace.samples
    trace = Trace(samples=s[s["source"].isin(["nvml_instant", "nvml_energy"])], meta=h200_trace.meta)
    t0 = 10_000_000_000
    with EnergyMonitor(PowerSampler.replay(trace, realtime=False, rebase=False), sync=False, wait=False) as mon:
        time.sleep(0.05)
        m = mon.measure("load", t0 + 700_000_000, t0 + 3_300_000_000)
    assert m.energy_source == "nvml_energy" and m.source == "nvml_instant"
    assert m.energy_j == pytest.approx(m.counter_energy_j) and m.energy_j_per_gpu == m.counter_energy_j_per_gpu
    assert m.power_energy_j != m.energy_j and m.power_energy_j == pytest.approx(sum(m.power_energy_j_per_gpu))
    assert m.avg_power_w == pytest.approx(m.energy_j / m.duration_s)


def test_a_counter_read_a_second_apart_keeps_the_power_stream_on_a_window_of_a_few_seconds():
    """energylens' counter reader backs off to about a read a second outside open windows: a 3 s span measured
    after the fact would interpolate the counter across a second at each end; a 30 s one takes it."""
    trace, _ = synthetic_trace(class_power_w=POWERS, duration_s=40, noise_w=5.0, seed=3)
    s = _table(trace, ("nvml_instant", "nvml_energy"))
    counter = np.flatnonzero(s["source"] == "nvml_energy")
    keep = np.ones(s["t_ns"].size, bool)
    keep[np.setdiff1d(counter, counter[::12])] = False  # (every 12th update: 1.2 s apart)
    sparse = {k: v[keep] for k, v in s.items()}
    t0 = int(s["t_ns"][0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        short = integrate_window(sparse, 1, t0 + 5_050_000_000, t0 + 8_050_000_000, trace.meta["update_period_s"],
                                 hold_s={})
        long = integrate_window(sparse, 1, t0 + 5_050_000_000, t0 + 35_050_000_000, trace.meta["update_period_s"],
                                hold_s={})
    assert short.energy_source_per_gpu == ("nvml_instant",) and np.isfinite(short.counter_energy_j_per_gpu[0])
    assert long.energy_source_per_gpu == ("nvml_energy",)


def test_a_measurement_pickled_before_the_new_fields_reads_them_as_the_power_signals():
    """(A pickle from before 2026-12-07 lacks them: energy_j was the power signal's figure then.)"""
    from energylens.measure.monitor import Measurement

    m = Measurement(key="w", start_ns=0, end_ns=10**9, duration_s=1.0, energy_j=5.0, energy_j_per_gpu=(5.0,),
                    avg_power_w=5.0, counter_energy_j=6.0, counter_energy_j_per_gpu=(6.0,), source="nvml_instant",
                    sample_count=10, update_period_s=0.1, short_window=False)
    state = {k: v for k, v in m.__dict__.items() if "energy_source" not in k and not k.startswith("power_energy")}
    old = Measurement.__new__(Measurement)
    old.__setstate__(state)
    assert (old.power_energy_j, old.power_energy_j_per_gpu) == (5.0, (5.0,))
    assert (old.energy_source, old.energy_source_per_gpu) == ("nvml_instant", ("nvml_instant",))
    assert old == m
