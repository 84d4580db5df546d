"""Measure: the native power sampler and its sources (NVML, DCGM, synthetic, replay), marks, the energy
monitor and its windows, traces (record / replay), CUPTI kernels and energy attribution below NVML's
update period.

Modules, one concept each: ``marks``, ``signals`` (naming), ``sampler`` (``PowerSampler``) with
``sampler_options`` (its checks) and ``sampler_result`` (what it did), ``integrate`` (window energy) with
``gaps`` (holes in the driver buffer) and ``ties`` (readings at one time), ``monitor`` (``EnergyMonitor``)
with ``measurement`` (``Measurement``, what a window measures), ``window_checks`` (what its figures warrant) and
``coverage`` (every GPU read over a span), ``kernels`` (CUPTI, stream marks),
``trace`` (the ``Trace`` type) with ``trace_tables`` (its columns), ``trace_checks`` (its values and meta)
and ``trace_file`` (the Parquet file), ``synthetic`` (the synthetic NVML world), ``attribution`` with
``attribution_results`` (what it returns), ``attribution_design``, ``attribution_phases`` and
``attribution_reference``.

Stands alone: imports nothing from :mod:`energylens.profiles`, :mod:`energylens.model` or
:mod:`energylens.compare`; only numpy, pandas, :mod:`energylens.errors` and the native core.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# Public name -> the module that defines it, imported on first access: a submodule (``energylens.measure.marks``)
# loads this package first, and ``energylens monitor`` must start sampling before attribution's pandas loads.
_LAZY = {
    "EnergyMonitor": "monitor", "Measurement": "measurement", "PowerSampler": "sampler", "mark": "marks",
    "Trace": "trace", "synthetic_trace": "trace", "attribute": "attribution", "attribute_phases": "attribution",
    "Attribution": "attribution", "PhaseAttribution": "attribution",
}

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from energylens.measure.attribution import Attribution, PhaseAttribution, attribute, attribute_phases
    from energylens.measure.marks import mark
    from energylens.measure.measurement import Measurement
    from energylens.measure.monitor import EnergyMonitor
    from energylens.measure.sampler import PowerSampler
    from energylens.measure.trace import Trace, synthetic_trace

__all__ = ["EnergyMonitor", "Measurement", "PowerSampler", "mark", "Trace", "synthetic_trace", "attribute",
           "attribute_phases", "Attribution", "PhaseAttribution"]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
