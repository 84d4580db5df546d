"""The checks of :meth:`~energylens.measure.sampler.PowerSampler.nvml`'s options, made before NVML is loaded, each a
ValueError naming the option and the value: on a box without the driver a mistake was hidden behind
NvmlUnavailableError, and with one it ran (``interval_s=5``, meant as 5 ms, drained the driver's sample buffer every
5 s: its ~2.4 s of samples overflowed and part of every drain was lost)."""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from energylens.arguments import flag  # re-exported: sampler and monitor take it from here
from energylens.measure.units import MAX_PLAUSIBLE_W, UnitsWarning

__all__ = ["BUFFER_POLL_MAX_S", "seconds", "flag", "cpu_budget", "synthetic_timeline", "synthetic_periods", "not_negative", "gpu_list", "chain_names", "check_nvml_intervals"]

#: The longest interval between drains of the driver's sample buffer (``nvmlDeviceGetSamples``): it holds ~120
#: samples of ~20 ms, ~2.4 s (shared/docs/NVML-FACTS.md); a drain a second leaves room for a late one.
BUFFER_POLL_MAX_S = 1.0


def seconds(name: str, value: Any, *, at_most: float | None = None, why: str = "") -> float:
    """``value`` as seconds > 0 that round to at least 1 ns (and ``<= at_most`` where given); else a ValueError
    naming ``name`` and the value, and ``why`` (NaN read 'cannot convert float NaN to integer', inf an
    OverflowError, and ``1e-12`` became a 0 ns interval)."""
    if isinstance(value, (bool, str)) or not isinstance(value, numbers.Real) or not math.isfinite(value) \
            or round(float(value) * 1e9) < 1 or (at_most is not None and value > at_most):
        limit = f"in (0, {at_most:g}]" if at_most is not None else "> 0"
        raise ValueError(f"{name} must be a finite number of seconds {limit} (not milliseconds), got {value!r}"
                         + (f": {why}" if why else ""))
    return float(value)


