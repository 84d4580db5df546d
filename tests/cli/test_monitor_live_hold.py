"""``energylens monitor``'s live line on a changes-only power stream (python/energylens/cli/monitor_live.py).

energylens' own instant / average stream records a row when the value changes, and sends a held value again once
``HOLD_S`` (1 s) after its last row, at the next poll (``hold_limits``, measure/gaps.py). The live line called a GPU
"no new reading" once its latest reading was 1 s old (the same 1 s as the hold): a GPU holding a steady 100 W read
``0.00-1.00 s  GPU0 no new reading  GPU1 255.0 W  total 255.0 W without GPU0`` just before its re-send, left out of
the total; and a GPU whose only reading lay at the interval's start held every line back for the first second. A
GPU within its hold (plus two update periods) is holding its value: it is read, its held value carried to now."""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import energylens.cli.monitor_live as monitor_live
from energylens.cli.monitor_live import LiveMeans

S = 1_000_000_000


class _Rows:
    """A sampler's table of power readings ``(t_s, gpu, power_w, source)`` up to now (set by :func:`_at`)."""

    def __init__(self, rows, meta=None, periods=None, gpu_count=2):
        t, g, p, src = zip(*sorted(rows, key=lambda r: r[0]), strict=True)
        self.table = {"t_ns": np.array([round(x * S) for x in t], np.int64), "gpu": np.array(g, np.int32),
                      "power_w": np.array(p, float), "energy_j": np.full(len(t), np.nan),
                      "source": np.array(src, dtype=object)}
        self.meta = {"sampler": "nvml"} if meta is None else meta
        self.periods = {"nvml_instant": 0.1} if periods is None else periods
        self.gpu_count, self.now_ns = gpu_count, 0

    def samples(self, collect=True):
        keep = self.table["t_ns"] <= self.now_ns
        return {k: v[keep] for k, v in self.table.items()}

    def result(self):
        return argparse.Namespace(update_period_s=self.periods)


def _at(monkeypatch, lines: LiveMeans, now_s: float) -> str | None:
    """``lines``' line at ``now_s``, the sampler having collected the readings stamped up to then."""
    lines.sampler.now_ns = round(now_s * S)
    monkeypatch.setattr(monitor_live, "steady_now_ns", lambda: round(now_s * S))
    return lines.line()


def _steady_and_changing(upto_s=1.3):
    """The instant stream of two GPUs: GPU0 a steady 100 W (its row at 0, sent again 1.02 s on), GPU1 changing
    every 100 ms, 10 W a step (200 W at 0: its mean between two of its rows, a and b s, is 200 + 50 (a + b) W)."""
    steady = [(0.0, 0, 100.0, "nvml_instant"), (1.02, 0, 100.0, "nvml_instant")]
    changing = [(i / 10, 1, 200.0 + 10 * i, "nvml_instant") for i in range(round(upto_s * 10) + 1)]
    return steady + changing


def test_a_gpu_holding_a_steady_value_is_read_not_called_stale(monkeypatch):
    """The reviewer's reproduction: at 0.5 s the line was withheld (GPU0's only reading at the interval's start),
    at 1.01 s it said "GPU0 no new reading" and left GPU0's 100 W out of the total. Both GPUs hold their latest
    value to now (GPU1 300 W from 1.0 s)."""
    lines = LiveMeans(_Rows(_steady_and_changing()), 0, [0, 1])
    assert _at(monkeypatch, lines, 0.5) == "     0.00-0.50 s  GPU0   100.0 W  GPU1   225.0 W  total    325.0 W"
    gpu1 = (0.5 * 275.0 + 0.01 * 300.0) / 0.51
    assert _at(monkeypatch, lines, 1.01) == (
        f"     0.50-1.01 s  GPU0   100.0 W  GPU1 {gpu1:7.1f} W  total {100 + gpu1:8.1f} W")
    gpu1 = (0.09 * 305.5 + 0.1 * 315.0) / 0.19  # (301 W at 1.01 s on the 300 -> 310 W step)
    assert _at(monkeypatch, lines, 1.2) == (
        f"     1.01-1.20 s  GPU0   100.0 W  GPU1 {gpu1:7.1f} W  total {100 + gpu1:8.1f} W")


def test_a_lone_gpu_holding_its_value_is_read_up_to_now_until_its_hold_runs_out(monkeypatch):
    """One GPU on the instant stream, holding 100 W from 0 s: its lines reach now (the line at 0.5 s said nothing,
    the one at 1.1 s "no power reading since"); past the hold plus two update periods (1.2 s) without the re-send
    its source has stalled, and the line says so."""
    lines = LiveMeans(_Rows([(0.0, 0, 100.0, "nvml_instant")], gpu_count=1), 0, [0])
    assert _at(monkeypatch, lines, 0.5) == "     0.00-0.50 s  GPU0   100.0 W  total    100.0 W"
    assert _at(monkeypatch, lines, 1.15) == "     0.50-1.15 s  GPU0   100.0 W  total    100.0 W"
    assert _at(monkeypatch, lines, 1.5) == "          1.50 s  no power reading since 1.15 s"


