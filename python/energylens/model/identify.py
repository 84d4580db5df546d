"""Which parameters a fit's rows determine: the singular value decomposition of the fit's residual Jacobian at
the solution (docs/model.md section 5, "Identifiability").

A parameter every row depends on can still be undetermined: 13 rows of one model, GPU and TP that differ only in
batch size constrain a few combinations of the parameters, and the rest move together without changing any
prediction on those rows. Counting distinct configurations (:func:`energylens.model.domain.design_report`)
misses this; the Jacobian's rank does not. Its columns are scaled to unit length first (the parameters' units
differ by 1e6; Belsley, Kuh & Welsch's collinearity diagnostics), then a direction whose singular value is below
:data:`NEGLIGIBLE` of the largest is one the rows cannot see, and a parameter whose share of those directions
(the norm of its row of their right singular vectors) reaches :data:`LOADING` moves along them: not identified.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from energylens import _core, warning_sink
from energylens.errors import DegenerateFitWarning
from energylens.profiles.cells import Coded

__all__ = ["NEGLIGIBLE", "LOADING", "EXACT_RESIDUAL", "undetermined", "same_cost", "template_jacobian", "what_varies",
           "warn_undetermined"]

#: A singular value below this fraction of the largest is negligible: sqrt(machine epsilon). Below it the
#: Gauss-Newton matrix J^T J the fitter solves has a condition number past 1 / eps, so the fit's step along that
#: direction is set by rounding and damping, not by the measurements (a direction the data constrains, however
#: weakly, stays above it: the bundled and v3 fits' smallest are 0.04 and 0.05 of the largest).
NEGLIGIBLE = float(np.sqrt(np.finfo(np.float64).eps))
#: A parameter whose row of the negligible directions' right singular vectors has at least this norm moves
#: along them by at least 1 % of the (unit) undetermined combination: the data do not fix it.
LOADING = 0.01
#: A fit whose (relative or log) residuals are all below this fits its rows exactly, as far as any use can tell: two
#: such fits reach the same minimum whatever the ratio of their costs (rounding's: 1e-30 against 1e-24).
EXACT_RESIDUAL = 1e-10


def same_cost(cost: float, best: float, ftol: float, n_terms: int) -> bool:
    """Whether a fit of ``cost`` reached the minimum a fit of cost ``best`` did, as far as the fitter can tell: within
    its cost tolerance (``ftol`` x ``best``), or both below the cost of :data:`EXACT_RESIDUAL` on each of the
    ``n_terms`` residuals, where the tolerance is rounding's (a fit to data the formula reproduces exactly ends
    anywhere from 0 to 1e-23)."""
    return math.isfinite(cost) and cost <= max(best * (1.0 + ftol), 0.5 * n_terms * EXACT_RESIDUAL**2)


def undetermined(jac: np.ndarray, names: Sequence[str]) -> tuple[str, ...]:
    """The ``names`` (one per column of the residual Jacobian ``jac``, rows x parameters) that load on a
    negligible direction of the column-scaled Jacobian, in ``names`` order. Columns that are zero (no row
    depends on the parameter: :func:`energylens.model.domain.unexercised_params` says those) and non-finite
    Jacobians are left out (the fit reports those otherwise)."""
    if jac.size == 0 or not np.all(np.isfinite(jac)):
        return ()
    norms = np.sqrt(np.einsum("ij,ij->j", jac, jac))
    live = np.flatnonzero(norms > 0)
    if live.size < 2:  # (one exercised parameter: its column alone is full rank)
        return ()
    scaled = jac[:, live] / norms[live]
    if scaled.shape[0] < live.size:  # fewer rows than parameters: zero rows add the missing (null) directions
        scaled = np.vstack([scaled, np.zeros((live.size - scaled.shape[0], live.size))])
    _u, s, vt = np.linalg.svd(scaled, full_matrices=False)  # (full_matrices=True: 25 ms on 100 rows, not 80 us)
    null = vt[s < NEGLIGIBLE * s[0]] if s[0] > 0 else vt
    if not len(null):
        return ()
    loads = np.sqrt(np.einsum("ij,ij->j", null, null))
    moving = {int(live[k]) for k in np.flatnonzero(loads >= LOADING)}
    return tuple(n for j, n in enumerate(names) if j in moving)


def _aux_log_gradient(template: str, columns: list[np.ndarray], theta: np.ndarray, desc: Any,
                      rows: np.ndarray) -> np.ndarray:
    """d log(out2) / d theta on ``rows`` (the energy template's implied step time, which the native evaluation
    returns without a Jacobian): one-sided second-order differences, (-3 f(0) + 4 f(h) - f(2h)) / 2h, stepping
    inward from a bound; error O(h^2) ~ 1e-10 relative, far below :data:`NEGLIGIBLE`."""
    base = np.log(_core.evaluate(template, columns, theta, aux=True).out2[rows])
    out = np.empty((rows.size, theta.size))
    upper = np.asarray(desc.upper)  # (each read of the descriptor's bounds builds an array: once here)
    steps = 1e-5 * np.maximum(np.abs(theta), upper - np.asarray(desc.lower))
    steps[theta + 2 * steps > upper] *= -1
    for j, h in enumerate(steps.tolist()):
        p1, p2 = theta.copy(), theta.copy()
        p1[j] += h
        p2[j] += 2 * h
        f1 = np.log(_core.evaluate(template, columns, p1, aux=True).out2[rows])
        f2 = np.log(_core.evaluate(template, columns, p2, aux=True).out2[rows])
        out[:, j] = (-3 * base + 4 * f1 - f2) / (2 * h)
    return out


def template_jacobian(template: str, desc: Any, columns: list[np.ndarray], theta: np.ndarray,
                      targets: list[np.ndarray], mode: str, options: dict[str, Any]) -> np.ndarray:
    """The residual Jacobian of a template fit at ``theta``, as the native fitter forms it: per measured term,
    the output's gradient over the prediction (``residual='log'``) or over the measurement (relative), times the
    term's weight; ``mode`` the native target ('sum', 'sum_with_aux': the implied step time against TPOT with
    weight ``tpot_weight``, 'per_output')."""
    ev = _core.evaluate(template, columns, theta, jacobian=True)
    log = options.get("residual", "log") == "log"
    if mode == "per_output":
        parts = [(ev.jacobian0, ev.out0, targets[0]), (ev.jacobian1, ev.out1, targets[1])]
    else:
        parts = [(ev.jacobian0 + ev.jacobian1, ev.out0 + ev.out1, targets[0])]
    blocks = []
    for jac, pred, y in parts:
        m = np.isfinite(y)
        blocks.append(jac[m] / (pred[m] if log else y[m])[:, None])
    if mode == "sum_with_aux" and len(targets) > 1:
        rows = np.flatnonzero(np.isfinite(targets[1]))
        if rows.size:
            w = float(options.get("tpot_weight", 1.0))
            grad = w * _aux_log_gradient(template, columns, theta, desc, rows)
            if not log:  # d (out2 / y) = (out2 / y) d log out2
                grad *= (_core.evaluate(template, columns, theta, aux=True).out2[rows] / targets[1][rows])[:, None]
            blocks.append(grad)
    return np.vstack(blocks)


#: The columns a message names when all training rows share one value: the data that would determine more.
_AXES = (("model", "models"), ("gpu", "GPUs"), ("tp", "TP"), ("pp", "PP"), ("batch_size", "batch sizes"),
         ("input_tokens", "input lengths"), ("output_tokens", "output lengths"))


#: What a template fit without measured TPOT lacks: power and step time enter the energy as their product.
NO_TPOT = ("rows with a measured TPOT (tpot_s): energy alone sees each GPU's power times the step time, and the "
           "TPOT rows separate the two")


def what_varies(frame: Any, first: str = "") -> str:
    """What data would determine more parameters: ``first`` (e.g. :data:`NO_TPOT`) where given, then the axes on
    which every training row of ``frame`` has one value ("rows at other TP, other GPUs, ..."); where every axis
    varies, that the formula itself may leave them free."""
    fixed = [label for column, label in _AXES if column in frame and len(frame) and _one_value(frame[column])]
    if first:
        axes = "; and rows at other " + ", other ".join(fixed) + " (every training row has one value of each)"
        return first + (axes if fixed else "")
    if not fixed:  # (an expression's exp(g1 sqrt(g2 A + g3 B)): (g1, g2, g3) -> (c g1, g2 / c^2, g3 / c^2))
        return ("every configuration axis of the rows varies, so the freedom may be the formula's own (constants "
                "that enter only through a product or ratio, which no data separate: write one constant per "
                "combination); else rows that vary the configuration in other ways")
    return "rows at other " + ", other ".join(fixed) + " (every training row has one value of each)"


def _one_value(column: Any) -> bool:
    """Whether a frame's column (a pandas Series, or a light table's coded or numeric column) holds one value."""
    if isinstance(column, Coded):
        return len(np.unique(column.codes)) == 1
    return len(np.unique(np.asarray(column).astype(str))) == 1


def warn_undetermined(kind: str, names: Sequence[str], n_params: int, frame: Any, first: str = "",
                      stacklevel: int = 4) -> None:
    """DegenerateFitWarning naming the parameters the rows exercise but do not determine (:func:`undetermined`)
    and the data that would determine them (``first``: a remedy to name before the axes, :func:`what_varies`);
    ``stacklevel``: the frame the warning names, counted as warning_sink.warn_bounded counts (1: this function; 4:
    two frames above its caller)."""
    warning_sink.warn_bounded(
        f"{kind} fit: the {len(frame)} training rows do not determine {len(names)} of the {n_params} parameters: "
        f"{', '.join(names)} move together along directions of the fit's scaled Jacobian whose singular values are "
        f"below {NEGLIGIBLE:.1e} of the largest, without changing any prediction on these rows; their values are "
        "one of many that fit equally well and get no interval (predictions like the training rows are "
        f"unaffected). They are listed in unidentified_params. What would determine them: {what_varies(frame, first)}",
        DegenerateFitWarning, stacklevel=stacklevel)
