"""Which symbolic-regression backend runs, and why (``auto``), without importing any backend: pyoperon is
the default; PySR (the paper's tool) runs only when it is installed *and* a Julia runtime is already present.
PySR's import pulls in juliacall, which downloads Julia when it finds none, so detection looks only for the
modules' specs and a Julia executable. Light (no SymPy): ``energylens doctor`` uses it.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from dataclasses import dataclass

from energylens.errors import EnergyLensError

__all__ = ["BackendUnavailable", "BackendChoice", "select_backend", "julia_executable", "JULIA_VARIABLES",
           "OPERON_INSTALL", "PYSR_INSTALL"]

OPERON_INSTALL = "pip install 'energylens[sr]'  (or: pip install pyoperon)"
PYSR_INSTALL = ("pip install pysr; PySR also needs Julia, installed apart from pip (julia on PATH, or its path in "
                "PYTHON_JULIAPKG_EXE): energylens does not let PySR download it")


class BackendUnavailable(EnergyLensError):
    """The requested symbolic-regression backend is not installed (the message says how to install it)."""


@dataclass(frozen=True)
class BackendChoice:
    """The backend that will run and why it was chosen."""

    name: str
    reason: str


#: Where a Julia executable is looked for, in this order (then ``julia`` on PATH): juliapkg's variable (what
#: juliacall >= 0.9, and so PySR 1.x, starts), juliacall's older one, and a generic one.
JULIA_VARIABLES = ("PYTHON_JULIAPKG_EXE", "PYTHON_JULIACALL_EXE", "JULIA_EXE")


def julia_executable() -> str | None:
    """A Julia already on this machine (PYTHON_JULIAPKG_EXE, PYTHON_JULIACALL_EXE, JULIA_EXE or ``julia`` on
    PATH), else None."""
    for var in JULIA_VARIABLES:
        path = os.environ.get(var)
        if path and os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return shutil.which("julia")


def _has(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def select_backend(name: str = "auto") -> BackendChoice:
    """``auto``: pyoperon when installed, else PySR when it and Julia are present; ``operon``/``pysr``:
    that one or :class:`BackendUnavailable` naming the install."""
    if name not in ("auto", "operon", "pysr"):
        raise ValueError(f"backend must be 'auto', 'operon' or 'pysr', got {name!r}")
    operon = _has("pyoperon")
    pysr, julia = _has("pysr"), julia_executable()
    if name == "operon" or (name == "auto" and operon):
        if not operon:
            raise BackendUnavailable(f"backend 'operon' needs pyoperon, which is not installed: {OPERON_INSTALL}")
        why = "requested" if name == "operon" else "auto: pyoperon is installed (the default backend)"
        return BackendChoice("operon", why)
    if not pysr:  # (asked for by name with operon installed, it did not say that operon would run without it)
        if name == "auto":  # (neither: it named PySR's install first and the default backend's as an afterthought)
            raise BackendUnavailable(f"no symbolic-regression backend is installed: the default, operon: "
                                     f"{OPERON_INSTALL}; or PySR: {PYSR_INSTALL}")
        hint = "; the default backend, operon (pyoperon), is installed: leave out --backend pysr" if operon else ""
        raise BackendUnavailable(f"backend 'pysr': PySR is not installed: {PYSR_INSTALL}{hint}")
    if julia is None:
        wrong = [f"{v} = {os.environ[v]!r} is not an executable file" for v in JULIA_VARIABLES if os.environ.get(v)]
        raise BackendUnavailable(
            f"backend '{name}': PySR is installed but no Julia runtime was found (julia on PATH, "
            f"{', '.join(JULIA_VARIABLES)}{'; ' + '; '.join(wrong) if wrong else ''}); energylens does not let "
            f"juliacall download one. Install Julia, or use the operon backend: {OPERON_INSTALL}")
    why = "requested" if name == "pysr" else f"auto: pyoperon is not installed; PySR and Julia ({julia}) are"
    return BackendChoice("pysr", why)
