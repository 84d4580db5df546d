"""What a window measures: :class:`Measurement` (the energy of one window, J, W, s, ns) and :class:`WindowResult`
(what ``EnergyMonitor.window(key)`` yields), and :func:`measurement_of`, which makes a Measurement of what
:func:`~energylens.measure.integrate.integrate_window` found for a span.

Both classes are importable from :mod:`energylens.measure.monitor`, where they lived until 2026-12-07; a Measurement
pickled then (``energylens.measure.monitor.Measurement``) loads as this one.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from energylens.measure.integrate import WindowEnergy
from energylens.measure.pickled import setstate_renaming

__all__ = ["Measurement", "WindowResult", "measurement_of"]

_setstate = setstate_renaming({}, "measure its span again (EnergyMonitor.measure over the run's trace)")


@dataclass(frozen=True)
class Measurement:
    """The energy of one window.

    Attributes:
        key: the window's name.
        start_ns, end_ns: its span on the steady clock.
        duration_s: ``(end_ns - start_ns) / 1e9``.
        energy_j: total over GPUs (J): per GPU the energy counter's figure where the power signal ``source`` is not
            the driver buffer alone and the window lasts ten times the counter's uncertainty at its ends, else the
            integral of ``source`` (an interpolated estimate when ``short_window``); ``energy_source`` says which
            (:func:`~energylens.measure.window_energy.choose_energy`; until 2026-12-07 always the power signal's).
        energy_j_per_gpu: per GPU, same order as the sampler's GPUs.
        avg_power_w: ``energy_j / duration_s`` (W), summed over GPUs.
        counter_energy_j: the energy counter's difference (J, total), NaN without a counter bracketing the window.
        counter_energy_j_per_gpu: per GPU.
        source: the ``Trace`` source integrated (``"nvml_samples"``, ``"nvml_instant"``, ...).
        sample_count: power samples of ``source`` inside the window, all GPUs.
        update_period_s: that source's update period.
        short_window: the window is shorter than ``update_period_s``: ``energy_j`` is interpolated.
        bridged_s: seconds of the window that no power source covered (a gap at a mid-run fallback),
            integrated by holding the readings on either side of the gap; 0.0 when none.
        gap_count: holes in the driver buffer inside the window (a GPU's readings over 1.5 update periods apart: a
            reading missing or NaN), all GPUs, each warned (:class:`~energylens.measure.integrate.SampleGapWarning`).
        gap_s: seconds of the window inside those holes, summed over GPUs, integrated at the reading after each.
        power_energy_j: the integral of the power signal ``source`` (J, total), whichever figure ``energy_j`` is;
            ``power_energy_j_per_gpu`` per GPU.
        energy_source: the source ``energy_j`` came from: a counter's (``"nvml_energy"``, ``"dcgm"``) or ``source``;
            ``"a+b"`` where GPUs took different ones; ``energy_source_per_gpu`` per GPU.
    """

    key: str
    start_ns: int
    end_ns: int
    duration_s: float
    energy_j: float
    energy_j_per_gpu: tuple[float, ...]
    avg_power_w: float
    counter_energy_j: float
    counter_energy_j_per_gpu: tuple[float, ...]
    source: str
    sample_count: int
    update_period_s: float
    short_window: bool
    bridged_s: float = 0.0
    gap_count: int = 0
    gap_s: float = 0.0
    power_energy_j: float | None = None
    power_energy_j_per_gpu: tuple[float, ...] = ()
    energy_source: str = ""
    energy_source_per_gpu: tuple[str, ...] = ()

    def __post_init__(self) -> None:  # (made without them, as before 2026-12-07: energy_j is the power signal's)
        same = {"power_energy_j": self.energy_j, "power_energy_j_per_gpu": self.energy_j_per_gpu,
                "energy_source": self.source, "energy_source_per_gpu": (self.source,) * len(self.energy_j_per_gpu)}
        for name in [k for k in same if getattr(self, k) in (None, (), "")]:
            object.__setattr__(self, name, same[name])

    def __setstate__(self, state: dict) -> None:  # (a pickle from before 2026-12-07 lacks the power signal's fields)
        _setstate(self, state)
        self.__post_init__()


def measurement_of(key: str, start_ns: int, end_ns: int, w: WindowEnergy, periods: Mapping[str, float]) -> Measurement:
    """The :class:`Measurement` of window ``key`` over ``[start_ns, end_ns]`` from what ``integrate_window`` found
    there (``w``); ``periods``: update period (s) per source, for ``update_period_s`` and ``short_window``."""
    duration_s = (end_ns - start_ns) * 1e-9
    # a window across a fallback ("nvml_samples+nvml_instant") is as coarse as its coarsest source's period
    parts = [float(periods.get(p, math.nan)) for p in w.source.split("+")] if w.source else []
    period = max(parts) if parts and not any(math.isnan(p) for p in parts) else math.nan
    short = bool(w.source and not math.isnan(period) and duration_s < period)
    total = float(sum(w.energy_j_per_gpu)) if w.energy_j_per_gpu else math.nan
    ctotal = float(sum(w.counter_energy_j_per_gpu)) if w.counter_energy_j_per_gpu else math.nan
    ptotal = float(sum(w.power_energy_j_per_gpu)) if w.power_energy_j_per_gpu else math.nan
    return Measurement(key=key, start_ns=int(start_ns), end_ns=int(end_ns), duration_s=duration_s,
                       energy_j=total, energy_j_per_gpu=w.energy_j_per_gpu,
                       avg_power_w=total / duration_s if duration_s > 0 else math.nan,
                       counter_energy_j=ctotal, counter_energy_j_per_gpu=w.counter_energy_j_per_gpu,
                       source=w.source, sample_count=w.sample_count, update_period_s=period, short_window=short,
                       bridged_s=w.bridged_s, gap_count=w.gap_count, gap_s=w.gap_s, power_energy_j=ptotal,
                       power_energy_j_per_gpu=w.power_energy_j_per_gpu,
                       energy_source="+".join(dict.fromkeys(w.energy_source_per_gpu)),
                       energy_source_per_gpu=w.energy_source_per_gpu)


class WindowResult:
    """What ``EnergyMonitor.window(key)`` yields: ``measurement`` is set when the block ends."""

    __slots__ = ("key", "measurement")

    def __init__(self, key: str) -> None:
        self.key = key
        self.measurement: Measurement | None = None

    def __repr__(self) -> str:
        return f"WindowResult(key={self.key!r}, measurement={self.measurement!r})"
