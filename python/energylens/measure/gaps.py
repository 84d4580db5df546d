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
- ``"backed_off"`` readings of energylens' own auxiliary readers (the energy counter, DCGM: a row per new value,
  read on their own thread at a rate backed off to a CPU budget, a second or more apart by design, about one
  update period while a window is open, :data:`BACKED_OFF`): further apart than :data:`READ_SPACINGS` times their
  usual spacing (the median, at least one update period) plus one update period: a stalled reader.

A cumulative counter is exact between any two of its readings: a hole in it costs only the split of its energy
at a window's edge inside the hole (:func:`edge_holes`, :func:`warn_counter_holes`), or a phase's.

Point readings are interpolated across a hole. Either way the holes are counted in ``gap_count`` / ``gap_s``
and named in a :class:`SampleGapWarning` (:func:`warn_gaps`, :func:`warn_holes`)."""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np

from energylens.errors import user_stacklevel
from energylens.measure.signals import SIGNALS

__all__ = ["SampleGapWarning", "HoldLimits", "GAP_PERIODS", "HOLD_S", "BACKED_OFF", "READ_SPACINGS", "Gaps", "interval_gaps",
           "reading_holes", "hole_rule", "hole_label", "edge_holes", "warn_gaps", "warn_holes", "warn_counter_holes", "hold_limits", "source_label"]


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
#: :func:`hold_limits`' value for energylens' own energy counter and DCGM readings: each reader has its own thread,
#: sends a row per new value and backs off to its CPU budget (``PowerSampler.nvml(auxiliary_cpu_budget=)``: ~1.2 s
#: for 3 ms of CPU per counter read, spread over 0.75-1.25 of it) except while a window is open (about one update
#: period): its rows are judged by their own spacing (:data:`READ_SPACINGS`).
BACKED_OFF = "backed_off"
#: A :data:`BACKED_OFF` reader's rows further apart than this many times their median spacing (at least one update
#: period), plus one period (a counter's move is stamped up to half a period before its read), leave a hole: the
#: dither allows 1.25 times, a read that cost more than usual a little more; a stalled reader, several times.
READ_SPACINGS = 2.0


class HoldLimits(dict):
    """:func:`hold_limits`' mapping, with ``labels``: how a warning names the rows of a trace source where the
    source's name is not what recorded them (a synthetic sampler's rows are recorded as ``nvml_*``)."""

    labels: dict[str, str] = {}


def hold_limits(meta: dict) -> HoldLimits:
    """Per source, how its rows were recorded, for its hole search (:func:`hole_rule`): the longest its changes-only
    stream lets a held value go without a row (s), :data:`BACKED_OFF` (energylens' own auxiliary readers), or None
    (no limit known, so no hole search); a source not named keeps every poll or update (``"polled"``). energylens'
    nvml / synthetic sampler (also replayed: ``meta["recorded_by"]``): :data:`HOLD_S` (plus its
    ``meta["poll_interval_s"]`` when one was set) for the instant and average readings, :data:`BACKED_OFF` for the
    energy counter and DCGM. Another tool's changes-only stream states its own in ``meta["hold_s"]`` (``{source: s or
    None}``); a ValueError names a value that is neither None nor seconds > 0. A synthetic sampler's (also replayed)
    ``labels`` name its rows by the synthetic source that made them (``synthetic_energy_counter (rows of source
    nvml_energy)``), which its warnings say instead of NVML's source name (until 2026-12-07 they said NVML's)."""
    native = meta.get("sampler") in ("nvml", "synthetic") or (
        meta.get("sampler") == "replay" and meta.get("recorded_by") in ("nvml", "synthetic"))
    hold = HOLD_S + float(meta.get("poll_interval_s") or 0.0)  # the poll that sends it, when set slower than a period
    out = HoldLimits({"nvml_instant": hold, "nvml_average": hold, "dcgm": BACKED_OFF, "nvml_energy": BACKED_OFF}
                     if native else {})
    if "synthetic" in (meta.get("sampler"), meta.get("recorded_by")):  # (its rows are recorded as NVML's sources)
        out.labels = {s.source: f"synthetic_{s.signal} (rows of source {s.source})" for s in SIGNALS
                      if s.source.startswith("nvml_")}
    for src, v in (meta.get("hold_s") or {}).items():
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 < v < math.inf):
            raise ValueError(f"meta['hold_s'][{src!r}] must be seconds > 0 or None (no limit), got {v!r}")
        out[src] = None if v is None else float(v)
    return out


def source_label(source: str, holds: Mapping[str, float | str | None]) -> str:
    """How a warning names ``source``'s rows, recorded as ``holds`` (:func:`hold_limits`) says: its ``labels``' name
    (``synthetic_energy_counter (rows of source nvml_energy)``), else the source's own."""
    return getattr(holds, "labels", {}).get(source, source)


