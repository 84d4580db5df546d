"""The mark-delimited spans of :func:`energylens.measure.attribution.attribute_phases`: which spans there
are, which phases to report, and the checks that keep a phase's energy a measurement: marks at one instant
(a zero-length span, and which label opens the next span is the table's row order) and reported spans
outside the readings (their energy would be the fitted model extrapolated over time nothing recorded).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from energylens.errors import EnergyLensError

__all__ = ["MarkSpans", "mark_spans", "phase_names", "check_covered", "kernel_classes", "sum_by_phase"]


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
    """The phases to report: ``phases`` (each must label a span), else every span label in order."""
    present = list(dict.fromkeys(span_label.tolist()))
    if phases is None:
        return present
    names = [str(p) for p in phases]
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
