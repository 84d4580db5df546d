"""A window over a hole in the instant readings whose energy_j took the energy counter's figure (the shared H200
polls cut from 2.4 to 3.3 s, the window 2.0-3.6 s: energy_j 649.5 J from the counter) warned '366.257 J of
659.070 J: the power there is unknown', the power readings' total, and never said that energy_j, the figure the
user had, was the counter's, which the hole does not touch. The warning now says so; a window whose energy_j took
the power readings' (2.4-3.3 s, the counter's ends in holes of its own) does not."""

from __future__ import annotations

import warnings

from test_reading_holes import S, _h200, _table

from energylens.measure.integrate import SampleGapWarning, integrate_window

CLAUSE = "energy_j took the energy counter's figure for GPU position(s) 0 (nvml_energy), which the holes do not touch"


def _hole_warning(a_s: float, b_s: float):
    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always")
        w = integrate_window(_table(_h200((2.4, 3.3))), 1, int(a_s * S), int(b_s * S), {})
    said = [str(g.message) for g in got if issubclass(g.category, SampleGapWarning) and "hole(s) in the power" in
            str(g.message)]
    assert len(said) == 1, said
    return w, said[0]


def test_a_hole_warning_says_when_energy_j_is_the_counters_figure():
    w, text = _hole_warning(2.0, 3.6)
    assert w.energy_source_per_gpu == ("nvml_energy",) and w.gap_count == 1
    assert CLAUSE in text and "they are in power_energy_j" in text, text


def test_a_hole_warning_of_a_power_sourced_window_keeps_its_figures():
    w, text = _hole_warning(2.4, 3.3)
    assert w.energy_source_per_gpu == ("nvml_instant",)
    assert "energy_j took" not in text and "358.3 J from the power readings" in text, text
