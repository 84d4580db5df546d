"""Argument types shared by the command modules: each rejects a bad value at parse time with a message
that names the option's expectation (argparse prints it with the option name and exits 2)."""

from __future__ import annotations

import argparse
import math

__all__ = ["positive_int", "nonnegative_int", "seed", "positive_float", "level", "DEFAULTS"]

#: Defaults shared with the Python API (``EnergyModel(...)``), so the command line and the API agree.
DEFAULTS = {"n_starts": 3, "bootstrap": 200, "seed": 0, "level": 0.9}


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None


def _float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def positive_int(text: str) -> int:
    """An integer >= 1."""
    value = _int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def nonnegative_int(text: str) -> int:
    """An integer >= 0."""
    value = _int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def seed(text: str) -> int:
    """A random seed: an integer in [0, 2**63)."""
    value = nonnegative_int(text)
    if value >= 2**63:
        raise argparse.ArgumentTypeError(f"must be < 2**63, got {value}")
    return value


def positive_float(text: str) -> float:
    """A finite number > 0."""
    value = _float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def level(text: str) -> float:
    """A probability strictly between 0 and 1 (an interval level)."""
    value = _float(text)
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"must be strictly between 0 and 1 (e.g. 0.9), got {text}")
    return value