def cpu_budget(value: Any) -> float:
    """``auxiliary_cpu_budget`` as a fraction of one core in [0, 1] (0: no back-off); a ValueError naming it for
    anything else (5, meant as 5 %, was 500 %: more than a thread can use, the counter thread never backed off;
    ``"0.01"`` read 'could not convert string to float')."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real) or not 0.0 <= value <= 1.0:
        raise ValueError("auxiliary_cpu_budget must be a fraction of one core in [0, 1] (0.0025 is 0.25 %, the "
                         f"default; 0 turns the back-off off), got {value!r}"
                         + (f": a percentage? {value:g} % is {value / 100:g}" if isinstance(value, numbers.Real)
                            and not isinstance(value, bool) and 1 < value <= 100 else ""))
    return float(value)


def gpu_list(gpus: Any) -> list[int] | None:
    """``gpus`` as a list of indices (None: every visible GPU; one int: that GPU). A string is refused: its
    characters were taken as indices ("10": GPUs 1 and 0; "0,1" failed on int(','))."""
    if gpus is None:
        return None
    if isinstance(gpus, numbers.Integral) and not isinstance(gpus, bool):
        return [int(gpus)]
    if isinstance(gpus, (str, bytes)):
        raise ValueError(f"gpus must be a list of GPU indices like [0, 1] (or None: every visible GPU), got "
                         f"the string {gpus!r}")
    if len(gpus) == 0:
        raise ValueError("gpus=[] names no GPU: pass None for every visible GPU, or their indices")
    requested = [int(g) for g in gpus]
    repeated = sorted({g for g in requested if requested.count(g) > 1})
    if repeated:  # each would be sampled, and counted in every total, once per mention
        raise ValueError(f"gpus lists GPU {', '.join(map(str, repeated))} more than once: {requested}")
    return requested


def chain_names(chain: str | Sequence[str], known: Sequence[str]) -> list[str]:
    """The power-source chain as a list: one name is a chain of that source (``chain="instant"`` was read by
    character, 'unknown power source 'i''); a name not in ``known`` is a ValueError listing them."""
    names = [chain] if isinstance(chain, str) else list(chain)
    for kind in names:
        if kind not in known:
            raise ValueError(f"unknown power source {kind!r} in chain={chain!r} ({', '.join(known)})")
    return names


def check_nvml_intervals(interval_s: Any, buffer_poll_s: Any, energy_interval_s: Any,
                         chain: Sequence[str]) -> tuple[float | None, float, float]:
    """``(interval_s, buffer_poll_s, energy_interval_s)`` in seconds, checked: ``interval_s`` replaces every chain
    source's poll interval, the sample buffer's drain too, so with the buffer in the chain it may not pass
    :data:`BUFFER_POLL_MAX_S`."""
    buffer_why = "the driver's sample buffer holds ~2.4 s (~120 samples of ~20 ms): drained less often, it loses some"
    if interval_s is not None:
        interval_s = seconds("interval_s", interval_s)
        if "sample_buffer" in chain and interval_s > BUFFER_POLL_MAX_S:
            raise ValueError(
                f"interval_s={interval_s:g} s would poll every source of the chain that often, and drain the "
                f"driver's sample buffer only every {interval_s:g} s; it holds ~2.4 s (~120 samples of ~20 ms), so "
                f"part of every drain would be lost. Pass seconds, at most {BUFFER_POLL_MAX_S:g} (5 ms is 0.005), "
                "or leave interval_s None (the buffer is drained every buffer_poll_s)")
    buffer_poll_s = seconds("buffer_poll_s", buffer_poll_s, at_most=BUFFER_POLL_MAX_S, why=buffer_why)
    energy_interval_s = seconds("energy_interval_s", energy_interval_s)
    return interval_s, buffer_poll_s, energy_interval_s


def synthetic_timeline(timeline: Sequence[Any]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """:meth:`~energylens.measure.sampler.PowerSampler.synthetic`'s ``timeline`` as per-GPU int64 ns and W, checked
    (a ValueError naming the GPU and row); a :class:`~energylens.measure.units.UnitsWarning` for a GPU whose power
    passes :data:`~energylens.measure.units.MAX_PLAUSIBLE_W` (300000, NVML's mW of a 300 W GPU, read as 300 kW)."""
    if not timeline:
        raise ValueError("timeline needs at least one GPU")
    t_ns, power = [], []
    for g, pair in enumerate(timeline):
        if len(pair) != 2:
            raise ValueError(f"timeline[{g}] must be (t_s, power_w)")
        t = np.asarray(pair[0], dtype=np.float64)
        p = np.asarray(pair[1], dtype=np.float64)
        bad = ~(np.abs(t) < 2.0**62 / 1e9)  # not finite, or past int64 ns (inf was cast to int64's minimum)
        if bad.any():
            raise ValueError(f"timeline[{g}]: t_s must be finite seconds (rows {np.flatnonzero(bad)[:10].tolist()})")
        if (back := np.flatnonzero(np.diff(t) <= 0)).size:  # (the native check said "t_ns" of these seconds)
            i = int(back[0]) + 1
            raise ValueError(f"timeline[{g}]: t_s must increase strictly: row {i} ({float(t[i])!r} s) after "
                             f"{float(t[i - 1])!r} s")
        top = p[np.isfinite(p)].max(initial=0.0)
        if top > MAX_PLAUSIBLE_W:
            warnings.warn(f"PowerSampler.synthetic: timeline[{g}]: power_w up to {top:.0f} W, more than one GPU draws "
                          f"(> {MAX_PLAUSIBLE_W:.0f} W): were NVML's mW left undivided? the timeline holds W: divide "
                          "mW by 1000", UnitsWarning, stacklevel=3)
        t_ns.append(np.round(t * 1e9).astype(np.int64))
        power.append(p)
    return t_ns, power


def not_negative(name: str, value: float) -> float:
    """``value`` (a finite float, :func:`~energylens.measure.sampler._finite`'s) if >= 0, else a ValueError naming
    ``name`` and the value: a negative counter read time read as none, a negative fail_after_s as never."""
    if value < 0:
        raise ValueError(f"PowerSampler.synthetic: {name} must be >= 0 s, got {value!r}")
    return value


def synthetic_periods(update_period_s: Any, averaging_window_s: Any, buffer_period_s: Any,
                      buffer_poll_s: Any) -> tuple[float, float, float, float]:
    """The synthetic sampler's periods in seconds, each > 0 and the averaging window within the update period; a
    ValueError naming the option and value (the native check named neither: 'need update_period > 0, ...')."""
    update, window, period, poll = (seconds(f"PowerSampler.synthetic: {k}", v) for k, v in (
        ("update_period_s", update_period_s), ("averaging_window_s", averaging_window_s),
        ("buffer_period_s", buffer_period_s), ("buffer_poll_s", buffer_poll_s)))
    if window > update:
        raise ValueError(f"PowerSampler.synthetic: averaging_window_s={window:g} s is longer than update_period_s="
                         f"{update:g} s: each update publishes the mean over the last averaging_window_s")
    return update, window, period, poll
