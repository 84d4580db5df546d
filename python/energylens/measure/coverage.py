"""Whether every GPU's power readings cover a span: a span one GPU's readings stop short of, or where they are all
NaN, is refused naming the GPU (a held first or last reading, or a NaN total, was measured without a word); and a
span measured before its readings arrived (``EnergyMonitor(wait=False)``) is named in a :class:`NotYetReadWarning`
(its NaN ``energy_j`` or ``counter_energy_j`` came without a word)."""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping

import numpy as np

from energylens.errors import user_stacklevel
from energylens.measure.gaps import HOLD_S
from energylens.measure.integrate import COUNTER_SOURCES, POWER_PREFERENCE

__all__ = ["refuse_uncovered_gpu", "NotYetReadWarning", "warn_not_yet_read"]


class NotYetReadWarning(UserWarning):
    """A window measured without waiting (``EnergyMonitor(wait=False)``) ended after the last power or energy-counter
    reading delivered so far: its ``energy_j`` or ``counter_energy_j`` is NaN; measured again once a reading past
    its end has arrived (``EnergyMonitor.measure(key, start_ns, end_ns)``), it has a figure."""


def _read_past(samples: Mapping[str, np.ndarray], gpu_count: int, end_ns: int, sources: tuple[str, ...],
               power: bool) -> bool | None:
    """Whether every GPU has a reading of ``sources`` (finite power, or finite counter) at or after ``end_ns``; None
    where none of ``sources`` was recorded. ``samples`` sorted by time: only the rows from ``end_ns`` on are read."""
    mine = np.isin(samples["source"], sources)
    if not mine.any():
        return None
    t = samples["t_ns"]
    late = slice(int(np.searchsorted(t, end_ns, side="left")), None)
    ok = mine[late] & np.isfinite(samples["power_w" if power else "energy_j"][late])
    gpu = samples["gpu"][late][ok].astype(np.int64)
    return bool((np.bincount(gpu[(gpu >= 0) & (gpu < gpu_count)], minlength=gpu_count)[:gpu_count] > 0).all())


def warn_not_yet_read(caller: str, key: str, start_ns: int, end_ns: int, energy_j: float,
                      counter_j_per_gpu: tuple[float, ...], samples: Mapping[str, np.ndarray], gpu_count: int,
                      started_ns: int | None) -> None:
    """A :class:`NotYetReadWarning` where a span measured without waiting has a NaN figure because no reading past
    its end had arrived: ``energy_j`` (no power reading at or after ``end_ns``: a window closed at once, before the
    sampler's first reading, holds none; the warning says so and the ways out) or ``counter_energy_j`` (a counter
    recorded, NaN for a GPU, none of its readings past the end)."""
    nan_power = math.isnan(energy_j) and not _read_past(samples, gpu_count, end_ns, POWER_PREFERENCE, True)
    nan_counter = any(math.isnan(c) for c in counter_j_per_gpu) \
        and _read_past(samples, gpu_count, end_ns, COUNTER_SOURCES, False) is False
    if not (nan_power or nan_counter):
        return
    what = " and ".join(x for x, on in (("energy_j", nan_power), ("counter_energy_j", nan_counter)) if on)
    signals = " and ".join(x for x, on in (("power", nan_power), ("energy-counter", nan_counter)) if on)
    first = (f" (the sampler started {(end_ns - started_ns) * 1e-9:.3g} s before the window's end and had delivered "
             "no power reading yet)" if nan_power and started_ns is not None else "")
    holds = "; the window holds no power reading, so energy_source is ''" if nan_power else ""
    later = ", close the window later (after the sampler's first reading)" if nan_power else ""
    are = "are" if nan_power and nan_counter else "is"
    warnings.warn(f"{caller}({key!r}): {what} {are} NaN: no {signals} reading past the window's end had arrived when it "
                  f"was measured{first}{holds}, and wait=False does not wait for one: use wait=True (end_window "
                  f"then waits about two update periods){later}, or measure the span again once a reading has "
                  f"arrived: mon.measure({key!r}, {start_ns}, {end_ns})", NotYetReadWarning,
                  stacklevel=user_stacklevel())


def refuse_uncovered_gpu(caller: str, key: str, start_ns: int, end_ns: int, samples: Mapping[str, np.ndarray],
                          gpu_count: int, period_s: float) -> None:
    """A ValueError naming the GPU whose power readings begin after ``start_ns`` or end before ``end_ns`` by more
    than a held value's re-send (1 s) and two update periods, where another GPU's cover the span: its first or last
    reading was held over the rest without a word (a trace of GPUs of different lengths: 1102.6 J for a GPU read
    for half the window, more than the one read throughout); and the GPU whose power readings are all NaN where
    another GPU's are not (its NaN made the total NaN)."""
    power = np.isin(samples["source"], POWER_PREFERENCE)
    ok = power & np.isfinite(samples["power_w"])
    t, gpu = samples["t_ns"][ok], samples["gpu"][ok]
    tol = int((HOLD_S + 2 * (period_s if math.isfinite(period_s) else 0.1)) * 1e9)
    ranges = {g: (int(t[gpu == g].min()), int(t[gpu == g].max())) for g in range(gpu_count) if (gpu == g).any()}
    read = np.bincount(samples["gpu"][power].astype(np.int64), minlength=gpu_count)  # power rows per GPU, NaN or not
    for g in (g for g in range(gpu_count) if ranges and g not in ranges and read[g]):  # (a NaN total, no word)
        n = int(read[g])
        raise ValueError(f"{caller}({key!r}): GPU {g}'s {n} power readings are all NaN, where other GPUs were read: "
                         "its energy, and so the total, is unknown (the GPU reported no power, or the trace lost it)")
    if len(ranges) < 2:
        return
    for g, (lo, hi) in ranges.items():
        others = [r for h, r in ranges.items() if h != g]
        if hi < end_ns - tol and any(b >= end_ns - tol for _, b in others):
            edge = f"end at t_ns {hi}, {(end_ns - hi) * 1e-9:.3g} s before the window ends"
        elif lo > start_ns + tol and any(a <= start_ns + tol for a, _ in others):
            edge = f"begin at t_ns {lo}, {(lo - start_ns) * 1e-9:.3g} s after the window starts"
        else:
            continue
        raise ValueError(f"{caller}({key!r}): GPU {g}'s power readings {edge} [{start_ns}, {end_ns}], where other GPUs "
                         "were read: its energy would hold one reading over time nothing recorded; measure a span "
                         "every GPU's readings cover")
