"""The power sampler: a wrapper around the native sampler thread(s) and what it reports.

Build one with :meth:`PowerSampler.nvml` (driver sample buffer -> instant field -> ~1 s average as
the fallback chain, the slow energy counter on its own thread, DCGM optionally),
:meth:`PowerSampler.synthetic` (imitates NVML's update period and averaging window from a known power
timeline) or :meth:`PowerSampler.replay` (feeds a recorded :class:`~energylens.measure.trace.Trace`).
All three feed the same pipeline. :meth:`PowerSampler.samples` returns everything collected as NumPy
columns (``Trace`` source names); :meth:`PowerSampler.result` returns a :class:`SamplerResult`
(sources, fallbacks, update periods, drops) built from the native typed status
(``_core.SourceStatus``, ``_core.FallbackEvent``); it and its parts, :class:`SourceInfo` and :class:`Fallback`, are
defined in :mod:`energylens.measure.sampler_result` (importable from here).
"""

from __future__ import annotations

import math
import numbers
import os
import threading
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from energylens import _core
from energylens.errors import DcgmUnavailableError
from energylens.measure.integrate import INTERVAL_SOURCES
from energylens.measure.marks import steady_now_ns
from energylens.measure.sample_table import SampleTable
from energylens.measure.sampler_options import (
    chain_names,
    check_nvml_intervals,
    cpu_budget,
    flag,
    gpu_list,
    not_negative,
    seconds,
    synthetic_periods,
    synthetic_timeline,
)
from energylens.measure.sampler_result import Fallback, SamplerResult, SourceInfo
from energylens.measure.signals import SIGNAL_TO_SOURCE, SIGNALS, signal_ids, signal_sources, trace_source_of
from energylens.measure.trace import Trace, empty_kernels

__all__ = ["PowerSampler", "SamplerResult", "SourceInfo", "Fallback"]