def hole_rule(source: str, holds: Mapping[str, float | str | None], interval: bool) -> tuple[str, float] | None:
    """``(kind, hold_s)`` of :func:`reading_holes` for ``source``'s rows, recorded as ``holds`` (:func:`hold_limits`)
    says; ``interval``: interval means (the driver buffer). None: no hole search (a hold stated as None). The rows'
    label is :func:`hole_label`'s (from 8926f42d until later on 2026-12-07 a third value here, which broke a caller
    unpacking two)."""
    if interval:
        return "interval", HOLD_S
    if source not in holds:
        return "polled", HOLD_S
    hold = holds[source]
    if hold is None:
        return None
    return ("backed_off", HOLD_S) if hold == BACKED_OFF else ("changes", float(hold))


def hole_label(source: str, holds: Mapping[str, float | str | None]) -> str:
    """:func:`reading_holes`' ``label`` for ``source``'s rows, recorded as ``holds`` (:func:`hold_limits`) says: its
    ``labels``' name of the rows (a synthetic sampler's), else "" (the warnings name the source)."""
    return getattr(holds, "labels", {}).get(source, "")


@dataclass(frozen=True)
class Gaps:
    """Holes between readings inside a span: per hole its GPU, the readings either side (``t0_ns``, ``t1_ns``),
    how much of the span it covers (``overlap_ns``), the energy integrated across that part (``energy_j``: at
    the buffer's reading after it, or the point readings' interpolant) and the updates it lacks (``missing``);
    the update period and the spacing the recording allows (``limit_s``) it was judged by; ``note``: a sentence on
    how the rows may have been recorded instead (raw polls that never repeat a value), or ""; ``label``: how a
    warning names the rows where not by their source (:class:`HoldLimits`), or ""."""

    gpu: np.ndarray
    t0_ns: np.ndarray
    t1_ns: np.ndarray
    overlap_ns: np.ndarray
    energy_j: np.ndarray
    missing: np.ndarray
    period_s: float
    limit_s: float = math.nan
    note: str = ""
    label: str = ""


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


def change_period_s(t: np.ndarray, v: np.ndarray, g: np.ndarray, same: np.ndarray) -> float:
    """The median interval between changes of value of each GPU's readings (their update period), or
    :data:`FALLBACK_PERIOD_S` with fewer than two such intervals."""
    c = np.flatnonzero(same & (v[1:] != v[:-1])) + 1
    step = np.diff(t[c])[g[c][1:] == g[c][:-1]]
    return float(np.median(step)) * 1e-9 if step.size >= 2 else FALLBACK_PERIOD_S


#: :attr:`Gaps.note` of raw polls that never repeat a value (:func:`reading_holes`).
CHANGES_ONLY_NOTE = ("; these rows never repeat a value, as polls faster than the updates would: if they were "
                     "recorded only when the value changed (a changes-only stream), a held value leaves no row and is "
                     "no hole: state the stream's hold limit in meta['hold_s'] (docs/measuring.md section 3, 'Holes')")


def _limit_s(kind: str, period_s: float, hold_s: float, dt: np.ndarray) -> float:
    """The spacing a recording of ``kind`` allows (module docstring); ``dt``: its spacings within a GPU."""
    if kind == "changes":
        return hold_s + period_s
    if kind == "backed_off":
        usual = float(np.median(dt)) * 1e-9 if dt.size else period_s
        return READ_SPACINGS * max(usual, period_s) + period_s
    return GAP_PERIODS * period_s


