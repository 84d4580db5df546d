"""The mark-delimited spans of :func:`energylens.measure.attribution.attribute_phases`: which spans there
are, which phases to report, and the checks that keep a phase's energy a measurement: marks at one instant
(a zero-length span, and which label opens the next span is the table's row order) and reported spans
outside the readings (their energy would be the fitted model extrapolated over time nothing recorded), and
reported spans in a hole of the readings (:func:`check_holes`: refused inside one, warned across part of one).
"""

from __future__ import annotations

import datetime as _dt
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from energylens.errors import EnergyLensError, user_stacklevel
from energylens.measure.gaps import (
    Gaps,
    SampleGapWarning,
    hold_limits,
    hole_label,
    hole_rule,
    hole_text,
    reading_holes,
)
from energylens.measure.integrate import COUNTER_SOURCES, INTERVAL_SOURCES
from energylens.measure.units import UnitsWarning

__all__ = ["MarkSpans", "mark_spans", "phase_names", "check_covered", "other_clock", "check_holes", "source_holes", "warn_fit_holes", "kernel_classes", "sum_by_phase", "phase_repr"]


class MarkSpans:
    """The spans between consecutive marks (sorted by time): ``start_ns``, ``end_ns``, ``label`` (of the
    mark that opens each) and ``rows`` (the trace's marks-table rows of the opening and closing marks)."""

    def __init__(self, marks: pd.DataFrame) -> None:
        order = np.argsort(marks["t_ns"].to_numpy(), kind="stable")
        t = marks["t_ns"].to_numpy()[order]
        self.start_ns, self.end_ns = t[:-1], t[1:]
        self.label = marks["label"].to_numpy(dtype=object)[order][:-1]
        self.rows = np.column_stack([order[:-1], order[1:]])


def mark_spans(marks: pd.DataFrame) -> MarkSpans:
    """The spans of ``marks`` (at least two); an EnergyLensError naming the rows when two marks share a time:
    the zero-length span between them counted as one of its phase's spans (energy_per_span_j 60.2 J read
    59.1 J after one mark was recorded twice), and which label opened the following span was row order."""
    if len(marks) < 2:
        raise EnergyLensError(f"the trace has {len(marks)} mark(s): phases are spans between consecutive "
                              "marks, so at least two are needed")
    spans = MarkSpans(marks)
    if (width := int(spans.end_ns.max() - spans.start_ns.min())) < 1000:  # (t_ns 0, 1, 2, 3 read 0.0 J a phase)
        raise EnergyLensError(f"the marks span {width} ns from first to last (t_ns {int(spans.start_ns.min())} to "
                              f"{int(spans.end_ns.max())}): mark times are steady-clock ns; seconds? (0.2 s is "
                              "200_000_000 ns)")
    tied = np.flatnonzero(spans.end_ns == spans.start_ns)
    if tied.size:
        i = int(tied[0])
        a, b = (int(r) for r in spans.rows[i])
        raise EnergyLensError(
            f"{tied.size} pair(s) of marks share a time, so a span between them has zero length: marks rows {a} "
            f"and {b} ({spans.label[i]!r}, {marks['label'].iloc[b]!r}) are both at t_ns {int(spans.start_ns[i])}; "
            "a span is from one mark to the next: drop the duplicate mark (or move one)")
    return spans


def phase_names(span_label: np.ndarray, phases: Sequence[str] | None) -> list[str]:
    """The phases to report: ``phases`` (each must label a span, once; a str is one label), else every span label."""
    present = list(dict.fromkeys(span_label.tolist()))
    if phases is None:
        return present
    names = [phases] if isinstance(phases, str) else [str(p) for p in phases]  # (a str was read letter by letter)
    twice = sorted({p for p in names if names.count(p) > 1})
    if twice:  # (reported twice, and a sum of the phases counted it twice)
        raise EnergyLensError(f"phase(s) {twice} named more than once in phases={list(names)!r}: name each once")
    unknown = [p for p in names if p not in present]
    if unknown:
        raise EnergyLensError(f"unknown phase(s) {unknown}: no span starts with that mark label; "
                              f"span labels: {present[:30]}")
    return names


