"""attribute(span_ns=...) reaching far past the readings: span_s and idle_energy_j counted the time nothing recorded
(a 6 s recording read span 35 s, idle 3150 J of 'measured' idle energy), without a word. A span reaching more than
two update periods (at least 0.25 s) beyond the first or last reading is now an EnergyLensError naming both ranges,
as attribute_phases refuses a phase there."""

from __future__ import annotations

import pytest

from energylens.errors import EnergyLensError
from energylens.measure import Trace, attribute, synthetic_trace


@pytest.fixture(scope="module")
def trace() -> Trace:
    return synthetic_trace(duration_s=6.0, seed=3)[0]


def _range(trace, source):
    t = trace.samples[trace.samples["source"] == source]["t_ns"]
    return int(t.min()), int(t.max())


@pytest.mark.parametrize("source", ["nvml_energy", "nvml_instant", "nvml_samples"])
def test_a_span_past_the_last_reading_is_refused_naming_both_ranges(trace, source):
    lo, hi = _range(trace, source)
    with pytest.raises(EnergyLensError, match=rf"span_ns .*{hi + 30 * 10**9}.*beyond.*{source}.*readings.*{hi}"):
        attribute(trace, source=source, span_ns=(lo + 10**9, hi + 30 * 10**9))


def test_a_span_before_the_first_reading_is_refused(trace):
    lo, hi = _range(trace, "nvml_energy")
    with pytest.raises(EnergyLensError, match=r"span_ns .*beyond.*readings"):
        attribute(trace, source="nvml_energy", span_ns=(lo - 20 * 10**9, hi - 10**9))


def test_kernels_past_the_readings_are_refused_naming_span_ns(trace):
    lo, hi = _range(trace, "nvml_energy")
    k = trace.kernels.copy()
    k.loc[k.index[-1], ["start_ns", "end_ns"]] = [hi + 40 * 10**9, hi + 41 * 10**9]
    late = Trace(samples=trace.samples, kernels=k, meta=trace.meta)
    with pytest.raises(EnergyLensError, match=r"kernels.*beyond.*readings.*span_ns"):
        attribute(late, source="nvml_energy")


def test_a_span_within_the_readings_edges_is_attributed(trace):
    lo, hi = _range(trace, "nvml_energy")
    a = attribute(trace, source="nvml_energy", span_ns=(lo - 10**8, hi + 10**8))  # within the tolerance
    assert a.span_s == pytest.approx((hi - lo) * 1e-9 + 0.2)
    attribute(trace, source="nvml_energy")  # the kernels' span: the last reading within a period of it


def test_a_class_whose_kernels_lie_outside_the_span_names_where_they_ran(trace):
    """A class all of whose kernels ran outside the given span said only 'no busy time inside any analysed
    interval ... record longer'; it now names its kernels' range and the span, and that they lie wholly outside."""
    lo, hi = _range(trace, "nvml_energy")
    k = trace.kernels.copy()
    late = k.index[-3:]
    k.loc[late, "kind"] = "late"
    first, last = int(k.loc[late, "start_ns"].min()), int(k.loc[late, "end_ns"].max())
    span = (lo, first - 10**6)
    moved = Trace(samples=trace.samples, marks=trace.marks, kernels=k, meta=trace.meta)
    with pytest.raises(EnergyLensError, match=rf"class\(es\) \['late'\] have no busy time.*class 'late' has 3 "
                                              rf"kernel\(s\), from t_ns {first} to {last}; the analysed span is "
                                              rf"\[{span[0]}, {span[1]}\] ns: wholly outside it"):
        attribute(moved, source="nvml_energy", span_ns=span, bootstrap=0)
