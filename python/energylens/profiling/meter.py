"""Power sources of a sweep and the :class:`Meter` backends measure spans with.

``--power-source``: ``nvml`` (the default: the unit's ``tp x pp x dp`` GPUs, the first that many the
process sees, through :class:`EnergyMonitor`; where NVML is absent, spans record time only and energy is
marked not measured, never invented), ``none`` (time
only), ``synthetic[:WATTS]`` (a known constant power per GPU, for tests) or ``replay:FILE`` (a saved
:class:`~energylens.trace.Trace`, replayed in real time). The source actually used is what every row
records in ``power_source``.
"""

from __future__ import annotations

import math
import os
import warnings
from dataclasses import dataclass
from typing import Any

from energylens import _core
from energylens.capabilities import capabilities
from energylens.errors import EnergyLensError, NvmlUnavailableError
from energylens.measure.monitor import EnergyMonitor, PowerSampler, ShortWindowWarning, steady_now_ns
from energylens.measure.trace import Trace
from energylens.profiles.limits import MIN_GPU_POWER_W

__all__ = ["Span", "Meter", "parse_power_source", "check_power_source", "make_sampler", "ordinal_mapping_problem",
           "asks_cuda_runtime", "visible_gpu_count"]


def parse_power_source(text: str) -> tuple[str, str]:
    """``"replay:run.parquet"`` -> ``("replay", "run.parquet")``; ValueError naming the choices."""
    kind, _, arg = text.partition(":")
    if kind not in ("nvml", "none", "synthetic", "replay"):
        raise ValueError(f"--power-source {text!r}: must be nvml, none, synthetic[:WATTS] or replay:FILE")
    if kind == "replay" and not arg:
        raise ValueError("--power-source replay needs a file: replay:FILE")
    if kind == "synthetic" and arg:
        try:
            watts = float(arg)
        except ValueError:
            raise ValueError(f"--power-source {text!r}: synthetic:WATTS needs a number") from None
        if not (watts > 0 and math.isfinite(watts)):  # (inf passed, and every unit failed on its timeline)
            raise ValueError(f"--power-source {text!r}: watts must be > 0 and finite, got {watts:g}")
        if watts < MIN_GPU_POWER_W:  # (the sweep ran, and fit refused every row asking whether it was in kW)
            raise ValueError(f"--power-source {text!r}: watts must be at least {MIN_GPU_POWER_W:g} per GPU, the profile "
                             f"schema's floor (no GPU serving a model draws less): energylens fit refuses rows of less")
    if kind in ("nvml", "none") and arg:
        raise ValueError(f"--power-source {text!r}: {kind} takes no argument")
    return kind, arg


def check_power_source(text: str) -> tuple[str, str]:
    """:func:`parse_power_source`, and for ``replay:FILE`` the file read as a trace with samples, so a sweep
    refuses a bad source before it writes a store whose every unit would fail (ValueError naming the file)."""
    kind, arg = parse_power_source(text)
    if kind == "replay":
        try:
            samples = Trace.load(arg).samples
        except (EnergyLensError, OSError) as e:
            raise ValueError(f"--power-source {text!r}: {e}") from None
        if len(samples) == 0:
            raise ValueError(f"--power-source {text!r}: the trace {arg} has no samples to replay")
    return kind, arg


def make_sampler(power_source: str, n_gpus: int = 1) -> tuple[PowerSampler | None, str]:
    """(sampler or None, the source label recorded in rows) for a unit on ``n_gpus`` GPUs (:func:`_nvml_sampler`)."""
    kind, arg = parse_power_source(power_source)
    if kind == "none":
        return None, "none"
    if kind == "synthetic":
        watts = float(arg) if arg else 300.0
        timeline = [([0.0], [watts])] * max(1, n_gpus)
        return PowerSampler.synthetic(timeline, update_period_s=0.01, averaging_window_s=0.01,
                                      buffer_period_s=0.005, buffer_poll_s=0.02), f"synthetic:{watts:g}"
    if kind == "replay":
        return PowerSampler.replay(arg, realtime=True), f"replay:{arg}"
    return _nvml_sampler(n_gpus)


