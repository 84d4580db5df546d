"""Measure: the native power sampler and its sources (NVML, DCGM, synthetic, replay), marks, the energy
monitor and its windows, traces (record / replay), CUPTI kernels and energy attribution below NVML's
update period.

Modules, one concept each: ``marks``, ``signals`` (naming), ``sampler`` (``PowerSampler``),
``integrate`` (window energy) with ``gaps`` (holes in the driver buffer) and ``ties`` (readings at one time),
``monitor`` (``EnergyMonitor``, ``Measurement``), ``kernels`` (CUPTI, stream marks), ``trace`` and ``synthetic``
(the format; the synthetic NVML world),
``attribution`` with ``attribution_design`` and ``attribution_reference``.

Stands alone: imports nothing from :mod:`energylens.profiles`, :mod:`energylens.model` or
:mod:`energylens.compare`; only numpy, pandas, :mod:`energylens.errors` and the native core.
"""

from energylens.measure.attribution import Attribution, PhaseAttribution, attribute, attribute_phases
from energylens.measure.marks import mark
from energylens.measure.monitor import EnergyMonitor, Measurement
from energylens.measure.sampler import PowerSampler
from energylens.measure.trace import Trace, synthetic_trace

__all__ = ["EnergyMonitor", "Measurement", "PowerSampler", "mark", "Trace", "synthetic_trace", "attribute",
           "attribute_phases", "Attribution", "PhaseAttribution"]
