"""An energy counter read less often than it updates (``PowerSampler.nvml(energy_interval_s=5)``, or ``100`` meant as
100 ms) against the stand-in NVML (tests/measure/data/fake_nvml.c: the counter moves every 100 ms after nvmlInit, its
log has every read). Its update period was "detected" from those reads: the read spacing, 0.58 s for a 0.1 s counter
(NVML-FACTS: ~100 ms), reported as the counter's period; and the read a window's opening makes was stamped midway
back to the read before it, 0.25 s before the value was published, so a 1 s window's counter read 158.7 J for
the 200 J the power stream (and the stand-in's truth) gave, without a word. Needs a C compiler."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

DATA = Path(__file__).parent / "data"
CC = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")

pytestmark = pytest.mark.skipif(CC is None, reason="no C compiler to build the stand-in NVML")

SCRIPT = r"""
import ctypes, json, os, sys, time
from energylens import _core
from energylens.measure.monitor import EnergyMonitor, PowerSampler
fake = ctypes.CDLL(os.environ["ENERGYLENS_NVML_LIBRARY"])  # the sampler's copy: its clock and read log
fake.fake_nvml_t0_wall.restype = ctypes.c_double
s = PowerSampler.nvml([0], energy_interval_s=float(sys.argv[1]))
offset_ns, uncertainty_ns = _core.wall_to_steady()
with EnergyMonitor(s, sync=False) as mon:
    time.sleep(0.5)
    mon.begin_window("w")
    time.sleep(1.0)
    m = mon.end_window("w")
x = s.samples()
t0 = fake.fake_nvml_t0_wall()
rows = sorted((int(t) - offset_ns) / 1e9 - t0 for t, src in zip(x["t_ns"], x["source"]) if src == "nvml_energy")
reads = (ctypes.c_double * 65536)()
n = fake.fake_nvml_reads(1, reads, 65536)
info = {i.name: i for i in s.result().sources}["nvml_energy_counter"]
print(json.dumps({"rows": rows, "reads": reads[:n], "uncertainty_s": uncertainty_ns / 1e9, "energy": m.energy_j,
                  "counter": m.counter_energy_j, "period": info.update_period_s, "detected": info.period_detected}))
"""


@pytest.fixture(scope="module")
def fake_nvml(tmp_path_factory):
    out = tmp_path_factory.mktemp("fake_nvml") / "libfake_nvml.so"
    subprocess.run([CC, "-shared", "-fPIC", "-O2", "-o", str(out), str(DATA / "fake_nvml.c")], check=True)
    return out


@pytest.mark.parametrize("interval_s", [5.0, 0.5])
def test_a_slowly_read_counter_keeps_its_update_period_and_its_stamps(fake_nvml, interval_s):
    env = {k: v for k, v in os.environ.items() if k != "CUDA_VISIBLE_DEVICES"}
    env.update(ENERGYLENS_NVML_LIBRARY=str(fake_nvml))
    out = subprocess.run([sys.executable, "-c", SCRIPT, str(interval_s)], capture_output=True, text=True, env=env,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    r = json.loads(out.stdout.strip().splitlines()[-1])
    # the counter's own period (100 ms), not the spacing of the reads (0.58 s at 5 s, 0.5 s at 0.5 s)
    assert r["detected"] and r["period"] == pytest.approx(0.1, rel=0.35), r["period"]
    # each row (a move) stamped within one update period before the read that saw it, as docs/sampler.md says
    reads, slack = np.array(r["reads"]), 0.002 + r["uncertainty_s"]
    for row in r["rows"]:
        seen_by = reads[reads >= row - slack].min()
        assert seen_by - row <= 0.1 + slack, (row, seen_by)
    # the 1 s window's counter figure within half an update period of 300 W at each edge of the power stream's
    assert abs(r["counter"] - r["energy"]) < 2 * 300 * 0.05, (r["counter"], r["energy"])
