"""Windows a monitor ends with, and windows with nothing to read: an EnergyMonitor left with a window open
dropped it at the end of its with block without a word (its energy never measured), and a window whose power
readings were all NaN measured NaN J with source "" and no reason given."""

import time
import warnings

import pytest

from energylens.measure import EnergyMonitor, PowerSampler
from energylens.measure.monitor import OpenWindowWarning

S = 1_000_000_000


def _synthetic() -> PowerSampler:
    return PowerSampler.synthetic([([0.0], [300.0])], energy_counter=False)


def test_windows_left_open_at_the_end_of_the_block_are_warned_by_name():
    with pytest.warns(OpenWindowWarning, match=r"EnergyMonitor ended with window\(s\) 'decode', 'step' still open "
                                               r"\(for 0\.\d\d s, 0\.\d\d s\): not measured"):
        with EnergyMonitor(_synthetic(), sync=False) as mon:
            mon.begin_window("decode")
            mon.begin_window("step")
            mon.begin_window("closed")
            time.sleep(0.05)
            mon.end_window("closed")
    assert mon.windows == ()


def test_no_open_window_warning_for_cancelled_windows_nor_under_an_exception():
    with warnings.catch_warnings():
        warnings.simplefilter("error", OpenWindowWarning)
        with EnergyMonitor(_synthetic(), sync=False) as mon:
            mon.begin_window("a")
            mon.cancel_window("a")
        with pytest.raises(KeyboardInterrupt), EnergyMonitor(_synthetic(), sync=False) as mon:
            mon.begin_window("a")  # the exception, not a warning, says why it was not closed
            raise KeyboardInterrupt
