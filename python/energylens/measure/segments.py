"""Which power source integrates which stretch of a window (:func:`power_segments`): the finest source whose
readings reach the window (:data:`POWER_PREFERENCE`; each source's reach is its first and last reading widened by
two update periods, :func:`known_periods`, a changes-only stream's last by its hold, :func:`_reach`), else, across a mid-run fallback, the failed source up to its last reading
and the one that took over, a gap between them bridged (:func:`bridged_ns`); and each source's rows of a table
(:func:`source_rows`). Used by :mod:`energylens.measure.integrate`, which re-exports them."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from energylens.measure.signals import signal_sources

__all__ = ["POWER_PREFERENCE", "UNKNOWN_PERIOD_S", "known_periods", "source_rows", "power_segments", "bridged_ns"]

Samples = Mapping[str, np.ndarray]

#: Power sources in the order a window integrates them (the finest first).
POWER_PREFERENCE: tuple[str, ...] = ("nvml_samples", "nvml_instant", "dcgm", "nvml_average")

#: The update period a source's reach assumes when ``periods`` leaves it unknown (absent, None or NaN).
UNKNOWN_PERIOD_S = 0.1


def known_periods(periods: Mapping[str, float | None] | None) -> dict[str, float]:
    """``periods`` without the unknown ones (None or NaN: not detected, a null in a trace's meta), as floats; a
    ValueError naming the source for any other value that is not seconds > 0."""
    out = {}
    for src, v in (periods or {}).items():
        if v is None or (isinstance(v, (float, np.floating)) and math.isnan(v)):
            continue
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.integer, np.floating)) \
                or not 0 < v < math.inf:
            raise ValueError(f"the update period of {src!r} must be seconds > 0 (None or NaN: unknown), got {v!r}")
        out[src] = float(v)
    return out


def _reach(t: np.ndarray, src: str, periods: Mapping[str, float], hold: float | str | None = None,
           cap_ns: int | None = None) -> tuple[int, int]:
    """The span a power source's readings ``t`` cover: first and last reading, widened by two update periods
    (:data:`UNKNOWN_PERIOD_S` for a source whose period ``periods`` (:func:`known_periods`) lacks); past the last
    reading of a changes-only stream (``hold``: its hold limit, s, :func:`~energylens.measure.gaps.hold_limits`)
    up to that hold plus a period, as the stream sends a held value again only after its hold (a steady GPU's
    window 0.5 s past the last row read NaN until 2026-12-07), but not past ``cap_ns`` (another power source's
    first reading after it: a fallback took over)."""
    period = periods.get(src, UNKNOWN_PERIOD_S)
    slack = int(2 * period * 1e9) + 1
    end = int(t[-1]) + slack
    if isinstance(hold, (int, float)) and not isinstance(hold, bool):
        held = int(t[-1]) + int((hold + period) * 1e9) + 1
        end = max(end, held if cap_ns is None else min(held, cap_ns))
    return int(t[0]) - slack, end


def _reaches(times: Mapping[str, np.ndarray], present: list[str], periods: Mapping[str, float],
             holds: Mapping[str, float | str | None] | None) -> dict[str, tuple[int, int]]:
    """:func:`_reach` of each ``present`` source, a changes-only one's hold capped at the first reading of another
    present source after its last."""
    out = {}
    for src in present:
        last = times[src][-1]
        later = [int(times[o][np.searchsorted(times[o], last, side="right")]) for o in present
                 if o != src and times[o][-1] > last]
        out[src] = _reach(times[src], src, periods, (holds or {}).get(src), min(later) if later else None)
    return out


def source_rows(samples: Samples, sources: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Per source, a mask of its rows, from one pass over the column (``==`` on the object column of names
    cost 0.7 ms per source on 60 000 rows, ~5 of a window's 11 ms): the sampler's native ``signal`` ids where
    the table has them, else the names factorised once."""
    if "signal" in samples:
        ids, names = np.asarray(samples["signal"]), signal_sources()
        return {src: np.isin(ids, np.flatnonzero(names == src)) for src in sources}
    import pandas as pd  # a table without signal ids (a trace): the live sampler's path loads no pandas

    codes, uniques = pd.factorize(np.asarray(samples["source"], dtype=object))
    index = {u: i for i, u in enumerate(uniques)}
    return {src: codes == index[src] if src in index else np.zeros(codes.size, bool) for src in sources}


def power_segments(samples: Samples, start_ns: int, end_ns: int, periods: Mapping[str, float] | None = None,
                   rows: Mapping[str, np.ndarray] | None = None,
                   holds: Mapping[str, float | str | None] | None = None) -> list[tuple[str, int, int]] | None:
    """(source, from_ns, to_ns) pieces that integrate ``[start_ns, end_ns]``: the finest source that covers
    it alone, else (a mid-run fallback inside the window) the finest source covering the start up to its
    last reading, then the finest covering on from there, and so on. Where no source covers a stretch
    between two sources (the failed one's last reading and the next one's first are further apart than
    their two-period reach), each holds its reading to the middle of the gap (:func:`bridged_ns` says how
    long that was). None when the start or the end is covered by no source (a window before the sampler
    started, or after every source stopped). ``rows``: :func:`source_rows` of ``samples``, if at hand. ``holds``:
    how each source was recorded (:func:`~energylens.measure.gaps.hold_limits`): a changes-only stream reaches its
    hold past its last reading (:func:`_reach`)."""
    periods = known_periods(periods)
    has_power = np.isfinite(samples["power_w"])
    rows = rows if rows is not None else source_rows(samples, POWER_PREFERENCE)
    times = {src: samples["t_ns"][has_power & rows[src]] for src in POWER_PREFERENCE}
    present = [src for src in POWER_PREFERENCE if times[src].size]
    reach = _reaches(times, present, periods, holds)
    alone = next((src for src in present if reach[src][0] <= start_ns and reach[src][1] >= end_ns), None)
    if alone is not None:
        return [(alone, start_ns, end_ns)]
    pieces: list[tuple[str, int, int]] = []
    cursor, used = start_ns, set()
    while cursor < end_ns:  # each source serves at most one piece, so this ends
        src = next((s for s in present if s not in used and reach[s][0] <= cursor < reach[s][1]), None)
        if src is None:
            # a gap after a source that served: the next source to start takes over from the gap's middle
            later = [s for s in present if s not in used and cursor < reach[s][0] < end_ns]
            earlier = [s for s in present if s not in used and times[s][-1] < cursor]
            if not later or not (pieces or earlier):
                return None
            src = min(later, key=lambda s: reach[s][0])
            prev, a, _ = pieces.pop() if pieces else (max(earlier, key=lambda s: times[s][-1]), cursor, cursor)
            used.add(prev)
            middle = (int(times[prev][-1]) + int(times[src][0])) // 2
            pieces.append((prev, a, max(a, min(middle, end_ns))))
            cursor = pieces[-1][2]
        used.add(src)
        if reach[src][1] >= end_ns:
            pieces.append((src, cursor, end_ns))
            break
        last = int(times[src][-1])
        if last > cursor:
            pieces.append((src, cursor, last))
            cursor = last
    return pieces


def bridged_ns(samples: Samples, pieces: list[tuple[str, int, int]], periods: Mapping[str, float] | None = None,
               rows: Mapping[str, np.ndarray] | None = None,
               holds: Mapping[str, float | str | None] | None = None) -> int:
    """How much of the span of ``pieces`` (:func:`power_segments`, of the same ``holds``) no source's reach
    covered: the gaps between consecutive sources that their readings were held across (0 when none)."""
    periods = known_periods(periods)
    has_power = np.isfinite(samples["power_w"])
    rows = rows if rows is not None else source_rows(samples, POWER_PREFERENCE)
    times = {src: samples["t_ns"][has_power & rows[src]] for src in POWER_PREFERENCE}
    every = _reaches(times, [src for src in POWER_PREFERENCE if times[src].size], periods, holds)
    reach = [every[src] for src, _, _ in pieces]
    gap = 0
    for r0, r1 in zip(reach[:-1], reach[1:], strict=True):
        lo, hi = max(r0[1], pieces[0][1]), min(r1[0], pieces[-1][2])
        if hi > lo:
            gap += hi - lo
    return gap
