"""A synthetic trace's or synthetic sampler's timing option that is negative, NaN or infinite is refused with a
ValueError naming the option and the value: before, energy_read_latency_s=-0.05 read the counter without delay and
fail_after_s={"instant": -0.5} never failed (a negative time was the native "never"), buffer_period_s=-0.02 made
1000002 buffer readings of a 1 s trace, and noise_w=-3 was no noise, all without a word."""

from __future__ import annotations

import numpy as np
import pytest

from energylens.measure import PowerSampler, synthetic_trace


def _timeline():
    return [([0.0], [200.0])]


@pytest.mark.parametrize("name", ["energy_read_latency_s", "energy_read_cpu_s"])
@pytest.mark.parametrize("value", [-0.05, -1e-9])
def test_a_negative_counter_read_time_of_the_synthetic_sampler_is_named(name, value):
    with pytest.raises(ValueError, match=rf"PowerSampler.synthetic: {name} must be >= 0 s, got {value!r}"):
        PowerSampler.synthetic(_timeline(), **{name: value})


def test_a_negative_failure_time_of_the_synthetic_sampler_is_named():
    with pytest.raises(ValueError, match=r"PowerSampler.synthetic: fail_after_s\['instant'\] must be >= 0 s, "
                                         r"got -0.5"):
        PowerSampler.synthetic(_timeline(), fail_after_s={"instant": -0.5})


def test_zero_read_times_and_an_immediate_failure_stay_allowed():
    PowerSampler.synthetic(_timeline(), energy_read_latency_s=0.0, energy_read_cpu_s=0, fail_after_s={"instant": 0.0})


@pytest.mark.parametrize(("name", "value"), [
    ("duration_s", -1.0), ("duration_s", np.nan), ("duration_s", np.inf), ("duration_s", 0.0),
    ("update_period_s", np.nan), ("update_period_s", -0.1), ("averaging_window_s", np.nan),
    ("averaging_window_s", -0.01), ("buffer_period_s", -0.02), ("buffer_period_s", np.nan),
    ("buffer_jitter_s", -0.001), ("buffer_jitter_s", np.inf), ("noise_w", -3.0), ("noise_w", np.nan),
    ("kernel_power_cv", -0.1), ("energy_resolution_j", -1e-3), ("energy_resolution_j", np.nan)])
def test_a_bad_synthetic_trace_option_is_named_with_its_value(name, value):
    with pytest.raises(ValueError, match=rf"synthetic_trace: {name} must be .*, got {value!r}"):
        synthetic_trace(**{"duration_s": 1.0, name: value})


@pytest.mark.parametrize(("name", "value"), [
    ("kernel_duration_s", (-0.01, 0.02)), ("kernel_duration_s", (0.01, np.nan)), ("gap_s", (-0.01, 0.0)),
    ("gap_s", (0.0, np.inf)), ("kernels_per_phase", (0, 2)), ("kernels_per_phase", (3, 2))])
def test_a_bad_synthetic_trace_range_is_named_with_its_value(name, value):
    with pytest.raises(ValueError, match=rf"synthetic_trace: {name} must be .*, got {value!r}".replace("(", r"\(")
                       .replace(")", r"\)")):
        synthetic_trace(duration_s=1.0, phases={"a": {"gemm": 1.0}}, **{name: value})


def test_a_buffer_jitter_as_long_as_its_period_is_named():
    """Steps of buffer_period_s +- buffer_jitter_s could be 0 or negative: buffer readings out of time order."""
    with pytest.raises(ValueError, match=r"synthetic_trace: buffer_jitter_s=0.02 must be less than "
                                         r"buffer_period_s=0.02"):
        synthetic_trace(duration_s=1.0, buffer_period_s=0.02, buffer_jitter_s=0.02)


@pytest.mark.parametrize("buffer_period_s", [None, 0.0])
def test_no_driver_buffer_stays_allowed(buffer_period_s):
    trace, _ = synthetic_trace(duration_s=1.0, buffer_period_s=buffer_period_s)
    assert "nvml_samples" not in set(trace.samples["source"])
