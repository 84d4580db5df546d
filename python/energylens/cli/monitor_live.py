"""The live line of ``energylens monitor``: each GPU's mean power over the interval since the line before (its
energy over the interval's length, integrated from the readings the trace records, as the totals are), not one
reading at the moment of the line: on ``--source synthetic`` the 0.5 s lines fell on the wave's 0.5 s edges and
read 150, 450, 450, 450 W. A GPU on a changes-only stream (energylens' instant / average readings: a row when the
value changes, sent again once its hold, :func:`~energylens.measure.gaps.hold_limits`, has passed) is holding its
value until that hold plus two update periods is past, and its lines reach now. Used by
:mod:`energylens.cli.monitor`."""

from __future__ import annotations

import math
import warnings

import numpy as np

from energylens.measure.gaps import BACKED_OFF, hold_limits
from energylens.measure.integrate import POWER_PREFERENCE, UNKNOWN_PERIOD_S, integrate_window, near
from energylens.measure.marks import steady_now_ns
from energylens.measure.sampler import PowerSampler

__all__ = ["LiveMeans", "latest_power_ns", "latest_power_rows", "live_line", "seconds_down"]

#: Readings this far before an interval may decide which source covers its start (a few update periods).
_MARGIN_NS = 5_000_000_000
#: A GPU's power reading later than this after the previous one is said missing ("no new reading"), not waited for:
#: the longer of _LAG_S and _LAG_PERIODS of its source's update period (the driver buffer arrives every ~100 ms).
#: A changes-only stream's latest reading may be as old as its hold plus _HOLD_PERIODS update periods (the poll that
#: sends the held value again, and the one that stamps a change): until then the GPU is holding its value. With the
#: 1 s lag alone, a GPU holding a steady 100 W read "no new reading" just before its re-send at 1.0 s + a poll.
_LAG_S, _LAG_PERIODS, _HOLD_PERIODS = 1.0, 3.0, 2.0


def seconds_down(ns: int) -> str:
    """``ns`` as seconds with two decimals, rounded down (a line at 0.0508 s of a 0.0508 s run read "0.1 s")."""
    cs = max(int(ns), 0) // 10_000_000
    return f"{cs // 100}.{cs % 100:02d}"


def latest_power_ns(samples: dict, gpu_count: int) -> list[int | None]:
    """Each GPU's latest power reading's ``t_ns`` (None where it has none), read back from the end of the table in
    growing blocks until every GPU has one: scanning the whole run for every live line took 0.25 s at 12 M rows."""
    return [None if i is None else int(samples["t_ns"][i]) for i in latest_power_rows(samples, gpu_count)]


def latest_power_rows(samples: dict, gpu_count: int) -> list[int | None]:
    """Each GPU's latest power reading's row in ``samples`` (None where it has none), as :func:`latest_power_ns`."""
    out: list[int | None] = [None] * gpu_count
    missing = set(range(gpu_count))
    hi, block = len(samples["power_w"]), 4096
    while missing and hi > 0:
        lo = max(hi - block, 0)
        power, gpu = samples["power_w"][lo:hi], samples["gpu"][lo:hi]
        finite = np.isfinite(power)  # (only the power sources' rows hold one: a counter's is in energy_j)
        for g in sorted(missing):
            sel = np.flatnonzero(finite & (gpu == g))
            if sel.size:
                out[g] = lo + int(sel[-1])
                missing.discard(g)
        hi, block = lo, block * 4
    return out


def live_line(start_s: str, end_s: str | None, watts: list[float], labels: list[int],
              stale: frozenset[int] = frozenset()) -> str:
    """One live line: the interval ``start_s``-``end_s`` (seconds since the run began) and each GPU's mean power over
    it, and their total. ``end_s`` None: no GPU had a reading yet (``start_s`` is then the time of the line); a GPU
    without one (NaN in ``watts``) is said so, ``stale`` ones as without a reading since the line before, and the
    total names the GPUs it leaves out (they read "nan W")."""
    unread = [f"GPU{labels[g]}" for g, w in enumerate(watts) if not math.isfinite(w)]
    if end_s is None or len(unread) == len(watts):
        return f"{start_s + ' s':>16}  {' '.join(unread)}: no power reading yet"
    gpus = (f"GPU{labels[g]} {w:7.1f} W" if math.isfinite(w) else
            f"GPU{labels[g]} {'no new reading' if g in stale else 'no reading yet'}" for g, w in enumerate(watts))
    total = float(np.nansum(watts))
    return (f"{start_s + '-' + end_s + ' s':>16}  " + "  ".join(gpus) + f"  total {total:8.1f} W"
            + (f" without {' '.join(unread)}" if unread else ""))