def test_a_gpu_silent_past_its_hold_is_still_said_without_a_new_reading(monkeypatch):
    """GPU0's instant stream stopped after its reading at 0 s (no re-send at 1 s): at 1.3 s it is 0.1 s past its
    hold plus two update periods, said "no new reading", and the other GPU's interval is not held back for it."""
    rows = [r for r in _steady_and_changing() if r[1] == 1 or r[0] == 0.0]
    lines = LiveMeans(_Rows(rows), 0, [0, 1])
    assert _at(monkeypatch, lines, 1.3) == (
        "     0.00-1.30 s  GPU0 no new reading  GPU1   265.0 W  total    265.0 W without GPU0")


@pytest.mark.parametrize(("meta", "now_s", "holding"), [
    ({"sampler": "nvml"}, 1.15, True),  # the 1 s hold + 2 x 0.1 s
    ({"sampler": "nvml"}, 1.25, False),
    ({"sampler": "nvml", "poll_interval_s": 0.5}, 1.65, True),  # polled every 0.5 s: its re-send comes by 1.5 s
    ({"sampler": "replay", "recorded_by": "nvml"}, 1.15, True),  # a trace of energylens' own, replayed
    ({"sampler": "replay", "hold_s": {"nvml_instant": 2.0}}, 2.15, True),  # another tool's, its hold stated
    ({"sampler": "replay"}, 1.15, False),  # another tool's polls, every poll a row: the lag is 1 s as before
    ({"sampler": "replay", "hold_s": {"nvml_instant": None}}, 1.15, False),  # no hold known
])
def test_the_allowance_is_the_streams_hold_plus_two_update_periods(monkeypatch, meta, now_s, holding):
    """How long a GPU's reading may hold follows how ``hold_limits`` says its rows were recorded."""
    rows = [r for r in _steady_and_changing(upto_s=2.2) if r[1] == 1 or r[0] == 0.0]
    lines = LiveMeans(_Rows(rows, meta=meta), 0, [0, 1])
    line = _at(monkeypatch, lines, now_s)
    assert ("GPU0   100.0 W" in line) is holding and ("GPU0 no new reading" in line) is not holding, line


def test_a_held_value_carried_to_now_does_not_move_the_next_line(monkeypatch):
    """GPU0 steps from 100 W to 300 W at 0.7 s (a row of the old value at the last poll that saw it, 0.69 s, and
    one of the new), after the line at 0.6 s carried 100 W to it: the next line integrates the step as the totals
    do, from 0.6 s on."""
    rows = [(0.0, 0, 100.0, "nvml_instant"), (0.69, 0, 100.0, "nvml_instant"), (0.7, 0, 300.0, "nvml_instant")]
    lines = LiveMeans(_Rows(rows + [r for r in _steady_and_changing() if r[1] == 1]), 0, [0, 1])
    assert _at(monkeypatch, lines, 0.6).startswith("     0.00-0.60 s  GPU0   100.0 W  GPU1   230.0 W")
    line = _at(monkeypatch, lines, 1.0)
    gpu0 = (0.09 * 100 + 0.01 * 200 + 0.3 * 300) / 0.4  # held to 0.69 s, the 10 ms ramp, 300 W from 0.7 s
    assert line.startswith(f"     0.60-1.00 s  GPU0 {gpu0:7.1f} W  GPU1   280.0 W"), line


CC = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
LINE = re.compile(r"^ *(\d+\.\d\d)-(\d+\.\d\d) s  GPU0 +([0-9.]+) W  total +([0-9.]+) W$", re.M)


@pytest.mark.skipif(CC is None, reason="no C compiler to build the stand-in NVML")
def test_monitor_on_the_instant_stream_reads_every_line_up_to_its_time(tmp_path):
    """``energylens monitor`` against the stand-in NVML (tests/measure/data/fake_nvml.c) without the driver buffer,
    its instant reading holding 0.5 s between steps (100 W, 300 W every other half second): the lines ended at the
    latest step, up to 0.5 s before their time (a 3.2 s run's last line ended at 2.89 s). They now reach their time:
    they follow one another from 0 to the end of the run and their energies add up to the total."""
    lib = tmp_path / "libfake_nvml.so"
    subprocess.run([CC, "-shared", "-fPIC", "-O2", "-o", str(lib),
                    str(Path(__file__).parents[1] / "measure" / "data" / "fake_nvml.c")], check=True)
    env = {k: v for k, v in os.environ.items() if k != "CUDA_VISIBLE_DEVICES"}
    env.update(ENERGYLENS_NVML_LIBRARY=str(lib), FAKE_NVML_GPUS="1", FAKE_NVML_NO_SAMPLES="1", FAKE_NVML_QUANTISED="1")
    run = subprocess.run([sys.executable, "-m", "energylens.cli.main", "monitor", "--duration", "2.2", "--dcgm", "off"],
                         capture_output=True, text=True, env=env, timeout=120)
    assert run.returncode == 0, run.stderr
    out = run.stdout
    assert "sampled" in out and "from nvml_instant" in out, out
    lines = [tuple(map(float, m)) for m in LINE.findall(out)]
    assert len(lines) >= 3 and lines[0][0] == 0.0, out
    assert all(prev[1] == nxt[0] for prev, nxt in zip(lines, lines[1:], strict=False)), out
    sampled = float(re.search(r"sampled ([0-9.]+) s", out)[1])
    assert sampled - 0.05 <= lines[-1][1] <= sampled, out
    assert all(99.0 <= w <= 301.0 for _, _, w, _ in lines), out
    total_j = float(re.search(r"total: +([0-9.]+) J", out)[1])
    assert sum((b - a) * w for a, b, w, _ in lines) == pytest.approx(total_j, rel=0.05), out
