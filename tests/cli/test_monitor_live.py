"""``energylens monitor``'s live line (python/energylens/cli/monitor.py)."""

import math

from energylens.cli.monitor import _line


def test_the_live_total_is_nan_until_a_gpu_has_a_reading_not_zero_watts():
    """The first line of a run, before any reading, said "GPU0 nan W  total 0.0 W": no GPU drew 0 W."""
    assert _line(0.0, [math.nan], [0]).endswith("total      nan W")
    assert _line(0.0, [math.nan, math.nan], [2, 3]).endswith("total      nan W")
    # a GPU without a reading yet does not hide the others' power
    assert _line(1.5, [math.nan, 250.0], [0, 1]) == "    1.5 s  GPU0     nan W  GPU1   250.0 W  total    250.0 W"
