"""Measure GPU energy: a native power sampler, marks, and named energy windows.

- :func:`mark` records a label at the current steady-clock time (native, a few hundred ns from
  Python; the same time base as every sample and kernel record).
- :class:`PowerSampler` wraps the native sampler thread. Build one with :meth:`PowerSampler.nvml`
  (driver sample buffer -> instant field -> ~1 s average as the fallback chain, the slow energy
  counter on its own thread, DCGM optionally), :meth:`PowerSampler.synthetic` (imitates NVML's update
  period and averaging window from a known power timeline) or :meth:`PowerSampler.replay` (feeds a
  recorded :class:`~energylens.measure.trace.Trace`). All three feed the same pipeline.
- :class:`EnergyMonitor` owns a sampler for the length of its ``with`` block and measures named,
  overlapping windows: ``begin_window(key)`` / ``end_window(key) -> Measurement``.

Energy of a window: the integral of the piecewise-linear interpolant of the finest power signal
(driver buffer, else instant, ...) over ``[begin, end]`` per GPU, and, where the energy counter is
available, its (interpolated) difference as ``counter_energy_j``. A window shorter than the power
signal's update period cannot be resolved: it is flagged ``short_window=True`` (with a
:class:`ShortWindowWarning`) and ``energy_j`` is then the interpolated estimate.

Units are in every name: ``t_ns`` (int64 steady-clock ns), ``duration_s``, ``power_w``, ``energy_j``.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import threading
import time
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from energylens import _core
from energylens.errors import DcgmUnavailableError
from energylens.measure.kernels import KernelTracer
from energylens.measure.trace import Trace, empty_kernels

__all__ = [
    "mark",
    "marks",
    "steady_now_ns",
    "PowerSampler",
    "SamplerResult",
    "SourceInfo",
    "Fallback",
    "EnergyMonitor",
    "Measurement",
    "WindowResult",
    "ShortWindowWarning",
    "window_energy_j",
    "counter_energy_j",
    "SIGNAL_TO_SOURCE",
]

#: Native signal name -> ``Trace.samples.source`` value.
SIGNAL_TO_SOURCE: dict[str, str] = {
    "sample_buffer": "nvml_samples",
    "instant": "nvml_instant",
    "average": "nvml_average",
    "energy_counter": "nvml_energy",
    "dcgm_power": "dcgm",
    "dcgm_energy": "dcgm",
}
_SIGNALS: tuple[str, ...] = tuple(_core.signal_names())
_SIGNAL_ID = {name: i for i, name in enumerate(_SIGNALS)}
#: Power sources in the order a window integrates them (the finest first).
_POWER_PREFERENCE: tuple[str, ...] = ("nvml_samples", "nvml_instant", "dcgm", "nvml_average")
_COUNTER_SOURCES: tuple[str, ...] = ("nvml_energy", "dcgm")

#: steady-clock nanoseconds (the time base of samples, marks and kernels).
steady_now_ns = _core.steady_now_ns

#: ``mark(label)``: record ``label`` at the current steady-clock time (process-wide mark log; read
#: with :func:`marks` or ``EnergyMonitor.trace()``). The native call is the whole cost.
mark = _core.mark


class ShortWindowWarning(UserWarning):
    """A window was shorter than the update period of the power signal it was integrated from."""


# ---- marks ---------------------------------------------------------------------------------------


class _MarkStore:
    """Drains the native mark log (one consumer) and keeps every mark, so that several monitors
    can each read the marks of their own span."""

    def __init__(self) -> None:
        self._t: list[np.ndarray] = []
        self._ids: list[np.ndarray] = []

    def collect(self) -> None:
        d = _core.drain_marks()
        if d["t_ns"].size:
            self._t.append(d["t_ns"])
            self._ids.append(d["label_id"])

    def between(self, start_ns: int | None = None, end_ns: int | None = None) -> dict[str, np.ndarray]:
        self.collect()
        t = np.concatenate(self._t) if self._t else np.empty(0, np.int64)
        ids = np.concatenate(self._ids) if self._ids else np.empty(0, np.int32)
        keep = np.ones(t.size, bool)
        if start_ns is not None:
            keep &= t >= start_ns
        if end_ns is not None:
            keep &= t <= end_ns
        labels = np.asarray(_core.mark_labels(), dtype=object)
        order = np.argsort(t[keep], kind="stable")
        return {"t_ns": t[keep][order], "label": labels[ids[keep][order]] if ids.size else
                np.empty(0, object)}


_MARKS = _MarkStore()


def marks(start_ns: int | None = None, end_ns: int | None = None) -> dict[str, np.ndarray]:
    """Every mark recorded in this process (optionally only those in ``[start_ns, end_ns]``), as
    ``{"t_ns": int64 array, "label": object array}`` sorted by time."""
    return _MARKS.between(start_ns, end_ns)


# ---- results ---------------------------------------------------------------------------------------


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


# ---- the sampler -----------------------------------------------------------------------------------


def _source_name_to_trace(name: str) -> str | None:
    """Trace source of a native source name ("nvml_sample_buffer" -> "nvml_samples")."""
    for signal, trace_source in SIGNAL_TO_SOURCE.items():
        if name.endswith(signal):
            return trace_source
    if name == "nvml_power_usage":
        return "nvml_average"
    if name == "dcgm":
        return "dcgm"
    return None


class PowerSampler:
    """The native power sampler (one C++ thread for the power chain, one per auxiliary source).

    Prefer the constructors :meth:`nvml`, :meth:`synthetic` and :meth:`replay`. ``start()``/``stop()``
    (or ``with``) control the threads; :meth:`samples` returns everything collected so far as NumPy
    arrays; :meth:`result` says which sources ran, their update periods and any fallback. An error
    on the sampling thread is re-raised here, on the caller's thread, by ``flush``/``samples``/``stop``.

    ``auxiliary_cpu_budget``: each auxiliary source (the energy counter: milliseconds per read on
    H100/H200) polls no more often than keeps its thread's CPU time within this fraction of one core
    (default 0.25 %); the interval it settled on is ``SourceInfo.poll_interval_s``. 0 disables it.
    """

    def __init__(self, chain: Sequence[Any], auxiliary: Sequence[Any] = (), *, interval_s: float | None = None,
                 ring_capacity: int = 1 << 16, auxiliary_cpu_budget: float = 0.0025, kind: str = "custom",
                 meta: Mapping[str, Any] | None = None) -> None:
        if interval_s is not None and not interval_s > 0:
            raise ValueError(f"interval_s must be > 0, got {interval_s}")
        self._native = _core.PowerSampler(list(chain), list(auxiliary),
                                          int(round((interval_s or 0.0) * 1e9)), int(ring_capacity),
                                          auxiliary_cpu_budget=float(auxiliary_cpu_budget))
        self.kind = kind
        self.meta: dict[str, Any] = dict(meta or {})
        self._chunks: list[dict[str, np.ndarray]] = []
        self._cache: dict[str, np.ndarray] | None = None
        self._lock = threading.Lock()  # windows may end on several Python threads
        self._sorted_head = False  # whether _chunks[0] is the merged, sorted table
        self._t_start_ns: int | None = None
        self._t_stop_ns: int | None = None

    # -- constructors --
    @classmethod
    def nvml(cls, gpus: Sequence[int] | None = None, *, interval_s: float | None = None,
             buffer_poll_s: float = 0.1, energy_counter: bool = True, energy_interval_s: float = 0.1,
             dcgm: bool | str = False, chain: Sequence[str] = ("sample_buffer", "instant", "average"),
             ring_capacity: int = 1 << 16, auxiliary_cpu_budget: float = 0.0025) -> PowerSampler:
        """Sample the visible GPUs (``gpus``: indices among them; None: all) through NVML.

        ``chain``: power sources in fallback order. ``energy_counter``: read the energy counter on
        its own thread every ``energy_interval_s``. ``dcgm``: False (off), ``"auto"`` (when a host
        engine answers) or True (required: :class:`~energylens.errors.DcgmUnavailableError` if not).
        Raises :class:`~energylens.errors.NvmlUnavailableError` (with the fix) without NVML.
        """
        requested = [int(g) for g in (gpus or [])]
        info = _core.nvml_gpus(requested)  # raises NvmlUnavailableError with the fix
        poll_ns = int(round(buffer_poll_s * 1e9))
        sources = []
        for kind in chain:
            if kind not in ("sample_buffer", "instant", "average"):
                raise ValueError(f"unknown power source {kind!r} (sample_buffer, instant, average)")
            sources.append(_core.nvml_source(kind, requested, poll_ns))
        aux = []
        if energy_counter:
            aux.append(_core.nvml_source("energy_counter", requested, int(round(energy_interval_s * 1e9))))
        if dcgm not in (False, True, "auto"):
            raise ValueError(f"dcgm must be False, True or 'auto', got {dcgm!r}")
        dcgm_reason = ""
        if dcgm:
            try:
                aux.append(_core.nvml_source("dcgm", requested, int(round(energy_interval_s * 1e9))))
            except DcgmUnavailableError as exc:
                if dcgm is True:
                    raise
                dcgm_reason = str(exc)
        meta = {"gpus": [dict(g) for g in info], "sampler": "nvml"}
        if dcgm_reason:
            meta["dcgm_unavailable"] = dcgm_reason
        return cls(sources, aux, interval_s=interval_s, ring_capacity=ring_capacity,
                   auxiliary_cpu_budget=auxiliary_cpu_budget, kind="nvml", meta=meta)

    @classmethod
    def synthetic(cls, timeline: Sequence[tuple[Sequence[float], Sequence[float]]], *,
                  update_period_s: float = 0.100, averaging_window_s: float = 0.025,
                  buffer_period_s: float = 0.020, buffer_poll_s: float = 0.100,
                  chain: Sequence[str] = ("sample_buffer", "instant"), energy_counter: bool = True,
                  energy_offset_j: float = 1.0e6, energy_read_latency_s: float = 0.0,
                  energy_read_cpu_s: float = 0.0, fail_after_s: Mapping[str, float] | None = None,
                  interval_s: float | None = None, ring_capacity: int = 1 << 16,
                  auxiliary_cpu_budget: float = 0.0025) -> PowerSampler:
        """A sampler over a known true power: ``timeline[g] = (t_s, power_w)`` for GPU ``g``, a
        piecewise-constant power (``power_w[i]`` from ``t_s[i]`` on, seconds after ``start()``).

        Imitates NVML: the instant signal publishes every ``update_period_s`` the mean over the last
        ``averaging_window_s``; a driver-buffer-like stream gives the mean of every
        ``buffer_period_s``, drained every ``buffer_poll_s``; the energy counter is exact at every
        update. ``fail_after_s={"sample_buffer": 1.0}`` makes that signal fail (GPU lost) after 1 s,
        to exercise fallbacks; ``energy_read_latency_s`` makes counter reads slow (waiting) and
        ``energy_read_cpu_s`` makes them burn CPU (spinning).
        """
        if not timeline:
            raise ValueError("timeline needs at least one GPU")
        t_ns, power = [], []
        for g, pair in enumerate(timeline):
            if len(pair) != 2:
                raise ValueError(f"timeline[{g}] must be (t_s, power_w)")
            t = np.asarray(pair[0], dtype=np.float64)
            p = np.asarray(pair[1], dtype=np.float64)
            t_ns.append(np.round(t * 1e9).astype(np.int64))
            power.append(p)
        fails = dict(fail_after_s or {})
        unknown = set(fails) - {"sample_buffer", "instant", "energy_counter"}
        if unknown:
            raise ValueError(f"fail_after_s keys must be signals sample_buffer/instant/energy_counter: {sorted(unknown)}")

        def make(signal: str) -> Any:
            fail = fails.get(signal)
            return _core.synthetic_source(
                t_ns, power, signal, int(round(update_period_s * 1e9)), int(round(averaging_window_s * 1e9)),
                int(round(buffer_period_s * 1e9)), int(round(buffer_poll_s * 1e9)), float(energy_offset_j),
                int(round(energy_read_latency_s * 1e9)), -1 if fail is None else int(round(fail * 1e9)),
                int(round(energy_read_cpu_s * 1e9)))

        for s in chain:
            if s not in ("sample_buffer", "instant"):
                raise ValueError(f"synthetic chain entries must be 'sample_buffer' or 'instant', got {s!r}")
        sources = [make(s) for s in chain]
        aux = [make("energy_counter")] if energy_counter else []
        meta = {
            "gpus": [{"index": g, "name": "synthetic", "uuid": f"GPU-synthetic-{g}"} for g in range(len(timeline))],
            "sampler": "synthetic",
            "averaging_window_s": {"nvml_instant": averaging_window_s, "nvml_samples": buffer_period_s},
            "synthetic_sampler": {"update_period_s": update_period_s, "averaging_window_s": averaging_window_s,
                                  "buffer_period_s": buffer_period_s},
        }
        return cls(sources, aux, interval_s=interval_s, ring_capacity=ring_capacity,
                   auxiliary_cpu_budget=auxiliary_cpu_budget, kind="synthetic", meta=meta)

    @classmethod
    def replay(cls, trace: Any, *, realtime: bool = True, speed: float = 1.0, rebase: bool = True,
               ring_capacity: int = 1 << 16) -> PowerSampler:
        """Replay the samples of a :class:`~energylens.measure.trace.Trace` (or a path to a saved one).

        ``realtime``: samples appear as their time passes (``speed`` times faster); otherwise all at
        the first poll. ``rebase``: shift times so the first sample lands at ``start()``; otherwise
        the recorded ``t_ns`` are kept.
        """
        if isinstance(trace, (str, os.PathLike)):
            trace = Trace.load(trace)
        if not isinstance(trace, Trace):
            raise TypeError(f"replay() needs a Trace or a path, got {type(trace).__name__}")
        s = trace.samples
        if len(s) == 0:
            raise ValueError("replay(): the trace has no samples")
        signal = _signals_of(s["source"].astype(object).to_numpy(), s["power_w"].to_numpy(),
                             s["energy_j"].to_numpy())
        src = _core.replay_source(s["t_ns"].to_numpy(np.int64), s["gpu"].to_numpy(np.int32), signal,
                                  s["power_w"].to_numpy(np.float64), s["energy_j"].to_numpy(np.float64),
                                  bool(realtime), bool(rebase), float(speed))
        meta = {k: v for k, v in trace.meta.items() if k not in ("created", "energylens_version")}
        meta["sampler"] = "replay"
        return cls([src], [], ring_capacity=ring_capacity, kind="replay", meta=meta)

    # -- lifetime --
    def start(self) -> PowerSampler:
        """Start the sources (detecting update periods) and the threads. Returns self."""
        self._native.start()
        self._t_start_ns = int(self._native.start_ns)
        self._t_stop_ns = None
        return self

    def stop(self) -> SamplerResult:
        """Stop and join the threads, collect what is left; re-raises a sampling-thread error."""
        try:
            self._native.stop()
        finally:
            self._t_stop_ns = steady_now_ns()
            self._collect()
        return self.result()

    @property
    def running(self) -> bool:
        return bool(self._native.running)

    def __enter__(self) -> PowerSampler:
        return self.start()

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.stop()
        else:
            try:
                self.stop()
            except Exception:  # noqa: BLE001 - the exception already propagating wins
                pass

    def flush(self, *, auxiliary: bool = True) -> None:
        """Make every source poll now (only the power chain with ``auxiliary=False``: an energy
        counter read costs milliseconds) and collect; re-raises a sampling-thread error."""
        self._native.flush(auxiliary)
        self._collect()

    def _collect(self) -> None:
        d = self._native.drain()
        if d["t_ns"].size:
            with self._lock:
                self._chunks.append(d)
                self._cache = None

    @property
    def gpu_count(self) -> int:
        return int(self._native.gpu_count)

    @property
    def start_ns(self) -> int | None:
        """Steady-clock ns at which sampling started (None before start)."""
        return self._t_start_ns

    def samples(self, *, collect: bool = True) -> dict[str, np.ndarray]:
        """Every sample so far, sorted by time: ``t_ns`` int64, ``gpu`` int32, ``power_w``,
        ``energy_j`` (float64, NaN where absent), ``source`` (object: ``Trace`` source names)."""
        if collect and self.running:
            self._native.rethrow_if_failed()
            self._collect()
        with self._lock:
            return self._merged()

    def _merged(self) -> dict[str, np.ndarray]:
        """All chunks as one time-sorted table. The sorted part is kept; only the new chunks and the
        tail of the old table they overlap are re-sorted (the driver buffer arrives ~100 ms late)."""
        if self._cache is not None:
            return self._cache
        keys = ("t_ns", "gpu", "signal", "power_w", "energy_j")
        if not self._chunks:
            cat = {"t_ns": np.empty(0, np.int64), "gpu": np.empty(0, np.int32),
                   "signal": np.empty(0, np.int32), "power_w": np.empty(0), "energy_j": np.empty(0)}
        else:
            base, new = (self._chunks[0], self._chunks[1:]) if self._sorted_head else ({}, self._chunks)
            fresh = {k: np.concatenate([c[k] for c in new]) for k in keys}
            cut = int(np.searchsorted(base["t_ns"], fresh["t_ns"].min(), side="right")) if base else 0
            tail = {k: np.concatenate([base[k][cut:], fresh[k]]) if base else fresh[k] for k in keys}
            order = np.argsort(tail["t_ns"], kind="stable")
            cat = {k: np.concatenate([base[k][:cut], tail[k][order]]) if base else tail[k][order] for k in keys}
        names = np.asarray([SIGNAL_TO_SOURCE[s] for s in _SIGNALS], dtype=object)
        self._chunks = [{k: cat[k] for k in keys}] if cat["t_ns"].size else []
        self._sorted_head = bool(self._chunks)
        self._cache = {**cat, "source": names[cat["signal"]] if cat["signal"].size else np.empty(0, object)}
        return self._cache

    def result(self) -> SamplerResult:
        """Which sources ran, fallbacks, update periods, drops (any time)."""
        sources = tuple(
            SourceInfo(name=s["name"], role=s["role"], started=bool(s["started"]), active=bool(s["active"]),
                       failed=bool(s["failed"]), error=s["error"],
                       update_period_s=s["update_period_ns"] * 1e-9 if s["update_period_ns"] > 0 else math.nan,
                       period_detected=bool(s["period_detected"]), samples=int(s["samples"]),
                       poll_interval_s=s["poll_interval_ns"] * 1e-9)
            for s in self._native.sources())
        fallbacks = tuple(Fallback(t_ns=int(f["t_ns"]), from_source=f["from"], to=f["to"], reason=f["reason"])
                          for f in self._native.fallbacks())
        update = {}
        for s in sources:
            src = _source_name_to_trace(s.name)
            if s.started and src is not None and not math.isnan(s.update_period_s):
                update.setdefault(src, s.update_period_s)
        if self.kind == "replay":
            update = dict(self.meta.get("update_period_s", {})) or update
        observed = {}
        for signal, ns in self._native.observed_period_ns().items():
            observed.setdefault(SIGNAL_TO_SOURCE[signal], ns * 1e-9)
        end = self._t_stop_ns if self._t_stop_ns is not None else steady_now_ns()
        n = int(sum(c["t_ns"].size for c in self._chunks))
        return SamplerResult(kind=self.kind, active_source=self._native.active_source, sources=sources,
                             fallbacks=fallbacks, dropped=int(self._native.dropped), samples=n,
                             update_period_s=update, observed_period_s=observed,
                             duration_s=(end - self._t_start_ns) * 1e-9 if self._t_start_ns else 0.0)

    def to_trace(self, *, marks: Mapping[str, Any] | None = None, kernels: Any = None,
                 meta: Mapping[str, Any] | None = None) -> Any:
        """The samples so far (plus ``marks`` and ``kernels`` tables) as a :class:`~energylens.measure.trace.Trace`."""
        s = self.samples()
        res = self.result()
        m = dict(self.meta)
        m["update_period_s"] = {**res.update_period_s, **m.get("update_period_s", {})} \
            if self.kind == "replay" else res.update_period_s
        m["observed_period_s"] = res.observed_period_s
        m["fallbacks"] = [{"t_ns": f.t_ns, "from": f.from_source, "to": f.to, "reason": f.reason}
                          for f in res.fallbacks]
        m["dropped_samples"] = res.dropped
        m.update(meta or {})
        return Trace(samples={"t_ns": s["t_ns"], "gpu": s["gpu"], "power_w": s["power_w"],
                              "energy_j": s["energy_j"], "source": s["source"]},
                     marks=dict(marks) if marks is not None else {"t_ns": np.empty(0, np.int64),
                                                                  "label": np.empty(0, object)},
                     kernels=kernels if kernels is not None else empty_kernels(), meta=m)


def _signals_of(source: np.ndarray, power_w: np.ndarray, energy_j: np.ndarray) -> np.ndarray:
    """Native signal ids for Trace rows (the inverse of SIGNAL_TO_SOURCE)."""
    has_power = np.isfinite(power_w)
    out = np.empty(source.size, np.int32)
    table = {"nvml_samples": "sample_buffer", "nvml_instant": "instant", "nvml_average": "average",
             "nvml_energy": "energy_counter"}
    for i, (src, hp) in enumerate(zip(source, has_power, strict=True)):
        if src in table:
            name = table[src]
        elif src == "dcgm":
            name = "dcgm_power" if hp else "dcgm_energy"
        else:  # "synthetic" / "replay": power readings, or a counter when only energy is given
            name = "instant" if hp else "energy_counter"
        out[i] = _SIGNAL_ID[name]
    return out


# ---- window energy ----------------------------------------------------------------------------------


def window_energy_j(t_ns: np.ndarray, power_w: np.ndarray, start_ns: int, end_ns: int) -> float:
    """Integral (J) over ``[start_ns, end_ns]`` of the piecewise-linear interpolant of the power
    samples (trapezoid; constant beyond the first and last sample). NaN without samples."""
    t = np.asarray(t_ns, dtype=np.int64)
    p = np.asarray(power_w, dtype=np.float64)
    ok = np.isfinite(p)
    t, p = t[ok], p[ok]
    if t.size == 0:
        return math.nan
    if end_ns < start_ns:
        raise ValueError("end_ns < start_ns")
    inside = t[(t > start_ns) & (t < end_ns)]
    knots = np.concatenate(([start_ns], inside, [end_ns])).astype(np.int64)
    rel = (knots - start_ns).astype(np.float64)
    values = np.interp(knots.astype(np.float64), t.astype(np.float64), p)
    return float(np.sum(0.5 * (values[1:] + values[:-1]) * np.diff(rel)) * 1e-9)


def counter_energy_j(t_ns: np.ndarray, energy_j: np.ndarray, start_ns: int, end_ns: int) -> float:
    """The energy counter's difference over ``[start_ns, end_ns]`` (J), linearly interpolated at both
    ends; NaN when the counter readings do not bracket the window."""
    t = np.asarray(t_ns, dtype=np.int64)
    e = np.asarray(energy_j, dtype=np.float64)
    ok = np.isfinite(e)
    t, e = t[ok], e[ok]
    if t.size < 2 or t[0] > start_ns or t[-1] < end_ns:
        return math.nan
    tf = t.astype(np.float64)
    return float(np.interp(float(end_ns), tf, e) - np.interp(float(start_ns), tf, e))


@dataclass(frozen=True)
class Measurement:
    """The energy of one window.

    Attributes:
        key: the window's name.
        start_ns, end_ns: its span on the steady clock.
        duration_s: ``(end_ns - start_ns) / 1e9``.
        energy_j: total over GPUs (J): the integral of the power signal ``source`` (an interpolated
            estimate when ``short_window``).
        energy_j_per_gpu: per GPU, same order as the sampler's GPUs.
        avg_power_w: ``energy_j / duration_s`` (W), summed over GPUs.
        counter_energy_j: the energy counter's difference (J, total), NaN without a counter
            bracketing the window.
        counter_energy_j_per_gpu: per GPU.
        source: the ``Trace`` source integrated (``"nvml_samples"``, ``"nvml_instant"``, ...).
        sample_count: power samples of ``source`` inside the window, all GPUs.
        update_period_s: that source's update period.
        short_window: the window is shorter than ``update_period_s``: ``energy_j`` is interpolated.
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


