"""``energylens monitor``'s live line (python/energylens/cli/monitor.py)."""

import argparse
import math

import numpy as np
import pytest

from energylens.cli.monitor import _line, _sampler
from energylens.measure.sampler import PowerSampler


def test_the_live_total_is_nan_until_a_gpu_has_a_reading_not_zero_watts():
    """The first line of a run, before any reading, said "GPU0 nan W  total 0.0 W": no GPU drew 0 W."""
    assert _line(0.0, [math.nan], [0]).endswith("total      nan W")
    assert _line(0.0, [math.nan, math.nan], [2, 3]).endswith("total      nan W")
    # a GPU without a reading yet does not hide the others' power
    assert _line(1.5, [math.nan, 250.0], [0, 1]) == "    1.5 s  GPU0     nan W  GPU1   250.0 W  total    250.0 W"


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
