"""integrate_window with hold_s=None guessed how the readings were recorded from a ``signal`` column: energylens'
own sampler (its changes-only instant stream held up to 1 s, its counter backed off) wherever the table had one.
Another tool's polls with a ``signal`` column of their own, and a replay sampler's table (whose rows may be another
tool's raw polls: its ``signal`` codes are the native ones), were taken for that, and their holes judged by a 1.1 s
hold instead of their own spacing: a 0.6 s hole in 3 ms raw polls went without a word. The rows cannot tell, so
with a ``signal`` column hold_s must now be given: a ValueError names the argument and what to pass."""

from __future__ import annotations

import numpy as np
import pytest

from energylens.measure.gaps import SampleGapWarning, hold_limits
from energylens.measure.integrate import integrate_window

S = 1_000_000_000


def _raw_polls(signal: np.ndarray | None) -> dict[str, np.ndarray]:
    """3 ms raw polls of a steady 300 W instant field (100 ms updates) with a 0.6 s hole at 1.0-1.6 s."""
    t = np.arange(0, 3 * S, 3_000_000, dtype=np.int64)
    t = t[(t < S) | (t > S + 600_000_000)]
    out = {"t_ns": t, "gpu": np.zeros(t.size, np.int32), "power_w": 300.0 + (t // 100_000_000) % 2,
           "energy_j": np.full(t.size, np.nan), "source": np.full(t.size, "nvml_instant", dtype=object)}
    if signal is not None:
        out["signal"] = signal[: t.size]
    return out


@pytest.mark.parametrize("signal", [np.ones(1000, np.int32), np.full(1000, "field_186", dtype=object)],
                         ids=["native codes", "another tool's"])
def test_a_table_with_a_signal_column_needs_hold_s(signal):
    with pytest.raises(ValueError, match=r"integrate_window: hold_s .*'signal' column.*hold_limits\(sampler\.meta\).*"
                                         r"\{\} for another tool's raw polls"):
        integrate_window(_raw_polls(signal), 1, S // 2, 2 * S, {"nvml_instant": 0.1})


def test_said_as_raw_polls_the_hole_is_found():
    with pytest.warns(SampleGapWarning, match="hole"):
        w = integrate_window(_raw_polls(np.ones(1000, np.int32)), 1, S // 2, 2 * S, {"nvml_instant": 0.1}, hold_s={})
    assert w.gap_count == 1
    native = hold_limits({"sampler": "nvml"})  # (energylens' own changes-only stream: a 0.6 s hold is no hole)
    assert integrate_window(_raw_polls(np.ones(1000, np.int32)), 1, S // 2, 2 * S, {"nvml_instant": 0.1},
                            hold_s=native).gap_count == 0


def test_a_table_without_a_signal_column_is_still_raw_polls():
    with pytest.warns(SampleGapWarning):
        assert integrate_window(_raw_polls(None), 1, S // 2, 2 * S, {"nvml_instant": 0.1}).gap_count == 1