def _finest_source(samples: dict[str, np.ndarray], start_ns: int | None = None, end_ns: int | None = None,
                   periods: Mapping[str, float] | None = None) -> str | None:
    """The finest power source present; with a span, the finest that covers it (a reading within two
    update periods of each end), so a window after a mid-run fallback is not integrated from the
    failed source's last reading. None when no source has power readings."""
    if not samples["t_ns"].size:
        return None
    has_power = np.isfinite(samples["power_w"])
    present = [src for src in _POWER_PREFERENCE if (has_power & (samples["source"] == src)).any()]
    if not present:
        return None
    if start_ns is None or end_ns is None:
        return present[0]
    for src in present:
        t = samples["t_ns"][has_power & (samples["source"] == src)]
        slack = int(2 * float((periods or {}).get(src, 0.1)) * 1e9) + 1
        if t[0] <= start_ns + slack and t[-1] >= end_ns - slack:
            return src
    return present[0]


def _near(samples: dict[str, np.ndarray], start_ns: int, end_ns: int, margin_ns: int) -> dict[str, np.ndarray]:
    """The samples within ``margin_ns`` of ``[start_ns, end_ns]`` (``samples`` is sorted by time), so
    that a window costs O(log n + samples nearby) rather than O(all samples) on long runs."""
    t = samples["t_ns"]
    lo = int(np.searchsorted(t, start_ns - margin_ns, side="left"))
    hi = int(np.searchsorted(t, end_ns + margin_ns, side="right"))
    return {k: v[lo:hi] for k, v in samples.items()}


