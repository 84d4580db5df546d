"""The wall clock stepping during a measurement (an NTP step, a virtual machine paused and resumed: this dev box's
kernel logged a 'virtual machine fork'), injected by an LD_PRELOAD shim (tests/measure/data/wall_step.c) into a
sampler reading the stand-in NVML (tests/measure/data/fake_nvml.c). The driver buffer stamps its samples with the
wall clock and returns only those stamped after lastSeenTimeStamp: set back 0.5 s, it returned nothing new for
0.5 s (a 1 s window's power read 140 J for 200 J; set back 3 s, end_window raised 'no power reading covers' the
window), and the stand-in's own GPU ran on the wall clock, so a 4 s step forward put 4 s of energy into the
counter (1004 J for 200 J). Needs a C compiler."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from tests.measure.test_nvml_fake import _energy_gpu0, fake_nvml  # noqa: F401 (the fixture)

DATA = Path(__file__).parent / "data"
CC = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")

pytestmark = pytest.mark.skipif(CC is None or not sys.platform.startswith("linux"),
                                reason="needs a C compiler and LD_PRELOAD (Linux)")

SCRIPT = r"""
import ctypes, json, os, sys, time, warnings
from energylens import _core
from energylens.measure.monitor import EnergyMonitor, PowerSampler
step_s = float(sys.argv[1])
shim = ctypes.CDLL(os.environ["LD_PRELOAD"])
shim.wall_step_set.argtypes = [ctypes.c_double, ctypes.c_double]
fake = ctypes.CDLL(os.environ["ENERGYLENS_NVML_LIBRARY"])  # the sampler's copy: its clock
fake.fake_nvml_t0_mono.restype = ctypes.c_double
s = PowerSampler.nvml([0])
offset_before = _core.wall_to_steady()[0]
with EnergyMonitor(s, sync=False) as mon, warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    time.sleep(0.7)
    mon.begin_window("w")
    shim.wall_step_set(time.monotonic() + 0.4, step_s)  # steady_clock is CLOCK_MONOTONIC
    time.sleep(1.0)
    m = mon.end_window("w")
t0 = fake.fake_nvml_t0_mono()
print(json.dumps({"step_seen_s": (offset_before - _core.wall_to_steady()[0]) / 1e9,
                  "a": m.start_ns / 1e9 - t0, "b": m.end_ns / 1e9 - t0, "energy": m.energy_j,
                  "counter": m.counter_energy_j, "source": m.source, "gap_count": m.gap_count,
                  "warnings": [f"{w.category.__name__}: {w.message}" for w in caught]}))
"""


@pytest.fixture(scope="module")
def wall_step(tmp_path_factory):
    out = tmp_path_factory.mktemp("wall_step") / "libwall_step.so"
    subprocess.run([CC, "-shared", "-fPIC", "-O2", "-o", str(out), str(DATA / "wall_step.c"), "-ldl"], check=True)
    return out


@pytest.mark.parametrize("step_s", [-0.5013, -3.0013, 4.0013])
def test_a_wall_clock_step_inside_a_window_changes_neither_figure(fake_nvml, wall_step, step_s):  # noqa: F811
    env = {k: v for k, v in os.environ.items() if k != "CUDA_VISIBLE_DEVICES"}
    env.update(ENERGYLENS_NVML_LIBRARY=str(fake_nvml), LD_PRELOAD=str(wall_step))
    out = subprocess.run([sys.executable, "-c", SCRIPT, str(step_s)], capture_output=True, text=True, env=env,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    r = json.loads(out.stdout.strip().splitlines()[-1])
    assert r["step_seen_s"] == pytest.approx(step_s, abs=0.01)  # the shim did step the sampler's wall clock
    truth = _energy_gpu0(r["b"]) - _energy_gpu0(r["a"])  # the stand-in's GPU on the steady clock: ~200 J
    assert r["source"] == "nvml_samples" and r["gap_count"] == 0, r
    assert abs(r["energy"] - truth) < 2.0, (r["energy"], truth)  # 20 ms samples: 200 W x 2 edges x (<= 5 ms)
    # the counter's stamps: within half an update period of 300 W at each edge, as without a step
    assert abs(r["counter"] - truth) < 2 * 300 * 0.05, (r["counter"], truth)
