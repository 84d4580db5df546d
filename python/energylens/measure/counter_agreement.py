"""Does a window's power stream agree with its energy counter? (:func:`check_agreement`)

A window's ``energy_j`` integrates the finest power readings; ``counter_energy_j`` is the counter's difference,
interpolated at the window's ends. Over the span between the counter readings that enclose the window the
counter is exact (it is the integral), so the power readings' integral over that span must match the counter's
move there, up to the uncertainty of the counter's stamps (each change is stamped mid-bracket, within half its
bracket of when it happened) and a relative allowance for what a point reading does not see. Where it does not,
the power readings lagged or missed a change of power the counter saw: NVML's instant field on the shared H200
trace lags a load step by about one update (over the counter's 96 ms after the step the counter moved 70.5 J, the
instant readings integrate to 11.5 J; a 0.95-1.05 s window read 11.9 J from them and 53.1 J from the counter), and
a :class:`PowerCounterDisagreeWarning` names the window, the span, both figures and the one to use, where the
window's ``energy_j`` took the power readings' figure (:func:`check_counters`): where it took the counter's, the
warning had nothing to tell (until 2026-12-07 it told the user to use the figure ``energy_j`` already was).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping

import numpy as np

from energylens.errors import user_stacklevel
from energylens.measure.gaps import source_label
from energylens.measure.window_energy import COUNTER_SPANS

__all__ = ["PowerCounterDisagreeWarning", "AGREE_REL", "AGREE_ABS_J", "check_agreement", "check_counters",
           "stamp_halfwidth_ns", "kept_stamp_halfwidths"]

#: The relative difference allowed between the power readings' integral and the counter's move over the counter's
#: span around a window: a point reading sees only part of each update period (~25 ms of 100 ms on A100/H100), so on
#: bursty work its integral wanders around the counter's. Seeded bursty synthetic traces (tests) stay within it; the
#: H200 trace's step is 70 % off.
AGREE_REL = 0.1
#: The absolute difference (J) always allowed: the counter's 1 mJ steps and float noise, and idle rounding.
AGREE_ABS_J = 1.0


class PowerCounterDisagreeWarning(UserWarning):
    """A window's power readings integrate, over the energy counter's readings around the window, to other
    energy than the counter moved there (more than its stamps' uncertainty allows): they lagged or missed a change
    of power (NVML's instant field lags a load step by about one update), and its ``energy_j`` took their figure
    (the driver buffer's, or a window short against the counter's uncertainty at its ends); ``counter_energy_j`` is
    the figure to use for that window. Not where ``energy_j`` took the counter's figure already."""


def stamp_halfwidth_ns(t_poll: np.ndarray, prev_poll: np.ndarray, polled: bool, period_ns: float) -> np.ndarray:
    """How far (ns) each counter stamp may lie from when its value changed: half the bracket between the poll
    that saw the change and the poll before it (raw polls, ``polled``), within one update period; half an update
    period where the rows are already stamped (energylens' own sampler: its reads are up to a period apart).
    ValueError for a ``period_ns`` that is not ns > 0 (a NaN one made every half-width NaN, and a check allowing NaN
    never warns)."""
    if not (math.isfinite(period_ns) and period_ns > 0):
        raise ValueError(f"stamp_halfwidth_ns: period_ns must be the counter's update period in ns > 0, got {period_ns!r}")
    if not polled:
        return np.full(t_poll.size, 0.5 * period_ns)
    return 0.5 * np.minimum(t_poll - prev_poll, period_ns).astype(np.float64)


def kept_stamp_halfwidths(t: np.ndarray, first: np.ndarray, last: np.ndarray, changed: np.ndarray,
                          polled: np.ndarray, keep: np.ndarray, period_s: float | None,
                          own_period_s: Callable[[], float]) -> np.ndarray:
    """Per kept counter reading (rows ``t`` sorted by GPU and time, ``keep`` those kept; ``first`` / ``last``: a GPU's
    first / last row, ``changed``: its value differs from the row before, ``polled``: its GPU's rows repeat a value,
    raw polls), how far (ns) its stamp may lie from when its value was reached: half the bracket of a change a poll
    saw (stamped mid-bracket, :func:`stamp_halfwidth_ns`; a GPU's last poll too since later on 2026-12-07, before
    which it stayed at its poll and was allowed its whole bracket: :mod:`.counter_tail`), half an update period
    elsewhere. (``last``: kept for callers.)
    ``period_s``: the counter's update period; where unknown (None, NaN, not > 0) the rows' own, ``own_period_s()``
    (until 2026-12-07 a NaN one made every allowance NaN, and the check never warned)."""
    known = period_s is not None and math.isfinite(period_s) and period_s > 0
    period_ns = (period_s if known else own_period_s()) * 1e9
    prev = np.where(first, t - np.int64(period_ns), np.concatenate(([0], t[:-1])))[keep]
    seen = (polled & changed & ~first)[keep]  # a change seen by a poll: stamped within its bracket
    half = np.where(seen, stamp_halfwidth_ns(t[keep], prev, True, period_ns),
                    stamp_halfwidth_ns(t[keep], prev, False, period_ns))
    return half


def _power_near(t: np.ndarray, e: np.ndarray, mine: np.ndarray, i: int) -> float:
    """The counter's higher mean power (W) of its two intervals either side of reading ``i`` (rows ``mine``: its
    GPU's): what a stamp off by some time there costs per second. A GPU's last reading has one interval, as long
    as its stamp is late (:func:`kept_stamp_halfwidths`): the one before it counts too (the 3 ms polls at 600 W
    whose last came 99 ms late read 300 W over it)."""
    k = int(np.searchsorted(mine, i))
    around = mine[max(k - (2 if k == mine.size - 1 else 1), 0):k + 2]
    if around.size < 2:
        return 0.0
    return max(0.0, float(np.max(np.diff(e[around]) / np.maximum(np.diff(t[around]), 1))) * 1e9)


def check_agreement(points: tuple[np.ndarray, ...], half_ns: np.ndarray, gpus: np.ndarray,
                    power_j: Callable[[int, int], np.ndarray], start_ns: int, end_ns: int, source: str,
                    counter: str, energy: np.ndarray, counter_j: np.ndarray, name: str = "window",
                    holds: Mapping[str, float | str | None] | None = None) -> None:
    """Warn (:class:`PowerCounterDisagreeWarning`) for the GPUs ``gpus`` whose power readings (``power_j(a, b)``:
    per GPU, the integral of ``source`` over ``[a, b]``) and counter ``points`` (``(t_ns, energy_j, gpu)`` sorted by
    GPU and time, stamps uncertain by ``half_ns``) disagree over the counter readings enclosing
    ``[start_ns, end_ns]``; ``energy`` / ``counter_j``: the window's figures per GPU; ``name``: what the warning calls
    the window (``window 'decode'``); ``holds``: how the rows were recorded (:func:`.gaps.hold_limits`), whose
    labels name a synthetic sampler's sources (until 2026-12-07 the warning named them as NVML's)."""
    source, counter = source_label(source, holds or {}), source_label(counter, holds or {})
    t, e, g = points
    said = []
    for gpu in gpus.tolist():
        mine = np.flatnonzero(g == gpu)
        lo = mine[t[mine] <= start_ns]
        hi = mine[t[mine] >= end_ns]
        if not lo.size or not (hi.size or t[mine[-1]] > start_ns):
            continue  # (ending after the counter's last update: over the readings up to it, .counter_tail)
        i, j = int(lo[-1]), int(hi[0] if hi.size else mine[-1])
        moved = float(e[j] - e[i])
        got = float(power_j(int(t[i]), int(t[j]))[gpu])
        ends = _power_near(t, e, mine, i) * half_ns[i] + _power_near(t, e, mine, j) * half_ns[j]
        slack = ends * 1e-9 + AGREE_REL * abs(moved) + AGREE_ABS_J
        if abs(got - moved) > slack:
            said.append(f"GPU {gpu}: over [{int(t[i])}, {int(t[j])}] ns, the {counter} readings around the window, the "
                        f"counter moved {moved:.1f} J and the {source} readings integrate to {got:.1f} J "
                        f"({f'{(got - moved) / moved:+.0%}; ' if moved else ''}+-{slack:.1f} J allowed): energy_j "
                        f"{energy[gpu]:.1f} J (the {source} readings'), counter_energy_j {counter_j[gpu]:.1f} J")
    if said:
        warnings.warn(f"{name} [{start_ns}, {end_ns}] ns: the power readings disagree with the energy counter ("
                      + "; ".join(said) + f"). The {source} readings lagged or missed a change of power the counter, "
                      "the integral, saw (NVML's instant field lags a load step by about one update), and energy_j "
                      f"took the {source} readings' figure (power_energy_j; the counter's is taken only where the "
                      "power stream is not the driver buffer and the window lasts "
                      f"{COUNTER_SPANS:g} times the counter's uncertainty at its ends): counter_energy_j is the figure to use for this window",
                      PowerCounterDisagreeWarning, stacklevel=user_stacklevel())


def check_counters(used: list, power_j: Callable[[int, int], np.ndarray], start_ns: int, end_ns: int, source: str,
                   energy: np.ndarray, counter_j: np.ndarray, chosen: np.ndarray, name: str = "window",
                   holds: Mapping[str, float | str | None] | None = None) -> None:
    """:func:`check_agreement` of a window's power readings (``power_j``; ``energy``: their figure per GPU) against
    each counter it used (``used``: ``(source, points, stamp half-widths, GPUs, (raw t_ns, raw gpu))``; ``counter_j``
    after :func:`.counter_tail.fill_counter_tails`), for the GPUs with both figures whose ``energy_j`` took the power
    readings' (``chosen``: per GPU, the figure :func:`~.window_energy.choose_energy` took, equal to ``energy`` there;
    by value, as a DCGM power stream and DCGM counter share the name ``dcgm``). Where it took the counter's, the
    user already has the figure the warning would name (until 2026-12-07 it warned there too, calling the power
    figure energy_j); ``holds``: as there."""
    power = np.asarray(chosen, dtype=np.float64) == energy
    for c, points, halves, take, _ in used:
        gpus = np.flatnonzero(take & power & np.isfinite(energy) & np.isfinite(counter_j))
        if gpus.size:
            check_agreement(points, halves, gpus, power_j, start_ns, end_ns, source, c, energy, counter_j, name,
                            holds)
