"""What a fit returns besides its parameters: each parameter with unit, meaning, bounds and interval
(:class:`Param`), and how the fit went (:class:`FitSummary`)."""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from energylens.profiles.cells import codes
from energylens.profiles.gpu_table import gpu_table_name

__all__ = ["Param", "FitSummary", "param_table", "fitted_gpus", "fitted_gpu_rows"]


@dataclass(frozen=True)
class Param:
    """One fitted parameter: value, unit, meaning, bounds and its 90 % bootstrap interval.

    ``ci_low`` / ``ci_high`` are NaN where there is no interval: fewer than 10 bootstrap refits, or the
    parameter is not identified (``identified`` False: the training rows hold no more distinct
    configurations than the model has parameters, or no row depends on it), where the refits' spread would
    show a value the data cannot pin down as known exactly."""

    name: str
    value: float
    unit: str
    description: str
    lower: float
    upper: float
    ci_low: float = math.nan
    ci_high: float = math.nan
    #: False where the training rows cannot identify the parameter; its value is one of many that fit.
    identified: bool = True


@dataclass(frozen=True)
class FitSummary:
    """How a fit went. Non-convergence is reported here, not raised.

    Every field describes the parameters the fit returned: where a fit with directions the rows do not see was
    repeated from the unshifted start and that fit kept (docs/model.md section 5, "Uncertainty"), ``cost``,
    ``iterations``, ``converged``, ``status``, ``unidentified`` and ``undetermined`` are that fit's; ``starts`` and
    ``starts_converged`` count the multi-start's starts (the rerun is not one of them)."""

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
    #: Parameters the training rows cannot identify: no row depends on them (pp_bubble without a pp > 1 row; their
    #: value is the start value, not a measurement), or they are ``undetermined``. They get no interval. Empty in
    #: files written before it was recorded.
    unidentified: tuple[str, ...] = ()
    #: Of ``unidentified``, those rows do depend on but cannot determine: they load on a direction of the fit's
    #: scaled Jacobian whose singular value is negligible (:mod:`energylens.model.identify`), so they move together
    #: without changing a prediction on the rows. Their value is one of many that fit, not the start value. Empty
    #: in files written before it was recorded (2026-12-07).
    undetermined: tuple[str, ...] = ()
    #: The GPUs of the training rows (:func:`fitted_gpus`: the GPU table's names, sorted), so that a prediction for
    #: another GPU can be said to be one. Empty in files written before it was recorded (2026-12-07).
    gpus: tuple[str, ...] = ()
    #: The training rows the fit read on each of :attr:`gpus` (:func:`fitted_gpu_rows`), so that the intervals can
    #: tell a GPU with a few rows in the fit from one the fit is made of
    #: (:func:`energylens.model.intervals.few_row_scales`). Empty in files written before it was recorded (2026-12-07).
    gpu_rows: tuple[int, ...] = ()

    @property
    def n_duplicate_rows(self) -> int | None:
        """Rows that exactly copy another row (None when the file predates the count)."""
        return None if self.n_distinct_rows is None else self.n_rows - self.n_distinct_rows

    def unidentified_of(self, names: Sequence[str]) -> tuple[str, ...]:
        """Which of the fit's parameters ``names`` (in that order) the training rows cannot identify: all of them
        where the rows hold no more distinct configurations than parameters, else those no row depends on."""
        return tuple(names) if not self.identifiable else tuple(n for n in names if n in self.unidentified)


def param_table(desc: Any, theta: np.ndarray, boot: np.ndarray | None, unset: Sequence[str]) -> dict[str, Param]:
    """Each parameter of the template ``desc`` as a :class:`Param`: its 90 % interval from the bootstrap
    replicates ``boot`` (NaN with fewer than 10), NaN and ``identified=False`` for a name in ``unset``."""
    lo = hi = np.full(len(theta), math.nan)
    if boot is not None and len(boot) >= 10:
        lo, hi = np.quantile(boot, [0.05, 0.95], axis=0)
    return {name: Param(name, float(theta[j]), desc.param_units[j], desc.param_descriptions[j],
                        float(desc.lower[j]), float(desc.upper[j]),
                        *((math.nan, math.nan) if name in unset else (float(lo[j]), float(hi[j]))),
                        identified=name not in unset)
            for j, name in enumerate(desc.param_names)}


def fitted_gpus(frame: Any, rows: np.ndarray | None = None) -> tuple[str, ...]:
    """The distinct GPUs of the ``gpu`` column of a validated frame (or the light path's rows), as
    :func:`gpu_table_name` gives them, sorted; () without the column. ``rows``: a boolean mask of the rows to
    read (those the fit read: a latency model's rows with a finite ttft_s or tpot_s), None for every row."""
    return fitted_gpu_rows(frame, rows)[0]


def fitted_gpu_rows(frame: Any, rows: np.ndarray | None = None) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """:func:`fitted_gpus` and, per GPU, how many of the rows read are on it (spellings of one GPU added up)."""
    if "gpu" not in frame:
        return (), ()
    column = frame["gpu"]  # (a validated frame's gpu is never blank)
    code, values = codes(column)  # (a light-path Coded column gives its own codes)
    if rows is not None:
        code = code[np.asarray(rows)]
    per = np.bincount(code[code >= 0], minlength=len(values))
    counts: dict[str, int] = {}
    for k in np.flatnonzero(per):
        name = gpu_table_name(values[k])
        counts[name] = counts.get(name, 0) + int(per[k])
    names = tuple(sorted(counts))
    return names, tuple(counts[n] for n in names)
