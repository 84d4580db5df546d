"""What a fit of the closed-form models reports: :class:`Param` (one fitted parameter with its bootstrap
interval) and :class:`FitSummary` (how the fit went). Plain frozen values, re-exported by
:mod:`energylens.model.closed_form`."""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["Param", "FitSummary"]


@dataclass(frozen=True)
class Param:
    """One fitted parameter: value, unit, meaning, bounds and its bootstrap interval."""

    name: str
    value: float
    unit: str
    description: str
    lower: float
    upper: float
    ci_low: float = math.nan
    ci_high: float = math.nan


@dataclass(frozen=True)
class FitSummary:
    """How a fit went. Non-convergence is reported here, not raised."""

    n_rows: int
    n_measurements: int
    cost: float
    iterations: int
    converged: bool
    status: str
    starts: int
    starts_converged: int
    train_mape: float
    bootstrap_replicates: int
    bootstrap_converged: int
    data_hash: str
    fit_seconds: float
