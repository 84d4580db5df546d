"""Result types read back from pickles made by an earlier energylens: a field renamed since (``covariance`` ->
``covariance_w2``) is read under its new name, and a field the pickle lacks is an error naming it at load time;
:func:`load_pickle` reads pickles of the flat layout before 2026-12-01 (``energylens.trace``, ``energylens.monitor``,
``energylens.attribution``, ``energylens.kernels``: now under ``energylens.measure``), which ``pickle.load`` refuses
with ``ModuleNotFoundError: No module named 'energylens.trace'``.

A frozen dataclass unpickles by updating its ``__dict__`` from the pickled state, without ``__init__``: an
:class:`~energylens.measure.attribution.Attribution` pickled before 2026-12-06 loaded, then failed on first use
(``'Attribution' object has no attribute 'covariance_w2'``, also from ``.covariance`` and ``attribute_phases``).
"""

from __future__ import annotations

import dataclasses
import os
import pickle
from collections.abc import Callable, Mapping
from typing import IO, Any

from energylens.errors import EnergyLensError

__all__ = ["setstate_renaming", "load_pickle", "MOVED_MODULES"]

#: Modules of the flat layout (before 2026-12-01) and where their classes are now.
MOVED_MODULES = {f"energylens.{m}": f"energylens.measure.{m}" for m in ("trace", "monitor", "attribution", "kernels")}


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        return super().find_class(MOVED_MODULES.get(module, module), name)


def load_pickle(file: str | os.PathLike[str] | IO[bytes]) -> Any:
    """``pickle.load`` of ``file`` (a path or a binary file) that also reads energylens objects pickled before the
    measure subpackage existed (2026-12-01; :data:`MOVED_MODULES`). Only for pickles you trust, as ``pickle.load``."""
    if isinstance(file, (str, os.PathLike)):
        with open(file, "rb") as f:
            return _Unpickler(f).load()
    return _Unpickler(file).load()


def setstate_renaming(renamed: Mapping[str, str], remake: str) -> Callable[[Any, dict], None]:
    """A ``__setstate__`` for a frozen dataclass: the pickled state with its ``renamed`` (old -> new) keys under the
    new names; an EnergyLensError naming the class, the fields the state lacks (those without a default) and
    ``remake`` (how to make the object again) where any is missing."""

    def __setstate__(self: Any, state: dict) -> None:
        state = {renamed.get(k, k): v for k, v in state.items()}
        cls = type(self)
        missing = [f.name for f in dataclasses.fields(cls) if f.name not in state
                   and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
        if missing:
            raise EnergyLensError(
                f"cannot read this {cls.__name__} back: it was pickled by an earlier energylens, without the field(s) "
                f"{', '.join(missing)} that {cls.__name__} has now; {remake} (a pickle is not a stored format: "
                "keep the trace, Trace.save / Trace.load, and remake the results from it)")
        self.__dict__.update(state)

    return __setstate__
