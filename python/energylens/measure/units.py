"""The units of a trace's readings: NVML reports mW and mJ, a trace holds W and J. A tool's polls written with
the raw values left undivided read 1000x too much (an idle H200 at 121 700 W), and every figure after it
(attribution, windows, phases) is 1000x off without a word; :func:`warn_units` says so where the trace is made."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import numpy as np

from energylens.errors import UnitsWarning, user_stacklevel

if TYPE_CHECKING:  # pandas only for the hint: energylens monitor samples before it loads pandas (test_cli_startup)
    import pandas as pd

__all__ = ["UnitsWarning", "MAX_PLAUSIBLE_W", "MIN_PLAUSIBLE_W", "MIN_NVML_UPDATE_NS", "warn_units", "span_ns", "times_ns", "warn_rate"]

#: The most a single GPU plausibly draws on average (W): an H200 is rated 700 W, a B200 1000-1200 W; a reading's
#: median (or a counter's mean rate) above it is NVML's mW / mJ left undivided, not a GPU.
MAX_PLAUSIBLE_W = 3000.0

#: The least a powered GPU plausibly draws on average (W): data-centre GPUs idle at 30-150 W; a median reading (or a
#: counter's mean rate) above 0 and below it is W or J divided by 1000 once too often (kW, kJ).
MIN_PLAUSIBLE_W = 1.0

#: Faster than NVML publishes power (a new instant / average value every ~100 ms, a driver-buffer sample every
#: ~20 ms; shared/docs/NVML-FACTS.md): an NVML source whose readings change more often than this, in the median,
#: has its times in ms or us, not ns (the buffer stamps us).
MIN_NVML_UPDATE_NS = 1_000_000
_NVML_POWER = ("nvml_instant", "nvml_average", "nvml_samples")


def warn_units(samples: pd.DataFrame, where: str) -> None:
    """A :class:`UnitsWarning` naming the source, GPU and figure for each (GPU, source) of ``samples`` whose
    median power reading, or whose energy counter's mean rate over its rows, exceeds :data:`MAX_PLAUSIBLE_W`."""
    if not len(samples):
        return
    for (gpu, source), rows in samples.groupby(["gpu", "source"], observed=True, sort=True):
        p = rows["power_w"].to_numpy()
        p = p[np.isfinite(p)]
        if p.size and np.median(p) > MAX_PLAUSIBLE_W:
            _warn(where, f"samples.power_w of {source!r} on GPU {gpu}: median {np.median(p):.0f} W", "mW")
        elif p.size and 0 < np.median(p) < MIN_PLAUSIBLE_W:  # (an H200 read as idle 0.1 W, +0.6 W under load)
            _warn_small(where, f"samples.power_w of {source!r} on GPU {gpu}: median {np.median(p):.4g} W")
        if source in _NVML_POWER:
            _warn_times(rows, where, source, gpu)
        e = rows[np.isfinite(rows["energy_j"].to_numpy())]
        t, j = e["t_ns"].to_numpy(), e["energy_j"].to_numpy()
        if t.size >= 2 and t.max() > t.min():
            rate = (j[np.argmax(t)] - j[np.argmin(t)]) / ((t.max() - t.min()) * 1e-9)
            if rate > MAX_PLAUSIBLE_W:
                _warn(where, f"samples.energy_j of {source!r} on GPU {gpu}: the counter rises {rate:.0f} W on "
                             "average", "mJ", " (or t_ns in us, not ns: NVML's sample buffer stamps us)")
            elif 0 < rate < MIN_PLAUSIBLE_W:
                _warn_small(where, f"samples.energy_j of {source!r} on GPU {gpu}: the counter rises {rate:.4g} W on "
                                   "average")