def _measure(samples: dict[str, np.ndarray], gpu_count: int, key: str, start_ns: int, end_ns: int,
             periods: Mapping[str, float]) -> Measurement:
    # Readings bracketing the window may lie up to a few (backed-off) counter intervals outside it.
    samples = _near(samples, start_ns, end_ns, 30_000_000_000)
    source = _finest_source(samples, start_ns, end_ns, periods)
    per_gpu: list[float] = []
    counter: list[float] = []
    count = 0
    for g in range(gpu_count):
        on_gpu = samples["gpu"] == g
        if source is None:
            per_gpu.append(math.nan)
        else:
            sel = on_gpu & (samples["source"] == source) & np.isfinite(samples["power_w"])
            t, p = samples["t_ns"][sel], samples["power_w"][sel]
            count += int(((t >= start_ns) & (t <= end_ns)).sum())
            per_gpu.append(window_energy_j(t, p, start_ns, end_ns))
        c = math.nan
        for csrc in _COUNTER_SOURCES:
            sel = on_gpu & (samples["source"] == csrc) & np.isfinite(samples["energy_j"])
            if sel.any():
                c = counter_energy_j(samples["t_ns"][sel], samples["energy_j"][sel], start_ns, end_ns)
                break
        counter.append(c)
    duration_s = (end_ns - start_ns) * 1e-9
    period = float(periods.get(source, math.nan)) if source else math.nan
    short = bool(source is not None and not math.isnan(period) and duration_s < period)
    total = float(sum(per_gpu)) if per_gpu else math.nan
    ctotal = float(sum(counter)) if counter else math.nan
    return Measurement(key=key, start_ns=int(start_ns), end_ns=int(end_ns), duration_s=duration_s,
                       energy_j=total, energy_j_per_gpu=tuple(per_gpu),
                       avg_power_w=total / duration_s if duration_s > 0 else math.nan,
                       counter_energy_j=ctotal, counter_energy_j_per_gpu=tuple(counter),
                       source=source or "", sample_count=count, update_period_s=period, short_window=short)


