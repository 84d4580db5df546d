"""EnergyMonitor.measure given seconds where it takes steady-clock ns: ``measure("w", 0.5, 1.0)`` was rounded to
``[0, 1] ns`` and refused as a span that "starts before the recording", naming a span the user never gave."""

import time

import pytest

from energylens.measure.marks import steady_now_ns
from energylens.measure.monitor import EnergyMonitor
from energylens.measure.sampler import PowerSampler


@pytest.fixture(scope="module")
def mon():
    with EnergyMonitor(PowerSampler.synthetic([([0.0], [150.0])]), sync=False) as m:
        time.sleep(0.4)
        yield m


@pytest.mark.parametrize("span", [(0.5, 1.0), (0.0, 0.25)])
def test_a_span_in_seconds_is_refused_as_given(mon, span):
    with pytest.raises(ValueError, match=r"measure\('w'\): (start|end)_ns must be whole steady-clock ns.*got "
                                         r"(0\.5|0\.25): seconds\?"):
        mon.measure("w", *span)


def test_whole_float_nanoseconds_are_measured(mon):
    b = steady_now_ns() - 50_000_000
    a = b - 200_000_000
    assert mon.measure("w", float(a), float(b)).energy_j == pytest.approx(mon.measure("w", a, b).energy_j)
