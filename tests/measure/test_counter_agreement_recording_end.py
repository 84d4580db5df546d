"""A window ending near a recording's end warned that its power readings disagree with the energy counter where they
did not. Each GPU's last counter reading stays at its poll (so that it brackets the windows it covers), but its value
was reached at the counter's last update, up to the whole bracket since the poll before it (a changed value) or a
whole update period (a repeated one) earlier; the check allowed half of that. Raw 3 ms polls of a GPU at a steady
600 W whose last poll came 99 ms after the one before: a 0.95-1.14 s window read "the counter moved 60.0 J and the
nvml_instant readings integrate to 120.0 J (+100%; +-22.8 J allowed) ... counter_energy_j is the figure to use",
the power readings exact and the counter's figure the one off. A NaN update period reaching the check made its
allowance NaN, so it never warned (a comparison with NaN is false); it now stands for the rows' own period."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from energylens.measure import integrate
from energylens.measure.counter_agreement import stamp_halfwidth_ns
from energylens.measure.integrate import PowerCounterDisagreeWarning, integrate_window

PERIOD, PHASE = 0.1, 0.0417  # the counter's updates: every 100 ms from 41.7 ms


def _polls(polls: np.ndarray, power_w: float = 600.0, read_w: float | None = None) -> dict:
    """Raw polls of one GPU drawing ``power_w``: the counter exact at each update (1 mJ steps), the instant reading
    ``read_w`` (default: the power itself, so the power readings integrate to the truth)."""
    updates = np.arange(PHASE, 3.0, PERIOD)
    seen = np.searchsorted(updates, polls, side="right") - 1
    polls, seen = polls[seen >= 0], seen[seen >= 0]
    counter = np.floor(power_w * updates * 1000) / 1000
    t_ns = np.round(polls * 1e9).astype(np.int64)
    n = t_ns.size
    nan = np.full(n, np.nan)
    return {"t_ns": np.repeat(t_ns, 2), "gpu": np.zeros(2 * n, np.int32),
            "power_w": np.column_stack([np.full(n, power_w if read_w is None else read_w), nan]).ravel(),
            "energy_j": np.column_stack([nan, counter[seen]]).ravel(),
            "source": np.array(["nvml_instant", "nvml_energy"] * n, dtype=object)}


def _window(samples: dict, a_s: float, b_s: float) -> tuple[float, list[str]]:
    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always")
        w = integrate_window(samples, 1, int(a_s * 1e9), int(b_s * 1e9), {})
    return w.energy_j_per_gpu[0], [str(g.message) for g in got if g.category is PowerCounterDisagreeWarning]


@pytest.mark.parametrize("fast_until", [1.0435, 1.0405])  # the last poll repeats the value before it / sees a change
@pytest.mark.parametrize("span", [(0.95, 1.1405), (1.0, 1.1405), (1.05, 1.14), (1.02, 1.1), (0.6, 1.1405)])
def test_a_window_ending_at_the_last_poll_of_an_agreeing_recording_does_not_warn(fast_until, span):
    samples = _polls(np.r_[np.arange(0.0, fast_until, 0.003), 1.1405])  # the last poll ~99 ms after the one before
    energy, said = _window(samples, *span)
    assert energy == pytest.approx(600.0 * (span[1] - span[0]), rel=1e-9)  # the power readings are the truth
    assert not said, said


def test_power_readings_that_miss_a_step_before_the_recordings_end_still_warn():
    # the instant readings stuck at 120 W where the GPU draws 720 W: 600 J missed over the counter's 1 s span
    samples = _polls(np.r_[np.arange(0.0, 1.0435, 0.003), 1.1405], power_w=720.0, read_w=120.0)
    _, said = _window(samples, 0.2, 1.1405)
    assert said and "counter_energy_j is the figure to use" in said[0], said


def _counter_rows(samples: dict) -> tuple[np.ndarray, ...]:
    rows = samples["source"] == "nvml_energy"
    return samples["t_ns"][rows], samples["energy_j"][rows], samples["gpu"][rows]


def test_a_nan_update_period_stands_for_the_rows_own():
    t, e, g = _counter_rows(_polls(np.arange(0.0, 2.0, 0.003)))
    nan_halves: list[np.ndarray] = []
    own_halves: list[np.ndarray] = []
    integrate._counter_points(t, e, g, 1, "nvml_energy", nan_halves, math.nan)
    integrate._counter_points(t, e, g, 1, "nvml_energy", own_halves, None)
    assert np.isfinite(nan_halves[0]).all() and np.array_equal(nan_halves[0], own_halves[0])


@pytest.mark.parametrize("period_ns", [math.nan, math.inf, 0.0, -1.0])
def test_stamp_halfwidths_refuse_a_period_that_is_not_a_duration(period_ns):
    t = np.array([0, 100], dtype=np.int64)
    with pytest.raises(ValueError, match="period_ns"):
        stamp_halfwidth_ns(t, t - 50, True, period_ns)