def check_covered(spans: MarkSpans, names: list[str], readings_ns: np.ndarray, source: str,
                  tolerance_ns: int) -> None:
    """EnergyLensError naming the phase, its marks and the readings' range when a reported span reaches more
    than ``tolerance_ns`` (the caller's: two update periods, at least 0.25 s: a first reading up to a period
    after the first mark, a driver buffer drained ~0.1 s late) beyond the first or last reading of ``source``: a span 100 s past
    the last reading was reported as 9001 J of idle power, with no reading in it."""
    if not readings_ns.size:
        raise EnergyLensError(f"source {source!r} has no readings on this GPU: no phase can be measured")
    lo, hi = int(readings_ns.min()), int(readings_ns.max())
    marks_ns = np.concatenate([spans.start_ns, spans.end_ns[-1:]])
    if not ((marks_ns >= lo - tolerance_ns) & (marks_ns <= hi + tolerance_ns)).any():
        raise EnergyLensError(f"no mark lies within the readings: marks t_ns {int(marks_ns.min())}..{int(marks_ns.max())}, "
                              f"{source!r} readings t_ns {lo}..{hi}; {other_clock(marks_ns, lo, hi)}")
    _warn_milli_marks(marks_ns, lo, hi, tolerance_ns, source)
    reported = np.isin(spans.label, np.asarray(names, dtype=object))
    out = reported & ((spans.start_ns < lo - tolerance_ns) | (spans.end_ns > hi + tolerance_ns))
    if out.any():
        i = int(np.flatnonzero(out)[0])
        a, b = (int(r) for r in spans.rows[i])
        raise EnergyLensError(
            f"{int(out.sum())} span(s) of the reported phases lie outside the {source!r} readings "
            f"(t_ns {lo}..{hi}): phase {spans.label[i]!r} from marks row {a} (t_ns {int(spans.start_ns[i])}) to row "
            f"{b} (t_ns {int(spans.end_ns[i])}) would be the model extrapolated over time nothing recorded; "
            "pass phases= without it, or drop the marks outside the recording")


def _warn_milli_marks(marks_ns: np.ndarray, lo: int, hi: int, tolerance_ns: int, source: str) -> None:
    """A UnitsWarning where every mark lies in the clock's first 10 ms, the readings run over a second, and the marks
    read as ms or us would lie within the readings: times left in ms or us on a trace whose time base starts at 0
    (another tool's polls, docs/measuring.md section 3), where ms marks read 0.0 J for each phase without a word."""
    if marks_ns.max() >= 10_000_000 or hi - lo < 1_000_000_000:
        return
    fits = [unit for unit, f in (("ms", 10**6), ("us", 10**3)) if (marks_ns.min() * f >= lo - tolerance_ns)
            and (marks_ns.max() * f <= hi + tolerance_ns) and (marks_ns.max() - marks_ns.min()) * f > 10**8]
    if fits:
        warnings.warn(f"the marks lie at t_ns {int(marks_ns.min())}..{int(marks_ns.max())}, all in the clock's first "
                      f"10 ms, while the {source!r} readings run t_ns {lo}..{hi} ({(hi - lo) * 1e-9:.3g} s): mark times "
                      f"are steady-clock ns; were they left in {' or '.join(fits)} (read so, they lie within the "
                      "readings)? multiply ms by 1e6, us by 1e3", UnitsWarning, stacklevel=user_stacklevel())


