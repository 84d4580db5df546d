"""bench/gpu_check.py's 2 % window verdict: a window whose energy equals the counter's exactly is a pass
(it read `rel_diff or inf`, so 0.0 became inf and failed), a missing or undefined difference a fail."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _gpu_check():
    spec = importlib.util.spec_from_file_location("gpu_check", ROOT / "bench" / "gpu_check.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_exact_window_passes_and_undefined_fails():
    within = _gpu_check().windows_within
    assert within([{"rel_diff": 0.0}, {"rel_diff": 0.019}], 0.02)
    assert not within([{"rel_diff": 0.0}, {"rel_diff": 0.021}], 0.02)
    assert not within([{"rel_diff": None}], 0.02)
    assert not within([{"rel_diff": math.nan}], 0.02)
    assert not within([], 0.02)


def _m(source: str, energy_source: str, power_j: float, counter_j: float):
    from energylens.measure.measurement import Measurement

    energy = counter_j if energy_source == "nvml_energy" else power_j
    return Measurement(key="w", start_ns=0, end_ns=10**10, duration_s=10.0, energy_j=energy, energy_j_per_gpu=(energy,),
                       avg_power_w=energy / 10, counter_energy_j=counter_j, counter_energy_j_per_gpu=(counter_j,),
                       source=source, sample_count=100, update_period_s=0.1, short_window=False,
                       power_energy_j=power_j, power_energy_j_per_gpu=(power_j,), energy_source=energy_source,
                       energy_source_per_gpu=(energy_source,))


def test_windows_compare_the_power_stream_with_the_counter_not_energy_j():
    """Since energy_j became the counter's own figure on long windows of the instant field (2026-12-07), a window
    compared energy_j with the counter: 0 %, a pass of the 2 % target that measured nothing. The check compares
    the power stream's figure (power_energy_j) and reports the driver buffer against the counter, or why not."""
    from types import SimpleNamespace

    check = _gpu_check()
    instant = check.window_row("matmul", _m("nvml_instant", "nvml_energy", 6000.0, 6500.0))
    assert instant["rel_diff"] == (6500.0 - 6000.0) / 6500.0 and instant["energy_j"] == 6500.0  # (was 0.0)
    assert not check.windows_within([instant], 0.02)
    fell = SimpleNamespace(fallbacks=[SimpleNamespace(from_source="sample_buffer", to="instant",
                                                      reason="NVML_ERROR_NOT_SUPPORTED")])
    why = check.buffer_vs_counter([instant], fell)
    assert not why["measured"] and "nvml_instant" in why["why"] and "NOT_SUPPORTED" in why["why"], why
    buffer = check.window_row("memcpy", _m("nvml_samples", "nvml_samples", 3510.0, 3500.0))
    got = check.buffer_vs_counter([instant, buffer], SimpleNamespace(fallbacks=[]))
    assert got["measured"] and got["windows"] == {"memcpy": buffer["rel_diff"]}
    assert abs(got["max_rel_diff"] - 10.0 / 3500.0) < 1e-12
