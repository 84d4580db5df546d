"""Fitting an expression model's constants (:meth:`energylens.model.expression.ExpressionEnergyModel.fit`):
the native bounded Levenberg-Marquardt from the expression's start values (those the expression is proportional
to at their best common scale, :func:`scaled_start`), the native parallel bootstrap,
the training residuals and ranges, the design diagnostics (distinct configurations of the features the
expression reads against its constants; constants no row depends on) and the warning naming training rows
where the fitted expression is not finite. The fitted state replaces the model's in one step.
"""

from __future__ import annotations

import functools
import math
import time
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from energylens import _core, warning_sink
from energylens.errors import DegenerateFitWarning
from energylens.model.compile import sp  # sympy, or the extra named
from energylens.model.configs import load_configs
from energylens.model.domain import DesignReport, FeatureTable, rows_where, training_ranges
from energylens.model.fit_options import BOOTSTRAP_PROGRESS
from energylens.model.fit_summary import FitSummary, fitted_gpu_rows
from energylens.model.identify import same_cost, undetermined, warn_undetermined
from energylens.model.persistence import data_hash
from energylens.outputs import plural

if TYPE_CHECKING:
    from energylens.model.expression import ExpressionEnergyModel

__all__ = ["fit_expression", "scaled_start"]

#: The native fit's cost tolerance (LeastSquaresOptions::ftol) where the options do not set one: fits from two starts
#: ending within it of each other found the same minimum, as far as the fitter can tell.
_FTOL = 1e-8


def _design(names: tuple[str, ...], columns: list[np.ndarray], y: np.ndarray, n_params: int) -> DesignReport:
    """Rows, distinct rows and distinct configurations of the features the expression reads (rows that differ
    only in a feature it does not read tell its constants nothing more): identifiable with more configurations
    than constants, as the template's (:func:`energylens.model.domain.design_report`)."""
    if not names:  # an expression of constants only: every row is one configuration
        return DesignReport(len(y), len(np.unique(y)), 1 if len(y) else 0, n_params)
    table = FeatureTable(names, columns)
    return DesignReport(len(y), table.n_distinct_rows([y]), table.n_distinct_configs, n_params)


def _warn_unfitted_rows(kind: str, pred: np.ndarray, log: bool, status: str, frame: pd.DataFrame) -> None:
    """DegenerateFitWarning naming the training rows where the fitted expression is not finite (or, under log
    residuals, not positive): the fit's cost is not finite there, so its constants fit nothing (the template's
    fit raises: :func:`energylens.model.domain.non_finite_fit_error`; an expression fit is kept, status and all)."""
    finite = np.isfinite(pred)
    bad = np.flatnonzero(~finite | (pred <= 0)) if log else np.flatnonzero(~finite)
    if not bad.size:
        return
    what = ("not finite or not positive (residual='log' takes the log of predicted / measured)"
            if log and finite[bad].any() else "not finite")
    warning_sink.warn(f"{kind}.fit: the fitted expression is {what} on {bad.size} of {len(pred)} training rows "
                      f"({rows_where(bad, frame)}); fit status {status}: its constants fit nothing there and save "
                      "refuses it: bound the constants or change the expression, then refit", DegenerateFitWarning,
                      stacklevel=3)


def _unidentified(model: ExpressionEnergyModel, columns: list[np.ndarray], theta: np.ndarray, y: np.ndarray,
                  identifiable: bool) -> tuple[np.ndarray, tuple[str, ...], tuple[str, ...]]:
    """The fitted expression's values at ``theta``, the constants the rows cannot identify there (no row depends on
    them, or they move along a direction of the fit's scaled residual Jacobian the rows do not see:
    :func:`energylens.model.identify.undetermined`), and the latter alone. The residual Jacobian is the fitter's:
    d pred / pred (log residuals) or / y, on the rows where the fitted expression is finite (and positive, for log)."""
    names = model.param_names
    pred = model.compiled.evaluate(columns, theta)
    jac = model.compiled.evaluate(columns, theta, jacobian=True)[1]  # (rows, constants)
    exercised = np.any(jac != 0, axis=0).tolist()
    moving: tuple[str, ...] = ()
    if identifiable:
        log = model.options["residual"] == "log"
        ok = np.isfinite(pred) & (pred > 0 if log else True)
        moving = tuple(n for n in undetermined(jac[ok] / (pred if log else y)[ok][:, None], names)
                       if n in names)
    unset = tuple(n for n, used in zip(names, exercised, strict=True) if not used or n in moving)
    return pred, unset, moving