def _nvml_sampler(n_gpus: int) -> tuple[PowerSampler | None, str]:
    """The unit's GPUs: the first ``n_gpus`` this process sees (CUDA_VISIBLE_DEVICES, mapped onto NVML by the
    native layer), which is where vLLM / torch put a unit. No NVML, or no GPU visible at all (e.g.
    ``CUDA_VISIBLE_DEVICES=""``): time only, the reason in the label. Fewer visible GPUs than the unit needs,
    or CUDA devices that cannot be named as NVML GPUs: ValueError saying so (the unit fails)."""
    n = max(1, n_gpus)
    try:
        try:
            visible = _core.nvml_gpus([])
        except ValueError as exc:  # nothing visible to this process: not present, like NVML absent
            if "no GPU to sample" not in str(exc):
                raise  # e.g. a MIG instance in CUDA_VISIBLE_DEVICES: the message says what to do
            return None, f"none (no GPU visible: CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES')!r})"
        if len(visible) < n:
            raise ValueError(f"the unit runs on {n} GPUs (tp x pp x dp) but this process sees {len(visible)} "
                             f"(CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES')!r})")
        problem = ordinal_mapping_problem(n)
        if problem:
            raise ValueError(problem)
        return PowerSampler.nvml(list(range(n))), "nvml"
    except NvmlUnavailableError as exc:
        return None, f"none (NVML unavailable: {str(exc).splitlines()[0]})"


def visible_gpu_count() -> int:
    """How many GPUs this process sees as NVML names them (``CUDA_VISIBLE_DEVICES`` applied): what a unit's sampler
    picks its ``tp x pp x dp`` GPUs from (:func:`_nvml_sampler`). 0 where none is visible; NvmlUnavailableError
    where NVML is absent."""
    try:
        return len(_core.nvml_gpus([]))
    except ValueError as exc:
        if "no GPU to sample" not in str(exc):
            raise
        return 0


def ordinal_mapping_problem(n_gpus: int) -> str:
    """Why the process's first ``n_gpus`` CUDA devices cannot be named as NVML GPUs here; ``""`` when they can.

    The native layer matches CUDA's devices to NVML's by UUID when the CUDA runtime answers. Otherwise it reads
    ``CUDA_VISIBLE_DEVICES`` (UUIDs: exact; integers: NVML's order, the PCI bus order), and integers (or no
    list) count in CUDA's order, which is the bus order with ``CUDA_DEVICE_ORDER=PCI_BUS_ID`` or where every GPU
    is one model (CUDA's default puts the fastest first); on a host of mixed GPUs it is not known. The CUDA
    runtime is asked last, on such a host only: asking initialises the CUDA driver in this process, and a
    child forked afterwards (vLLM's engine core) cannot use CUDA."""
    if os.environ.get("CUDA_DEVICE_ORDER", "") == "PCI_BUS_ID":
        return ""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    first = [t.strip() for t in visible.split(",")][:max(1, n_gpus)] if visible is not None else []
    if visible is not None and not any(t.isdigit() for t in first):
        return ""  # named by UUID (or nothing visible)
    names = sorted({g.name for g in _all_nvml_gpus()})
    if len(names) <= 1 or capabilities().cuda_devices > 0:
        return ""
    return (f"cannot tell which GPUs the unit runs on: this host mixes GPU models ({', '.join(names)}), "
            f"CUDA_VISIBLE_DEVICES={visible!r} counts in CUDA's order (fastest first unless "
            "CUDA_DEVICE_ORDER=PCI_BUS_ID), NVML in PCI bus order, and the CUDA runtime cannot be asked here; "
            "set CUDA_DEVICE_ORDER=PCI_BUS_ID or name the GPUs by UUID in CUDA_VISIBLE_DEVICES (nvidia-smi -L)")


