"""What a fit returns besides its parameters: each parameter with unit, meaning, bounds and interval
(:class:`Param`), and how the fit went (:class:`FitSummary`)."""
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
    #: Rows that are not exact copies of another row (features and targets): the intervals' sample size.
    #: None in files written before energylens recorded it.
    n_distinct_rows: int | None = None
    #: Distinct feature rows; the parameters are identifiable only with more of them than parameters.
    n_distinct_configs: int | None = None
    identifiable: bool = True
    #: Parameters no training row depends on (pp_bubble without a pp > 1 row): their value is the start
    #: value, not a measurement, and they get no interval. Empty in files written before it was recorded.
    unidentified: tuple[str, ...] = ()

    @property
    def n_duplicate_rows(self) -> int | None:
        """Rows that exactly copy another row (None when the file predates the count)."""
        return None if self.n_distinct_rows is None else self.n_rows - self.n_distinct_rows