@functools.lru_cache(maxsize=256)
def _proportional(expr: sp.Expr, names: tuple[str, ...]) -> tuple[bool, ...]:
    """Per constant: does ``expr`` read it linearly (its second derivative is 0)? The candidates of the
    constants it is proportional to (:func:`scaled_start` checks the proportionality on the rows). Cached: SymPy's
    derivatives took ~2.7 ms of a 14 ms fit of five constants, and evaluate's splits refit one expression."""
    symbols = {s.name: s for s in expr.free_symbols}
    return tuple(n in symbols and sp.diff(expr, symbols[n], 2) == 0 for n in names)


def _cost(r: np.ndarray, loss: str, c: float) -> float:
    """The fit's cost of residuals ``r``: 0.5 c^2 sum rho((r / c)^2) (the native least squares' loss)."""
    z = (r / c) ** 2
    rho = z if loss == "linear" else 2.0 * (np.sqrt(1.0 + z) - 1.0) if loss == "soft_l1" else \
        np.where(z <= 1.0, z, 2.0 * np.sqrt(z) - 1.0)
    return float(0.5 * c * c * np.sum(rho))


def scaled_start(model: ExpressionEnergyModel, columns: list[np.ndarray], y: np.ndarray) -> np.ndarray:
    """The start of the fit: the expression's constants, those it is proportional to (each read linearly, and
    scaling them all by s scales every row's prediction by s: ``c0*x**c1 + c2``'s c0 and c2) times the s that
    minimises the cost along that ray (log residuals: s = exp(-mean log(predicted / measured)); relative:
    sum q / sum q^2, q = predicted / measured), where that lowers the cost by more than ftol (1e-8) of it; else
    the start as written. A start 1e6+ times off stopped the log-residual fit far from the optimum, "converged"
    (the constants crawled down under heavy damping; one crossed zero and a row's prediction near 0 held the
    rest); a start at the optimum (a refit) is kept bit for bit. A constant no row depends on (its derivative zero
    on every row at the start) is not scaled: the fit leaves it at its written value, the value it reports."""
    start = model.compiled.start
    linear = np.array(_proportional(model.expression, model.param_names), dtype=bool)
    if not linear.any():
        return start
    jac = model.compiled.evaluate(columns, start, jacobian=True)[1]
    linear &= np.any(jac != 0, axis=0)  # a constant no row depends on keeps its written value (c1 of c1*log(pp), pp = 1)
    if not linear.any():
        return start
    pred = model.compiled.evaluate(columns, start)
    q = pred / y
    log = model.options["residual"] == "log"
    if not (np.all(np.isfinite(q)) and (np.all(q > 0) if log else np.any(q != 0))):
        return start
    s = math.exp(-float(np.mean(np.log(q)))) if log else float(np.sum(q) / np.sum(q * q))
    scaled = np.where(linear, start * s, start)
    if not (math.isfinite(s) and s > 0 and np.all((model._lower <= scaled) & (scaled <= model._upper))):
        return start
    moved = model.compiled.evaluate(columns, scaled)
    if not np.allclose(moved, s * pred, rtol=1e-9, atol=0.0):  # (not proportional to them: c0*c1*x)
        return start
    loss, c = model.options["loss"], model.options["loss_scale"]
    residual = (lambda p: np.log(p / y)) if log else (lambda p: p / y - 1.0)
    before, after = _cost(residual(pred), loss, c), _cost(residual(moved), loss, c)
    return scaled if after < before * (1.0 - 1e-8) else start