class LiveMeans:
    """The live lines of one run begun at ``start_ns`` (the totals' window): :meth:`line` covers the time since the
    previous line's end up to the latest power reading that every GPU read since then has (the driver's buffer
    arrives in batches), or up to now for a GPU holding its value on a changes-only stream, so the lines' intervals
    follow one another without a gap and never reach past now. A GPU with no reading since the previous line (its
    source stalled) is said so rather than holding the others back."""

    def __init__(self, sampler: PowerSampler, start_ns: int, labels: list[int]) -> None:
        self.sampler, self.start_ns, self.since_ns, self.labels = sampler, int(start_ns), int(start_ns), labels

    def line(self) -> str | None:
        """The next line, from what the sampler has collected (flush it first); None while a GPU read before has no
        reading since the previous line but is within its source's lag (the next line covers it): a line 10 ms
        after the one before read "no power reading since". A GPU without one for longer is said so. A GPU whose
        latest reading is of a changes-only stream and no older than its hold plus two update periods is holding
        it: read up to now (the held value carried there), not said stale nor waited for."""
        sampler = self.sampler
        samples = sampler.samples(collect=False)
        rows, now = latest_power_rows(samples, sampler.gpu_count), steady_now_ns()
        if all(i is None for i in rows):
            return live_line(seconds_down(now - self.start_ns), None, [math.nan] * sampler.gpu_count, self.labels)
        periods, holds = sampler.result().update_period_s, hold_limits(sampler.meta)
        lag_ns = int(1e9 * max([_LAG_S] + [_LAG_PERIODS * v for k, v in periods.items()
                                            if k in POWER_PREFERENCE and v is not None and math.isfinite(v)]))
        latest = [None if i is None else int(samples["t_ns"][i]) for i in rows]
        holding = _holding(samples, rows, now, lag_ns, periods, holds)
        reach = [now if g in holding else t for g, t in enumerate(latest)]  # known up to
        behind = [g for g, t in enumerate(reach) if t is not None and t <= self.since_ns]
        stale = frozenset(g for g in behind if g not in holding and now - latest[g] > lag_ns)
        if len(stale) < len(behind):
            return None
        fresh = [t for t in reach if t is not None and t > self.since_ns]
        if not fresh:  # no reading since the line before for longer than the source's lag (a stalled source)
            return (f"{seconds_down(now - self.start_ns) + ' s':>16}  no power reading since "
                    f"{seconds_down(self.since_ns - self.start_ns)} s")
        end_ns = min(min(fresh), now)
        s = near(samples, self.since_ns, end_ns, _MARGIN_NS)
        power = np.isfinite(s["power_w"])  # (the counters are the totals' cross-check, not the line's)
        s = {k: v[power] for k, v in s.items()}
        carry = [rows[g] for g in sorted(holding) if latest[g] < end_ns]
        if carry:  # a held value, again at the interval's end (the stream sends it again later): it holds to there
            s = {k: np.concatenate([v, np.asarray(samples[k])[carry]]) for k, v in s.items()}
            s["t_ns"][-len(carry):] = end_ns
        with warnings.catch_warnings():  # gaps and the like are warned once, about the totals, not on every line
            warnings.simplefilter("ignore")
            w = integrate_window(s, sampler.gpu_count, self.since_ns, end_ns, periods, hold_s=holds)
        span_s = (end_ns - self.since_ns) * 1e-9
        watts = [math.nan if g in stale else e / span_s for g, e in enumerate(w.energy_j_per_gpu)]
        line = live_line(seconds_down(self.since_ns - self.start_ns), seconds_down(end_ns - self.start_ns), watts,
                         self.labels, stale)
        self.since_ns = end_ns
        return line


def _holding(samples: dict, rows: list[int | None], now: int, lag_ns: int, periods: dict,
             holds: dict) -> frozenset[int]:
    """The GPUs whose latest power reading (``rows``) is of a changes-only stream (``holds``: :func:`hold_limits`)
    and no older at ``now`` than that stream's hold plus :data:`_HOLD_PERIODS` update periods (at least ``lag_ns``):
    each holds that value, sent again only once the hold has passed."""
    out = set()
    for g, i in enumerate(rows):
        hold = None if i is None else holds.get(str(samples["source"][i]))
        if hold is None or hold == BACKED_OFF:
            continue
        period = periods.get(str(samples["source"][i]))
        period = period if period is not None and math.isfinite(period) and period > 0 else UNKNOWN_PERIOD_S
        if now - int(samples["t_ns"][i]) <= max(lag_ns, int(1e9 * (float(hold) + _HOLD_PERIODS * period))):
            out.add(g)
    return frozenset(out)