def reading_holes(t_ns: np.ndarray, power_w: np.ndarray, gpu: np.ndarray, start_ns: int, end_ns: int,
                  period_s: float | None, kind: str, hold_s: float = HOLD_S, counter: bool = False, *,
                  label: str = "") -> Gaps:
    """The holes of a GPU's finite readings that overlap ``[start_ns, end_ns]``, by how they were recorded
    (module docstring): ``kind`` ``"interval"`` (interval means: over :data:`GAP_PERIODS` ``period_s``, the
    median spacing when unknown), ``"polled"`` (point readings, every poll or update a row: over
    :data:`GAP_PERIODS` ``period_s``, the median interval between changes when unknown), ``"changes"``
    (a changes-only stream: over ``hold_s`` plus ``period_s``) or ``"backed_off"`` (energylens' own counter and
    DCGM readers: over :data:`READ_SPACINGS` times their median spacing, at least ``period_s``, plus ``period_s``;
    the period, when unknown, the median spacing). ``energy_j``: what the integrator put in each hole's part of
    the span (the reading after it, or the interpolant's trapezoid). ``counter``: the values are a cumulative
    counter (raw polls of one never repeating a value are no sign of a changes-only stream). ``label`` (keyword
    only, as its position was ``counter``'s before 8926f42d): the :class:`Gaps`' (:func:`hole_label`)."""
    if kind not in ("interval", "polled", "changes", "backed_off"):
        raise ValueError(f"kind must be 'interval', 'polled', 'changes' or 'backed_off', got {kind!r}")
    t, v, g, same = _by_gpu_time(t_ns, power_w, gpu)
    dt = np.diff(t)
    if period_s is None or not period_s > 0:  # (NaN: not detected)
        if kind in ("interval", "backed_off"):
            period_s = float(np.median(dt[same])) * 1e-9 if same.any() else math.nan
        else:
            period_s = change_period_s(t, v, g, same) if kind == "polled" else FALLBACK_PERIOD_S
    limit_s = _limit_s(kind, period_s, hold_s, dt[same])
    lo, hi = np.maximum(t[:-1], start_ns), np.minimum(t[1:], end_ns)
    i = np.flatnonzero(same & (dt > limit_s * 1e9) & (hi > lo))
    overlap = hi[i] - lo[i]
    missing = np.maximum(np.rint(dt[i] / (period_s * 1e9)).astype(np.int64) - 1, 1) if i.size else i
    if kind == "interval":
        energy = v[i + 1] * overlap * 1e-9
    else:  # the interpolant at both ends of the overlap
        slope = (v[i + 1] - v[i]) / np.maximum(dt[i], 1)
        energy = 0.5 * (2 * v[i] + slope * (lo[i] - t[i] + hi[i] - t[i])) * overlap * 1e-9
    never_repeats = kind == "polled" and not counter and bool(i.size) and same.sum() >= 2 \
        and not (same & (v[1:] == v[:-1])).any()
    return Gaps(gpu=g[i + 1], t0_ns=t[i], t1_ns=t[i + 1], overlap_ns=overlap, energy_j=energy,
                missing=missing, period_s=period_s, limit_s=limit_s, note=CHANGES_ONLY_NOTE if never_repeats else "",
                label=label)


def edge_holes(g: Gaps, start_ns: int, end_ns: int) -> Gaps:
    """The holes of ``g`` (a counter's) with ``start_ns`` or ``end_ns`` strictly inside: a counter's difference is
    exact across a hole the window holds whole, and only where an edge splits one is its figure a guess."""
    keep = ((g.t0_ns < start_ns) & (start_ns < g.t1_ns)) | ((g.t0_ns < end_ns) & (end_ns < g.t1_ns))
    return replace(g, gpu=g.gpu[keep], t0_ns=g.t0_ns[keep], t1_ns=g.t1_ns[keep], overlap_ns=g.overlap_ns[keep],
                   energy_j=g.energy_j[keep], missing=g.missing[keep])


