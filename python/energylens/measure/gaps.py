"""Holes in power readings, defined by how the rows were recorded (:func:`reading_holes`):

- interval means (the driver's sample buffer, ``nvml_samples``): consecutive readings of a GPU further apart
  than :data:`GAP_PERIODS` update periods (a row missing or NaN: a buffer overrun, a dropped reading);
  :func:`~energylens.measure.integrate.integrate_window` integrates the reading after each hole across it;
- ``"polled"`` point readings (another tool's raw polls, every poll a row, or one row per update): further
  apart than :data:`GAP_PERIODS` update periods, so a published value may have gone unseen (a stalled poller,
  polls cut out); the period, when not given, is the median interval between changes of value (the rows'
  own spacing is the poll's, 3 ms on the shared H200 trace);
- ``"changes"`` point readings (a row when the value changes, and once every hold limit while it holds:
  :data:`HOLD_S` for energylens' own instant / average stream, another tool's in ``meta["hold_s"]``,
  :func:`hold_limits`): further apart than that hold plus one update period.

Point readings are interpolated across a hole. Either way the holes are counted in ``gap_count`` / ``gap_s``
and named in a :class:`SampleGapWarning` (:func:`warn_gaps`, :func:`warn_holes`)."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

from energylens.errors import user_stacklevel

__all__ = ["SampleGapWarning", "GAP_PERIODS", "HOLD_S", "Gaps", "interval_gaps", "reading_holes", "warn_gaps",
           "warn_holes", "hold_limits"]


class SampleGapWarning(UserWarning):
    """Power readings inside a window lie further apart than their recording allows (:func:`reading_holes`):
    one or more are missing (a buffer overrun, a dropped or NaN row, a stalled poller), and the power across
    each hole is a guess (the driver buffer's next reading, the point readings' interpolant)."""


#: Interval-mean readings (:data:`~energylens.measure.integrate.INTERVAL_SOURCES`) further apart than this many update periods leave a
#: gap: a missing row makes about two; the H200 buffer's own spacing is 17-23 ms for its 20 ms period
#: (docs/NVML-FACTS.md).
GAP_PERIODS = 1.5

#: energylens' sampler re-sends a held instant / average value once this many seconds after its last row
#: (``PolledPowerSource::poll``, cpp/src/nvml_sources.cpp): its rows lie up to this apart without a hole.
HOLD_S = 1.0
#: The update period assumed for a hole search whose source's period is neither given nor readable off the rows.
FALLBACK_PERIOD_S = 0.1


def hold_limits(meta: dict) -> dict[str, float | None]:
    """Per source, the longest its changes-only stream lets a held value go without a row (s; None: no limit
    known, so no hole search); a source not named keeps every poll or update (``"polled"``). energylens'
    nvml / synthetic sampler (also replayed: ``meta["recorded_by"]``): :data:`HOLD_S` (plus its
    ``meta["poll_interval_s"]`` when one was set) for the instant and average readings, None for the energy
    counter and DCGM (read at a backed-off rate, a second or more apart by design). Another tool's changes-only stream states its own in ``meta["hold_s"]`` (``{source: s or
    None}``); a ValueError names a value that is neither None nor seconds > 0."""
    native = meta.get("sampler") in ("nvml", "synthetic") or (
        meta.get("sampler") == "replay" and meta.get("recorded_by") in ("nvml", "synthetic"))
    hold = HOLD_S + float(meta.get("poll_interval_s") or 0.0)  # the poll that sends it, when set slower than a period
    out: dict[str, float | None] = ({"nvml_instant": hold, "nvml_average": hold, "dcgm": None,
                                     "nvml_energy": None} if native else {})
    for src, v in (meta.get("hold_s") or {}).items():
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 < v < math.inf):
            raise ValueError(f"meta['hold_s'][{src!r}] must be seconds > 0 or None (no limit), got {v!r}")
        out[src] = None if v is None else float(v)
    return out


@dataclass(frozen=True)
class Gaps:
    """Holes between readings inside a span: per hole its GPU, the readings either side (``t0_ns``, ``t1_ns``),
    how much of the span it covers (``overlap_ns``), the energy integrated across that part (``energy_j``: at
    the buffer's reading after it, or the point readings' interpolant) and the updates it lacks (``missing``);
    the update period and the spacing the recording allows (``limit_s``) it was judged by."""

    gpu: np.ndarray
    t0_ns: np.ndarray
    t1_ns: np.ndarray
    overlap_ns: np.ndarray
    energy_j: np.ndarray
    missing: np.ndarray
    period_s: float
    limit_s: float = math.nan


def _by_gpu_time(t_ns: np.ndarray, v: np.ndarray, gpu: np.ndarray) -> tuple[np.ndarray, ...]:
    """Rows sorted by (GPU, time) (not sorted again when they are: 2.8 -> 0.24 ms on 49 600 rows) and whether
    each row and the next are of one GPU."""
    t, g = np.asarray(t_ns, dtype=np.int64), np.asarray(gpu, dtype=np.int64)
    v = np.asarray(v, dtype=np.float64)
    same = g[1:] == g[:-1]
    if not ((g[1:] > g[:-1]) | (same & (t[1:] >= t[:-1]))).all():
        order = np.lexsort((t, g))
        t, v, g = t[order], v[order], g[order]
        same = g[1:] == g[:-1]
    return t, v, g, same


def interval_gaps(t_ns: np.ndarray, power_w: np.ndarray, gpu: np.ndarray, start_ns: int, end_ns: int,
                  period_s: float | None) -> Gaps:
    """The gaps of interval-mean readings (finite ones) that overlap ``[start_ns, end_ns]``: consecutive
    readings of a GPU more than :data:`GAP_PERIODS` ``period_s`` apart (the median spacing when the
    period is unknown). Rows in any order."""
    return reading_holes(t_ns, power_w, gpu, start_ns, end_ns, period_s, "interval")


def _change_period_s(t: np.ndarray, v: np.ndarray, g: np.ndarray, same: np.ndarray) -> float:
    """The median interval between changes of value of each GPU's readings (their update period), or
    :data:`FALLBACK_PERIOD_S` with fewer than two such intervals."""
    c = np.flatnonzero(same & (v[1:] != v[:-1])) + 1
    step = np.diff(t[c])[g[c][1:] == g[c][:-1]]
    return float(np.median(step)) * 1e-9 if step.size >= 2 else FALLBACK_PERIOD_S


def reading_holes(t_ns: np.ndarray, power_w: np.ndarray, gpu: np.ndarray, start_ns: int, end_ns: int,
                  period_s: float | None, kind: str, hold_s: float = HOLD_S) -> Gaps:
    """The holes of a GPU's finite readings that overlap ``[start_ns, end_ns]``, by how they were recorded
    (module docstring): ``kind`` ``"interval"`` (interval means: over :data:`GAP_PERIODS` ``period_s``, the
    median spacing when unknown), ``"polled"`` (point readings, every poll or update a row: over
    :data:`GAP_PERIODS` ``period_s``, the median interval between changes when unknown) or ``"changes"``
    (a changes-only stream: over ``hold_s`` plus ``period_s``). ``energy_j``: what the integrator put
    in each hole's part of the span (the reading after it, or the interpolant's trapezoid)."""
    if kind not in ("interval", "polled", "changes"):
        raise ValueError(f"kind must be 'interval', 'polled' or 'changes', got {kind!r}")
    t, v, g, same = _by_gpu_time(t_ns, power_w, gpu)
    dt = np.diff(t)
    if period_s is None or not period_s > 0:  # (NaN: not detected)
        if kind == "interval":
            period_s = float(np.median(dt[same])) * 1e-9 if same.any() else math.nan
        else:
            period_s = _change_period_s(t, v, g, same) if kind == "polled" else FALLBACK_PERIOD_S
    limit_s = hold_s + period_s if kind == "changes" else GAP_PERIODS * period_s
    lo, hi = np.maximum(t[:-1], start_ns), np.minimum(t[1:], end_ns)
    i = np.flatnonzero(same & (dt > limit_s * 1e9) & (hi > lo))
    overlap = hi[i] - lo[i]
    missing = np.maximum(np.rint(dt[i] / (period_s * 1e9)).astype(np.int64) - 1, 1) if i.size else i
    if kind == "interval":
        energy = v[i + 1] * overlap * 1e-9
    else:  # the interpolant at both ends of the overlap
        slope = (v[i + 1] - v[i]) / np.maximum(dt[i], 1)
        energy = 0.5 * (2 * v[i] + slope * (lo[i] - t[i] + hi[i] - t[i])) * overlap * 1e-9
    return Gaps(gpu=g[i + 1], t0_ns=t[i], t1_ns=t[i + 1], overlap_ns=overlap, energy_j=energy,
                missing=missing, period_s=period_s, limit_s=limit_s)


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


def hole_text(src: str, g: Gaps, gpu: int, a: int, b: int) -> str:
    """One hole of point readings: its GPU, start, end and length, and the spacing its recording allows."""
    return (f"{src} GPU position {gpu}: no reading from t_ns {a} to {b} ({(b - a) * 1e-9:.3f} s, where its rows lie "
            f"at most {g.limit_s:.3f} s apart: {g.period_s * 1e3:.1f} ms update period)")


def warn_holes(holes: list[tuple[str, Gaps]], start_ns: int, end_ns: int, power_j: np.ndarray,
               counter_j: np.ndarray) -> None:
    """One :class:`SampleGapWarning` for the holes of point readings in a window: the first three, the time
    and energy interpolated across them, and per GPU with a hole the counter's figure where it brackets the
    window (``power_j`` / ``counter_j``: per GPU)."""
    spans = [(src, g, int(gpu), int(a), int(b)) for src, g in holes for gpu, a, b in zip(g.gpu, g.t0_ns, g.t1_ns,
                                                                                         strict=True)]
    named = "; ".join(hole_text(*x) for x in spans[:3]) + (f"; and {len(spans) - 3} more" if len(spans) > 3 else "")
    seconds = sum(float(g.overlap_ns.sum()) for _, g in holes) * 1e-9
    energy = sum(float(g.energy_j.sum()) for _, g in holes)
    gpus = sorted({x[2] for x in spans})
    versus = [f"GPU position {i}: {power_j[i]:.1f} J from the power readings, {counter_j[i]:.1f} J from the "
              f"energy counter ({(power_j[i] - counter_j[i]) / counter_j[i] * 100:+.1f} %)"
              for i in gpus if np.isfinite(counter_j[i]) and counter_j[i] > 0 and np.isfinite(power_j[i])]
    check = ("; over the window " + ", ".join(versus)) if versus else "; no energy counter brackets the window to check"
    warnings.warn(f"{len(spans)} hole(s) in the power readings inside [{start_ns}, {end_ns}] ns: {named}. The "
                  f"{seconds:.3f} s of the window they span (all GPUs) were interpolated between the readings either "
                  f"side ({energy:.3f} J of {float(np.nansum(power_j)):.3f} J): the power there is unknown{check} "
                  "(Measurement.gap_count / gap_s count them)", SampleGapWarning, stacklevel=user_stacklevel())
