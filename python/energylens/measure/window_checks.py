"""What a measured window's figures warrant: the checks :class:`~energylens.measure.monitor.EnergyMonitor` makes of
a span before and after integrating it. A span's ends must be steady-clock ns (:func:`steady_ns`); a span no power
reading covers is refused with where the readings lie (:func:`refuse_outside`); a window shorter than its power
signal's update period (:class:`ShortWindowWarning`) or integrated from NVML's ~1 s moving average
(:class:`AveragedPowerWarning`) is flagged (:func:`warn_figures`); a window without waiting with no power reading
inside or past it is named in a :class:`~energylens.measure.coverage.NotYetReadWarning`
(:mod:`energylens.measure.coverage`).

The warning classes are importable from :mod:`energylens.measure.monitor` (and ``energylens``), where they lived
until 2026-12-07.
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np

from energylens.errors import user_stacklevel
from energylens.measure.gaps import source_label
from energylens.measure.integrate import POWER_PREFERENCE
from energylens.measure.measurement import Measurement

__all__ = ["ShortWindowWarning", "AveragedPowerWarning", "steady_ns", "refuse_outside", "warn_figures"]


class ShortWindowWarning(UserWarning):
    """A window was shorter than the update period of the power signal it was integrated from."""


class AveragedPowerWarning(UserWarning):
    """A window's ``energy_j`` was integrated from ``nvml_average`` (nvmlDeviceGetPowerUsage), a ~1 s moving average
    lagging every change of power (0.7 s across the H200 trace's load step: 178 J, the counter 455 J, the one to use)."""


def steady_ns(key: str, name: str, value: Any) -> int:
    """``value`` as int64 steady-clock ns; a ValueError naming ``measure(key)``'s argument for anything else (NaN
    read 'cannot convert float NaN to integer', None a TypeError, and '1' was 1 ns)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real) \
            or not abs(float(value)) < 2.0**63:
        raise ValueError(f"measure({key!r}): {name} must be a steady-clock time in ns (an integer: steady_now_ns(), "
                         f"mark times), got {value!r}")
    if not isinstance(value, numbers.Integral) and not float(value).is_integer():  # (0.5, 1.0) was [0, 1] ns
        raise ValueError(f"measure({key!r}): {name} must be whole steady-clock ns (steady_now_ns(), mark times), got "
                         f"{value!r}: seconds? (0.5 s is 500_000_000 ns; a midpoint of two: (a + b) // 2)")
    return int(value) if isinstance(value, numbers.Integral) else int(float(value))


def refuse_outside(sampler: Any, caller: str, key: str, start_ns: int, end_ns: int, counter_j: float) -> None:
    """A ValueError for a span that no power reading of ``sampler`` (a :class:`~energylens.measure.sampler.PowerSampler`)
    covers (NaN, source "", without a word until 2026-12-07): the recorded range, or that all power readings are NaN;
    nothing when none was recorded (the NaN stands)."""
    s = sampler.samples(collect=False, check=False)
    t, nan = s["t_ns"][np.isfinite(s["power_w"])], s["source"][np.isin(s["source"], POWER_PREFERENCE)]
    if not t.size and nan.size:
        raise ValueError(f"{caller}({key!r}): no power reading covers [{start_ns}, {end_ns}] ns: the {nan.size} "
                         f"power readings recorded ({', '.join(sorted(set(nan)))}) are all NaN (the GPU reported "
                         "no power, or the trace lost it)" + (f"; the energy counter read {counter_j:.1f} J over "
                                                              "it" if math.isfinite(counter_j) else ""))
    if not t.size:
        return
    lo, hi = int(t.min()), int(t.max())  # (an end past them first: a start in the buffer's first interval is read)
    before, replay = start_ns < lo and end_ns <= hi, sampler.kind == "replay"
    hint = ("; a trace replayed with rebase=True (the default) was moved to begin at start(): measure between its "
            "own mark times with rebase=False" if before and replay else "" if before else
            "; the replayed trace's readings end there" if replay else
            "; the sampler was stopped (PowerSampler.stop) before the window ended" if not sampler.running
            else "; no power source read after that (SamplerResult.fallbacks says why)")
    where = "starts before" if before else "ends after"
    raise ValueError(f"{caller}({key!r}): no power reading covers [{start_ns}, {end_ns}] ns, which {where} the "
                     f"recording (power readings recorded from t_ns {lo} to {hi}){hint}")


def warn_figures(m: Measurement, holds: Mapping[str, float | str | None]) -> None:
    """A :class:`ShortWindowWarning` for a window shorter than its power signal's update period (``energy_j`` is
    interpolated), an :class:`AveragedPowerWarning` for one whose ``energy_j`` came from ``nvml_average``; ``holds``:
    how the rows were recorded (:func:`~energylens.measure.gaps.hold_limits`), naming a synthetic sampler's sources."""
    if m.short_window:
        warnings.warn(f"window {m.key!r} lasted {m.duration_s * 1e3:.2f} ms, shorter than the "
                      f"{'+'.join(source_label(x, holds) for x in m.source.split('+'))} update period "
                      f"({m.update_period_s * 1e3:.1f} ms): energy_j is an interpolated estimate", ShortWindowWarning,
                      stacklevel=user_stacklevel())
    if "nvml_average" not in m.energy_source.split("+"):  # (energy_j the counter's: it is the figure to use)
        return
    counter = (f"the energy counter read {m.counter_energy_j:.1f} J (counter_energy_j), the figure to use"
               if math.isfinite(m.counter_energy_j) else "no energy counter brackets it")
    warnings.warn(f"window {m.key!r}: energy_j {m.energy_j:.1f} J over {m.duration_s:.2f} s was integrated from "
                  "nvml_average (nvmlDeviceGetPowerUsage), a ~1 s moving average that lags every change of power "
                  f"by up to ~1 s; {counter}", AveragedPowerWarning, stacklevel=user_stacklevel())
