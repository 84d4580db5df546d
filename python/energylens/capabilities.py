"""What this build and this machine can do (CUDA built in, CUDA devices, NVML), with reasons."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from energylens import _core

__all__ = ["Capabilities", "capabilities"]


@dataclass(frozen=True)
class Capabilities:
    """A snapshot of the native capabilities. Every "no" carries the loader's own reason.

    Attributes:
        cuda_built: the CUDA part was compiled into ``energylens._core``.
        cuda_devices: number of usable CUDA devices (0 without a GPU or driver).
        cuda_reason: why ``cuda_devices`` is 0 (the CUDA runtime's message); ``""`` otherwise.
        nvml_available: ``libnvidia-ml.so.1`` loaded with dlopen and ``nvmlInit`` succeeded.
        nvml_reason: why NVML is unavailable (the loader's message and the fix); ``""`` otherwise.
        cuda_runtime_version: CUDA runtime linked in, e.g. ``"13.0"``; ``""`` when not built.
        cuda_driver_version: CUDA version the driver supports, ``""`` without a driver.
        driver_version: NVIDIA driver version reported by NVML, ``""`` when NVML is unavailable.
        nvml_version: NVML library version, ``""`` when unavailable.
        compiler: compiler that built the native core.
        openmp_threads: threads the native evaluator and fitter use.
    """

    cuda_built: bool
    cuda_devices: int
    cuda_reason: str
    nvml_available: bool
    nvml_reason: str
    cuda_runtime_version: str
    cuda_driver_version: str
    driver_version: str
    nvml_version: str
    compiler: str
    openmp_threads: int

    def __str__(self) -> str:
        lines = [
            f"CUDA built in      : {'yes (runtime ' + self.cuda_runtime_version + ')' if self.cuda_built else 'no'}",
            f"CUDA devices       : {self.cuda_devices}"
            + (f"  ({self.cuda_reason})" if self.cuda_devices == 0 and self.cuda_reason else ""),
            f"NVML               : {'yes (driver ' + self.driver_version + ')' if self.nvml_available else 'no'}"
            + (f"  ({self.nvml_reason})" if not self.nvml_available else ""),
        ]
        return "\n".join(lines)


def _cuda_version(v: int) -> str:
    return f"{v // 1000}.{(v % 1000) // 10}" if v > 0 else ""


@functools.cache
def _probe() -> Capabilities:
    raw = _core.query_capabilities()
    return Capabilities(
        cuda_built=bool(raw["cuda_built"]),
        cuda_devices=int(raw["cuda_device_count"]),
        cuda_reason=str(raw["cuda_reason"]),
        nvml_available=bool(raw["nvml_available"]),
        nvml_reason=str(raw["nvml_reason"]),
        cuda_runtime_version=_cuda_version(int(raw["cuda_runtime_version"])),
        cuda_driver_version=_cuda_version(int(raw["cuda_driver_version"])),
        driver_version=str(raw["driver_version"]),
        nvml_version=str(raw["nvml_version"]),
        compiler=str(raw["compiler"]),
        openmp_threads=int(raw["openmp_max_threads"]),
    )


def capabilities(*, refresh: bool = False) -> Capabilities:
    """Probe CUDA and NVML once per process (``refresh=True`` probes again). Never raises."""
    if refresh:
        _probe.cache_clear()
    return _probe()
