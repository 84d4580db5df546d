"""What this build and this machine can do (CUDA built in, CUDA devices, NVML), with reasons."""

from __future__ import annotations

import dataclasses
import functools
import os
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
        nvml_reason: why NVML is unavailable (the loader's message and the fix), or, with
            ``nvml_available`` true, why a version call failed (the versions are then ``""``); ``""`` otherwise.
        cuda_runtime_version: CUDA runtime linked in, e.g. ``"13.0"``; ``""`` when not built.
        cuda_driver_version: CUDA version the driver supports, ``""`` without a driver.
        driver_version: NVIDIA driver version reported by NVML, ``""`` when NVML is unavailable.
        nvml_version: NVML library version, ``""`` when unavailable.
        compiler: compiler that built the native core.
        openmp_threads: threads the native loops (evaluator, fitter, bootstrap, search) use now: the cap of
            :func:`energylens.parallel.set_num_threads` / ``threads(n)``, else the CPUs this process may use
            (``OMP_NUM_THREADS`` lowers it). Read at each call, not at the first probe.
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

    def cuda_devices_note(self) -> str:
        """The CUDA device count and, for 0, why and the fix (``energylens doctor``'s row): no driver at all
        reads as that, and a driver NVML answers for whose libcuda.so.1 the runtime cannot load as that, not
        as the runtime's 'driver version is insufficient'; a set ``CUDA_VISIBLE_DEVICES`` is named."""
        if self.cuda_devices:
            return str(self.cuda_devices)
        if not self.cuda_built:
            return "0  <- the CUDA part is not built in (see CUDA built in)"
        if not self.cuda_driver_version and not self.nvml_available:
            return "0  <- no NVIDIA driver on this machine (the CUDA part needs one to run)"
        if not self.cuda_driver_version:  # NVML answers, so a driver is there; the runtime found no libcuda.so.1
            return (f"0  <- the NVIDIA driver {self.driver_version or '(version unknown)'} answers through NVML, "
                    "but the CUDA runtime cannot load its CUDA library libcuda.so.1 "
                    f"({self.cuda_reason.split(':')[0]}); install the driver's CUDA library (the same version) on "
                    "the loader path, or in a container give the driver's compute capability "
                    "(NVIDIA_DRIVER_CAPABILITIES=compute,utility)")
        if self.cuda_reason.startswith("cudaErrorInsufficientDriver") and (
                _version_key(self.cuda_driver_version) < _version_key(self.cuda_runtime_version)):
            return (f"0  <- the NVIDIA driver{' ' + self.driver_version if self.driver_version else ''} supports CUDA {self.cuda_driver_version}, "
                    f"older than this build's CUDA runtime {self.cuda_runtime_version} ({self.cuda_reason}); update "
                    f"the NVIDIA driver to one for CUDA {self.cuda_runtime_version}, or rebuild energylens with an "
                    f"nvcc of CUDA {self.cuda_driver_version} or older (ENERGYLENS_ENABLE_CUDA=OFF: CPU only)")
        visible = os.environ.get("CUDA_VISIBLE_DEVICES")
        if visible is not None:
            return (f"0  <- {self.cuda_reason} (CUDA_VISIBLE_DEVICES={visible!r} is set: it chooses the GPUs "
                    "CUDA sees; unset it to see them all)")
        return f"0  <- {self.cuda_reason}"

    def nvml_note(self) -> str:
        """``energylens doctor``'s NVML row: the library version, or why not."""
        if not self.nvml_available:
            return f"no  <- {self.nvml_reason}"
        if self.nvml_reason:  # loaded and initialised, but a version call failed
            return f"yes, library version unknown  <- {self.nvml_reason}"
        return f"yes, library {self.nvml_version}"

    def __str__(self) -> str:
        built = f"yes (runtime {self.cuda_runtime_version})" if self.cuda_built else f"no  <- {self.cuda_reason}"
        driver = f", driver {self.driver_version}" if self.driver_version else ""
        return "\n".join([
            f"CUDA built in      : {built}",
            f"CUDA devices       : {self.cuda_devices_note()}",
            f"NVML               : {self.nvml_note()}{driver}",
        ])


def _version_key(version: str) -> tuple[int, ...]:
    """``"12.8"`` -> ``(12, 8)`` for comparing CUDA versions (``()`` for ``""``)."""
    return tuple(int(part) for part in version.split(".") if part.isdigit())


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
        openmp_threads=int(_core.max_threads()),
    )


def capabilities(*, refresh: bool = False) -> Capabilities:
    """Probe CUDA and NVML once per process; later calls return the same snapshot (about a microsecond,
    so a scheduler may call it freely; ``openmp_threads`` is read at each call). ``refresh=True`` asks the
    native probe again, but NVML is loaded and initialised once per process: a driver installed after the
    first probe needs a new process. Never raises."""
    if refresh:
        _probe.cache_clear()
    snapshot = _probe()
    threads = int(_core.max_threads())  # a setting of this process, changeable at any time
    return snapshot if threads == snapshot.openmp_threads else dataclasses.replace(snapshot, openmp_threads=threads)