def asks_cuda_runtime() -> bool:
    """Whether naming this process's GPUs for the NVML sampler asks the CUDA runtime, which initialises the CUDA
    driver here (a child forked afterwards cannot use CUDA): on a host of mixed GPU models without
    ``CUDA_DEVICE_ORDER=PCI_BUS_ID`` only (nvml_sources.cpp ``cuda_order_may_differ``; and
    :func:`ordinal_mapping_problem`, which asks for the device count there)."""
    if os.environ.get("CUDA_DEVICE_ORDER", "") == "PCI_BUS_ID":
        return False
    try:
        return len({g.name for g in _all_nvml_gpus()}) > 1
    except NvmlUnavailableError:
        return False


def _all_nvml_gpus() -> list[Any]:
    """Every GPU NVML sees, whatever CUDA_VISIBLE_DEVICES says (without the CUDA runtime)."""
    return list(_core.nvml_all_gpus())


@dataclass
class Span:
    """A measured span: ``duration_s`` always; ``energy_j`` (summed over GPUs) NaN when not measured."""

    key: str
    duration_s: float = math.nan
    energy_j: float = math.nan
    short_window: bool = False


class Meter:
    """Measures spans with an :class:`EnergyMonitor` when a sampler exists, else the steady clock.

    >>> with Meter(None) as m:                   # doctest: +SKIP
    ...     with m.span("prefill") as s: run()
    ...     s.duration_s, s.energy_j             # (0.12, nan)
    """

    def __init__(self, sampler: PowerSampler | None, label: str = "none") -> None:
        self._sampler = sampler
        self.label = label
        self._mon: EnergyMonitor | None = None
        #: windows (spans and :meth:`measure`) shorter than the power signal's update period; every
        #: backend's row records it as ``short_windows``
        self.short_windows = 0

    @property
    def measures_energy(self) -> bool:
        return self._sampler is not None

    def __enter__(self) -> Meter:
        if self._sampler is not None:
            self._mon = EnergyMonitor(self._sampler, sync=True)
            self._mon.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._mon is not None:
            self._mon.__exit__(*exc)
            self._mon = None

    def begin(self, key: str) -> _Open:
        if self._mon is not None:
            self._mon.begin_window(key)
        return _Open(self, key, steady_now_ns())

    def measure(self, key: str, start_ns: int, end_ns: int) -> Span:
        """A span given by its steady-clock ends (e.g. a steady-state window found afterwards)."""
        out = Span(key, duration_s=(end_ns - start_ns) / 1e9)
        if self._mon is not None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ShortWindowWarning)
                m = self._mon.measure(key, start_ns, end_ns)
            out.energy_j, out.short_window = m.energy_j, bool(m.short_window)
            self.short_windows += int(out.short_window)
        return out

    def span(self, key: str) -> _Open:
        """Context manager: ``with meter.span("x") as s: ...`` fills ``s`` (a :class:`Span`) on exit."""
        return self.begin(key)


class _Open:
    def __init__(self, meter: Meter, key: str, t0: int) -> None:
        self.meter, self.key, self.t0 = meter, key, t0
        self.result = Span(key)

    def end(self) -> Span:
        mon = self.meter._mon
        if mon is None:
            self.result.duration_s = (steady_now_ns() - self.t0) / 1e9
            return self.result
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ShortWindowWarning)
            m = mon.end_window(self.key)
        self.result.duration_s = m.duration_s
        self.result.energy_j = m.energy_j
        self.result.short_window = bool(m.short_window)
        self.meter.short_windows += int(m.short_window)
        return self.result

    def __enter__(self) -> Span:
        return self.result

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            if self.meter._mon is not None:
                self.meter._mon.cancel_window(self.key)
            return
        self.end()
