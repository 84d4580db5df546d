"""The units of a trace's readings: NVML reports mW and mJ, a trace holds W and J. A tool's polls written with
the raw values left undivided read 1000x too much (an idle H200 at 121 700 W), and every figure after it
(attribution, windows, phases) is 1000x off without a word; :func:`warn_units` says so where the trace is made."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import numpy as np

from energylens.errors import user_stacklevel

if TYPE_CHECKING:  # pandas only for the hint: energylens monitor samples before it loads pandas (test_cli_startup)
    import pandas as pd

__all__ = ["UnitsWarning", "MAX_PLAUSIBLE_W", "MIN_NVML_UPDATE_NS", "warn_units"]

#: The most a single GPU plausibly draws on average (W): an H200 is rated 700 W, a B200 1000-1200 W; a reading's
#: median (or a counter's mean rate) above it is NVML's mW / mJ left undivided, not a GPU.
MAX_PLAUSIBLE_W = 3000.0

#: Faster than NVML publishes power (a new instant / average value every ~100 ms, a driver-buffer sample every
#: ~20 ms; shared/docs/NVML-FACTS.md): an NVML source whose readings change more often than this, in the median,
#: has its times in ms or us, not ns (the buffer stamps us).
MIN_NVML_UPDATE_NS = 1_000_000
_NVML_POWER = ("nvml_instant", "nvml_average", "nvml_samples")


class UnitsWarning(UserWarning):
    """A trace's power or energy readings are implausibly large for one GPU: most likely NVML's mW / mJ not
    divided by 1000 (``samples.power_w`` holds W, ``samples.energy_j`` J)."""


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
        if source in _NVML_POWER:
            _warn_times(rows, where, source, gpu)
        e = rows[np.isfinite(rows["energy_j"].to_numpy())]
        t, j = e["t_ns"].to_numpy(), e["energy_j"].to_numpy()
        if t.size >= 2 and t.max() > t.min():
            rate = (j[np.argmax(t)] - j[np.argmin(t)]) / ((t.max() - t.min()) * 1e-9)
            if rate > MAX_PLAUSIBLE_W:
                _warn(where, f"samples.energy_j of {source!r} on GPU {gpu}: the counter rises {rate:.0f} W on "
                             "average", "mJ", " (or t_ns in us, not ns: NVML's sample buffer stamps us)")


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


def _warn(where: str, what: str, raw: str, other: str = "") -> None:
    warnings.warn(f"{where}: {what}, more than one GPU draws (> {MAX_PLAUSIBLE_W:.0f} W): were NVML's {raw} left "
                  f"undivided{other}? samples hold W and J on int64 ns: divide the raw {raw} by 1000", UnitsWarning,
                  stacklevel=user_stacklevel())
