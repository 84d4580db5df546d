"""gaps.hole_rule and gaps.reading_holes are public (``__all__``) and kept the signatures they had before 8926f42d
(2026-12-07), which gave hole_rule a third value (the rows' label) and put ``label`` where ``counter`` stood:
an external ``kind, hold = hole_rule(...)`` raised "too many values to unpack", and ``reading_holes(..., "polled",
1.0, True)`` passed True as the label, searching a counter's never-repeating polls as power readings (the
changes-only note on a counter) and naming the rows True. hole_rule returns ``(kind, hold_s)`` again, the label
comes from :func:`~energylens.measure.gaps.hole_label`, and ``label`` is keyword-only at the end."""

from __future__ import annotations

import numpy as np

from energylens.measure.gaps import BACKED_OFF, HOLD_S, hold_limits, hole_label, hole_rule, reading_holes

S = 1_000_000_000


def test_hole_rule_returns_kind_and_hold_as_before():
    native, synthetic = hold_limits({"sampler": "nvml"}), hold_limits({"sampler": "synthetic"})
    kind, hold = hole_rule("nvml_energy", native, False)
    assert (kind, hold) == ("backed_off", HOLD_S) and native["nvml_energy"] == BACKED_OFF
    assert hole_rule("nvml_instant", {}, False) == ("polled", HOLD_S)
    assert hole_rule("nvml_samples", synthetic, True) == ("interval", HOLD_S)
    assert hole_rule("x", {"x": 2.5}, False) == ("changes", 2.5) and hole_rule("x", {"x": None}, False) is None
    assert hole_label("nvml_energy", synthetic) == "synthetic_energy_counter (rows of source nvml_energy)"
    assert hole_label("nvml_energy", native) == "" and hole_label("nvml_energy", {}) == ""


def test_a_positional_counter_flag_is_the_counter_flag_and_label_is_keyword_only():
    # a counter polled once per update (its value never repeats) with a 0.5 s stall: a hole, and no changes-only note
    t = np.r_[np.arange(0, int(1.0 * S), int(0.1 * S)), np.arange(int(1.5 * S), 2 * S, int(0.1 * S))].astype(np.int64)
    e = 0.3 * t * 1e-6  # 300 W, J
    g = np.zeros(t.size, np.int64)
    got = reading_holes(t, e, g, 0, 2 * S, 0.1, "polled", HOLD_S, True)
    assert got.gpu.size == 1 and got.note == "" and got.label == "", (got.note, got.label)
    assert reading_holes(t, e, g, 0, 2 * S, 0.1, "polled", HOLD_S).note != ""  # (as power readings: the note)
    named = reading_holes(t, e, g, 0, 2 * S, 0.1, "polled", HOLD_S, True, label="synthetic_x")
    assert named.label == "synthetic_x"
