"""The one exception hierarchy of energylens, and the warning classes that are not tied to one subpackage
(degenerate fits, extrapolation, interval levels, dropped marks, failed rows). Every warning class energylens
emits, these and the subpackages' own, is also ``energylens.<Name>`` (tests/test_warning_exports.py).

Native code raises typed C++ exceptions (``cpp/include/energylens/error.hpp``); the bindings map
each onto exactly one class here (``cpp/bindings/bind_errors.cpp``). Bad arguments are
``ValueError`` on both sides. ``tests/test_errors.py`` proves every mapping.
"""

from __future__ import annotations

import os
import sys
import warnings

__all__ = [
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
    "IntervalLevelWarning",
    "ExtrapolationWarning",
    "UnseenGpuWarning",
    "MarksDroppedWarning",
    "FailedRowsWarning",
    "NewerModelFileWarning",
    "UnitsWarning",
]  # and user_stacklevel(), the warnings' helper (not an exception class)


class EnergyLensError(RuntimeError):
    """Base class of every error energylens raises on purpose."""


class NvmlUnavailableError(EnergyLensError):
    """NVML (libnvidia-ml.so.1) could not be loaded or initialised; the message says how to fix it."""


class NvmlError(EnergyLensError):
    """An NVML call returned an error.

    Attributes:
        code: the NVML return code (``nvmlReturn_t``), e.g. 3 = NVML_ERROR_NOT_SUPPORTED.
        call: the NVML function that failed, e.g. ``"nvmlDeviceGetPowerUsage"``.
    """

    def __init__(self, message: str, code: int = -1, call: str = "") -> None:
        super().__init__(message)
        self.code = int(code)
        self.call = str(call)


class CudaUnavailableError(EnergyLensError):
    """CUDA was not built in, or no usable CUDA device / driver is present."""


class CuptiUnavailableError(EnergyLensError):
    """CUPTI (libcupti.so) could not be loaded; kernel timestamps need it."""


class DcgmUnavailableError(EnergyLensError):
    """DCGM (libdcgm.so) could not be loaded or no host engine answered."""


class SamplerError(EnergyLensError):
    """The power sampler's thread failed; the original error is in the message."""


class ModelFileError(EnergyLensError):
    """A saved model file is missing, malformed, or of an unsupported version."""


class OutputError(EnergyLensError):
    """An output could not be written, or would overwrite an input; the message names the path."""
class MissingExtraError(EnergyLensError, ImportError):
    """An optional dependency is not installed; the message names the ``pip install "energylens[...]"``
    that brings it (raised by :func:`energylens.extras.require`)."""


class ProfileSchemaError(EnergyLensError, ValueError):
    """A profile table violates schema v1 (docs/profile-schema.md).

    Attributes:
        source: the file (or ``"<DataFrame>"``) that was read.
        column: the offending column, or ``None`` when the problem is not column-specific.
        rows: zero-based data-row numbers of the offending rows (at most the first 20 are kept in
            the message; all are kept here).
    """

    def __init__(self, message: str, source: str = "", column: str | None = None,
                 rows: list[int] | None = None) -> None:
        super().__init__(message)
        self.source = source
        self.column = column
        self.rows = [] if rows is None else [int(r) for r in rows]  # a list or an array of rows


class UnknownGpuError(EnergyLensError, KeyError, ValueError):
    """A GPU name matched no entry of the GPU table; the message lists close matches. A KeyError (a lookup)
    and a ValueError (a profile's ``gpu`` column holds a bad value), so either ``except`` catches it."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class UnknownModelError(EnergyLensError, KeyError):
    """A model name matched no entry of the model table (only raised where estimation is off)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class IntervalsUnavailableError(EnergyLensError, ValueError):
    """Prediction intervals cannot be given: the model has no bootstrap replicates, or its training data
    could not identify the parameters (an interval would collapse to a falsely precise zero width)."""


class UnitsWarning(UserWarning):
    """Numbers that look like another unit than the one energylens reads: a trace's power or energy readings
    implausibly large for one GPU (NVML's mW / mJ not divided by 1000; energylens.measure.units), or measured rows
    whose ``tpot_s`` / ``ttft_s`` / ``energy_j`` are ~1000x those of their model and GPU (ms among s, kJ among J;
    energylens.profiles.unit_mix). Defined here so that both layers raise the one class."""