def fit_expression(model: ExpressionEnergyModel, profiles: Any) -> ExpressionEnergyModel:
    """Refit ``model``'s constants on measured profiles (path or DataFrame, schema v1; ``energy_j`` finite and
    > 0, at least as many rows as constants) and return it, its state replaced in one step."""
    frame = load_configs(profiles, require_energy=True)
    y = np.asarray(frame["energy_j"], dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(y) | (y <= 0))
    if bad.size:
        raise ValueError(f"{type(model).__name__}.fit: energy_j must be finite and > 0; bad rows (0-based): "
                         f"{bad[:10].tolist()}")
    if not model.param_names:  # (the native "fit_expression: the expression has no constants to fit")
        raise ValueError(f"{type(model).__name__}.fit: {str(model.expression)!r} has no constant to fit: integers and "
                         "rationals stay fixed, floats are fitted constants; write one where a constant should be "
                         "fitted ('2.0*E_mem + 1.0', not '2*E_mem + 1') or name its symbols in params=; as written, "
                         "the model predicts without a fit")
    if len(y) < len(model.param_names):
        k = len(model.param_names)
        raise ValueError(f"{type(model).__name__}.fit: {plural(len(y), 'row')} for {k} constants; the fit needs at "
                         f"least {k} rows, and more distinct configurations than constants to identify them (fewer "
                         "constants, or more measured configurations)")
    columns = model._columns(frame)
    t0 = time.perf_counter()
    opts = model._native_options()
    start = scaled_start(model, columns, y)
    res = multi = _core.fit_expression(model.compiled.program, columns, y, start, model._lower, model._upper, opts)
    theta = np.asarray(res.params, dtype=np.float64)
    design = _design(model.feature_names, columns, y, len(model.param_names))
    pred, unset, moving = _unidentified(model, columns, theta, y, design.identifiable)
    # where along the directions the rows do not see: the unshifted start's (not rerun where that start won already)
    if moving and opts.get("n_starts", 1) > 1 and multi.best_start != 0:
        first = _core.fit_expression(model.compiled.program, columns, y, start, model._lower, model._upper,
                                     {**opts, "n_starts": 1})
        if same_cost(first.cost, res.cost, opts.get("ftol", _FTOL), len(y)):
            res, theta = first, np.asarray(first.params, dtype=np.float64)  # the summary describes these, not the winner's
            pred, unset, moving = _unidentified(model, columns, theta, y, design.identifiable)
    if moving:
        warn_undetermined(type(model).__name__, moving, len(model.param_names), frame, stacklevel=3)  # (its caller's)
    boot, boot_ok = None, 0
    if model.bootstrap_replicates > 0:
        boot_opts = {k: v for k, v in opts.items() if k not in ("n_starts", "start_spread")}
        report = BOOTSTRAP_PROGRESS.get()  # (a long bootstrap: stops on Ctrl-C, as the closed form's)
        boot, ok = _core.bootstrap_expression(model.compiled.program, columns, y, theta, model._lower,
                                              model._upper, model.bootstrap_replicates, boot_opts,
                                              None if report is None else functools.partial(report, type(model).__name__))
        keep = ok & np.all(np.isfinite(boot), axis=1)
        boot_ok = int(keep.sum())
        boot = boot[keep]
    residuals = pred / y - 1.0
    _warn_unfitted_rows(type(model).__name__, pred, model.options["residual"] == "log", str(res.status), frame)
    gpus, gpu_rows = fitted_gpu_rows(frame)
    summary = FitSummary(
        n_rows=len(frame), n_measurements=len(y), cost=float(res.cost), iterations=int(res.iterations),
        converged=bool(res.converged), status=str(res.status), starts=int(multi.starts),
        starts_converged=int(multi.starts_converged), train_mape=float(np.mean(np.abs(residuals))),
        bootstrap_replicates=model.bootstrap_replicates, bootstrap_converged=boot_ok,
        data_hash=data_hash(columns, [y]), fit_seconds=time.perf_counter() - t0,
        n_distinct_rows=design.n_distinct_rows, n_distinct_configs=design.n_distinct_configs,
        identifiable=design.identifiable, unidentified=unset, undetermined=moving, gpus=gpus,
        gpu_rows=gpu_rows)
    # the state in one step, under the GIL, as the template's fit: a refit stopped in its bootstrap left the
    # old constants without their refits, and a reader in another thread saw that (or a mix)
    vars(model).update(_theta=theta, _boot=boot, _residuals=residuals, summary=summary,
                      _ranges=training_ranges(model.feature_names, columns))
    return model
