"""``energylens monitor``'s live line (python/energylens/cli/monitor.py)."""

import argparse
import math
import sys

import numpy as np
import pytest

from energylens.cli.monitor import _sampler
from energylens.cli.monitor_live import live_line
from energylens.measure.sampler import PowerSampler


def test_a_gpu_without_a_reading_yet_is_said_so_not_nan_watts():
    """The first line of a run, before any reading, said "GPU0 nan W  total nan W" (and before that
    "total 0.0 W"): a user read "nan" where no reading had arrived yet."""
    assert live_line("0.00", None, [math.nan], [0]) == "          0.00 s  GPU0: no power reading yet"
    assert live_line("0.00", None, [math.nan, math.nan], [2, 3]) == "          0.00 s  GPU2 GPU3: no power reading yet"
    # a GPU without a reading yet does not hide the others' power; the total says whom it leaves out
    assert live_line("1.00", "1.50", [math.nan, 250.0], [0, 1]) == (
        "     1.00-1.50 s  GPU0 no reading yet  GPU1   250.0 W  total    250.0 W without GPU0")
    assert live_line("1.50", "2.00", [150.0, 250.0], [0, 1]) == (
        "     1.50-2.00 s  GPU0   150.0 W  GPU1   250.0 W  total    400.0 W")
    assert all("nan" not in live_line("0.00", "0.50", w, [0, 1])
               for w in ([math.nan] * 2, [math.nan, 1.0], [1.0, math.nan]))


class _Interrupting:
    """A sampler whose fourth flush is a Ctrl-C."""

    def __init__(self):
        self.flushes = 0

    def flush(self):
        self.flushes += 1
        if self.flushes > 3:
            raise KeyboardInterrupt


class _Lines:
    """Two GPUs: no reading on the first live line, GPU1's on the second, both on the third."""

    def __init__(self):
        self.watts = iter([[math.nan, math.nan], [math.nan, 250.0], [150.0, 250.0]])

    def line(self):
        watts = next(self.watts)
        return live_line("0.00", None if all(map(math.isnan, watts)) else "0.50", watts, [0, 1])


def test_a_shorter_live_line_on_a_terminal_blanks_the_longer_one_before_it(monkeypatch, capsys):
    """On a terminal each live line overwrites the one before it ("\\r"); the lines without a reading are longer
    than those with one, so what they held past the new line's end must be blanked, not left on screen."""
    from energylens.cli.monitor import _live

    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    interrupt, error = _live(_Interrupting(), None, 0.001, _Lines(), "start")
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


class _BigSampler:
    """8 GPUs' driver buffer for 8 h (12 M rows, one every 20 ms per GPU, 200 W) ending now, as the sampler's table."""

    gpu_count, meta = 8, {"sampler": "synthetic"}

    def __init__(self, n=12_000_000):
        from energylens.measure.marks import steady_now_ns

        self.end_ns = steady_now_ns()
        step = np.arange(n, dtype=np.int64) // 8
        self.table = {"t_ns": self.end_ns - (step[-1] - step) * 20_000_000, "gpu": np.tile(np.arange(8, dtype=np.int32),
                      n // 8), "power_w": np.full(n, 200.0), "energy_j": np.full(n, np.nan),
                      "source": np.full(n, "nvml_samples", dtype=object)}

    def samples(self, collect=True):
        return self.table

    def result(self):
        return argparse.Namespace(update_period_s={"nvml_samples": 0.02})


def test_a_live_line_reads_the_latest_rows_not_the_whole_run():
    """Each live line scanned every row recorded so far for each GPU's latest reading: 0.24-0.28 s per line for
    12 M rows (8 GPUs' driver buffer for 8 h), growing with the run, on a 0.5 s --interval. It reads back from the
    end now, as far as a reading of every GPU, and integrates only the readings near its interval."""
    import time

    from energylens.cli.monitor_live import LiveMeans, latest_power_ns

    big = _BigSampler()
    samples, t = big.table, big.table["t_ns"]
    samples["power_w"][-8:] = np.nan  # the latest row of each GPU holds no power: the one before it does
    gpu = samples["gpu"]
    gpu[-100_000:][gpu[-100_000:] == 7] = 6  # GPU 7's latest reading lies further back
    latest = latest_power_ns(samples, 9)
    assert latest[:7] == [int(t[-16 + g]) for g in range(6)] + [int(t[-9])]  # (row -9 is GPU 6's now)
    assert latest[7] == int(t[np.flatnonzero(gpu == 7)[-1]]) and latest[8] is None  # 8: none at all
    lines = LiveMeans(big, int(t[0]), list(range(8)))
    lines.since_ns = int(t[-1]) - 500_000_000  # a line 0.5 s before the end
    start = time.perf_counter()
    line = lines.line()
    assert time.perf_counter() - start < 0.1, line
    # GPU 7 read nothing in the last 0.5 s: said so, and the others' interval is not held back to its last reading
    assert line.startswith("29999.48-29999.96 s  GPU0   200.0 W"), line  # (the last step of rows is NaN)
    assert line.count("200.0 W") == 7 and "GPU7 no new reading  total   1400.0 W without GPU7" in line, line
    start = time.perf_counter()
    for _ in range(5):
        latest_power_ns(samples, 8)
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


def test_a_line_with_no_reading_since_the_one_before_waits_for_one_unless_the_source_stalled():
    """``--duration 1.005`` ended on "1.00 s  no power reading since 0.99 s": its last line came 10 ms after the one
    before, within the buffer's 20 ms update period, and read as if power had been lost. Such a line is not printed
    (the totals follow); readings missing for longer than the source's lag are still said."""
    from energylens.cli.monitor_live import LiveMeans

    big = _BigSampler(8 * 1000)  # the latest readings now
    t = big.table["t_ns"]
    lines = LiveMeans(big, int(t[0]), list(range(8)))
    lines.since_ns = int(t[-1])
    assert lines.line() is None
    lines.since_ns = int(t[-1]) - 100_000_000
    assert lines.line().count("200.0 W") == 8
    big.table["t_ns"] = t - 3_000_000_000  # the same readings, the latest 3 s ago: the source stalled
    lines.since_ns = int(big.table["t_ns"][-1])
    assert lines.line().endswith(f"no power reading since {(lines.since_ns - int(t[0])) // 10**7 / 100:.2f} s")
