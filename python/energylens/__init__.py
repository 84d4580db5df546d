"""energylens: energy models and measurement for LLM serving configurations.

Public API (everything else is private):

- ``EnergyModel`` / ``LatencyModel``: the 12-parameter closed-form energy model (prefill + decode) and
  its latency companion: fit, predict, phases, intervals, save/load (docs/model.md).
- ``load_profiles``: read and validate profiles (schema v1, docs/profile-schema.md), from a frame, a file or
  store, or any data set a command takes (``"bundled"``, ML.ENERGY v2 / v3, Splitwise);
  ``energylens.profiles.datasets`` converts real data sets, the bundled ML.ENERGY v2 data among them;
  ``energylens.profiles.tables`` holds the GPU and model reference tables.
- ``EnergyMonitor``, ``PowerSampler``, ``mark``: native NVML power sampling, marks and energy windows;
  ``Trace``, ``attribute``: record/replay and energy attribution below NVML's update period
  (docs/measuring.md).
- ``energylens.compare``: the comparison with baselines on identical splits (docs/evaluation.md).
- ``search`` / ``SearchResult``: the energy-optimal deployment (GPUs, TP/PP/DP/EP, batch caps, precisions)
  under memory and latency limits, optionally for a request rate (docs/search.md).
- ``capabilities()`` (docs/doctor.md) and the exception hierarchy of ``energylens.errors``;
  ``energylens.extras`` says which optional extras (``compare``, ``symbolic``, ``sr``, ``demo``, ``profile``,
  ``ray``, ``test``) are installed and how to add one.

Heavy submodules (pandas, the sampler) load on first use, so ``import energylens`` stays fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from energylens.capabilities import Capabilities, capabilities
from energylens.errors import (
    CudaUnavailableError,
    CuptiUnavailableError,
    DcgmUnavailableError,
    DegenerateFitWarning,
    EnergyLensError,
    ExtrapolationWarning,
    IntervalsUnavailableError,
    MissingExtraError,
    ModelFileError,
    NvmlError,
    NvmlUnavailableError,
    OutputError,
    ProfileSchemaError,
    SamplerError,
    UnknownGpuError,
    UnknownModelError,
    UnseenGpuWarning,
)

# Public name -> the module that defines it (imported on first access).
_LAZY = {
    "EnergyModel": "energylens.model",
    "LatencyModel": "energylens.model",
    "Param": "energylens.model",
    "FitSummary": "energylens.model",
    "load_profiles": "energylens.profiles",
    "EnergyMonitor": "energylens.measure",
    "Measurement": "energylens.measure",
    "PowerSampler": "energylens.measure",
    "mark": "energylens.measure",
    "Trace": "energylens.measure",
    "synthetic_trace": "energylens.measure",
    "attribute": "energylens.measure",
    "attribute_phases": "energylens.measure",
    "Attribution": "energylens.measure",
    "PhaseAttribution": "energylens.measure",
    "evaluate_device": "energylens.model.device",
    "search": "energylens.search",
    "SearchResult": "energylens.search",
    # every warning class energylens emits, so ``warnings.filterwarnings(..., category=energylens.X)`` needs no
    # module path (tests/test_warning_exports.py finds them all); those of errors.py are imported above
    "IntervalLevelWarning": "energylens.errors",
    "MarksDroppedWarning": "energylens.errors",
    "FailedRowsWarning": "energylens.errors",
    "NewerModelFileWarning": "energylens.errors",
    "EstimatedArchitectureWarning": "energylens.profiles.tables",
    "DroppedRowsWarning": "energylens.profiles.schema",
    "AmbiguousPrecisionWarning": "energylens.profiles.bare_fp4",
    "DuplicateRowsWarning": "energylens.compare.splits",
    "ShortWindowWarning": "energylens.measure.monitor",
    "AveragedPowerWarning": "energylens.measure.monitor",
    "OpenWindowWarning": "energylens.measure.monitor",
    "NotYetReadWarning": "energylens.measure.coverage",
    "SampleGapWarning": "energylens.measure.integrate",
    "UnitsWarning": "energylens.errors",  # (defined there since the model's checks raise it too)
    "CounterWentBackWarning": "energylens.measure.integrate",
    "PowerCounterDisagreeWarning": "energylens.measure.integrate",
    "CounterTailWarning": "energylens.measure.counter_tail",
    "SameTimeReadingsWarning": "energylens.measure.ties",
    "AttributionWarning": "energylens.measure.attribution",
}

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from energylens.measure.attribution import Attribution, PhaseAttribution, attribute, attribute_phases
    from energylens.measure.monitor import EnergyMonitor, Measurement, PowerSampler, mark
    from energylens.measure.trace import Trace, synthetic_trace
    from energylens.model.closed_form import EnergyModel, LatencyModel
    from energylens.model.device import evaluate_device
    from energylens.model.fit_summary import FitSummary, Param
    from energylens.profiles.loading import load_profiles
    from energylens.search import SearchResult, search


def _installed_version() -> str:
    import importlib.metadata  # ~30 ms (the email parser): loaded when the version is asked for, not by every command

    try:
        return importlib.metadata.version("energylens")
    except importlib.metadata.PackageNotFoundError:  # running from a source tree that was never installed
        return "0.0.0+unknown"


def __getattr__(name: str) -> Any:
    if name == "__version__":
        globals()[name] = _installed_version()
        return globals()[name]
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'energylens' has no attribute {name!r}")
    package = importlib.import_module(module)
    # ``search`` is the subpackage itself, which is callable (energylens/search/__init__.py): binding the function
    # here shadowed the subpackage, and every later ``import energylens.search.api`` (or ``energylens.search.api``)
    # failed with "cannot import name 'api' from 'search'".
    value = package if module == f"{__name__}.{name}" else getattr(package, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY) | {"__version__"})


__all__ = [
    "__version__",
    "Capabilities",
    "capabilities",
    "EnergyModel",
    "LatencyModel",
    "Param",
    "FitSummary",
    "load_profiles",
    "EnergyMonitor",
    "Measurement",
    "PowerSampler",
    "mark",
    "Trace",
    "synthetic_trace",
    "attribute",
    "attribute_phases",
    "Attribution",
    "PhaseAttribution",
    "evaluate_device",
    "search",
    "SearchResult",
    "EnergyLensError",
    "NvmlUnavailableError",
    "NvmlError",
    "CudaUnavailableError",
    "CuptiUnavailableError",
    "DcgmUnavailableError",
    "ProfileSchemaError",
    "UnknownGpuError",
    "UnknownModelError",
    "SamplerError",
    "ModelFileError",
    "OutputError",
    "MissingExtraError",
    "IntervalsUnavailableError",
    "DegenerateFitWarning",
    "ExtrapolationWarning",
    "UnseenGpuWarning",
    "IntervalLevelWarning",
    "MarksDroppedWarning",
    "FailedRowsWarning",
    "NewerModelFileWarning",
    "EstimatedArchitectureWarning",
    "DroppedRowsWarning",
    "AmbiguousPrecisionWarning",
    "DuplicateRowsWarning",
    "ShortWindowWarning",
    "AveragedPowerWarning",
    "OpenWindowWarning",
    "NotYetReadWarning",
    "SampleGapWarning",
    "UnitsWarning",
    "CounterWentBackWarning",
    "PowerCounterDisagreeWarning",
    "CounterTailWarning",
    "SameTimeReadingsWarning",
    "AttributionWarning",
]