class DegenerateFitWarning(UserWarning):
    """A fit's data duplicates rows or cannot identify the parameters (see energylens.model.domain)."""


class IntervalLevelWarning(UserWarning):
    """A prediction interval's level asks for tails finer than the bootstrap refits resolve: it may cover less
    than its level (energylens.model.intervals.replicates_note)."""


class ExtrapolationWarning(UserWarning):
    """Rows to predict lie outside the fitted data's range by more than the stated factor."""


class UnseenGpuWarning(ExtrapolationWarning):
    """Rows to predict are on a GPU the model was not fitted on (energylens.model.gpu_domain): an extrapolation
    through the GPU's specification, however close it lies to the fitted GPUs'."""


class MarksDroppedWarning(UserWarning):
    """The native mark log was full between two collections and dropped marks (energylens.measure.marks)."""


class FailedRowsWarning(UserWarning):
    """A profiling-sweep store holds units that failed: their rows carry no measurement and are not read
    (energylens.profiles.store_dir)."""


class NewerModelFileWarning(UserWarning):
    """A model file was written by a newer energylens than the one installed: it loads (its file format is one
    this version reads), but the tables and fixes it was fitted with may not be this version's
    (energylens.model.persistence)."""


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep
#: The standard library's directory (os.py's), and where installed packages may sit inside it (a system Python's).
_STDLIB_DIR = os.path.dirname(os.path.abspath(os.__file__)) + os.sep
_INSTALLED = (os.sep + "site-packages" + os.sep, os.sep + "dist-packages" + os.sep)


def _is_stdlib(filename: str) -> bool:
    """Whether code of ``filename`` (a frame's ``co_filename``) is the standard library's: contextlib, functools,
    importlib's frozen modules ..., not an installed package."""
    if filename.startswith("<frozen "):
        return True
    path = os.path.abspath(filename)
    return path.startswith(_STDLIB_DIR) and not any(d in path for d in _INSTALLED)


def user_stacklevel() -> int:
    """The ``stacklevel`` for ``warnings.warn`` that points at the caller's own code: the first frame
    outside the energylens package, however deep the call came (call it in the ``warn`` call itself), past the
    standard library's frames between the package and that code (contextlib's ``__enter__`` / ``__exit__`` of a
    generator context manager, an ExitStack: until 2026-12-07 such a warning named contextlib.py). Where only the
    standard library calls the package (a thread's or executor's run), the first frame outside the package."""
    frame = sys._getframe(1)  # the function that calls warnings.warn: stacklevel 1
    level = 1
    outside = None  # the level of the first frame outside the package
    while frame is not None:
        filename = frame.f_code.co_filename
        if not os.path.abspath(filename).startswith(_PACKAGE_DIR):
            if outside is None:
                outside = level
            if not _is_stdlib(filename):
                return level
        frame = frame.f_back
        level += 1
    return level if outside is None else outside


def renamed_attribute(cls_name: str, old: str, new: str) -> property:
    """A read-only ``old`` attribute that returns ``self.<new>`` and emits a DeprecationWarning naming ``new``:
    public names that gained their unit (docs/STYLE.md "Names") keep working under the old spelling."""

    def getter(self):
        warnings.warn(f"{cls_name}.{old} is deprecated; use {cls_name}.{new} (the same value)", DeprecationWarning,
                      stacklevel=user_stacklevel())
        return getattr(self, new)

    getter.__doc__ = f"Deprecated alias of ``{new}`` (reading it warns)."
    return property(getter)


def renamed_argument(where: str, old: str, new: str, old_value, new_value):
    """The value of a keyword renamed to carry its unit: ``new_value``, or ``old_value`` with a DeprecationWarning
    naming ``new`` when only the old keyword was given (``None``: not given); TypeError when both were."""
    if old_value is None:
        return new_value
    if new_value is not None:
        raise TypeError(f"{where}: pass {new}= or {old}=, not both ({old} is the deprecated name of {new})")
    warnings.warn(f"{where}: {old} is deprecated; use {new} (the same value)", DeprecationWarning,
                  stacklevel=user_stacklevel())
    return old_value
