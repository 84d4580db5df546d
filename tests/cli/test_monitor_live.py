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
