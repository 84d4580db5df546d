"""Integration: the energy of a span ``[start_ns, end_ns]`` from recorded samples, for every GPU at
once (vectorised NumPy; no loop over samples or GPUs).

- Power signals: the integral of the piecewise-linear interpolant of the readings (trapezoids between
  readings, constant beyond the first and last), evaluated as ``F(end) - F(start)`` of its
  antiderivative per GPU (:func:`power_energy_j_per_gpu`, :func:`window_energy_j` for one GPU); for a
  source whose readings are each the mean over the interval since the previous one (the driver's sample
  buffer, :data:`INTERVAL_SOURCES`), the step function of those means (``kind="interval"``): exact for
  any window, where the interpolant lags a power edge by half a sample (-8 % on a 100 ms burst).
- Energy counters: the counter's difference, linearly interpolated at both ends, NaN unless the
  readings bracket the span (:func:`counter_energy_j_per_gpu`, :func:`counter_energy_j`).
- Which signal a window integrates: the finest power source that covers it
  (:data:`POWER_PREFERENCE`); when none covers it alone (a mid-run fallback inside the window), the
  failed source up to its last reading and the source that took over from there, a gap between them
  (no reading of either within two update periods) bridged by holding each side's reading to the gap's
  middle and reported as ``bridged_s``; readings of the driver buffer further apart than
  :data:`GAP_PERIODS` update periods (a row missing or NaN: a buffer overrun, a dropped reading) leave a
  hole that the reading after it is integrated across, counted in ``gap_count`` / ``gap_s`` and warned
  (:class:`SampleGapWarning`, :mod:`energylens.measure.gaps`), as are point readings further apart than their
  recording allows (raw polls, a changes-only stream's hold: ``hold_s``), interpolated across; NaN when the
  window is not covered (before the sampler started, after every source stopped); and the first counter of :data:`COUNTER_SOURCES` a GPU has
  (:func:`integrate_window`).

Samples are the sampler's table: ``t_ns`` int64 (sorted), ``gpu`` int32, ``power_w`` / ``energy_j``
float64 (NaN where absent), ``source`` (``Trace`` source names).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping

import numpy as np

from energylens.errors import user_stacklevel
from energylens.measure.counter_agreement import (
    PowerCounterDisagreeWarning,
    check_counters,
    kept_stamp_halfwidths,
)
from energylens.measure.counter_tail import change_stamps, fill_counter_tails
from energylens.measure.gaps import (
    GAP_PERIODS,
    Gaps,
    SampleGapWarning,
    change_period_s,
    edge_holes,
    hole_label,
    hole_rule,
    reading_holes,
    warn_counter_holes,
    warn_gaps,
    warn_holes,
)
from energylens.measure.segments import (
    POWER_PREFERENCE,
    UNKNOWN_PERIOD_S,
    bridged_ns,
    known_periods,
    power_segments,
    source_rows,
)
from energylens.measure.signals import SIGNALS
from energylens.measure.ties import SameTimeReadingsWarning, one_per_time
from energylens.measure.units import span_ns, times_ns, warn_rate
from energylens.measure.window_energy import WindowEnergy, choose_energy

__all__ = [
    "POWER_PREFERENCE",
    "COUNTER_SOURCES",
    "WindowEnergy",
    "window_energy_j",
    "counter_energy_j",
    "power_energy_j_per_gpu",
    "counter_energy_j_per_gpu",
    "power_segments",
    "INTERVAL_SOURCES",
    "near",
    "covered",
    "power_covered",
    "counter_covered",
    "integrate_window",
    "source_rows",
    "CounterWentBackWarning",
    "PowerCounterDisagreeWarning",
    "SampleGapWarning",
    "SameTimeReadingsWarning",
    "GAP_PERIODS",
    "known_periods",
    "UNKNOWN_PERIOD_S",
]

#: Power sources whose every reading is the mean over the interval since the previous reading.
INTERVAL_SOURCES: frozenset[str] = frozenset({"nvml_samples"})
#: Sources that carry a cumulative energy counter, in the order a window uses them.
COUNTER_SOURCES: tuple[str, ...] = tuple(dict.fromkeys(s.source for s in SIGNALS if s.quantity == "energy"))

Samples = Mapping[str, np.ndarray]


class CounterWentBackWarning(UserWarning):
    """An energy counter read lower than its previous reading inside a window (a reset: a driver reload, or
    a corrupt trace): the counter difference of that GPU is NaN rather than a negative or short energy."""


class _Groups:
    """Rows sorted by (gpu, t), one per (gpu, t) (:func:`~energylens.measure.ties.one_per_time`), with the first row
    of each GPU: ``t`` (float64 ns relative to ``origin_ns``; ``t_ns`` the int64 stamps), ``v``, ``gpu``, ``first``
    (``gpu_count + 1`` offsets) and ``count`` per GPU."""

    def __init__(self, t_ns: np.ndarray, values: np.ndarray, gpu: np.ndarray, gpu_count: int,
                 origin_ns: int, source: str = "") -> None:
        # one row per (GPU, time), whatever the row order (readings at one time: their mean, ties.py)
        self.t_ns, self.v, self.gpu = one_per_time(t_ns, values, gpu, source)
        # Relative float64 ns are exact for spans up to 2**53 ns (104 days).
        self.t = (self.t_ns - np.int64(origin_ns)).astype(np.float64)
        self.count = np.bincount(self.gpu, minlength=gpu_count)[:gpu_count]
        self.first = np.concatenate(([0], np.cumsum(self.count)))
        self.gpu_count = gpu_count

    def last_at_or_before(self, x: float) -> tuple[np.ndarray, np.ndarray]:
        """Per GPU: the global index of its last row with ``t <= x`` and whether one exists."""
        before = np.bincount(self.gpu[self.t <= x], minlength=self.gpu_count)[:self.gpu_count]
        return self.first[:-1] + before - 1, before > 0

    def interpolate(self, x: float) -> np.ndarray:
        """Per GPU, the linear interpolant of ``v`` at ``x`` (constant beyond the ends; NaN without rows)."""
        out = np.full(self.gpu_count, math.nan)
        idx, ok = self.last_at_or_before(x)
        has = self.count > 0
        first = self.first[:-1]
        last = self.first[1:] - 1
        out[has & ~ok] = self.v[first[has & ~ok]]
        inner = has & ok & (idx < last)
        out[has & ok & ~inner] = self.v[idx[has & ok & ~inner]]
        i, j = idx[inner], idx[inner] + 1
        out[inner] = self.v[i] + (self.v[j] - self.v[i]) * ((x - self.t[i]) / (self.t[j] - self.t[i]))
        return out


def _antiderivative(g: _Groups, x: float) -> np.ndarray:
    """Per GPU, ``F(x)``: the integral (W*ns) of the power interpolant from the GPU's first reading
    to ``x`` (negative before it), the interpolant being constant beyond the first and last readings."""
    same_gpu = g.gpu[1:] == g.gpu[:-1]
    seg = np.where(same_gpu, 0.5 * (g.v[1:] + g.v[:-1]) * np.diff(g.t), 0.0)
    cum = np.concatenate(([0.0], np.cumsum(seg)))
    out = np.full(g.gpu_count, math.nan)
    idx, ok = g.last_at_or_before(x)
    has = g.count > 0
    first = g.first[:-1]
    before = has & ~ok
    out[before] = (x - g.t[first[before]]) * g.v[first[before]] + cum[first[before]]
    after = has & ok
    px = g.interpolate(x)
    out[after] = cum[idx[after]] + 0.5 * (g.v[idx[after]] + px[after]) * (x - g.t[idx[after]])
    # A GPU without rows (NaN already) may start past the last row: clip its index.
    return out - cum[np.minimum(first, cum.size - 1)]


def _step_antiderivative(g: _Groups, x: float) -> np.ndarray:
    """Per GPU, ``F(x)`` of the step function whose value on ``(t[i-1], t[i]]`` is ``v[i]`` (each reading the
    mean over the interval since the previous one), held at the first value before the first reading and
    at the last after the last (relative to the GPU's first reading, like :func:`_antiderivative`)."""
    same_gpu = g.gpu[1:] == g.gpu[:-1]
    seg = np.where(same_gpu, g.v[1:] * np.diff(g.t), 0.0)
    cum = np.concatenate(([0.0], np.cumsum(seg)))
    out = np.full(g.gpu_count, math.nan)
    idx, ok = g.last_at_or_before(x)  # the reading at or before x; the interval containing x ends at idx + 1
    has = g.count > 0
    first, last = g.first[:-1], g.first[1:] - 1
    before = has & ~ok
    out[before] = (x - g.t[first[before]]) * g.v[first[before]]
    inner = has & ok & (idx < last)
    out[inner] = cum[idx[inner]] - cum[first[inner]] + g.v[idx[inner] + 1] * (x - g.t[idx[inner]])
    tail = has & ok & (idx >= last)
    out[tail] = cum[last[tail]] - cum[first[tail]] + g.v[last[tail]] * (x - g.t[last[tail]])
    return out


def power_energy_j_per_gpu(t_ns: np.ndarray, power_w: np.ndarray, gpu: np.ndarray, gpu_count: int,
                           start_ns: int, end_ns: int, kind: str = "point") -> np.ndarray:
    """Per GPU ``0..gpu_count-1``: the integral (J) over ``[start_ns, end_ns]`` of its power readings: the
    piecewise-linear interpolant (``kind="point"``, readings as values at their instants) or the step
    function of interval means (``kind="interval"``: a reading is the mean since the previous one), constant
    beyond the first and last; NaN for a GPU without readings. Rows with a NaN power or a GPU outside the
    range are ignored."""
    if end_ns < start_ns:
        raise ValueError("end_ns < start_ns")
    if kind not in ("point", "interval"):
        raise ValueError(f"kind must be 'point' or 'interval', got {kind!r}")
    p = np.asarray(power_w, dtype=np.float64)
    gp = np.asarray(gpu)
    ok = np.isfinite(p) & (gp >= 0) & (gp < gpu_count)
    return _group_energy_j(_Groups(np.asarray(t_ns)[ok], p[ok], gp[ok], gpu_count, start_ns), end_ns - start_ns, kind)


def _group_energy_j(g: _Groups, span_ns: int, kind: str) -> np.ndarray:
    """Per GPU, the integral (J) over ``[0, span_ns]`` of the readings grouped in ``g`` (relative to its origin)."""
    if not g.t.size:
        return np.full(g.gpu_count, math.nan)
    f = _step_antiderivative if kind == "interval" else _antiderivative
    return (f(g, float(span_ns)) - f(g, 0.0)) * 1e-9


def counter_energy_j_per_gpu(t_ns: np.ndarray, energy_j: np.ndarray, gpu: np.ndarray, gpu_count: int,
                             start_ns: int, end_ns: int, source: str = "") -> np.ndarray:
    """Per GPU: the energy counter's difference over ``[start_ns, end_ns]`` (J), linearly interpolated
    at both ends; NaN for a GPU whose readings do not bracket the span, and (with a
    :class:`CounterWentBackWarning`) for one whose counter steps down inside it (a reset).

    The counter advances once per driver update (~100 ms on an H200, docs/NVML-FACTS.md): readings taken
    faster repeat its value, and interpolating through the repeats would put the whole update at the
    repeat's end (a 50 ms window between two updates would read 0 J). Only the first reading of each value
    is interpolated through (it is the closest to when the value was reached). In raw polls the counter ends at
    its last update (a last poll repeating a value adds nothing): a span past it is not bracketed (NaN)."""
    return _counter_diff_j(_counter_points(t_ns, energy_j, gpu, gpu_count, source), gpu_count, start_ns, end_ns)


def _counter_points(t_ns: np.ndarray, energy_j: np.ndarray, gpu: np.ndarray, gpu_count: int,
                    source: str, halves: list | None = None, period_s: float | None = None) -> tuple[np.ndarray, ...]:
    """The counter readings (finite, of GPUs in range) a difference interpolates through: one per (GPU, time),
    then :func:`_counter_change_points`."""
    e = np.asarray(energy_j, dtype=np.float64)
    gp = np.asarray(gpu)
    ok = np.isfinite(e) & (gp >= 0) & (gp < gpu_count)
    return _counter_change_points(*one_per_time(np.asarray(t_ns)[ok], e[ok], gp[ok], source), halves, period_s)


def _counter_diff_j(points: tuple[np.ndarray, ...], gpu_count: int, start_ns: int, end_ns: int) -> np.ndarray:
    """Per GPU, the difference over ``[start_ns, end_ns]`` of the counter ``points`` (:func:`_counter_points`)."""
    g = _Groups(*points, gpu_count, start_ns)
    out = np.full(gpu_count, math.nan)
    if not g.t.size:
        return out
    span = float(end_ns - start_ns)
    has = g.count >= 2
    first, last = g.first[:-1], g.first[1:] - 1
    bracket = has.copy()
    bracket[has] = (g.t[first[has]] <= 0.0) & (g.t[last[has]] >= span)
    diff = g.interpolate(span) - g.interpolate(0.0)
    # a step down between two readings whose interval overlaps the span: across a reset the difference is
    # no energy (a window over one read -820 J on a 400 J run)
    down = (g.gpu[1:] == g.gpu[:-1]) & (g.v[1:] < g.v[:-1]) & (g.t[1:] > 0.0) & (g.t[:-1] < span)
    back = np.bincount(g.gpu[1:][down], minlength=gpu_count)[:gpu_count] > 0
    if (back & bracket).any():
        at = int(np.flatnonzero(down & (back & bracket)[g.gpu[1:]])[0]) + 1
        warnings.warn(f"energy counter of GPU(s) {np.flatnonzero(back & bracket).tolist()} went back inside "
                      f"[{start_ns}, {end_ns}] ns (first at t_ns {int(g.t[at]) + start_ns}: {g.v[at - 1]:.3f} -> "
                      f"{g.v[at]:.3f} J; a counter reset or a corrupt trace): its counter energy is NaN",
                      CounterWentBackWarning, stacklevel=user_stacklevel())
    out[bracket & ~back] = diff[bracket & ~back]
    return out


def _counter_change_points(t_ns: np.ndarray, e: np.ndarray, gpu: np.ndarray, halves: list | None = None,
                           period_s: float | None = None) -> tuple[np.ndarray, ...]:
    """The readings of a cumulative counter (sorted by GPU and time) where its value changed, plus each GPU's
    first and last reading. A first reading whose value the next poll repeats (raw polls, faster than the updates)
    was published up to an update period before it: interpolated from as if reached at the poll, a window from
    the first poll read +45 % (+48 % on the H200 trace); it is left out, so the counter starts at its first
    change. In raw polls (a GPU's rows repeat a value) a change happened between the poll before it and the poll
    that saw it, and no more than an update period before the latter: it is stamped in the middle of that, as the
    sampler stamps its own (stamped at the poll, a 1 s window across a 100 -> 500 W step read 298.0 J for 300 J);
    a GPU's last poll too, or dropped where it repeats its value: the counter covers no time past its last update
    (kept at its poll until 2026-12-07, 3 ms polls at 600 W read 57.2 J for 114.3 J). (energylens' sampler records a move first, each row a new value,
    already stamped: kept as they are.) ``halves``: a list to which the stamps' uncertainty (ns, per kept reading:
    :func:`~energylens.measure.counter_agreement.kept_stamp_halfwidths`, ``period_s`` or the rows' own) is appended."""
    t_s, e_s, g_s = t_ns, e, gpu
    new_gpu = np.ones(g_s.size, dtype=bool)
    new_gpu[1:] = g_s[1:] != g_s[:-1]
    last_gpu = np.ones(g_s.size, dtype=bool)
    last_gpu[:-1] = new_gpu[1:]
    changed = np.ones(g_s.size, dtype=bool)
    changed[1:] = e_s[1:] != e_s[:-1]
    stale_first = np.zeros(g_s.size, dtype=bool)
    stale_first[:-1] = new_gpu[:-1] & ~new_gpu[1:] & (e_s[1:] == e_s[:-1])
    polled = np.bincount(g_s[1:][~new_gpu[1:] & ~changed[1:]], minlength=int(g_s.max(initial=-1)) + 1) > 0
    keep = (new_gpu | (last_gpu & ~(polled[g_s] & ~changed)) | changed) & ~stale_first
    mid = np.flatnonzero(changed & ~new_gpu & polled[g_s])
    if halves is not None:  # how far each kept stamp may lie from its change (counter_agreement)
        halves.append(kept_stamp_halfwidths(t_s, new_gpu, last_gpu, changed, polled[g_s], keep, period_s,
                                            lambda: change_period_s(t_s, e_s, g_s, ~new_gpu[1:])))
    if not mid.size:
        return t_s[keep], e_s[keep], g_s[keep]
    period_ns = change_period_s(t_s, e_s, g_s, ~new_gpu[1:]) * 1e9
    lo = np.maximum(t_s[mid - 1], t_s[mid] - np.int64(period_ns))
    t_s = t_s.copy()
    t_s[mid] = change_stamps(t_s, g_s, mid, lo, last_gpu, period_ns)  # (a GPU's last change: at its next update)
    return t_s[keep], e_s[keep], g_s[keep]


def window_energy_j(t_ns: np.ndarray, power_w: np.ndarray, start_ns: int, end_ns: int) -> float:
    """Integral (J) over ``[start_ns, end_ns]`` of the piecewise-linear interpolant of the power
    samples (trapezoid; constant beyond the first and last sample). NaN without samples. ValueError for times that
    are not whole ns (seconds), an end before the start, and a span that no reading lies in or beside (wholly
    before the first or after the last: one reading held over time nothing recorded); a UnitsWarning where the
    result averages more than one GPU draws (mW left undivided)."""
    p = np.asarray(power_w, dtype=np.float64)
    start_ns, end_ns = span_ns("window_energy_j", start_ns, end_ns)
    t = times_ns("window_energy_j", t_ns)
    if not np.isfinite(p).any():
        return math.nan
    _refuse_outside("window_energy_j", t[np.isfinite(p)], start_ns, end_ns, "power readings")
    out = float(power_energy_j_per_gpu(t, p, np.zeros(p.size, np.int32), 1, start_ns, end_ns)[0])
    warn_rate("window_energy_j", out, start_ns, end_ns, "power_w")
    return out


def counter_energy_j(t_ns: np.ndarray, energy_j: np.ndarray, start_ns: int, end_ns: int) -> float:
    """The energy counter's difference over ``[start_ns, end_ns]`` (J), linearly interpolated at both
    ends; NaN when the counter readings do not bracket the window. ValueError and UnitsWarning as
    :func:`window_energy_j` (mJ left undivided)."""
    e = np.asarray(energy_j, dtype=np.float64)
    start_ns, end_ns = span_ns("counter_energy_j", start_ns, end_ns)
    t = times_ns("counter_energy_j", t_ns)
    if np.isfinite(e).any():
        _refuse_outside("counter_energy_j", t[np.isfinite(e)], start_ns, end_ns, "counter readings")
    out = float(counter_energy_j_per_gpu(t, e, np.zeros(e.size, np.int32), 1, start_ns, end_ns)[0])
    warn_rate("counter_energy_j", out, start_ns, end_ns, "energy_j")
    return out


def _refuse_outside(caller: str, t: np.ndarray, start_ns: int, end_ns: int, what: str) -> None:
    """A ValueError where ``[start_ns, end_ns]`` lies wholly before the first of ``t`` or after the last (a span 1 s
    past the H200 polls read 120.1 J, their last reading held; marks on another clock or of another run)."""
    lo, hi = int(t.min()), int(t.max())
    if end_ns < lo or start_ns > hi:
        side = "before the first" if end_ns < lo else "after the last"
        raise ValueError(f"{caller}: the span [{start_ns}, {end_ns}] ns lies wholly {side} of the {t.size} {what} "
                         f"(t_ns {lo} to {hi}): nothing was recorded over it (marks of another run, or on another "
                         "clock?)")


def near(samples: Samples, start_ns: int, end_ns: int, margin_ns: int) -> dict[str, np.ndarray]:
    """The samples within ``margin_ns`` of ``[start_ns, end_ns]`` (``samples`` is sorted by time), so
    that a window costs O(log n + samples nearby) rather than O(all samples) on long runs."""
    t = samples["t_ns"]
    lo = int(np.searchsorted(t, start_ns - margin_ns, side="left"))
    hi = int(np.searchsorted(t, end_ns + margin_ns, side="right"))
    return {k: v[lo:hi] for k, v in samples.items()}


def _per_gpu(samples: Samples, rows: np.ndarray, gpu_count: int) -> np.ndarray:
    gpu = samples["gpu"]
    rows = rows & (gpu >= 0) & (gpu < gpu_count)
    return np.bincount(gpu[rows], minlength=gpu_count)[:gpu_count] > 0


def power_covered(samples: Samples, gpu_count: int, end_ns: int) -> bool:
    """Every GPU has a power reading (from whichever source is alive) at or after ``end_ns``."""
    if samples["t_ns"].size == 0:
        return False
    power = np.isin(samples["source"], POWER_PREFERENCE) & np.isfinite(samples["power_w"])
    return bool(_per_gpu(samples, (samples["t_ns"] >= end_ns) & power, gpu_count).all())


def counter_covered(samples: Samples, gpu_count: int, end_ns: int) -> bool:
    """Every recorded counter has a reading of every GPU stamped at or after ``end_ns`` (True without one)."""
    late = samples["t_ns"] >= end_ns
    for c in COUNTER_SOURCES:
        mine = samples["source"] == c
        if mine.any() and not _per_gpu(samples, late & mine, gpu_count).all():
            return False
    return True


def covered(samples: Samples, gpu_count: int, end_ns: int) -> bool:
    """Every GPU has a power reading (from whichever source is alive) and, where a counter is
    recorded, a counter reading at or after ``end_ns``."""
    return power_covered(samples, gpu_count, end_ns) and counter_covered(samples, gpu_count, end_ns)


def _counters(s: Samples, of: Mapping[str, np.ndarray], gpu_count: int, start_ns: int, end_ns: int,
              periods: Mapping[str, float], hold_s: Mapping[str, float | str | None],
              used: list | None = None) -> tuple[np.ndarray, list]:
    """Per GPU the difference of the first counter of :data:`COUNTER_SOURCES` it has readings of, and the holes of
    the readings used in which the window's start or end lies (:func:`~energylens.measure.gaps.edge_holes`);
    ``used`` gets ``(source, points, stamp half-widths, GPUs)`` of each counter used."""
    counter = np.full(gpu_count, math.nan)
    chosen = np.zeros(gpu_count, bool)  # a GPU uses the first counter source it has readings from
    holes: list[tuple[str, Gaps]] = []
    for c in COUNTER_SOURCES:
        rows = of[c] & np.isfinite(s["energy_j"]) & (s["gpu"] >= 0) & (s["gpu"] < gpu_count)
        gpu = s["gpu"][rows]
        take = (np.bincount(gpu, minlength=gpu_count)[:gpu_count] > 0) & ~chosen
        if not take.any():
            continue
        halves: list[np.ndarray] = []
        points = _counter_points(s["t_ns"][rows], s["energy_j"][rows], gpu, gpu_count, c, halves, periods.get(c))
        counter[take] = _counter_diff_j(points, gpu_count, start_ns, end_ns)[take]
        chosen |= take
        if used is not None:
            used.append((c, points, halves[0], take, (s["t_ns"][rows], gpu)))
        rule = hole_rule(c, hold_s, False)
        if rule is not None:
            mine = take[points[2]]
            found = edge_holes(reading_holes(*(x[mine] for x in points), start_ns, end_ns, periods.get(c), *rule,
                                             counter=True, label=hole_label(c, hold_s)), start_ns, end_ns)
            holes.extend([(c, found)] if found.gpu.size else [])
    return counter, holes


def _power_between(g: _Groups, source: str, start_ns: int) -> Callable[[int, int], np.ndarray]:
    """``power_j(x, y)``: per GPU, the integral (J) of ``source``'s readings ``g`` over ``[x, y]`` ns."""
    f = _step_antiderivative if source in INTERVAL_SOURCES else _antiderivative
    return lambda x, y: (f(g, float(y - start_ns)) - f(g, float(x - start_ns))) * 1e-9


def integrate_window(samples: Samples, gpu_count: int, start_ns: int, end_ns: int,
                     periods: Mapping[str, float | None], margin_ns: int = 30_000_000_000,
                     hold_s: Mapping[str, float | str | None] | None = None, name: str = "window") -> WindowEnergy:
    """Power energy and counter energy of every GPU over ``[start_ns, end_ns]``, and the window's energy: the
    counter's where the power stream is not the driver buffer alone and the window is long against the counter's
    uncertainty at its ends (:func:`~energylens.measure.window_energy.choose_energy`), else the power stream's.
    Readings bracketing
    the window may lie up to ``margin_ns`` outside it (a few backed-off counter intervals). ``name``: what a
    :class:`PowerCounterDisagreeWarning` calls the span (``window 'decode'``).

    ``periods``: update period (s) per source. One left unknown (absent, None, NaN: too few samples to
    detect it) is the documented fallback, not an error: the source reaches :data:`UNKNOWN_PERIOD_S` past its
    readings and its gap search takes the median spacing of its readings; any other value not > 0 is a
    ValueError naming the source. ``samples`` in any order (the sampler's, sorted by time, are not sorted again).
    ``hold_s``: per source, how its point readings were recorded, for their hole search
    (:func:`~energylens.measure.gaps.reading_holes`, :func:`~energylens.measure.gaps.hole_rule`): a changes-only
    stream's hold limit (s; None: none known, no search), ``BACKED_OFF`` (energylens' own counter and DCGM readers),
    every poll or update a row where a source is not named (another tool's polls, ``synthetic_trace``);
    None: {} for a table without a ``signal`` column (a trace's: pass ``hold_limits(trace.meta)``), a ValueError
    naming ``hold_s`` for one with it (a sampler's ``samples()``, live or replayed, or another tool's polls: until
    2026-12-07 every such table was taken for energylens' own changes-only stream; pass
    ``hold_limits(sampler.meta)``). A counter's holes matter only where the window's start or end splits one: they
    are named in a :class:`SampleGapWarning` (not counted in ``gap_count``, which counts the power readings')."""
    periods = known_periods(periods)
    if hold_s is None:  # (a sampler's table and other tools' polls both have one: it was taken for energylens')
        if "signal" in samples:
            raise ValueError("integrate_window: hold_s not given, and the samples have a 'signal' column (a "
                             "PowerSampler's samples(), or another tool's polls): how their readings were recorded "
                             "cannot be told from the rows; pass hold_s=hold_limits(sampler.meta) for a sampler's "
                             "samples(), hold_limits(trace.meta) for a trace's, {} for another tool's raw polls "
                             "(every poll a row)")
        hold_s = {}
    t = np.asarray(samples["t_ns"])
    if not (t[1:] >= t[:-1]).all():  # (out of order, near() took the wrong rows: NaN or another window's energy)
        order = np.argsort(t, kind="stable")
        samples = {k: np.asarray(v)[order] for k, v in samples.items()}
    s = near(samples, start_ns, end_ns, margin_ns)
    of = source_rows(s, (*POWER_PREFERENCE, *COUNTER_SOURCES))
    pieces = power_segments(s, start_ns, end_ns, periods, of, hold_s) if s["t_ns"].size else None
    energy = np.full(gpu_count, math.nan)
    count = 0
    gaps: list[tuple[str, Gaps]] = []
    holes: list[tuple[str, Gaps]] = []
    if pieces:
        energy = np.zeros(gpu_count)
        for src, a, b in pieces:
            rows = of[src] & np.isfinite(s["power_w"]) & (s["gpu"] >= 0) & (s["gpu"] < gpu_count)
            g = _Groups(s["t_ns"][rows], s["power_w"][rows], s["gpu"][rows], gpu_count, a, src)  # one sort, for both
            kind = "interval" if src in INTERVAL_SOURCES else "point"
            energy += _group_energy_j(g, b - a, kind)
            count += int(((g.t_ns >= a) & (g.t_ns <= b)).sum())
            rule = hole_rule(src, hold_s, kind == "interval")
            if b > a and rule is not None:  # point readings are interpolated across a hole
                found = reading_holes(g.t_ns, g.v, g.gpu, a, b, periods.get(src), *rule, label=hole_label(src, hold_s))
                (gaps if kind == "interval" else holes).extend([(src, found)] if found.gpu.size else [])
    if gaps:
        warn_gaps(gaps, start_ns, end_ns, float(np.nansum(energy)))
    source = "+".join(dict.fromkeys(src for src, _, _ in pieces)) if pieces else ""
    bridged = bridged_ns(s, pieces, periods, of, hold_s) * 1e-9 if pieces and len(pieces) > 1 else 0.0
    used: list = []
    counter, counter_holes = _counters(s, of, gpu_count, start_ns, end_ns, periods, hold_s, used)
    checked = bool(pieces) and len(pieces) == 1 and source != "nvml_average"  # (not a fallback's two sources; the
    if checked:  # moving average: AveragedPowerWarning)
        power_j = _power_between(g, source, start_ns)
        fill_counter_tails(used, power_j, start_ns, end_ns, source, counter, name, hold_s)
    chosen, chosen_source = choose_energy(energy, counter, used, source, start_ns, end_ns, INTERVAL_SOURCES)
    if counter_holes:
        warn_counter_holes(counter_holes, start_ns, end_ns, energy, counter)
    if holes:
        warn_holes(holes, start_ns, end_ns, energy, counter,
                   tuple(n if c != e else "" for n, c, e in zip(chosen_source, chosen, energy, strict=True)))
    if checked:  # (after the choice: only where energy_j took the power stream's figure, the one to doubt)
        check_counters(used, power_j, start_ns, end_ns, source, energy, counter, chosen, name, hold_s)
    return WindowEnergy(energy_j_per_gpu=tuple(float(x) for x in chosen),
                        power_energy_j_per_gpu=tuple(float(x) for x in energy), energy_source_per_gpu=chosen_source,
                        counter_energy_j_per_gpu=tuple(float(x) for x in counter),
                        source=source, sample_count=count, bridged_s=bridged,
                        gap_count=sum(int(g.gpu.size) for _, g in gaps + holes),
                        gap_s=sum(float(g.overlap_ns.sum()) for _, g in gaps + holes) * 1e-9)