# ---- the monitor ----------------------------------------------------------------------------------


class WindowResult:
    """What ``EnergyMonitor.window(key)`` yields: ``measurement`` is set when the block ends."""

    __slots__ = ("key", "measurement")

    def __init__(self, key: str) -> None:
        self.key = key
        self.measurement: Measurement | None = None

    def __repr__(self) -> str:
        return f"WindowResult(key={self.key!r}, measurement={self.measurement!r})"


class EnergyMonitor:
    """Named, overlapping energy windows over a power sampler whose lifetime the ``with`` block owns.

    ``EnergyMonitor()`` samples every visible GPU through NVML (``gpus=[0, 1]`` picks some;
    :class:`~energylens.errors.NvmlUnavailableError` without NVML); pass ``sampler=`` to use a
    synthetic or replay sampler. ``sync=True`` (default) waits at each window edge for every GPU
    the process uses (each device with an active CUDA context, whichever runtime launched the work),
    so queued GPU work is counted in the window it was launched in; without a driver it is a no-op. ``wait=True`` (default)
    makes ``end_window`` wait (up to about two update periods) until the signals have readings past
    the window's end, instead of extrapolating.

    >>> with EnergyMonitor() as mon:                      # doctest: +SKIP
    ...     mon.begin_window("step")
    ...     run_step()
    ...     m = mon.end_window("step")                    # Measurement(energy_j=..., ...)
    """

    def __init__(self, sampler: PowerSampler | None = None, *, gpus: Sequence[int] | None = None,
                 sync: bool = True, wait: bool = True, kernels: bool = False) -> None:
        if sampler is not None and gpus is not None:
            raise ValueError("pass either sampler= or gpus=, not both")
        self._sampler = sampler
        self._gpus = gpus
        self.sync = bool(sync)
        self.wait = bool(wait)
        self._want_kernels = bool(kernels)
        self._tracer: Any = None
        self._kernels: list[Any] = []
        self._windows: dict[str, int] = {}
        self._entered = False
        self.result: SamplerResult | None = None

    # -- lifetime --
    def __enter__(self) -> EnergyMonitor:
        if self._entered:
            raise RuntimeError("EnergyMonitor is not reentrant")
        if self._sampler is None:
            self._sampler = PowerSampler.nvml(self._gpus)
        if self._want_kernels:
            self._tracer = KernelTracer()
            self._tracer.start()
        try:
            self._sampler.start()
        except BaseException:
            if self._tracer is not None:
                self._tracer.stop()
            raise
        self._entered = True
        # One poll of every source now, so that a window opened right away is bracketed by a
        # reading of each (the energy counter especially) instead of starting before the first one.
        try:
            self._sampler.flush()
        except BaseException:
            self.__exit__(*sys.exc_info())
            raise
        _MARKS.collect()
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self._entered = False
        self._windows.clear()
        try:
            if self._tracer is not None:
                self._kernels.append(self._tracer.stop())
        finally:
            if exc_type is None:
                self.result = self._sampler.stop()
            else:
                try:
                    self.result = self._sampler.stop()
                except Exception:  # noqa: BLE001 - keep the exception already propagating
                    pass

    @property
    def sampler(self) -> PowerSampler:
        if self._sampler is None:
            raise RuntimeError("the monitor has no sampler yet (enter its with block)")
        return self._sampler

    def _require_running(self) -> None:
        if not self._entered:
            raise RuntimeError("use EnergyMonitor inside its with block")

    # -- windows --
    @property
    def windows(self) -> tuple[str, ...]:
        """Keys of the windows now open."""
        return tuple(self._windows)

    def begin_window(self, key: str, *, sync: bool | None = None) -> None:
        """Open window ``key`` (ValueError if it is already open)."""
        self._require_running()
        if key in self._windows:
            raise ValueError(f"window {key!r} is already open; end or cancel it first")
        if self.sync if sync is None else sync:
            _core.synchronize_active_devices()
        self._windows[key] = steady_now_ns()

    def cancel_window(self, key: str) -> None:
        """Forget open window ``key`` (KeyError if it is not open)."""
        self._require_running()
        if key not in self._windows:
            raise KeyError(f"no open window {key!r} (open: {sorted(self._windows)})")
        del self._windows[key]

    def end_window(self, key: str, *, sync: bool | None = None) -> Measurement:
        """Close window ``key`` and return its :class:`Measurement` (KeyError if it is not open)."""
        self._require_running()
        if key not in self._windows:
            raise KeyError(f"no open window {key!r} (open: {sorted(self._windows)})")
        if self.sync if sync is None else sync:
            _core.synchronize_active_devices()
        end_ns = steady_now_ns()
        start_ns = self._windows.pop(key)
        return self._measure(key, start_ns, end_ns)

    @contextlib.contextmanager
    def window(self, key: str, *, sync: bool | None = None) -> Iterator[WindowResult]:
        """``with mon.window("step") as w: ...`` then ``w.measurement``; an exception inside the
        block cancels the window (nothing is measured) and propagates."""
        self.begin_window(key, sync=sync)
        result = WindowResult(key)
        try:
            yield result
        except BaseException:
            if key in self._windows:
                self.cancel_window(key)
            raise
        result.measurement = self.end_window(key, sync=sync)

    def measure(self, key: str, start_ns: int, end_ns: int) -> Measurement:
        """The Measurement of any span ``[start_ns, end_ns]`` of this run (e.g. between two marks)."""
        self._require_running()
        if end_ns < start_ns:
            raise ValueError("end_ns < start_ns")
        return self._measure(key, int(start_ns), int(end_ns))

    def _measure(self, key: str, start_ns: int, end_ns: int) -> Measurement:
        sampler = self.sampler
        periods = sampler.result().update_period_s
        if self.wait:
            self._wait_past(end_ns, periods)
        else:
            sampler.flush()
        samples = sampler.samples(collect=False)
        m = _measure(samples, sampler.gpu_count, key, start_ns, end_ns, periods)
        if m.short_window:
            warnings.warn(f"window {key!r} lasted {m.duration_s * 1e3:.2f} ms, shorter than the "
                          f"{m.source} update period ({m.update_period_s * 1e3:.1f} ms): energy_j is an "
                          "interpolated estimate", ShortWindowWarning, stacklevel=3)
        return m

    def _wait_past(self, end_ns: int, periods: Mapping[str, float]) -> None:
        """Flush until every GPU's power signal (and counter) has a reading at or after end_ns."""
        sampler = self.sampler
        finite = [p for p in periods.values() if p == p and p > 0]
        deadline = end_ns + int((2 * max(finite, default=0.1) + 0.05) * 1e9)
        first = True
        while True:
            # One read of every source (the counter included, now past end_ns), then only the fast
            # chain until its readings reach end_ns (the driver buffer lags by up to a period).
            sampler.flush(auxiliary=first)
            first = False
            s = sampler.samples(collect=False)
            if _covered(s, sampler.gpu_count, end_ns) or steady_now_ns() > deadline:
                return
            time.sleep(0.005)

    # -- trace --
    def trace(self) -> Any:
        """The run so far as a :class:`~energylens.measure.trace.Trace`: samples, the marks recorded since
        the monitor started, and kernel records when ``kernels=True``."""
        sampler = self.sampler
        start = sampler.start_ns
        mk = marks(start_ns=start) if start is not None else marks()
        kern = None
        if self._tracer is not None and self._entered:
            self._kernels.append(self._tracer.flush())
        if self._kernels:
            import pandas as pd

            kern = pd.concat(self._kernels, ignore_index=True)
        return sampler.to_trace(marks=mk, kernels=kern)


def _covered(s: dict[str, np.ndarray], gpu_count: int, end_ns: int) -> bool:
    """Every GPU has a power reading (from whichever source is alive) and, where a counter is
    recorded, a counter reading at or after end_ns."""
    if s["t_ns"].size == 0:
        return False
    late = s["t_ns"] >= end_ns
    power = np.isin(s["source"], _POWER_PREFERENCE) & np.isfinite(s["power_w"])
    counters = [c for c in _COUNTER_SOURCES if (s["source"] == c).any()]
    for g in range(gpu_count):
        here = late & (s["gpu"] == g)
        if not (here & power).any():
            return False
        for c in counters:
            if not (here & (s["source"] == c)).any():
                return False
    return True
