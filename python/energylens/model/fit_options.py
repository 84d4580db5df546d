"""The fit options of :class:`energylens.model.base.ClosedFormModel` (``EnergyModel(...)``, ``LatencyModel(...)``),
checked when the model is made rather than at ``fit``: each must have the type and range it is used with, so
``bootstrap="200"`` or ``n_starts=2.7`` is an error naming the keyword, not a truncation or a message from
inside the fitter."""

from __future__ import annotations

import math
from contextvars import ContextVar
from typing import Any

import numpy as np

__all__ = ["checked_fit_options", "checked_bound_pair", "BOOTSTRAP_PROGRESS", "ENERGY_TPOT_WEIGHT"]

#: Weight of the log-TPOT residuals next to the log-energy residuals in EnergyModel's joint fit. The measured
#: TPOT pins the time scale that energy alone cannot tell from power (docs/model.md, identifiability). A lower
#: weight trades that for energy fit: 0.5 lifts v3 H100 Top-1 0.931 -> 0.943 and MAPE 0.155 -> 0.148 but
#: drops v2's unseen-batch transfer from Top-1 0.725 to 0.569 (docs/model.md, "Accuracy round 7"), so the
#: default stays 1; ``energylens fit --tpot-weight`` sets it.
ENERGY_TPOT_WEIGHT = 1.0

#: A callable(model_name, done, total) the native bootstrap calls with its finished refits about every 100 ms
#: and once at its end (``energylens fit`` sets it for a long fit); an exception it raises stops the fit.
BOOTSTRAP_PROGRESS: ContextVar[Any] = ContextVar("energylens_bootstrap_progress", default=None)


def _count(name: str, value: Any, low: int, high: int = 2**31 - 1) -> int:
    """A whole number (an int, or a float with no fraction) in [low, high]; booleans and strings refused."""
    ok = isinstance(value, (int, np.integer, float, np.floating)) and not isinstance(value, (bool, np.bool_))
    if not (ok and math.isfinite(value) and value == int(value) and low <= value <= high):
        raise ValueError(f"{name} must be a whole number in [{low}, {high}], got {value!r}")
    return int(value)


def _real(name: str, value: Any, *, positive: bool) -> float:
    """A finite number > 0 (``positive``) or >= 0; booleans and strings refused."""
    ok = isinstance(value, (int, np.integer, float, np.floating)) and not isinstance(value, (bool, np.bool_))
    if not (ok and math.isfinite(value) and (value > 0 if positive else value >= 0)):
        raise ValueError(f"{name} must be a finite number {'> 0' if positive else '>= 0'}, got {value!r}")
    return float(value)


def checked_fit_options(*, residual: str, loss: str, loss_scale: Any, n_starts: Any, start_spread: Any, seed: Any,
                        bootstrap: Any, max_iterations: Any, tpot_weight: Any) -> tuple[dict[str, Any], int]:
    """The fitter's option dict and the bootstrap replicate count; ValueError naming the first bad keyword."""
    if residual not in ("relative", "log"):
        raise ValueError(f"residual must be 'relative' or 'log', got {residual!r}")
    if loss not in ("linear", "soft_l1", "huber"):
        raise ValueError(f"loss must be 'linear', 'soft_l1' or 'huber', got {loss!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**63:
        raise ValueError(f"seed must be an integer in [0, 2**63), got {seed!r}")
    options = {"residual": residual, "loss": loss, "loss_scale": _real("loss_scale", loss_scale, positive=True),
               "n_starts": _count("n_starts", n_starts, 1), "start_spread": _real("start_spread", start_spread,
                                                                                   positive=False),
               "seed": int(seed), "max_iterations": _count("max_iterations", max_iterations, 1),
               "tpot_weight": _real("tpot_weight", tpot_weight, positive=False)}
    return options, _count("bootstrap", bootstrap, 0)


def checked_bound_pair(name: str, pair: Any) -> tuple[float, float]:
    """(lower, upper) of an expression model's constant ``name``'s bounds (None: unbounded on that side), checked where given: a pair of
    numbers, not NaN, lower <= upper, each leaving a finite value (the native fit refused lower > upper at fit
    with 'lower > upper for parameter 0'; (inf, inf) fitted inf; text and other shapes were Python's errors)."""
    if isinstance(pair, (str, bytes)) or not hasattr(pair, "__len__") or len(pair) != 2:
        raise ValueError(f"bounds of {name!r} = {pair!r} must be a pair (lower, upper) (None: unbounded)")
    sides = []
    for side, v, none in (("lower", pair[0], -math.inf), ("upper", pair[1], math.inf)):
        if v is not None and (isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.number))):
            raise ValueError(f"bounds of {name!r} = {pair!r}: the {side} bound must be a number (or None), not {v!r}")
        sides.append(none if v is None else float(v))
    lo, hi = sides
    if math.isnan(lo) or math.isnan(hi):
        raise ValueError(f"bounds of {name!r} = {pair!r}: each side must be a number, not NaN (None: unbounded)")
    if lo > hi or lo == math.inf or hi == -math.inf:
        raise ValueError(f"bounds of {name!r}: lower {lo} > upper {hi}" if lo > hi else
                         f"bounds of {name!r}: lower {lo}, upper {hi} leave the constant no finite value")
    return lo, hi