def other_clock(marks_ns: np.ndarray, lo: int, hi: int) -> str:
    """Why marks wholly outside the readings ``[lo, hi]`` are most likely on another clock (a wall-clock
    ``time.time_ns()`` against steady-clock readings: phases of 1.7e18 ns read as 'outside the recording')."""
    text = "the marks are most likely on another clock than the readings"
    epoch = 10**18  # ns since 1970 past 2001-09-09: the wall clock, where a steady clock counts from boot
    wall, who = (int(marks_ns.min()), "they") if marks_ns.min() > epoch > hi else \
        (lo, "the readings") if lo > epoch > marks_ns.max() else (None, "")
    if wall is not None:
        day = _dt.datetime.fromtimestamp(wall // 10**9, _dt.timezone.utc).date().isoformat()
        text += f" ({who} read as Unix epoch ns, {day} UTC: time.time_ns(), the wall clock)"
    return (f"{text}: take marks with energylens.measure.mark() or steady_now_ns() (time.monotonic_ns() on Linux), "
            "the steady clock of the samples and kernels, or map them onto it before making the trace")


def source_holes(rows: pd.DataFrame, source: str, period_s: float | None, meta: dict, start_ns: int,
                 end_ns: int, nan_is_hole: bool = True) -> Gaps | None:
    """The holes of one GPU's ``source`` readings ``rows`` inside ``[start_ns, end_ns]`` by how they were
    recorded (:func:`~energylens.measure.gaps.reading_holes`, :func:`~energylens.measure.gaps.hold_limits`);
    None where no hole search is asked (a hold stated as None) or none is found.
    ``nan_is_hole=False``: a NaN row is a reading that was there (the fit leaves its interval out)."""
    holds = hold_limits(meta)
    rule = hole_rule(source, holds, source in INTERVAL_SOURCES)
    if rule is None:
        return None
    col = "energy_j" if source in COUNTER_SOURCES else "power_w"
    ok = np.isfinite(rows[col].to_numpy()) | (not nan_is_hole)
    if ok.sum() < 2:
        return None
    h = reading_holes(rows["t_ns"].to_numpy()[ok], rows[col].to_numpy()[ok], np.zeros(int(ok.sum()), np.int64),
                      start_ns, end_ns, period_s, *rule, counter=source in COUNTER_SOURCES,
                      label=hole_label(source, holds))
    return h if h.gpu.size else None


def warn_fit_holes(trace, gpu: int, source: str, period_s: float | None, lo: int, hi: int) -> None:
    """A :class:`SampleGapWarning` when whole-interval power readings of a fit (one GPU's ``source`` in ``trace``)
    span a hole in ``[lo, hi]``: the reading after it stands for all of it (a NaN row's interval is left out; the
    counter's difference, or a reading's own window, is unharmed)."""
    rows = trace.samples[(trace.samples["gpu"] == gpu) & (trace.samples["source"] == source)]
    h = source_holes(rows, source, period_s, trace.meta, lo, hi, nan_is_hole=False)
    if h is not None:
        named = "; ".join(hole_text(source, h, 0, int(a), int(b)) for a, b in zip(h.t0_ns[:3], h.t1_ns[:3], strict=True))
        named += h.note
        warnings.warn(f"{h.gpu.size} hole(s) in the readings of the analysed span [{lo}, {hi}] ns: {named}. Each is one "
                      "row of the fit charged at the reading after it, where the power is unknown: pass span_ns "
                      "without it, an averaging_window_s, or the energy counter", SampleGapWarning,
                      stacklevel=user_stacklevel())


def check_holes(spans: MarkSpans, names: list[str], rows: pd.DataFrame, source: str, period_s: float | None,
                meta: dict) -> None:
    """An EnergyLensError when a reported span lies inside a hole of one GPU's ``source`` readings ``rows``
    (:func:`source_holes`; as beyond the readings' ends, the model over time nothing recorded), a
    :class:`SampleGapWarning` naming the phase and hole when reported spans reach into one."""
    reported = np.isin(spans.label, np.asarray(names, dtype=object))
    if not reported.any():
        return
    h = source_holes(rows, source, period_s, meta, int(spans.start_ns[reported].min()),
                     int(spans.end_ns[reported].max()))
    if h is None:
        return
    t0, t1 = h.t0_ns[:, None], h.t1_ns[:, None]  # (holes, spans)
    inside = reported & (spans.start_ns >= t0) & (spans.end_ns <= t1)
    across = reported & (spans.start_ns < t1) & (spans.end_ns > t0) & ~inside.any(axis=0)
    for hit, refuse in ((inside, True), (across, False)):
        if not hit.any():
            continue
        k, i = (int(x[0]) for x in np.nonzero(hit))
        a, b = (int(r) for r in spans.rows[i])
        text = (f"{int(hit.any(axis=0).sum())} span(s) of the reported phases lie {'inside' if refuse else 'partly in'} "
                f"a hole of the {h.label or repr(source)} readings: phase {spans.label[i]!r} from marks row {a} (t_ns "
                f"{int(spans.start_ns[i])}) to row {b} (t_ns {int(spans.end_ns[i])}), in the hole "
                f"{hole_text(source, h, 0, int(h.t0_ns[k]), int(h.t1_ns[k]))}{h.note}")
        if refuse:
            raise EnergyLensError(f"{text}: its energy would be the model extrapolated over time nothing recorded; "
                                  "pass phases= without it, or measure it again")
        warnings.warn(f"{text}: that part of its energy is the model's, with no reading to check it",
                      SampleGapWarning, stacklevel=user_stacklevel())


def kernel_classes(labels: np.ndarray, classes: Sequence[str], other: str) -> np.ndarray:
    """Each kernel's index in the attribution's ``classes`` (its ``other`` class for labels it lumped there); an
    EnergyLensError when the labels are not the attribution's (made with another ``by``): the kernels were
    charged nothing, and the phases read idle power only (1005 J for 3164 J)."""
    index = {c: i for i, c in enumerate(classes)}
    unknown = sorted(set(labels.tolist()) - set(index))
    named = [c for c in classes if c != other]
    if (unknown and other not in index) or (len(labels) and not set(labels.tolist()) & set(named)):
        raise EnergyLensError(f"the kernels' labels {unknown[:10]} are not the attribution's classes {list(classes)[:10]}: "
                              "pass attribute_phases the same by= the attribution was made with")
    return np.array([index.get(lab, index.get(other, -1)) for lab in labels], dtype=np.int64)


def sum_by_phase(names: list[str], span_label: np.ndarray, busy_spans: np.ndarray,
                 span_s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per phase: busy seconds of each class, total duration (s) and number of spans."""
    busy = np.zeros((len(names), busy_spans.shape[1]))
    duration = np.zeros(len(names))
    count = np.zeros(len(names), dtype=np.int64)
    for i, p in enumerate(names):
        sel = span_label == p
        busy[i] = busy_spans[sel].sum(axis=0)
        duration[i] = span_s[sel].sum()
        count[i] = int(sel.sum())
    return busy, duration, count


def phase_repr(p) -> str:
    """``repr`` of a :class:`~energylens.measure.attribution.PhaseAttribution`: each phase's energy (+- its standard
    error), duration, spans and energy per span, with units, and their sum (the bare arrays, unitless, and the whole
    class attribution were printed before)."""
    parts = "; ".join(f"{name}: {e:.4g} +- {se:.2g} J over {d:.3g} s, {n} span{'s' if n != 1 else ''} ({per:.4g} J/span)"
                      for name, e, se, d, n, per in zip(p.phases, p.energy_j, p.energy_stderr_j, p.duration_s,
                                                       p.n_spans.tolist(), p.energy_per_span_j, strict=True))
    return (f"PhaseAttribution({parts}; sum {p.energy_j.sum():.4g} J over {p.duration_s.sum():.3g} s; idle "
            f"{p.attribution.idle_power_w:.1f} W, {p.attribution.source})")