def warn_counter_holes(holes: list[tuple[str, Gaps]], start_ns: int, end_ns: int, power_j: np.ndarray,
                       counter_j: np.ndarray) -> None:
    """One :class:`SampleGapWarning` for the holes of a counter (:func:`edge_holes`) in which a window's edges lie:
    the first three and which edge, and per GPU the counter's figure and the power readings'."""
    spans = [(src, g, int(gpu), int(a), int(b)) for src, g in holes for gpu, a, b in zip(g.gpu, g.t0_ns, g.t1_ns,
                                                                                         strict=True)]
    which = [" and ".join(e for e, x in (("start", start_ns), ("end", end_ns)) if a < x < b) for *_, a, b in spans]
    named = "; ".join(f"{hole_text(*x)} at its {w}" for x, w in zip(spans[:3], which, strict=False))
    more = f"; and {len(spans) - 3} more" if len(spans) > 3 else ""
    note = next((g.note for _, g in holes if g.note), "")
    gpus = sorted({x[2] for x in spans})
    figures = ", ".join(f"GPU position {i}: {counter_j[i]:.1f} J from the counter, {power_j[i]:.1f} J from the power "
                        "readings" for i in gpus)
    warnings.warn(f"the energy counter's figure over [{start_ns}, {end_ns}] ns interpolates across {len(spans)} "
                  f"hole(s) at its ends: {named}{more}{note}. The counter is exact between two readings, but where an "
                  "edge of the window splits a hole's energy is a guess (as if the power were constant across it): "
                  f"{figures}", SampleGapWarning, stacklevel=user_stacklevel())


def warn_gaps(gaps: list[tuple[str, Gaps]], start_ns: int, end_ns: int, total_j: float) -> None:
    """One :class:`SampleGapWarning` for the gaps of a window: the first three spans, then totals."""
    spans = [(src, g, int(gpu), int(a), int(b), int(m)) for src, g in gaps
             for gpu, a, b, m in zip(g.gpu, g.t0_ns, g.t1_ns, g.missing, strict=True)]
    named = "; ".join(f"{g.label or src} GPU position {gpu}: t_ns {a} to {b} ({(b - a) * 1e-6:.1f} ms for a {g.period_s * 1e3:.1f} ms "
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
    return (f"{g.label or src} GPU position {gpu}: no reading from t_ns {a} to {b} ({(b - a) * 1e-9:.3f} s, where its rows lie "
            f"at most {g.limit_s:.3f} s apart: {g.period_s * 1e3:.1f} ms update period)")


def warn_holes(holes: list[tuple[str, Gaps]], start_ns: int, end_ns: int, power_j: np.ndarray,
               counter_j: np.ndarray, taken: tuple[str, ...] = ()) -> None:
    """One :class:`SampleGapWarning` for the holes of point readings in a window: the first three, the time
    and energy interpolated across them, per GPU with a hole the counter's figure where it brackets the
    window (``power_j`` / ``counter_j``: per GPU), and the GPUs whose ``energy_j`` took the counter's figure
    (``taken``: per GPU, that counter's name, "" where ``energy_j`` is the power readings'), which the holes do not
    touch (until 2026-12-07 unsaid: the warning's total was the power readings', not the ``energy_j`` the user had)."""
    spans = [(src, g, int(gpu), int(a), int(b)) for src, g in holes for gpu, a, b in zip(g.gpu, g.t0_ns, g.t1_ns,
                                                                                         strict=True)]
    named = "; ".join(hole_text(*x) for x in spans[:3]) + (f"; and {len(spans) - 3} more" if len(spans) > 3 else "")
    named += next((g.note for _, g in holes if g.note), "")
    seconds = sum(float(g.overlap_ns.sum()) for _, g in holes) * 1e-9
    energy = sum(float(g.energy_j.sum()) for _, g in holes)
    gpus = sorted({x[2] for x in spans})
    versus = [f"GPU position {i}: {power_j[i]:.1f} J from the power readings, {counter_j[i]:.1f} J from the "
              f"energy counter ({(power_j[i] - counter_j[i]) / counter_j[i] * 100:+.1f} %)"
              for i in gpus if np.isfinite(counter_j[i]) and counter_j[i] > 0 and np.isfinite(power_j[i])]
    check = ("; over the window " + ", ".join(versus)) if versus else "; no energy counter brackets the window to check"
    counted = [f"{i} ({taken[i]})" for i in gpus if i < len(taken) and taken[i]]
    if counted:
        check += (f"; energy_j took the energy counter's figure for GPU position(s) {', '.join(counted)}, which the "
                  "holes do not touch: they are in power_energy_j")
    warnings.warn(f"{len(spans)} hole(s) in the power readings inside [{start_ns}, {end_ns}] ns: {named}. The "
                  f"{seconds:.3f} s of the window they span (all GPUs) were interpolated between the readings either "
                  f"side ({energy:.3f} J of {float(np.nansum(power_j)):.3f} J): the power there is unknown{check} "
                  "(Measurement.gap_count / gap_s count them)", SampleGapWarning, stacklevel=user_stacklevel())
