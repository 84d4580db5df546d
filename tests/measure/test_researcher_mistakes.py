"""A researcher's slips with phases: marks taken on the wall clock (time.time_ns()) or another steady base
against steady-clock readings, and a phase attribution printed in a REPL."""

from __future__ import annotations

import numpy as np
import pytest

from energylens.errors import EnergyLensError
from energylens.measure import Trace, attribute, attribute_phases, synthetic_trace


@pytest.fixture(scope="module")
def trace() -> Trace:
    return synthetic_trace(duration_s=6.0, seed=1)[0]


def _with_marks(trace: Trace, t_ns, labels) -> Trace:
    return Trace(samples=trace.samples, kernels=trace.kernels, meta=trace.meta,
                 marks={"t_ns": np.asarray(t_ns, np.int64), "label": labels})


def test_wall_clock_marks_are_named_as_another_clock(trace):
    wall = 1_765_000_000 * 10**9  # time.time_ns() in December 2025
    bad = _with_marks(trace, [wall, wall + 2 * 10**9, wall + 4 * 10**9], ["prefill", "decode", "end"])
    with pytest.raises(EnergyLensError, match=r"no mark lies within the readings.*another clock.*Unix epoch.*"
                                              r"2025-12-06.*steady_now_ns"):
        attribute_phases(bad, source="nvml_energy")


def test_marks_on_another_steady_base_are_named_as_another_clock(trace):
    t1 = int(trace.samples["t_ns"].max())
    bad = _with_marks(trace, [t1 + 50 * 10**9, t1 + 52 * 10**9], ["a", "end"])
    with pytest.raises(EnergyLensError, match=r"no mark lies within the readings.*another clock") as info:
        attribute_phases(bad, source="nvml_energy")
    assert "Unix epoch" not in str(info.value)


def test_one_mark_past_the_end_is_not_called_another_clock(trace):
    t0, t1 = int(trace.samples["t_ns"].min()), int(trace.samples["t_ns"].max())
    bad = _with_marks(trace, [t0 + 10**9, t1 + 60 * 10**9], ["a", "end"])
    with pytest.raises(EnergyLensError, match="outside") as info:
        attribute_phases(bad, source="nvml_energy")
    assert "another clock" not in str(info.value)


def test_phase_attribution_repr_states_units_and_adds_up(trace):
    t0, t1 = int(trace.samples["t_ns"].min()), int(trace.samples["t_ns"].max())
    lo, hi = t0 + 2 * 10**8, t1 - 2 * 10**8
    tm = _with_marks(trace, [lo, (lo + hi) // 2, hi], ["prefill", "decode", "end"])
    a = attribute(tm, source="nvml_energy", span_ns=(lo, hi))
    p = attribute_phases(tm, attribution=a)
    text = repr(p)
    assert "array(" not in text  # the arrays printed bare, without a unit
    for name, e, d, n in zip(p.phases, p.energy_j, p.duration_s, p.n_spans, strict=True):
        assert f"{name}: {e:.4g} +- " in text and f"J over {d:.3g} s, {n} span" in text
    assert f"sum {p.energy_j.sum():.4g} J" in text
    assert p.energy_j.sum() == pytest.approx(a.idle_energy_j + a.energy_j.sum(), rel=1e-12)
    assert p.duration_s.sum() == pytest.approx(a.span_s, rel=1e-12)


def test_readings_on_the_wall_clock_against_steady_marks_are_named(trace):
    """Another tool's polls stamped with time.time_ns(), marks from mark(): the hint named the marks' clock only."""
    wall = 1_765_000_000 * 10**9
    s = trace.samples.copy()
    s["t_ns"] += wall
    t0 = int(trace.samples["t_ns"].min())
    bad = Trace(samples=s, meta=trace.meta, marks={"t_ns": [t0 + 10**9, t0 + 2 * 10**9], "label": ["a", "end"]})
    with pytest.raises(EnergyLensError, match=r"another clock.*the readings read as Unix epoch ns, 2025-12-06"):
        attribute_phases(bad, source="nvml_energy",
                         attribution=attribute(Trace(samples=s, kernels=trace.kernels.assign(
                             start_ns=trace.kernels["start_ns"] + wall, end_ns=trace.kernels["end_ns"] + wall),
                             meta=trace.meta), source="nvml_energy", bootstrap=0))


@pytest.fixture(scope="module")
def phased():
    tr = synthetic_trace(duration_s=6.0, seed=3, phases={"prefill": {"gemm": 1}, "decode": {"memcpy": 1, "attention": 1}})[0]
    return tr, attribute(tr, source="nvml_energy", bootstrap=0)


def test_a_phase_named_as_a_string_is_one_phase(phased):
    """phases="decode" was read letter by letter: "unknown phase(s) ['d', 'e', 'c', 'o', 'd', 'e']"."""
    tr, a = phased
    p = attribute_phases(tr, attribution=a, phases="decode")
    assert p.phases == ("decode",)
    assert p.energy_j[0] == attribute_phases(tr, attribution=a, phases=["decode"]).energy_j[0]


def test_a_phase_named_twice_is_refused(phased):
    """phases=["decode", "decode"] reported it twice, and the sum counted its energy twice."""
    tr, a = phased
    with pytest.raises(EnergyLensError, match=r"phase\(s\) \['decode'\] named more than once"):
        attribute_phases(tr, attribution=a, phases=["decode", "prefill", "decode"])


def test_a_class_named_as_a_string_is_one_class(phased):
    """classes="gemm" was read letter by letter: "classes has duplicates: ['g', 'e', 'm', 'm']"."""
    tr, _ = phased
    a = attribute(tr, source="nvml_energy", classes="gemm", bootstrap=0)
    assert a.classes[0] == "gemm" and a.power_of("gemm") == attribute(
        tr, source="nvml_energy", classes=["gemm"], bootstrap=0).power_of("gemm")


def test_a_label_that_is_not_text_names_its_row(trace):
    """Marks labelled with numbers (a step counter) or None said only 'marks.label must hold strings only'."""
    with pytest.raises(EnergyLensError, match=r"Trace: marks\.label must hold strings only, but 1 of 3 are not, at "
                                              r"rows \[2\] \(the first: 7\)"):
        Trace(samples=trace.samples, marks={"t_ns": [1, 2, 3], "label": ["a", "b", 7]}, meta=trace.meta)
    with pytest.raises(EnergyLensError, match=r"kernels\.kind must hold strings only, but \d+ of \d+ are not, at rows "
                                              r"\[0, 1, .*\(the first: None\)"):
        Trace(samples=trace.samples, kernels=trace.kernels.assign(kind=None), meta=trace.meta)
