"""A hole in the readings of ``--power-source synthetic`` was named as NVML's (``nvml_energy GPU position 0: no
reading ...``), the trace source its rows are recorded as: a user of the synthetic source read that NVML had been
sampled. A synthetic sampler's holes (also replayed: ``meta["recorded_by"]``) now name the synthetic source that
made the rows, with the trace source; NVML's keep their names."""

from __future__ import annotations

import time
import warnings

import numpy as np
import pytest

from energylens.measure.gaps import SampleGapWarning, hold_limits
from energylens.measure.integrate import integrate_window
from energylens.measure.monitor import PowerSampler, steady_now_ns
from energylens.profiling.meter import Meter

S = 1_000_000_000


def _samples() -> dict[str, np.ndarray]:
    """One GPU at 200 W: instant readings every 10 ms but none from 1.0 to 3.5 s, counter readings every 10 ms to
    1 s and one at 4 s."""
    ti = np.arange(0, 5 * S, S // 100)
    ti = ti[(ti <= S) | (ti >= 3.5 * S)]
    tc = np.concatenate([np.arange(0, S + 1, S // 100), [4 * S]])
    t = np.concatenate([ti, tc])
    o = np.argsort(t, kind="stable")
    return {"t_ns": t[o], "gpu": np.zeros(t.size, np.int64),
            "power_w": np.concatenate([np.full(ti.size, 200.0), np.full(tc.size, np.nan)])[o],
            "energy_j": np.concatenate([np.full(ti.size, np.nan), 200.0 * tc / S])[o],
            "source": np.array(["nvml_instant"] * ti.size + ["nvml_energy"] * tc.size, dtype=object)[o]}


def _said(meta: dict) -> str:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        integrate_window(_samples(), 1, S // 2, 2 * S, {"nvml_instant": 0.01, "nvml_energy": 0.01},
                         hold_s=hold_limits(meta))
    said = [str(w.message) for w in caught if issubclass(w.category, SampleGapWarning)]
    assert len(said) == 2, said  # the counter's hole at the window's end, the power readings' hole inside it
    return "\n".join(said)


@pytest.mark.parametrize("meta", [{"sampler": "synthetic"}, {"sampler": "replay", "recorded_by": "synthetic"}])
def test_a_synthetic_samplers_holes_name_the_synthetic_source(meta):
    said = _said(meta)
    assert "synthetic_energy_counter (rows of source nvml_energy) GPU position 0: no reading" in said
    assert "synthetic_instant (rows of source nvml_instant) GPU position 0: no reading" in said
    assert "nvml_energy GPU" not in said and "nvml_instant GPU" not in said


def test_nvmls_holes_keep_their_names():
    said = _said({"sampler": "nvml"})
    assert "nvml_energy GPU position 0: no reading" in said and "nvml_instant GPU position 0" in said
    assert "synthetic" not in said


def test_a_profiling_meter_on_a_synthetic_sampler_names_it():
    """The sweep's Meter (EnergyMonitor): a window measured afterwards across the counter's backed-off readings
    (each read costs CPU, so the reader spaces them seconds apart once no window is open)."""
    sampler = PowerSampler.synthetic([([0.0], [200.0])], update_period_s=0.01, averaging_window_s=0.01,
                                     buffer_period_s=0.005, buffer_poll_s=0.02, energy_read_cpu_s=0.01)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with Meter(sampler, "synthetic:200") as meter:
            time.sleep(0.3)
            with meter.span("busy"):
                time.sleep(1.0)
            t0 = steady_now_ns()
            time.sleep(4.0)
            meter.measure("after", t0 - S * 3 // 10, t0 + S * 17 // 10)
    said = [str(w.message) for w in caught if issubclass(w.category, SampleGapWarning)]
    assert said and all("nvml_energy GPU" not in s for s in said), said
    assert any("synthetic_energy_counter (rows of source nvml_energy)" in s for s in said), said
