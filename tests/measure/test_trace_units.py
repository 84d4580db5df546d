"""NVML's mW / mJ left undivided in a trace (another tool's polls written raw): every figure after it read 1000x
(an idle GPU at 90 000 W, attributed without a word); the trace now warns, naming source, GPU and the factor."""

from __future__ import annotations

import re
import warnings

import pytest

from energylens.measure import Trace, synthetic_trace
from energylens.measure.units import UnitsWarning


@pytest.fixture(scope="module")
def trace() -> Trace:
    return synthetic_trace(duration_s=6.0, seed=1)[0]


def test_power_in_mw_warns_naming_source_gpu_and_the_factor(trace):
    s = trace.samples.copy()
    s["power_w"] *= 1000.0  # NVML's mW, not divided
    with pytest.warns(UnitsWarning, match=r"nvml_instant.*GPU 0.*median [0-9]+ W.*mW.*1000"):
        Trace(samples=s, kernels=trace.kernels, meta=trace.meta)


def test_energy_in_mj_warns_naming_the_counter(trace):
    s = trace.samples.copy()
    s["energy_j"] *= 1000.0  # NVML's mJ, not divided
    with pytest.warns(UnitsWarning, match=r"nvml_energy.*GPU 0.*W.*mJ.*1000"):
        Trace(samples=s, kernels=trace.kernels, meta=trace.meta)


def test_watts_and_joules_give_no_units_warning(trace):
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnitsWarning)
        Trace(samples=trace.samples, kernels=trace.kernels, meta=trace.meta)
        # a big counter offset (NVML's counts since the driver loaded) is not a rate
        s = trace.samples.copy()
        s["energy_j"] += 5e7
        Trace(samples=s, kernels=trace.kernels, meta=trace.meta)


def test_times_in_microseconds_are_named_by_the_counter_warning(trace):
    """NVML's driver buffer stamps in us written as t_ns: the counter rose 276 kW; the warning named only mJ."""
    s = trace.samples.copy()
    s["t_ns"] //= 1000
    with pytest.warns(UnitsWarning, match=r"nvml_energy.*or t_ns in us"):
        Trace(samples=s, meta={})


def test_watts_divided_once_too_often_warn(trace):
    """W divided by 1000 again (nvidia-smi's power.draw is W already): the H200 polls read idle 0.1 W and the
    matmul +0.6 W, attributed without a word."""
    s = trace.samples.copy()
    s["power_w"] /= 1000.0
    s["energy_j"] /= 1000.0
    with pytest.warns(UnitsWarning) as got:
        Trace(samples=s, kernels=trace.kernels, meta=trace.meta)
    text = [str(w.message) for w in got]
    assert any(re.search(r"power_w of 'nvml_instant' on GPU 0: median 0\.\d+ W, less than any powered GPU draws "
                         r"\(< 1 W\): were W or J divided by 1000 once too often", t) for t in text), text
    assert any(re.search(r"energy_j of 'nvml_energy' on GPU 0: the counter rises 0\.\d+ W", t) for t in text), text


def test_a_gpu_reading_zero_gives_no_units_warning(trace):
    s = trace.samples.copy()
    s["power_w"] = s["power_w"] * 0.0  # NVML may report 0 W (not supported): no unit error
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnitsWarning)
        Trace(samples=s, kernels=trace.kernels, meta=trace.meta)
