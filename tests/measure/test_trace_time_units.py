"""Times written in ms or us as t_ns (NVML's driver buffer stamps us; a tool's polls are often in ms) in a trace
of power readings only: the energy counter's rate named such times (test_trace_units.py), but without a counter the
trace was taken silently, 1000x or 10^6x too short (the real H200 polls in us: a 2.8 s slice read as 2.8 ms, and
every window and attribution after it with it). The trace now warns where NVML's readings change faster than
NVML publishes them (every ~20-100 ms: shared/docs/NVML-FACTS.md), naming the source, GPU and interval."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from energylens.measure import Trace, synthetic_trace
from energylens.measure.units import UnitsWarning


def _power_only(trace: Trace, divide: int, sources=("nvml_instant", "nvml_average")):
    s = trace.samples[trace.samples["source"].isin(sources)].copy()
    s["t_ns"] = s["t_ns"].to_numpy() // divide
    return s


@pytest.mark.parametrize(("divide", "unit"), [(1000, "us"), (1_000_000, "ms")])
def test_the_real_h200_polls_with_times_in_us_or_ms_warn_naming_t_ns(h200_trace, divide, unit):
    with pytest.warns(UnitsWarning, match=r"samples\.t_ns of 'nvml_instant' on GPU 0: its power readings change "
                                          r"every [0-9.]+ (ns|us) \(median\).*ms or us"):
        Trace(samples=_power_only(h200_trace, divide), meta=h200_trace.meta)


def test_a_driver_buffer_stamped_in_us_warns():
    trace = synthetic_trace(duration_s=3.0, seed=2)[0]
    with pytest.warns(UnitsWarning, match=r"samples\.t_ns of 'nvml_samples' on GPU 0: its power readings change "
                                          r"every 2[0-9.]+ us"):
        Trace(samples=_power_only(trace, 1000, ("nvml_samples",)), meta={})


def test_times_in_ns_give_no_warning(h200_trace):
    trace = synthetic_trace(duration_s=3.0, seed=2)[0]
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnitsWarning)
        Trace(samples=_power_only(h200_trace, 1), meta=h200_trace.meta)
        Trace(samples=trace.samples, meta=trace.meta)
        # a constant power changes never: nothing to tell the times' unit by
        flat = _power_only(h200_trace, 1000)
        flat["power_w"] = 100.0
        Trace(samples=flat, meta=h200_trace.meta)


def test_a_synthetic_or_replayed_source_is_not_held_to_nvmls_periods():
    s = synthetic_trace(duration_s=1.0, seed=0)[0].samples
    s = s[s["source"] == "nvml_samples"].copy()
    s["source"] = "synthetic"
    s["t_ns"] = np.arange(len(s), dtype=np.int64) * 1000  # a source of its own making may change every us
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnitsWarning)
        Trace(samples=s, meta={})
