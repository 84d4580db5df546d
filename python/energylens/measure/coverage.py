"""Whether every GPU's power readings cover a span: a span one GPU's readings stop short of, or where they are all
NaN, is refused naming the GPU (a held first or last reading, or a NaN total, was measured without a word)."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from energylens.measure.gaps import HOLD_S
from energylens.measure.integrate import POWER_PREFERENCE

__all__ = ["refuse_uncovered_gpu"]


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
