"""Checks of keyword arguments that more than one layer makes the same way, each a ValueError naming the
argument and the value.

A foundation module: imports nothing of energylens (``search`` and ``measure`` may not import each other, and
both check their boolean options with :func:`flag`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["flag"]


def flag(name: str, value: Any) -> bool:
    """``value`` as a bool; a ValueError naming ``name`` for anything but True / False (NumPy's included).
    ``"no"`` or 0 would read as a choice the user did not make: ``realtime="no"`` was truthy (the trace played
    in real time), ``rebase=None`` falsy."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return bool(value)
