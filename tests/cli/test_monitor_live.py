"""``energylens monitor``'s live line (python/energylens/cli/monitor.py)."""

import argparse
import math
import sys

import numpy as np
import pytest

from energylens.cli.monitor import _line, _sampler
from energylens.measure.sampler import PowerSampler


def test_a_gpu_without_a_reading_yet_is_said_so_not_nan_watts():
    """The first line of a run, before any reading, said "GPU0 nan W  total nan W" (and before that
    "total 0.0 W"): a user read "nan" where no reading had arrived yet."""
    assert _line(0.0, [math.nan], [0]) == "    0.0 s  GPU0: no power reading yet"
    assert _line(0.0, [math.nan, math.nan], [2, 3]) == "    0.0 s  GPU2 GPU3: no power reading yet"
    # a GPU without a reading yet does not hide the others' power; the total says whom it leaves out
    assert _line(1.5, [math.nan, 250.0], [0, 1]) == ("    1.5 s  GPU0 no reading yet  GPU1   250.0 W  "
                                                     "total    250.0 W without GPU0")
    assert _line(2.0, [150.0, 250.0], [0, 1]) == "    2.0 s  GPU0   150.0 W  GPU1   250.0 W  total    400.0 W"
    assert all("nan" not in _line(0.0, w, [0, 1]) for w in ([math.nan] * 2, [math.nan, 1.0], [1.0, math.nan]))


class _LateSampler:
    """Two GPUs: no reading on the first live line, GPU1's on the second, both on the third; Ctrl-C then."""

    gpu_count = 2

    def __init__(self):
        self.lines = 0

    def flush(self):
        self.lines += 1
        if self.lines > 3:
            raise KeyboardInterrupt

    def samples(self, collect=True):
        rows = {1: [], 2: [(1, 250.0)]}.get(self.lines, [(0, 150.0), (1, 250.0)])
        return {"gpu": np.array([g for g, _ in rows], dtype=np.int32), "power_w": np.array([w for _, w in rows])}


def test_a_shorter_live_line_on_a_terminal_blanks_the_longer_one_before_it(monkeypatch, capsys):
    """On a terminal each live line overwrites the one before it ("\\r"); the lines without a reading are longer
    than those with one, so what they held past the new line's end must be blanked, not left on screen."""
    from energylens.cli.monitor import _live

    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    interrupt, error = _live(_LateSampler(), None, 0.001, [0, 1], "start")
    assert isinstance(interrupt, KeyboardInterrupt) and error is None
    shown = capsys.readouterr().out.strip("\n").split("\r")[1:]
    assert len(shown) == 3 and "no power reading yet" in shown[0] and shown[-1].rstrip().endswith("total    400.0 W")
    assert all(len(b) >= len(a.rstrip()) for a, b in zip(shown, shown[1:], strict=False)), shown


def test_a_run_shorter_than_the_first_reading_says_so_and_keeps_its_totals_and_trace(tmp_path, monkeypatch,
                                                                                      capsys):
    """``energylens monitor --source synthetic --duration 0.001`` printed "GPU0 nan W": the run ended before the
    source's first reading (every 20 ms). Here that reading comes 0.5 s in. The live line says no reading had
    arrived; the totals come from the reading covering the run (marked an interpolated estimate), exit 0, and the
    trace holds that reading and the run's window."""
    from energylens.cli import monitor as cli_monitor
    from energylens.cli.main import main
    from energylens.measure.trace import Trace

    def late(args):
        t = np.array([0.0, 100.0])
        return PowerSampler.synthetic([(t, np.array([200.0, 200.0]))], update_period_s=0.5, buffer_period_s=0.5,
                                      buffer_poll_s=0.5, energy_counter=False)

    monkeypatch.setattr(cli_monitor, "_sampler", late)
    out = tmp_path / "run.parquet"
    with pytest.warns(UserWarning, match="interpolated estimate"):
        rc = main(["monitor", "--source", "synthetic", "--duration", "0.001", "-o", str(out)])
    res = capsys.readouterr()
    assert rc == 0, res.err
    assert "nan" not in res.out.lower(), res.out
    assert res.out.splitlines()[0].endswith("GPU0: no power reading yet"), res.out
    assert "avg   200.0 W" in res.out and f"wrote {out}" in res.out, res.out
    trace = Trace.load(out)
    marks = dict(zip(trace.marks["label"], trace.marks["t_ns"], strict=True))
    power = trace.samples.dropna(subset=["power_w"])
    assert len(power) == 1 and power["power_w"].iloc[0] == 200.0
    assert power["t_ns"].iloc[0] > marks["monitor end"] > marks["monitor start"]  # the reading came after the run


@pytest.mark.parametrize(("duration", "covers"), [(7200.0, 7200.0), (None, 7 * 86400.0), (3e7, 7 * 86400.0)])
def test_the_synthetic_square_wave_lasts_the_run(monkeypatch, duration, covers):
    """It ended at one hour and held 450 W: a 2 h --source synthetic run averaged 375 W, not the 300 W it shows
    everyone trying it out. (Capped at a week: a year's breakpoints would be 1 GB.)"""
    seen = {}
    real = PowerSampler.synthetic

    def spy(timeline, **kw):
        seen["t"], seen["p"] = timeline[0]
        return real(timeline, **kw)

    monkeypatch.setattr(PowerSampler, "synthetic", spy)
    _sampler(argparse.Namespace(source="synthetic", dcgm="off", gpus=None, duration=duration))
    t, p = seen["t"], seen["p"]
    assert covers <= t[-1] <= covers + 60.0
    on = (t >= 0) & (t < covers)
    assert np.mean(p[on]) == 300.0 and set(np.unique(p)) == {150.0, 450.0}


def test_a_live_line_reads_the_latest_rows_not_the_whole_run():
    """Each live line scanned every row recorded so far for each GPU's latest reading: 0.24-0.28 s per line for
    12 M rows (8 GPUs' driver buffer for 8 h), growing with the run, on a 0.5 s --interval. It reads back from the
    end now, as far as a reading of every GPU."""
    import time

    from energylens.cli.monitor import _latest_power

    n = 12_000_000
    power = np.full(n, 200.0)
    power[-8:] = np.nan  # the latest row of each GPU holds no power: the one before it does
    power[-16:-8] = np.arange(8.0)
    samples = {"gpu": np.tile(np.arange(8, dtype=np.int32), n // 8), "power_w": power}
    samples["gpu"][-100_000:][samples["gpu"][-100_000:] == 7] = 6  # GPU 7's latest reading lies further back
    assert _latest_power(samples, 9)[:7] == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 7.0]  # (row -9 is GPU 6's now)
    assert _latest_power(samples, 9)[7] == 200.0 and math.isnan(_latest_power(samples, 9)[8])  # 8: none at all
    start = time.perf_counter()
    for _ in range(5):
        _latest_power(samples, 8)
    assert (time.perf_counter() - start) / 5 < 0.05


def test_without_nvml_the_error_also_names_the_way_to_try_monitor_without_a_gpu(capsys):
    """Without a driver the error said only how to install one; someone trying the command on a laptop was not told
    about --source synthetic, which runs it on a known square wave."""
    import energylens
    from energylens.cli.main import main

    if energylens.capabilities().nvml_available:
        pytest.skip("NVML is available here")
    assert main(["monitor", "--duration", "0.1"]) == 2
    err = capsys.readouterr().err
    assert "NvmlUnavailableError: cannot load NVML" in err and "Fix: install the NVIDIA driver" in err
    assert "To try energylens monitor without a GPU: --source synthetic" in err, err
