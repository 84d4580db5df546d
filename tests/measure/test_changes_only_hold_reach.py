"""energylens' sampler records its instant / average power only when the value changes, and again once its hold
(gaps.HOLD_S, 1 s) has passed: a steady GPU leaves a row a second. A window running more than two update periods
past the last such row read NaN (segments.power_segments let the stream reach only two periods past its last
reading), though the value was known held. The stream now reaches its hold plus a period past its last reading;
not past another power source's first reading after it (a fallback took over), nor past the hold."""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from energylens.measure.gaps import hold_limits
from energylens.measure.integrate import integrate_window, power_segments

S = 1_000_000_000
DATA = Path(__file__).parent / "data"
CC = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
PERIODS = {"nvml_instant": 0.1, "nvml_average": 0.1}


def _table(rows: list[tuple[float, float, str]]) -> dict[str, np.ndarray]:
    t, p, src = zip(*sorted(rows), strict=True)
    n = len(t)
    return {"t_ns": (np.array(t) * S).astype(np.int64), "gpu": np.zeros(n, np.int32), "power_w": np.array(p, float),
            "energy_j": np.full(n, math.nan), "source": np.array(src, dtype=object)}


def _steady() -> dict[str, np.ndarray]:  # 300 W held: a row at 0 s, re-sent at 1 s and 2 s
    return _table([(0.0, 300.0, "nvml_instant"), (1.0, 300.0, "nvml_instant"), (2.0, 300.0, "nvml_instant")])


@pytest.mark.parametrize("a, b", [(0.5, 2.5), (2.3, 2.9), (0.0, 3.05)])
def test_a_steady_gpu_within_its_hold_integrates_its_held_value(a, b):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no hole, no other warning
        w = integrate_window(_steady(), 1, int(a * S), int(b * S), PERIODS, hold_s=hold_limits({"sampler": "nvml"}))
    assert w.source == "nvml_instant" and w.gap_count == 0
    assert w.energy_j_per_gpu[0] == pytest.approx(300.0 * (b - a), rel=1e-9)


def test_past_the_hold_the_stream_covers_nothing():
    w = integrate_window(_steady(), 1, int(2.5 * S), int(3.2 * S), PERIODS, hold_s=hold_limits({"sampler": "nvml"}))
    assert math.isnan(w.energy_j_per_gpu[0]) and w.source == ""


def test_a_stream_of_unknown_recording_still_reaches_two_periods():
    w = integrate_window(_steady(), 1, int(0.5 * S), int(2.5 * S), PERIODS, hold_s={})
    assert math.isnan(w.energy_j_per_gpu[0])


def test_a_fallback_after_the_last_reading_ends_the_hold():
    s = _table([(0.0, 300.0, "nvml_instant"), (1.0, 300.0, "nvml_instant"),
                (1.5, 500.0, "nvml_average"), (1.6, 500.0, "nvml_average"), (1.7, 500.0, "nvml_average")])
    holds = hold_limits({"sampler": "nvml"})
    pieces = power_segments(s, int(0.5 * S), int(1.7 * S), PERIODS, holds=holds)
    assert [p[0] for p in pieces] == ["nvml_instant", "nvml_average"], pieces
    assert pieces[0][2] <= int(1.5 * S), pieces


SCRIPT = r"""
import json, time
from energylens.measure.monitor import EnergyMonitor, PowerSampler
with EnergyMonitor(PowerSampler.nvml(), sync=False) as mon:
    time.sleep(0.3)
    mon.begin_window("w")
    time.sleep(1.3)
    m = mon.end_window("w")
print(json.dumps([m.end_ns - m.start_ns, m.energy_j, m.source]))
"""


@pytest.mark.skipif(CC is None, reason="no C compiler to build the stand-in NVML")
def test_a_live_window_over_a_steady_instant_stream_is_measured(tmp_path):
    """The stand-in NVML (tests/measure/data/fake_nvml.c) at a steady 100 W, instant field only: its rows come a
    second apart, and a 1.3 s window ended more than two periods after one (end_window raised 'no power reading
    covers ... ends after the recording')."""
    lib = tmp_path / "libfake_nvml.so"
    subprocess.run([CC, "-shared", "-fPIC", "-O2", "-o", str(lib), str(DATA / "fake_nvml.c")], check=True)
    env = {k: v for k, v in os.environ.items() if k != "CUDA_VISIBLE_DEVICES"}
    env.update(ENERGYLENS_NVML_LIBRARY=str(lib), FAKE_NVML_STEADY="1", FAKE_NVML_QUANTISED="1",
               FAKE_NVML_NO_SAMPLES="1", FAKE_NVML_GPUS="1")
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    span_ns, energy_j, source = json.loads(out.stdout.strip().splitlines()[-1])
    assert source == "nvml_instant"
    assert energy_j == pytest.approx(100.0 * span_ns * 1e-9, rel=1e-3)
