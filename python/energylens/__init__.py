"""energylens: energy models and measurement for LLM serving configurations.

Public API (everything else is private):

- ``capabilities()``: what this build and machine can do (CUDA, NVML), with reasons.
- ``load_profiles()``: read and validate a profile table (schema v1, docs/profile-schema.md).
- ``datasets``: converters for real data sets, the bundled ML.ENERGY v2 data among them.
- ``tables``: GPU and model reference tables.
- the exception hierarchy in ``energylens.errors``.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from energylens.capabilities import Capabilities, capabilities
from energylens.errors import (
    CudaUnavailableError,
    CuptiUnavailableError,
    DcgmUnavailableError,
    EnergyLensError,
    ModelFileError,
    NvmlError,
    NvmlUnavailableError,
    ProfileSchemaError,
    SamplerError,
    UnknownGpuError,
    UnknownModelError,
)

try:
    __version__ = version("energylens")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

__all__ = [
    "__version__",
    "Capabilities",
    "capabilities",
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
]
