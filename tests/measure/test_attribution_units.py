"""attribute() given seconds where it takes ns, or milliseconds where it takes seconds, on the synthetic trace (10 s).

- ``span_ns=(0, 4.3)`` (seconds) was truncated to ``[0, 4] ns``: the error named a span the user never gave.
- ``clock_offset_s=5`` (meant as 5 ms) moved every reading 5 s off the kernels: idle 248 W for 90 W, no word; an
  offset that moved every reading out of the span was an error saying no reading lay in the span while listing
  readings that did (the offset was not named)."""

import pytest

from energylens.errors import EnergyLensError
from energylens.measure import attribute
from energylens.measure.trace import synthetic_trace


@pytest.fixture(scope="module")
def trace():
    return synthetic_trace(duration_s=10.0, seed=0)[0]


@pytest.mark.parametrize("span", [(0, 4.3), (0.5, 9.5), (1e9, 2.5e9 + 0.5)])
def test_a_span_that_is_not_whole_nanoseconds_is_refused_as_given(trace, span):
    with pytest.raises(ValueError, match=rf"span_ns must be whole steady-clock ns.*{span[1]!r}"):
        attribute(trace, source="nvml_energy", span_ns=span, bootstrap=0)


def test_whole_float_nanoseconds_are_taken(trace):
    t = trace.samples["t_ns"]
    lo, hi = int(t.min()), int(t.max())
    a = attribute(trace, source="nvml_energy", span_ns=(float(lo), float(hi)), bootstrap=0)
    b = attribute(trace, source="nvml_energy", span_ns=(lo, hi), bootstrap=0)
    assert a.power_w.tolist() == b.power_w.tolist()


@pytest.mark.parametrize("offset", [5, -2.5, 100])
def test_an_offset_of_seconds_is_refused_naming_the_unit(trace, offset):
    # clock_offset_s=5 fitted idle 248 W for the truth's 90 W and classes 14 / 0 / 45 W above it, without a word
    with pytest.raises(ValueError, match=rf"clock_offset_s={offset!r} s is over 1 s: it is seconds \(5 ms is 0\.005\)"):
        attribute(trace, source="nvml_instant", clock_offset_s=offset, averaging_window_s=0.025, bootstrap=0)


def test_an_offset_that_moves_every_reading_off_the_span_is_named(trace):
    # the last 0.5 s of the readings: 0.9 s earlier in kernel time, none of them is left inside it
    hi = int(trace.samples["t_ns"].max())
    with pytest.raises(EnergyLensError, match=r"clock_offset_s=0\.9 s moves the readings to kernel time"):
        attribute(trace, source="nvml_instant", clock_offset_s=0.9, averaging_window_s=0.025, bootstrap=0,
                  span_ns=(hi - 500_000_000, hi))
