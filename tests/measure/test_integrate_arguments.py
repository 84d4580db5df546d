"""window_energy_j / counter_energy_j (the one-GPU integrals docs/measuring.md uses on another tool's polls) took
what a researcher's first attempt gives them without a word, on the real H200 polls: a span in seconds (0.2, 4.1)
read 4.6e-07 J (counter NaN), the polls' t_s as t_ns read 1.5e-06 J (after a SameTimeReadingsWarning naming 'a
source'), a span given end first read -1278 J from the counter, a span 1 s past the recording 120.1 J (the last
reading held), and the counter's raw mJ 1516507 J. Each is now a ValueError naming the argument, or a UnitsWarning."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from energylens.measure.integrate import counter_energy_j, window_energy_j
from energylens.measure.units import UnitsWarning

S = 1_000_000_000
DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def polls():
    df = pd.read_csv(DATA / "h200_nvml_slice.csv", comment="#")
    t_ns = np.round(df["t_s"].to_numpy() * 1e9).astype(np.int64)
    return df, t_ns, df["field_instant_mw"].to_numpy() / 1e3, df["energy_mj"].to_numpy() / 1e3


def test_the_polls_integrate_as_before(polls):
    _, t, p, e = polls
    w, c = window_energy_j(t, p, 1 * S, 3 * S), counter_energy_j(t, e, 1 * S, 3 * S)
    assert 1000 < w < 1500 and c == pytest.approx(w, rel=0.05)  # ~630 W over 2 s across the load
    assert window_energy_j(t.astype(np.float64), p, float(S), 3.0 * S) == w  # whole ns as floats are ns


@pytest.mark.parametrize("f", [window_energy_j, counter_energy_j])
def test_a_span_in_seconds_is_refused(polls, f):
    _, t, p, e = polls
    with pytest.raises(ValueError, match=rf"{f.__name__}: start_ns must be whole steady-clock ns, got 1.2: seconds"):
        f(t, p if f is window_energy_j else e, 1.2, 3.1)


@pytest.mark.parametrize("f", [window_energy_j, counter_energy_j])
def test_times_in_seconds_are_refused(polls, f):
    df, _, p, e = polls
    with pytest.raises(ValueError, match=rf"{f.__name__}: t_ns must be whole ns, but {len(df)} of {len(df)} are not "
                                         r"\(first at row 0: 0\.6\d*\): seconds\?"):
        f(df["t_s"].to_numpy(), p if f is window_energy_j else e, 1 * S, 3 * S)


@pytest.mark.parametrize("f", [window_energy_j, counter_energy_j])
def test_a_span_given_end_first_is_refused(polls, f):
    _, t, p, e = polls
    with pytest.raises(ValueError, match=r"end_ns < start_ns"):
        f(t, p if f is window_energy_j else e, 3 * S, 1 * S)


@pytest.mark.parametrize("f", [window_energy_j, counter_energy_j])
def test_a_span_wholly_outside_the_readings_is_refused(polls, f):
    _, t, p, e = polls
    for a, b, side in ((5 * S, 6 * S, "after the last"), (0, S // 2, "before the first")):
        with pytest.raises(ValueError, match=rf"{f.__name__}: the span \[{a}, {b}\] ns lies wholly {side} of the "
                                             r"\d+ (power|counter) readings"):
            f(t, p if f is window_energy_j else e, a, b)


def test_raw_milli_units_warn(polls):
    df, t, _, _ = polls
    with pytest.warns(UnitsWarning, match=r"counter_energy_j: .* W on average, more than one GPU draws.*mJ"):
        counter_energy_j(t, df["energy_mj"].to_numpy(), 1 * S, 3 * S)
    with pytest.warns(UnitsWarning, match=r"window_energy_j: .* W on average, more than one GPU draws.*mW"):
        window_energy_j(t, df["field_instant_mw"].to_numpy(), 1 * S, 3 * S)
