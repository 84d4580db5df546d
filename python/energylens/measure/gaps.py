"""Holes in interval-mean power readings (the driver's sample buffer, ``nvml_samples``): consecutive readings
of a GPU further apart than :data:`GAP_PERIODS` update periods (a row missing or NaN: a buffer overrun, a
dropped reading). :func:`~energylens.measure.integrate.integrate_window` integrates the reading after each hole
across all of it, counts the holes in ``gap_count`` / ``gap_s`` and names them in a :class:`SampleGapWarning`
(:func:`warn_gaps`)."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

from energylens.errors import user_stacklevel

__all__ = ["SampleGapWarning", "GAP_PERIODS", "Gaps", "interval_gaps", "warn_gaps"]


class SampleGapWarning(UserWarning):
    """Readings of the driver's sample buffer inside a window lie more than :data:`GAP_PERIODS` update
    periods apart: one or more are missing (a buffer overrun, a dropped or NaN row), and the reading after
    each gap, the mean of its own ~period only, stood for the whole gap."""


#: Interval-mean readings (:data:`~energylens.measure.integrate.INTERVAL_SOURCES`) further apart than this many update periods leave a
#: gap: a missing row makes about two; the H200 buffer's own spacing is 17-23 ms for its 20 ms period
#: (docs/NVML-FACTS.md).
GAP_PERIODS = 1.5


@dataclass(frozen=True)
class Gaps:
    """Gaps between interval-mean readings inside a span: per gap its GPU, the readings either side
    (``t0_ns``, ``t1_ns``), how much of the span it covers (``overlap_ns``), the energy integrated across
    that part at the reading after it (``energy_j``) and the readings it lacks (``missing``)."""

    gpu: np.ndarray
    t0_ns: np.ndarray
    t1_ns: np.ndarray
    overlap_ns: np.ndarray
    energy_j: np.ndarray
    missing: np.ndarray
    period_s: float


def interval_gaps(t_ns: np.ndarray, power_w: np.ndarray, gpu: np.ndarray, start_ns: int, end_ns: int,
                  period_s: float | None) -> Gaps:
    """The gaps of interval-mean readings (finite ones) that overlap ``[start_ns, end_ns]``: consecutive
    readings of a GPU more than :data:`GAP_PERIODS` ``period_s`` apart (the median spacing when the
    period is unknown). Rows in any order; those already sorted by (GPU, time), as the integrator's are, are
    not sorted again (2.8 -> 0.24 ms on 49 600 rows: 2 minutes of 8 GPUs)."""
    t, g = np.asarray(t_ns, dtype=np.int64), np.asarray(gpu, dtype=np.int64)
    v = np.asarray(power_w, dtype=np.float64)
    same = g[1:] == g[:-1]
    if not ((g[1:] > g[:-1]) | (same & (t[1:] >= t[:-1]))).all():
        order = np.lexsort((t, g))
        t, v, g = t[order], v[order], g[order]
        same = g[1:] == g[:-1]
    dt = np.diff(t)
    if period_s is None or not period_s > 0:  # (NaN: not detected)
        period_s = float(np.median(dt[same])) * 1e-9 if same.any() else math.nan
    lo, hi = np.maximum(t[:-1], start_ns), np.minimum(t[1:], end_ns)
    gap = same & (dt > GAP_PERIODS * period_s * 1e9) & (hi > lo)
    i = np.flatnonzero(gap)
    overlap = hi[i] - lo[i]
    missing = np.maximum(np.rint(dt[i] / (period_s * 1e9)).astype(np.int64) - 1, 1) if i.size else i
    return Gaps(gpu=g[i + 1], t0_ns=t[i], t1_ns=t[i + 1], overlap_ns=overlap, energy_j=v[i + 1] * overlap * 1e-9,
                 missing=missing, period_s=period_s)


def warn_gaps(gaps: list[tuple[str, Gaps]], start_ns: int, end_ns: int, total_j: float) -> None:
    """One :class:`SampleGapWarning` for the gaps of a window: the first three spans, then totals."""
    spans = [(src, g, int(gpu), int(a), int(b), int(m)) for src, g in gaps
             for gpu, a, b, m in zip(g.gpu, g.t0_ns, g.t1_ns, g.missing, strict=True)]
    named = "; ".join(f"{src} GPU position {gpu}: t_ns {a} to {b} ({(b - a) * 1e-6:.1f} ms for a {g.period_s * 1e3:.1f} ms "
                      f"update period, ~{m} reading(s) missing)" for src, g, gpu, a, b, m in spans[:3])
    more = f"; and {len(spans) - 3} more" if len(spans) > 3 else ""
    seconds = sum(float(g.overlap_ns.sum()) for _, g in gaps) * 1e-9
    energy = sum(float(g.energy_j.sum()) for _, g in gaps)
    warnings.warn(f"{len(spans)} gap(s) between power readings inside [{start_ns}, {end_ns}] ns: {named}{more}. "
                  f"The {seconds:.3f} s of the window they span (all GPUs) were integrated at the reading that ended "
                  f"each gap ({energy:.3f} J of {total_j:.3f} J), the mean of its own update period only: the power "
                  "where readings are missing is unknown (Measurement.gap_count / gap_s count them)",
                  SampleGapWarning, stacklevel=user_stacklevel())