def _warn_times(rows: pd.DataFrame, where: str, source: str, gpu: int) -> None:
    """A :class:`UnitsWarning` where the power readings of NVML ``source`` change (a new value) at a median interval
    below :data:`MIN_NVML_UPDATE_NS` (at least 3 changes: a constant power tells nothing)."""
    p = rows["power_w"].to_numpy()
    keep = np.isfinite(p)
    t = rows["t_ns"].to_numpy()[keep]
    order = np.argsort(t, kind="stable")
    t, p = t[order], p[keep][order]
    changes = np.unique(t[1:][np.diff(p) != 0])
    if changes.size < 3:
        return
    step = float(np.median(np.diff(changes)))
    if step < MIN_NVML_UPDATE_NS:
        shown = f"{step:.1f} ns" if step < 1000 else f"{step / 1000:.1f} us"
        warnings.warn(f"{where}: samples.t_ns of {source!r} on GPU {gpu}: its power readings change every {shown} "
                      "(median), while NVML publishes a new one every ~20-100 ms: were the times left in ms or us "
                      "(NVML's sample buffer stamps us)? samples hold int64 ns: multiply ms by 1e6, us by 1e3",
                      UnitsWarning, stacklevel=user_stacklevel())


def _warn_small(where: str, what: str) -> None:
    warnings.warn(f"{where}: {what}, less than any powered GPU draws (< {MIN_PLAUSIBLE_W:.0f} W): were W or J divided "
                  "by 1000 once too often (NVML's mW / mJ divide by 1000 once; nvidia-smi's power.draw is already W)? "
                  "samples hold W and J", UnitsWarning, stacklevel=user_stacklevel())


def _warn(where: str, what: str, raw: str, other: str = "") -> None:
    warnings.warn(f"{where}: {what}, more than one GPU draws (> {MAX_PLAUSIBLE_W:.0f} W): were NVML's {raw} left "
                  f"undivided{other}? samples hold W and J on int64 ns: divide the raw {raw} by 1000", UnitsWarning,
                  stacklevel=user_stacklevel())


def span_ns(caller: str, start_ns: object, end_ns: object) -> tuple[int, int]:
    """``(start_ns, end_ns)`` as int ns, end not before start; a ValueError naming ``caller`` for a bound that is not
    whole ns (``0.2``, seconds: a window of the H200 polls read 4.6e-07 J, its counter NaN, without a word)."""
    out = []
    for name, v in (("start_ns", start_ns), ("end_ns", end_ns)):
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.integer, np.floating)) \
                or not abs(float(v)) < 2.0**63 or not float(v).is_integer():
            raise ValueError(f"{caller}: {name} must be whole steady-clock ns, got {v!r}: seconds? (0.2 s is "
                             "200_000_000 ns)")
        out.append(int(v))
    if out[1] < out[0]:  # (the counter's read -1278 J for a span given end first)
        raise ValueError(f"{caller}: end_ns < start_ns (end_ns {out[1]}, start_ns {out[0]})")
    return out[0], out[1]


def times_ns(caller: str, t_ns: object) -> np.ndarray:
    """``t_ns`` as an int64 array; a ValueError naming ``caller`` where it holds values that are not whole ns (times
    in seconds: the H200 polls' t_s read as 5 readings at t_ns 0 and a window of 1.5e-06 J)."""
    t = np.asarray(t_ns)
    if t.dtype.kind == "f":
        bad = ~np.isfinite(t) | (t != np.round(t))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(f"{caller}: t_ns must be whole ns, but {int(bad.sum())} of {t.size} are not (first at "
                             f"row {i}: {float(t[i])!r}): seconds? multiply by 1e9 and round to int64")
        return t.astype(np.int64)
    if t.dtype.kind not in "iu":
        raise ValueError(f"{caller}: t_ns must be int64 ns, got an array of {t.dtype}")
    return t.astype(np.int64, copy=False)


def warn_rate(caller: str, energy_j: float, start_ns: int, end_ns: int, what: str) -> None:
    """A :class:`UnitsWarning` where ``energy_j`` over ``[start_ns, end_ns]`` averages more than
    :data:`MAX_PLAUSIBLE_W` (the counter's mJ or the readings' mW left undivided: 1516507 J for the H200 polls)."""
    if end_ns > start_ns and np.isfinite(energy_j) and energy_j / ((end_ns - start_ns) * 1e-9) > MAX_PLAUSIBLE_W:
        raw = "mJ" if what == "energy_j" else "mW"
        _warn(caller, f"{energy_j:.6g} J over {(end_ns - start_ns) * 1e-9:.6g} s, "
                      f"{energy_j / ((end_ns - start_ns) * 1e-9):.0f} W on average", raw)
