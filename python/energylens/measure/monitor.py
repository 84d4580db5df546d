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
here; they live in ``sampler``, ``marks``, ``integrate`` and ``signals``. So do ``Measurement`` and ``WindowResult``
(what a window measures: ``measurement``) and ``ShortWindowWarning`` / ``AveragedPowerWarning`` (the checks of a
window's figures: ``window_checks``), here until 2026-12-07; a Measurement pickled then loads.
"""

from __future__ import annotations

import contextlib
import sys
import time
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from energylens import _core
from energylens.errors import EnergyLensError
from energylens.measure.coverage import NotYetReadWarning, refuse_uncovered_gpu, warn_not_yet_read
from energylens.measure.gaps import hold_limits
from energylens.measure.integrate import (
    counter_covered,
    counter_energy_j,
    covered,
    integrate_window,
    window_energy_j,
)
from energylens.measure.kernels import KernelTracer
from energylens.measure.marks import collect_marks, mark, marks, marks_dropped, steady_now_ns
from energylens.measure.measurement import Measurement, WindowResult, measurement_of
from energylens.measure.sampler import Fallback, PowerSampler, SamplerResult, SourceInfo
from energylens.measure.sampler_options import flag
from energylens.measure.signals import SIGNAL_TO_SOURCE
from energylens.measure.window_checks import (
    AveragedPowerWarning,
    ShortWindowWarning,
    refuse_outside,
    steady_ns,
    warn_figures,
)

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


class OpenWindowWarning(UserWarning):
    """An EnergyMonitor ended (its ``with`` block left without an exception) with windows still open: not measured."""


class _Window:
    """The context manager of :meth:`EnergyMonitor.window`: a class, so that Python calls its ``__exit__`` from the
    user's frame and the window's warnings (``user_stacklevel``) point there, not into contextlib."""

    __slots__ = ("_mon", "_key", "_sync", "_result")

    def __init__(self, mon: EnergyMonitor, key: str, sync: bool | None) -> None:
        self._mon, self._key, self._sync, self._result = mon, key, sync, WindowResult(key)

    def __enter__(self) -> WindowResult:
        self._mon.begin_window(self._key, sync=self._sync)
        return self._result

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:  # cancelled: nothing measured; the exception propagates
            if self._key in self._mon.windows:
                self._mon.cancel_window(self._key)
            return
        self._result.measurement = self._mon.end_window(self._key, sync=self._sync)


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

    def window(self, key: str, *, sync: bool | None = None) -> _Window:
        """``with mon.window("step") as w: ...`` then ``w.measurement``; an exception inside the
        block cancels the window (nothing is measured) and propagates. The window opens when the block is entered.
        Its warnings point at the ``with`` line (until 2026-12-07 at contextlib's, the block a generator)."""
        return _Window(self, key, sync)

    def measure(self, key: str, start_ns: int, end_ns: int, *, recorded: bool = False) -> Measurement:
        """The Measurement of any span ``[start_ns, end_ns]`` of this run (e.g. between two marks), both on
        the steady clock of :func:`steady_now_ns` (``mark()`` times), and not in the future (of now, or of the last
        recorded sample: a trace replayed with ``rebase=False`` keeps its recording's times and marks).
        ``recorded=True``: from what has been recorded, without polling or waiting (also after the sampler
        failed: the stored error is not re-raised). ValueError for an end that is not a time (NaN, None, a
        string) and for a span that starts before the recorded power readings or ends after them."""
        self._require_running()
        start_ns, end_ns = steady_ns(key, "start_ns", start_ns), steady_ns(key, "end_ns", end_ns)
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
        m = measurement_of(key, start_ns, end_ns, integrate_window(samples, sampler.gpu_count, start_ns, end_ns,
                                                                  periods, hold_s=holds, name=f"window {key!r}"),
                           periods)
        if not m.source:
            refuse_outside(sampler, caller, key, start_ns, end_ns, m.counter_energy_j)
        refuse_uncovered_gpu(caller, key, start_ns, end_ns, samples, sampler.gpu_count, m.update_period_s)
        if not (recorded or self.wait or sampler.complete_at_start):  # (a NaN of a window closed before its readings)
            warn_not_yet_read(caller, key, start_ns, end_ns, m.energy_j, m.counter_energy_j_per_gpu, samples,
                              sampler.gpu_count, sampler.start_ns)
        warn_figures(m, holds)
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