def _finite(name: str, value: Any) -> float:
    """``value`` as a float; a ValueError naming ``name`` for NaN, inf, a string or a bool (NaN read 'cannot convert
    float NaN to integer' where it became nanoseconds)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return float(value)


def _read_only(a: np.ndarray) -> np.ndarray:
    view = a.view()
    view.flags.writeable = False
    return view


def _replay_rows(s: Any) -> tuple[np.ndarray, ...]:
    """``(t_ns, gpu, signal, power_w, energy_j)`` of a trace's samples for the native replay source. A row of a
    source whose power and energy are two signals (``synthetic``, ``replay``, ``dcgm``) that carries both is
    split into a power row and a counter row: replayed as one power row, its counter was never read (a ``replay``
    row with both read ``counter_energy_j`` NaN)."""
    t, gpu = s["t_ns"].to_numpy(np.int64), s["gpu"].to_numpy(np.int32)
    power, energy = s["power_w"].to_numpy(np.float64), s["energy_j"].to_numpy(np.float64)
    names = s["source"].astype(object).to_numpy()
    signal = signal_ids(names, power)
    counter = signal_ids(names, np.full(power.size, np.nan))
    both = np.isfinite(power) & np.isfinite(energy) & (counter != signal)
    if not both.any():
        return t, gpu, signal, power, energy
    nan = np.full(int(both.sum()), np.nan)
    return (np.concatenate([t, t[both]]), np.concatenate([gpu, gpu[both]]), np.concatenate([signal, counter[both]]),
            np.concatenate([power, nan]), np.concatenate([np.where(both, np.nan, energy), energy[both]]))


def _periods_from_rows(t: np.ndarray, gpu: np.ndarray, signal: np.ndarray, power: np.ndarray, energy: np.ndarray,
                       declared: Mapping[str, Any]) -> dict[str, float]:
    """The update period of each replayed source the trace's meta does not name (a null there stays unknown),
    read off its rows: the median spacing of an interval-mean source's readings (the driver buffer), else the median
    interval between changes of value on each GPU (a trace of raw polls, e.g. the shared H200 one polled every ~3 ms,
    shows each ~100 ms value ~30 times); a source with fewer than three changes on every GPU stays unknown."""
    names = signal_sources()
    found: dict[str, float] = {}
    for sig in np.unique(signal):  # in signal order: dcgm's power before its counter
        src = str(names[sig])
        if src in declared or src in found:
            continue
        mine = signal == sig
        v = power[mine] if SIGNALS[sig].quantity == "power" else energy[mine]
        ok = np.isfinite(v)
        tt, vv, gg = t[mine][ok], v[ok], gpu[mine][ok]
        order = np.lexsort((tt, gg))
        tt, vv, gg = tt[order], vv[order], gg[order]
        same = gg[1:] == gg[:-1]
        step = same if src in INTERVAL_SOURCES else same & (vv[1:] != vv[:-1])
        at, on = tt[1:][step], gg[1:][step]  # the first reading of each new value (or every reading)
        spacing = np.diff(at)[on[1:] == on[:-1]]
        spacing = spacing[spacing > 0]
        if spacing.size >= 2:
            found[src] = float(np.median(spacing)) * 1e-9
    return found


class PowerSampler:
    """The native power sampler (one C++ thread for the power chain, one per auxiliary source).

    Prefer the constructors :meth:`nvml`, :meth:`synthetic` and :meth:`replay`. ``start()``/``stop()``
    (or ``with``) control the threads; :meth:`samples` returns everything collected so far as NumPy
    arrays; :meth:`result` says which sources ran, their update periods and any fallback. An error
    on the sampling thread is re-raised here, on the caller's thread, by ``flush``/``samples``/``stop``.

    ``auxiliary_cpu_budget``: each auxiliary source (the energy counter: milliseconds per read on
    H100/H200) polls no more often than keeps its thread's CPU time within this fraction of one core
    (default 0.25 %); the interval it settled on is ``SourceInfo.poll_interval_s``. 0 disables it; a fraction
    in [0, 1] (5, meant as 5 %, is refused).
    """

    def __init__(self, chain: Sequence[Any], auxiliary: Sequence[Any] = (), *, interval_s: float | None = None,
                 ring_capacity: int = 1 << 16, auxiliary_cpu_budget: float = 0.0025, kind: str = "custom",
                 meta: Mapping[str, Any] | None = None) -> None:
        if interval_s is not None:  # (inf passed and overflowed converting to ns)
            interval_s = seconds("interval_s", interval_s)
        self._native = _core.PowerSampler(list(chain), list(auxiliary),
                                          int(round((interval_s or 0.0) * 1e9)), int(ring_capacity),
                                          auxiliary_cpu_budget=cpu_budget(auxiliary_cpu_budget))
        self.kind = kind
        self.meta: dict[str, Any] = dict(meta or {})
        self._table = SampleTable()
        self._lock = threading.Lock()  # windows may end on several Python threads
        self._t_start_ns: int | None = None
        self._t_stop_ns: int | None = None
        #: Every reading is delivered at the first poll (a replay with realtime=False): none arrives later.
        self.complete_at_start = False

    # -- constructors --
    @classmethod
    def nvml(cls, gpus: Sequence[int] | None = None, *, interval_s: float | None = None,
             buffer_poll_s: float = 0.1, energy_counter: bool = True, energy_interval_s: float = 0.1,
             dcgm: bool | str = False, chain: str | Sequence[str] = ("sample_buffer", "instant", "average"),
             ring_capacity: int = 1 << 16, auxiliary_cpu_budget: float = 0.0025) -> PowerSampler:
        """Sample the visible GPUs (``gpus``: indices among them; None: all) through NVML.

        ``chain``: power sources in fallback order. ``energy_counter``: read the energy counter on
        its own thread every ``energy_interval_s``. ``dcgm``: False (off), ``"auto"`` (when a host
        engine answers) or True (required: :class:`~energylens.errors.DcgmUnavailableError` if not).
        Raises :class:`~energylens.errors.NvmlUnavailableError` (with the fix) without NVML.
        """
        # every option checked before NVML loads (sampler_options: a mistake was hidden by NvmlUnavailableError)
        requested = gpu_list(gpus) or []
        chain = chain_names(chain, ("sample_buffer", "instant", "average"))
        interval_s, buffer_poll_s, energy_interval_s = check_nvml_intervals(interval_s, buffer_poll_s,
                                                                            energy_interval_s, chain)
        if dcgm not in (False, True, "auto"):
            raise ValueError(f"dcgm must be False, True or 'auto', got {dcgm!r}")
        energy_counter = flag("energy_counter", energy_counter)
        auxiliary_cpu_budget = cpu_budget(auxiliary_cpu_budget)
        info = _core.nvml_gpus(requested)  # raises NvmlUnavailableError with the fix
        poll_ns = int(round(buffer_poll_s * 1e9))
        sources = [_core.nvml_source(kind, requested, poll_ns) for kind in chain]
        aux = []
        if energy_counter:
            aux.append(_core.nvml_source("energy_counter", requested, int(round(energy_interval_s * 1e9))))
        dcgm_reason = ""
        if dcgm:
            try:
                aux.append(_core.nvml_source("dcgm", requested, int(round(energy_interval_s * 1e9))))
            except DcgmUnavailableError as exc:
                if dcgm is True:
                    raise
                dcgm_reason = str(exc)
        meta = {"gpus": [{"index": int(g.index), "uuid": g.uuid, "name": g.name} for g in info], "sampler": "nvml"}
        if interval_s is not None:  # a held value's row comes up to a poll after its 1 s hold (gaps.hold_limits)
            meta["poll_interval_s"] = float(interval_s)
        if dcgm_reason:
            meta["dcgm_unavailable"] = dcgm_reason
        return cls(sources, aux, interval_s=interval_s, ring_capacity=ring_capacity,
                   auxiliary_cpu_budget=auxiliary_cpu_budget, kind="nvml", meta=meta)

    @classmethod
    def synthetic(cls, timeline: Sequence[tuple[Sequence[float], Sequence[float]]], *,
                  update_period_s: float = 0.100, averaging_window_s: float = 0.025,
                  buffer_period_s: float = 0.020, buffer_poll_s: float = 0.100,
                  chain: str | Sequence[str] = ("sample_buffer", "instant"), energy_counter: bool = True,
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
        t_ns, power = synthetic_timeline(timeline)
        fails = {k: not_negative(f"fail_after_s[{k!r}]", _finite(f"fail_after_s[{k!r}]", v))
                 for k, v in (fail_after_s or {}).items()}
        update_period_s, averaging_window_s, buffer_period_s, buffer_poll_s = synthetic_periods(
            update_period_s, averaging_window_s, buffer_period_s, buffer_poll_s)
        energy_offset_j, energy_read_latency_s, energy_read_cpu_s = (_finite(k, v) for k, v in (
            ("energy_offset_j", energy_offset_j), ("energy_read_latency_s", energy_read_latency_s),
            ("energy_read_cpu_s", energy_read_cpu_s)))
        energy_read_latency_s = not_negative("energy_read_latency_s", energy_read_latency_s)
        energy_read_cpu_s = not_negative("energy_read_cpu_s", energy_read_cpu_s)
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

        sources = [make(s) for s in chain_names(chain, ("sample_buffer", "instant"))]
        aux = [make("energy_counter")] if flag("energy_counter", energy_counter) else []
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

        ``realtime``: samples appear as their time passes (``speed`` times faster: with ``rebase`` the trace
        then plays compressed, each sample stamped when it appears, power values kept and energy-counter
        readings divided by ``speed``, so power and counter agree on a window); otherwise all at
        the first poll. ``rebase``: shift times so the first sample lands at ``start()``; otherwise
        the recorded ``t_ns`` are kept. With ``realtime=False`` :meth:`start` returns once they are
        delivered, so ``samples()`` right after it holds the whole trace (it read 0 samples or all, by a race with
        the sampling thread). Update periods: the trace's ``meta["update_period_s"]``, those it does not
        name read off the rows (``meta["update_period_from_rows"]`` lists them), divided by ``speed`` when played
        compressed (``rebase`` and ``realtime``). Raises TypeError (neither a Trace nor a path), ValueError (a trace
        without samples, or a ``gpu`` column that is not 0 .. n-1), EnergyLensError (a saved trace that cannot
        be read: :meth:`Trace.load`).
        """
        where = "replay()"
        realtime, rebase, speed = flag("realtime", realtime), flag("rebase", rebase), _finite("speed", speed)
        if isinstance(trace, (str, os.PathLike)):
            where = f"replay({os.fspath(trace)!r})"  # (an empty file's error named no file)
            trace = Trace.load(trace)
        if not isinstance(trace, Trace):
            raise TypeError(f"replay() needs a Trace or a path, got {type(trace).__name__}")
        s = trace.samples
        if len(s) == 0:
            raise ValueError(f"{where}: the trace has no samples")
        gpus = np.unique(s["gpu"].to_numpy())
        if not np.array_equal(gpus, np.arange(len(gpus))):  # (gpu 2 alone replayed as 3 GPUs, 2 without readings)
            raise ValueError(f"{where}: the samples' gpu column holds {gpus[:10].tolist()}; it is the position "
                             "0..n-1 of each GPU in the trace (its device index belongs in meta['gpus'][i]['index'])")
        rows = _replay_rows(s)
        src = _core.replay_source(*rows, realtime, rebase, speed)
        meta = {k: v for k, v in trace.meta.items() if k not in ("created", "energylens_version")}
        meta["sampler"] = "replay"
        if trace.meta.get("sampler") is not None:  # how its point readings were recorded (gaps.hold_limits)
            meta["recorded_by"] = trace.meta.get("recorded_by", trace.meta["sampler"])
        declared = dict(trace.meta.get("update_period_s", {}))
        found = _periods_from_rows(*rows, declared)
        if found:
            meta["update_period_from_rows"] = sorted(found)
        # played compressed (rebase, realtime), its updates come `speed` times as often
        scale = float(speed) if realtime and rebase else 1.0
        meta["update_period_s"] = {k: v / scale if v is not None else None for k, v in {**declared, **found}.items()}
        out = cls([src], [], ring_capacity=ring_capacity, kind="replay", meta=meta)
        out.complete_at_start = not realtime
        return out

    # -- lifetime --
    def start(self) -> PowerSampler:
        """Start the sources (detecting update periods) and the threads. Returns self."""
        self._native.start()
        self._t_start_ns = int(self._native.start_ns)
        self._t_stop_ns = None
        if self.complete_at_start:  # a replay that delivers everything at its first poll: make that poll now
            self.flush()
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
        """True between :meth:`start` and :meth:`stop`."""
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

    def hold_auxiliary(self, hold: bool) -> None:
        """While held (``EnergyMonitor`` holds it while a window is open), auxiliary sources (the energy
        counter) are not backed off to their CPU budget beyond about one update period, so that window
        edges have counter reads within a period of them; holding wakes a backed-off reader at once."""
        self._native.hold_auxiliary(bool(hold))

    def _collect(self) -> None:
        d = self._native.drain()
        if d["t_ns"].size:
            with self._lock:
                self._table.add(d)

    @property
    def gpu_count(self) -> int:
        """How many GPUs the sampler reads."""
        return int(self._native.gpu_count)

    @property
    def start_ns(self) -> int | None:
        """Steady-clock ns at which sampling started (None before start)."""
        return self._t_start_ns

    def samples(self, *, collect: bool = True, check: bool = True) -> dict[str, np.ndarray]:
        """Every sample so far, sorted by time: ``t_ns`` int64, ``gpu`` int32, ``power_w``,
        ``energy_j`` (float64, NaN where absent), ``source`` (object: ``Trace`` source names).
        ``check=False``: collect without re-raising a sampling-thread error (what was recorded before it).
        The arrays are read-only views of the sampler's own table (copy one to change it): edited in place
        (``d["power_w"] /= 1000`` for a plot in kW), they changed every later window of the run (978.5 J read 0.98 J)."""
        if collect and self.running:
            if check:
                self._native.rethrow_if_failed()
            self._collect()
        with self._lock:
            merged = self._table.table()  # (grown in place, measure/sample_table.py)
            return {k: _read_only(v) for k, v in merged.items()}

    def result(self) -> SamplerResult:
        """Which sources ran, fallbacks, update periods, drops (any time)."""
        sources = tuple(SourceInfo.from_status(s) for s in self._native.sources())
        fallbacks = tuple(Fallback(t_ns=int(f.t_ns), from_source=f.from_source, to=f.to, reason=f.reason)
                          for f in self._native.fallbacks())
        update = {}
        for s in sources:
            src = trace_source_of(s.name)
            if s.started and src is not None and not math.isnan(s.update_period_s):
                update.setdefault(src, s.update_period_s)
        if self.kind == "replay":  # the trace's periods; a null one (not detected) is left out like a NaN above
            update = {k: float(v) for k, v in self.meta.get("update_period_s", {}).items() if v is not None} or update
        observed = {}
        for signal, ns in self._native.observed_period_ns().items():
            observed.setdefault(SIGNAL_TO_SOURCE[signal], ns * 1e-9)
        end = self._t_stop_ns if self._t_stop_ns is not None else steady_now_ns()
        with self._lock:  # (a merge on another thread moves rows from pending to the table)
            n = len(self._table)
        return SamplerResult(kind=self.kind, active_source=self._native.active_source, sources=sources,
                             fallbacks=fallbacks, dropped=int(self._native.dropped), samples=n,
                             update_period_s=update, observed_period_s=observed,
                             duration_s=(end - self._t_start_ns) * 1e-9 if self._t_start_ns else 0.0)

    def to_trace(self, *, marks: Mapping[str, Any] | None = None, kernels: Any = None,
                 meta: Mapping[str, Any] | None = None) -> Any:
        """The samples so far (plus ``marks`` and ``kernels`` tables) as a :class:`~energylens.measure.trace.Trace`."""
        s = self.samples(check=False)  # what was recorded, also after a failure (meta["fallbacks"] says why)
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
