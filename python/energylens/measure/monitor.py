"""The energy monitor: named, overlapping energy windows over a power sampler.

:class:`EnergyMonitor` owns a sampler (:mod:`energylens.measure.sampler`) for the length of its
``with`` block and measures windows: ``begin_window(key)`` / ``end_window(key) -> Measurement``,
``window(key)`` as a ``with`` block, ``measure(key, start_ns, end_ns)`` for any span of the run.

Energy of a window (:mod:`energylens.measure.integrate`): the integral of the finest power signal (driver buffer,
else instant, ...) over ``[begin, end]`` per GPU (``power_energy_j``) and the energy counter's interpolated difference
(``counter_energy_j``); ``energy_j`` is the counter's where the signal is not the driver buffer and the window is long
against the counter's uncertainty at its ends, else the signal's (``energy_source`` says which:
:mod:`energylens.measure.window_energy`). A window shorter than the signal's update period is flagged
``short_window=True`` (with a :class:`ShortWindowWarning`): ``energy_j`` is then an interpolated estimate.

Units are in every name: ``t_ns`` (int64 steady-clock ns), ``duration_s``, ``power_w``, ``energy_j``.

The pre-split names of this module (``PowerSampler``, ``SamplerResult``, ``SourceInfo``, ``Fallback``, ``mark``,
``marks``, ``steady_now_ns``, ``window_energy_j``, ``counter_energy_j``, ``SIGNAL_TO_SOURCE``) stay importable from
here; they live in ``sampler``, ``marks``, ``integrate`` and ``signals``.
"""

from __future__ import annotations

import contextlib
import math
import numbers
import sys
import time
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from energylens import _core
from energylens.errors import EnergyLensError
from energylens.measure.coverage import NotYetReadWarning, refuse_uncovered_gpu, warn_not_yet_read
from energylens.measure.gaps import hold_limits, source_label
from energylens.measure.integrate import (
    POWER_PREFERENCE,
    WindowEnergy,
    counter_covered,
    counter_energy_j,
    covered,
    integrate_window,
    window_energy_j,
)
from energylens.measure.kernels import KernelTracer
from energylens.measure.marks import collect_marks, mark, marks, marks_dropped, steady_now_ns
from energylens.measure.pickled import setstate_renaming
from energylens.measure.sampler import Fallback, PowerSampler, SamplerResult, SourceInfo
from energylens.measure.sampler_options import flag
from energylens.measure.signals import SIGNAL_TO_SOURCE

__all__ = [
    "EnergyMonitor",
    "Measurement",
    "WindowResult",
    "ShortWindowWarning",
    "AveragedPowerWarning",
    "OpenWindowWarning",
    "NotYetReadWarning",
    # re-exported (see the module docstring)
    "PowerSampler",
    "SamplerResult",
    "SourceInfo",
    "Fallback",
    "mark",
    "marks",
    "steady_now_ns",
    "window_energy_j",
    "counter_energy_j",
    "SIGNAL_TO_SOURCE",
]


_FUTURE_TOLERANCE_NS = 50_000_000  # how far past steady_now_ns() measure() accepts an end (other threads' reads)
_setstate = setstate_renaming({}, "measure its span again (EnergyMonitor.measure over the run's trace)")

class ShortWindowWarning(UserWarning):
    """A window was shorter than the update period of the power signal it was integrated from."""


class AveragedPowerWarning(UserWarning):
    """A window's ``energy_j`` was integrated from ``nvml_average`` (nvmlDeviceGetPowerUsage), a ~1 s moving average
    lagging every change of power (0.7 s across the H200 trace's load step: 178 J, the counter 455 J, the one to use)."""


class OpenWindowWarning(UserWarning):
    """An EnergyMonitor ended (its ``with`` block left without an exception) with windows still open: not measured."""


def _warn_averaged(m: Measurement) -> None:
    if "nvml_average" not in m.energy_source.split("+"):  # (energy_j the counter's: it is the figure to use)
        return
    counter = (f"the energy counter read {m.counter_energy_j:.1f} J (counter_energy_j), the figure to use"
               if math.isfinite(m.counter_energy_j) else "no energy counter brackets it")
    warnings.warn(f"window {m.key!r}: energy_j {m.energy_j:.1f} J over {m.duration_s:.2f} s was integrated from "
                  "nvml_average (nvmlDeviceGetPowerUsage), a ~1 s moving average that lags every change of power "
                  f"by up to ~1 s; {counter}", AveragedPowerWarning, stacklevel=4)


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


def _steady_ns(key: str, name: str, value: Any) -> int:
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


def _measurement(key: str, start_ns: int, end_ns: int, w: WindowEnergy,
                 periods: Mapping[str, float]) -> Measurement:
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


