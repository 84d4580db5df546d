"""What a :class:`~energylens.measure.sampler.PowerSampler` did, from the native typed status
(``_core.SourceStatus``, ``_core.FallbackEvent``) with nanoseconds turned into seconds: :class:`SourceInfo` (one
source), :class:`Fallback` (a chain source failed and the next took over) and :class:`SamplerResult` (all of it,
from :meth:`~energylens.measure.sampler.PowerSampler.result`). All three are importable from
:mod:`energylens.measure.sampler` as before."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

__all__ = ["SourceInfo", "Fallback", "SamplerResult"]


@dataclass(frozen=True)
class SourceInfo:
    """One source of a sampler.

    Attributes:
        name: implementation, e.g. ``"nvml_sample_buffer"``, ``"synthetic_instant"``, ``"replay"``.
        role: ``"power"`` (the fallback chain) or ``"auxiliary"`` (own thread: energy counter, DCGM).
        started, active, failed: its state; ``error`` says why it failed (``""`` otherwise).
        update_period_s: detected at start (or declared); NaN when unknown.
        period_detected: measured rather than assumed/declared.
        samples: samples it produced.
        poll_interval_s: how often it was polled.
    """

    name: str
    role: str
    started: bool
    active: bool
    failed: bool
    error: str
    update_period_s: float
    period_detected: bool
    samples: int
    poll_interval_s: float

    @classmethod
    def from_status(cls, s: Any) -> SourceInfo:
        """From the native ``_core.SourceStatus`` (ns -> s; an unknown period, 0 ns, -> NaN)."""
        return cls(name=s.name, role=s.role, started=bool(s.started), active=bool(s.active),
                   failed=bool(s.failed), error=s.error,
                   update_period_s=s.update_period_ns * 1e-9 if s.update_period_ns > 0 else math.nan,
                   period_detected=bool(s.period_detected), samples=int(s.samples),
                   poll_interval_s=s.poll_interval_ns * 1e-9)


@dataclass(frozen=True)
class Fallback:
    """A chain source failed and the next one took over (``to == ""``: none was left)."""

    t_ns: int
    from_source: str
    to: str
    reason: str


@dataclass(frozen=True)
class SamplerResult:
    """What a sampler did.

    Attributes:
        kind: ``"nvml"``, ``"synthetic"``, ``"replay"`` or ``"custom"``.
        active_source: the chain source in use at the end (``""`` when all failed).
        sources: every source, chain first.
        fallbacks: the fallbacks that happened, in order.
        dropped: samples dropped because a ring buffer was full (0 unless the consumer stalled).
        samples: samples collected.
        update_period_s: per trace source (``"nvml_samples"``...), the update period detected at start.
        observed_period_s: per trace source, the achieved median interval between samples (GPU 0).
        duration_s: wall time sampled.
    """

    kind: str
    active_source: str
    sources: tuple[SourceInfo, ...]
    fallbacks: tuple[Fallback, ...]
    dropped: int
    samples: int
    update_period_s: dict[str, float]
    observed_period_s: dict[str, float]
    duration_s: float
