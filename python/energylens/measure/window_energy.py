"""What :func:`~energylens.measure.integrate.integrate_window` finds for one span, and which of its figures is the
window's ``energy_j`` (:func:`choose_energy`).

A window has two estimates of its energy where a power stream and an energy counter are both recorded: the power
stream's integral and the counter's difference (interpolated at the window's ends). The counter is the integral of
all the time, exact between its readings: its error lies at the window's two ends only (the interpolation within
one update, and its stamps' uncertainty), so it shrinks as one over the window's length. NVML's instant field
averages ~25 ms of each ~100 ms update: the rest of the time it never sees, and it lags a step by about one update,
errors spread over the whole window. Measured (``python bench/bench_window_estimators.py``, docs/sampler.md "Which
figure is energy_j"): on bursty synthetic work, its counter stamped as the sampler stamps it (reads every 100 ms),
the instant readings were 18.7 / 5.7 / 3.2 % off in the median on 0.1 / 1 / 10 s windows, the counter 11.8 / 1.7 /
0.26 %; on decode-like work (sub-2 ms kernels) 4.9 / 1.5 / 0.36 % against 4.4 / 1.6 / 0.23 %; on the real H200
polls over 3 s spans 2.3 % against under 1.5 %. The driver buffer (each reading the mean of its ~20 ms) was closer
than the counter at every length (1.6 / 0.23 / 0.06 %). Below one counter update both are interpolations.

The counter's error grows with the spacing of its readings around the window's ends and with their stamps'
uncertainty (energylens' sampler reads it every ~100 ms and stamps a change within half that; outside open windows
its reader backs off to about a read a second). So a window's ``energy_j`` is the counter's figure where the power
stream integrated is not the driver buffer alone (:data:`~energylens.measure.integrate.INTERVAL_SOURCES`), a counter
brackets the window and the window lasts at least :data:`COUNTER_SPANS` times the counter's uncertainty at its ends
(:func:`counter_edge_ns`); elsewhere the power stream's: in the bench it took the counter only where the counter was
the closer in both the median and the 90th percentile, so the figure is never further off than the power stream's
(and leaves some windows where the counter was already the closer to the power stream). Both figures stay available by name
(``power_energy_j_per_gpu``, ``counter_energy_j_per_gpu``) and ``energy_source_per_gpu`` names the one taken.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["WindowEnergy", "choose_energy", "counter_edge_ns", "COUNTER_SPANS"]


@dataclass(frozen=True)
class WindowEnergy:
    """What :func:`~energylens.measure.integrate.integrate_window` found for one span (per-GPU tuples in GPU order).

    Attributes:
        energy_j_per_gpu: the window's energy (J) per GPU: the figure :func:`choose_energy` takes, the counter's or
            the power stream's, named in ``energy_source_per_gpu`` (the power stream's, ``power_energy_j_per_gpu``,
            until 2026-12-07).
        counter_energy_j_per_gpu: the counter difference (J; NaN where no counter brackets the span).
        source: the power source integrated, ``"a+b"`` when a fallback inside the span joined two
            (``""`` when none covers it).
        sample_count: readings of ``source`` inside the span, all GPUs.
        bridged_s: seconds of the span no power source covered (a gap at a fallback), integrated by
            holding the readings on either side of it.
        gap_count: holes between consecutive readings of the power source inside the span, all GPUs (a
            :class:`~energylens.measure.gaps.SampleGapWarning` names them;
            :func:`~energylens.measure.gaps.reading_holes`): the driver buffer's more than
            :data:`~energylens.measure.gaps.GAP_PERIODS` update periods apart, point readings further apart than
            their recording allows; 0 when none.
        gap_s: seconds of the span inside those holes, summed over GPUs: integrated at the buffer's reading
            after each, or interpolated between the point readings either side.
        power_energy_j_per_gpu: the integral of ``source``'s power (J; NaN where no power source covers the span);
            empty: the same as ``energy_j_per_gpu`` (made without it).
        energy_source_per_gpu: per GPU, the source ``energy_j_per_gpu`` came from: a counter's
            (``"nvml_energy"``, ``"dcgm"``) or ``source``; empty: ``source`` for every GPU.
    """

    energy_j_per_gpu: tuple[float, ...]
    counter_energy_j_per_gpu: tuple[float, ...]
    source: str
    sample_count: int
    bridged_s: float = 0.0
    gap_count: int = 0
    gap_s: float = 0.0
    power_energy_j_per_gpu: tuple[float, ...] = ()
    energy_source_per_gpu: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.power_energy_j_per_gpu:
            object.__setattr__(self, "power_energy_j_per_gpu", tuple(self.energy_j_per_gpu))
        if not self.energy_source_per_gpu:
            object.__setattr__(self, "energy_source_per_gpu", (self.source,) * len(self.energy_j_per_gpu))


#: A window takes the counter's figure where it lasts at least this many times the counter's uncertainty at its
#: ends (:func:`counter_edge_ns`): at ~100 ms between readings stamped within 1.5 ms, windows from ~1 s; stamped
#: within 50 ms (read every 100 ms, the sampler's default), from ~2 s; backed off to a read a second, from ~11-13 s.
#: On the bench's decode-like work the counter stamped within 50 ms tied the instant readings at 1 s and won from 3 s.
COUNTER_SPANS = 10.0


def counter_edge_ns(used: list, gpu_count: int, start_ns: int, end_ns: int) -> np.ndarray:
    """Per GPU, the counter's uncertainty (ns) at the worse end of ``[start_ns, end_ns]``: the spacing of its
    readings around that end plus both readings' stamp half-widths (``used``: ``(source, (t_ns, energy_j, gpu),
    half-widths, GPUs taken, raw)`` per counter, :func:`~energylens.measure.integrate.integrate_window`); NaN
    where its readings do not bracket both ends."""
    out = np.full(gpu_count, math.nan)
    for _, (t, _, g), half, take, _ in used:
        for gpu in np.flatnonzero(take).tolist():
            mine = np.flatnonzero(g == gpu)
            tm = t[mine]
            worst = 0.0
            for x in (start_ns, end_ns):
                i, j = np.searchsorted(tm, x, side="right") - 1, np.searchsorted(tm, x, side="left")
                if i < 0 or j >= tm.size:
                    worst = math.nan
                    break
                worst = max(worst, float(tm[j] - tm[i]) + float(half[mine[i]] + half[mine[j]]))
            out[gpu] = worst
    return out


def choose_energy(power_j: np.ndarray, counter_j: np.ndarray, used: list, source: str, start_ns: int, end_ns: int,
                  interval_sources: frozenset[str]) -> tuple[np.ndarray, tuple[str, ...]]:
    """Per GPU, the window's energy (J) and the source it came from: the figure of the counter it used (``counter_j``;
    ``used`` as :func:`counter_edge_ns` takes it) where the power ``source`` integrated is not made of
    ``interval_sources`` alone, the counter's figure is finite and ``[start_ns, end_ns]`` lasts at least
    :data:`COUNTER_SPANS` times the counter's uncertainty at its ends (:func:`counter_edge_ns`); else the power
    stream's (``power_j``, ``source``)."""
    point = bool(source) and any(p not in interval_sources for p in source.split("+"))
    energy = np.asarray(power_j, dtype=np.float64).copy()
    names = [source] * energy.size
    edge = counter_edge_ns(used, energy.size, start_ns, end_ns)
    for c, _, _, take, _ in used:
        for g in np.flatnonzero(take).tolist():
            if point and math.isfinite(counter_j[g]) and end_ns - start_ns >= COUNTER_SPANS * edge[g]:
                energy[g], names[g] = counter_j[g], c
    return energy, tuple(names)