class EnergyMonitor:
    """Named, overlapping energy windows over a power sampler whose lifetime the ``with`` block owns.

    ``EnergyMonitor()`` samples every visible GPU through NVML (``gpus=[0, 1]`` picks some;
    :class:`~energylens.errors.NvmlUnavailableError` without NVML); pass ``sampler=`` to use a
    synthetic or replay sampler. ``sync=True`` (default) waits at each window edge for every GPU
    the process uses (each device with an active CUDA context, whichever runtime launched the work),
    so queued GPU work is counted in the window it was launched in; without a driver it is a no-op. ``wait=True`` (default)
    makes ``end_window`` wait (up to about two update periods) until the signals have readings past
    the window's end, instead of extrapolating; with ``wait=False`` a figure no reading past the end supports yet
    is NaN, named in a :class:`NotYetReadWarning`. ``kernels=True`` also records CUPTI kernel intervals for
    :meth:`trace` (CuptiUnavailableError on entering without CUPTI).

    Raises: ValueError (both ``sampler=`` and ``gpus=``); on entering the ``with`` block NvmlUnavailableError
    (no NVML; the message says how to fix it) or NvmlError (a failing NVML call), RuntimeError (entered twice);
    SamplerError (the sampling thread failed) from ``end_window`` / ``measure`` / leaving the block. Window
    methods outside the block raise RuntimeError. Each window returns a :class:`Measurement` (J, W, s, ns).

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
        self.sync = flag("sync", sync)  # (sync="no" was truthy)
        self.wait = flag("wait", wait)
        self._want_kernels = flag("kernels", kernels)
        self._tracer: Any = None
        self._kernels: list[Any] = []
        self._windows: dict[str, int] = {}
        self._entered = False
        self._marks_dropped_at_start = 0  # marks_dropped() when the run began
        self.result: SamplerResult | None = None

    # -- lifetime --
    def __enter__(self) -> EnergyMonitor:
        if self._entered:
            raise RuntimeError("EnergyMonitor is not reentrant")
        if self._sampler is None:
            self._sampler = PowerSampler.nvml(self._gpus)
        elif self._sampler.running:  # (it said "call stop()", which would end the run of whoever started it)
            raise EnergyLensError("EnergyMonitor: its sampler is already running (started by hand, or by another "
                                  "monitor): a monitor starts and stops the sampler it is given, one sampler per "
                                  "monitor; pass a sampler not started, or measure spans of that run with its monitor")
        if self._want_kernels:
            self._tracer = KernelTracer()
            self._tracer.start()
        self._marks_dropped_at_start = marks_dropped()
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
        collect_marks()
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self._entered = False
        now, left_open = steady_now_ns(), dict(self._windows)
        self._windows.clear()
        try:
            if self._tracer is not None:
                self._kernels.append(self._tracer.stop())
        finally:
            if exc_type is None:
                self.result = self._sampler.stop()
                if left_open:  # (dropped without a word; an exception or the sampler's error says why)
                    ages = ", ".join(f"{k!r} (open {(now - t) * 1e-9:.2f} s)" for k, t in left_open.items())
                    warnings.warn(f"EnergyMonitor ended with window(s) {ages} still open: not measured; end_window(key)"
                                  " before the block ends, or cancel_window(key)", OpenWindowWarning, stacklevel=2)
            else:
                try:
                    self.result = self._sampler.stop()
                except Exception:  # noqa: BLE001 - keep the exception already propagating
                    with contextlib.suppress(Exception):  # but keep what the sampler knows (why its sources died)
                        self.result = self._sampler.result()

    @property
    def sampler(self) -> PowerSampler:
        """The :class:`PowerSampler` in use (RuntimeError before the ``with`` block made one)."""
        if self._sampler is None:
            raise RuntimeError("the monitor has no sampler yet (enter its with block)")
        return self._sampler

    def _require_running(self) -> None:
        if not self._entered:
            raise RuntimeError("use EnergyMonitor inside its with block")

    def _sync_edge(self, caller: str, key: str, sync: Any) -> None:
        """Synchronise the devices at a window edge per ``sync`` (None: the monitor's); a ValueError for anything
        but True / False / None, checked before the window changes (sync="no" was truthy and synchronised)."""
        if sync is not None and not isinstance(sync, (bool, np.bool_)):
            raise ValueError(f"{caller}({key!r}): sync must be True, False or None (the monitor's), got {sync!r}")
        if self.sync if sync is None else sync:
            _core.synchronize_active_devices()

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
        self._sync_edge("begin_window", key, sync)
        self._windows[key] = steady_now_ns()
        self.sampler.hold_auxiliary(True)  # the counter read within ~1 update period of both edges

    def cancel_window(self, key: str) -> None:
        """Forget open window ``key`` (KeyError if it is not open)."""
        self._require_running()
        if key not in self._windows:
            raise KeyError(f"no open window {key!r} (open: {sorted(self._windows)})")
        del self._windows[key]
        if not self._windows:
            self.sampler.hold_auxiliary(False)

    def end_window(self, key: str, *, sync: bool | None = None) -> Measurement:
        """Close window ``key`` and return its :class:`Measurement` (KeyError if it is not open; ValueError, the
        window closed, when no power reading covers it: a replayed trace that had ended)."""
        self._require_running()
        if key not in self._windows:
            raise KeyError(f"no open window {key!r} (open: {sorted(self._windows)})")
        self._sync_edge("end_window", key, sync)
        end_ns = steady_now_ns()
        start_ns = self._windows.pop(key)
        try:
            return self._measure(key, start_ns, end_ns, caller="end_window")
        finally:  # released after the measurement: its wait reads the counter past end_ns at the held rate
            if not self._windows:
                self.sampler.hold_auxiliary(False)

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

    def measure(self, key: str, start_ns: int, end_ns: int, *, recorded: bool = False) -> Measurement:
        """The Measurement of any span ``[start_ns, end_ns]`` of this run (e.g. between two marks), both on
        the steady clock of :func:`steady_now_ns` (``mark()`` times), and not in the future (of now, or of the last
        recorded sample: a trace replayed with ``rebase=False`` keeps its recording's times and marks).
        ``recorded=True``: from what has been recorded, without polling or waiting (also after the sampler
        failed: the stored error is not re-raised). ValueError for an end that is not a time (NaN, None, a
        string) and for a span that starts before the recorded power readings or ends after them."""
        self._require_running()
        start_ns, end_ns = _steady_ns(key, "start_ns", start_ns), _steady_ns(key, "end_ns", end_ns)
        if end_ns < start_ns:
            raise ValueError(f"measure({key!r}): end_ns {end_ns} is before start_ns {start_ns}")
        now = steady_now_ns()
        recorded_ns = self.sampler.samples(collect=False, check=False)["t_ns"]
        # the span of a replayed trace (rebase=False) is on its recording's clock, which may be ahead of this one's
        if end_ns > max(now, int(recorded_ns[-1]) if recorded_ns.size else now) + _FUTURE_TOLERANCE_NS:
            wall = abs(end_ns - time.time_ns()) < 10 * 60 * 10**9
            raise ValueError(
                f"measure({key!r}): end_ns is {(end_ns - now) * 1e-9:.3g} s in the future of steady_now_ns(); "
                + ("it looks like a wall-clock time (time.time_ns()): " if wall else "")
                + "spans are steady-clock ns (steady_now_ns(), mark() times) that have already passed")
        return self._measure(key, start_ns, end_ns, recorded=recorded, caller="measure")

    def _refuse_outside(self, caller: str, key: str, start_ns: int, end_ns: int, counter_j: float) -> None:
        """A ValueError for a span that no power reading covers (NaN, source "", without a word until now): the
        recorded range, or that all power readings are NaN; nothing when none was recorded (the NaN stands)."""
        s = self.sampler.samples(collect=False, check=False)
        t, nan = s["t_ns"][np.isfinite(s["power_w"])], s["source"][np.isin(s["source"], POWER_PREFERENCE)]
        if not t.size and nan.size:
            raise ValueError(f"{caller}({key!r}): no power reading covers [{start_ns}, {end_ns}] ns: the {nan.size} "
                             f"power readings recorded ({', '.join(sorted(set(nan)))}) are all NaN (the GPU reported "
                             "no power, or the trace lost it)" + (f"; the energy counter read {counter_j:.1f} J over "
                                                                  "it" if math.isfinite(counter_j) else ""))
        if not t.size:
            return
        lo, hi = int(t.min()), int(t.max())  # (an end past them first: a start in the buffer's first interval is read)
        before, replay = start_ns < lo and end_ns <= hi, self.sampler.kind == "replay"
        hint = ("; a trace replayed with rebase=True (the default) was moved to begin at start(): measure between its "
                "own mark times with rebase=False" if before and replay else "" if before else
                "; the replayed trace's readings end there" if replay else
                "; the sampler was stopped (PowerSampler.stop) before the window ended" if not self.sampler.running
                else "; no power source read after that (SamplerResult.fallbacks says why)")
        where = "starts before" if before else "ends after"
        raise ValueError(f"{caller}({key!r}): no power reading covers [{start_ns}, {end_ns}] ns, which {where} the "
                         f"recording (power readings recorded from t_ns {lo} to {hi}){hint}")

    def window_start_ns(self, key: str) -> int:
        """When open window ``key`` began (steady-clock ns; KeyError if it is not open)."""
        if key not in self._windows:
            raise KeyError(f"no open window {key!r} (open: {sorted(self._windows)})")
        return self._windows[key]

    def _measure(self, key: str, start_ns: int, end_ns: int, recorded: bool = False,
                 caller: str = "measure") -> Measurement:
        sampler = self.sampler
        periods = sampler.result().update_period_s
        if recorded:
            samples = sampler.samples(check=False)
        else:
            if self.wait:
                self._wait_past(end_ns, periods)
            else:
                sampler.flush()
            samples = sampler.samples(collect=False)
        holds = hold_limits(sampler.meta)
        m = _measurement(key, start_ns, end_ns, integrate_window(samples, sampler.gpu_count, start_ns, end_ns, periods,
                                                                hold_s=holds,
                                                                name=f"window {key!r}"), periods)
        if not m.source:
            self._refuse_outside(caller, key, start_ns, end_ns, m.counter_energy_j)
        refuse_uncovered_gpu(caller, key, start_ns, end_ns, samples, sampler.gpu_count, m.update_period_s)
        if not (recorded or self.wait or sampler.complete_at_start):  # (a NaN of a window closed before its readings)
            warn_not_yet_read(caller, key, start_ns, end_ns, m.energy_j, m.counter_energy_j_per_gpu, samples,
                              sampler.gpu_count, sampler.start_ns)
        if m.short_window:
            warnings.warn(f"window {key!r} lasted {m.duration_s * 1e3:.2f} ms, shorter than the "
                          f"{'+'.join(source_label(x, holds) for x in m.source.split('+'))} update period ({m.update_period_s * 1e3:.1f} ms): energy_j is an "
                          "interpolated estimate", ShortWindowWarning, stacklevel=3)
        _warn_averaged(m)
        return m

    def _wait_past(self, end_ns: int, periods: Mapping[str, float]) -> None:
        """Flush until every GPU's power signal (and counter) has a reading at or after end_ns."""
        sampler = self.sampler
        counter_period = periods.get("nvml_energy") or periods.get("dcgm") or 0.1
        # (the counter's period, 0.1 s where not yet detected, counts: bounded by the driver buffer's 20 ms alone,
        # the wait gave up before the counter's next move, and a short run's window had no counter figure)
        finite = [p for p in [*periods.values(), counter_period] if p == p and p > 0]
        deadline = end_ns + int((2 * max(finite) + 0.05) * 1e9)
        forced_at = None
        while True:
            # One read of every source (the counter included, now past end_ns), then the fast chain until its
            # readings reach end_ns (the driver buffer lags by up to a period), and the counter again every half
            # period until a move stamped past end_ns is seen (a read right after end_ns is stamped before it
            # when the counter had moved before end_ns): its own thread may be backed off to a second or more.
            now = steady_now_ns()
            force = forced_at is None or (not counter_covered(sampler.samples(collect=False), sampler.gpu_count,
                                                              end_ns)
                                          and now - forced_at >= counter_period * 0.5e9)
            sampler.flush(auxiliary=force)
            forced_at = now if force else forced_at
            # (no table kept across the next flush: one still held makes the merge copy it, measure/sample_table.py)
            if covered(sampler.samples(collect=False), sampler.gpu_count, end_ns) or steady_now_ns() > deadline:
                return
            time.sleep(0.005)

    # -- trace --
    def trace(self) -> Any:
        """The run so far as a :class:`~energylens.measure.trace.Trace`: samples, the marks recorded since
        the monitor started, and kernel records when ``kernels=True``; ``meta`` counts the marks and kernel
        records that were lost (``marks_dropped``, ``kernels_dropped``) when any were."""
        sampler = self.sampler
        start = sampler.start_ns
        mk = marks(start_ns=start) if start is not None else marks()
        kern = None
        if self._tracer is not None and self._entered:
            self._kernels.append(self._tracer.flush())
        if self._kernels:
            import pandas as pd  # only here: `energylens monitor` samples before pandas loads

            kern = pd.concat(self._kernels, ignore_index=True)
        lost = marks_dropped() - self._marks_dropped_at_start
        meta = {"marks_dropped": lost} if lost else {}
        if self._tracer is not None and self._tracer.dropped:  # (attribute() warns: their busy time reads as idle)
            meta["kernels_dropped"] = int(self._tracer.dropped)
        return sampler.to_trace(marks=mk, kernels=kern, meta=meta or None)
