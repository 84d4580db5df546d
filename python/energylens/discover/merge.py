"""Rescaled duplicates on a discovery front: two of the backend's trees that are one expression up to its fitted
constants (``c1*x*y`` and ``(c1*x)*(c2*y)``, a factor outside a square root or inside it), or two expressions that
predict the same values on every row. Each took a place on the front and a row of the table; they are merged:
one stays, the others are listed (``DiscoveryResult.merged``).

Structure and fitted constants are told apart: :func:`shape` is an expression's form with every fitted constant
one placeholder, collapsed where constants only rescale (a product or sum of constants is one constant, a
constant factor of a power's base or of a log's argument, a constant term of an exp's argument, is one factor or
term outside it, and a factor beside a sum whose every term carries a constant goes into that sum). Two entries of one shape are one expression whatever their refits gave; entries of different
shapes are one only where their predictions agree on every row to :data:`SAME_RTOL`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import sympy as sp

from energylens.discover.result import FrontEntry

__all__ = ["shape", "same_predictions", "merge_duplicates", "SAME_RTOL"]

#: Predictions this close (relative, on every row) are the same. Refits of one family from different starts stop
#: this far apart: ``c0*E_mem + c1*pp + c2`` and ``c0*E_mem + c1`` where every row has pp = 1 differed by 1.4e-5,
#: a sum of two collinear squares and the one square it collapsed to (``--generations 200 --seed 1`` on the bundled
#: data, complexity 24 and 19) by 2.8e-5; 1e-4 moves a MAPE by at most 0.01 points, below the table's last digit.
SAME_RTOL = 1e-4

#: The placeholder of every fitted constant in a :func:`shape`.
CONSTANT = sp.Symbol("_fitted_constant_", real=True)


def _scalable(e: sp.Basic) -> bool:
    """Whether a constant factor of ``e`` can be taken into its own constants: a sum whose every term carries a
    constant (``c1*x + c2*y``, ``c*(x + y)`` is ``(c*x + c*y)``'s family), a power of one (``(c1*x + c2*y)**2``),
    a product holding a constant or one of those."""
    if e == CONSTANT:
        return True
    if isinstance(e, sp.Add):
        return all(_scalable(t) for t in e.args)
    if isinstance(e, sp.Mul):
        return any(_scalable(a) for a in e.args)
    return isinstance(e, sp.Pow) and not e.exp.free_symbols and _scalable(e.base)


def _flat(kind: type, args: list[sp.Basic]) -> list[sp.Basic]:
    return [b for a in args for b in (a.args if isinstance(a, kind) else (a,))]


def _collapse(e: sp.Basic, constants: frozenset) -> sp.Basic:
    """One pass of :func:`shape` over ``e``."""
    if not e.free_symbols:
        return e  # a fixed number (an exponent 2, a factor -1): not a constant the fit may change
    if e.free_symbols <= constants:
        return CONSTANT
    if not e.args:  # a variable
        return e
    args = [_collapse(a, constants) for a in e.args]
    if isinstance(e, (sp.Mul, sp.Add)):
        args = _flat(e.func, args)
        fixed = [a for a in args if not a.free_symbols or a == CONSTANT]
        rest = [a for a in args if a not in fixed]
        if isinstance(e, sp.Mul) and any(_scalable(a) for a in rest):
            return sp.Mul(*rest)  # c*x*(c1*y + c2*z), c*sqrt(c1*y + c2*z): the factor goes into the sum
        # c1*c2*x, -c*x, 2*c*x: one factor; c1 + c2 + 2: one term
        return e.func(CONSTANT, *rest) if CONSTANT in fixed else e.func(*args)
    if isinstance(e, sp.Pow) and not args[1].free_symbols and isinstance(args[0], sp.Mul) and CONSTANT in args[0].args:
        return CONSTANT * sp.Pow(args[0] / CONSTANT, args[1])  # (c*x)**k = c'*x**k
    if isinstance(e, sp.log) and isinstance(args[0], sp.Mul) and CONSTANT in args[0].args:
        return CONSTANT + sp.log(args[0] / CONSTANT)  # log(c*x) = c' + log(x)
    if isinstance(e, sp.exp) and isinstance(args[0], sp.Add) and CONSTANT in args[0].args:
        return CONSTANT * sp.exp(args[0] - CONSTANT)  # exp(c + x) = c'*exp(x)
    return e.func(*args)


def shape(pexpr: sp.Expr, constants: Mapping[str, float] | Sequence[str]) -> sp.Expr:
    """``pexpr``'s form up to its fitted constants (``constants``: their names, as :func:`parametrize` gives them):
    each a placeholder, merged where constants only rescale (see the module's docstring). Equal shapes are one
    expression up to its constants; the converse need not hold (``c*(x + y)`` and ``c*x + c*y`` differ)."""
    names = frozenset(sp.Symbol(n, real=True) for n in constants)
    out = sp.sympify(pexpr)
    for _ in range(8):  # a rebuilt node can offer another collapse (c*x + c*x -> 2*c*x -> c*x): to a fixed point
        out, before = _collapse(out, names | {CONSTANT}), out
        if out == before:
            break
    return out


def same_predictions(a: np.ndarray, b: np.ndarray, rtol: float = SAME_RTOL) -> bool:
    """Whether two entries predict the same value on every row (to ``rtol``, relative), every value finite."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return bool(a.shape == b.shape and np.all(np.isfinite(a)) and np.all(np.isfinite(b))
                and np.all(np.abs(a - b) <= rtol * np.maximum(np.abs(a), np.abs(b))))


def _why(same_form: bool, same_pred: bool, merged: FrontEntry, kept: FrontEntry) -> str:
    """Why ``merged`` went into ``kept``: of the same predictions the simpler stays, or the first of one complexity
    (said 'as a simpler expression' before 2026-12-07); of one form, the lower CV error, or the first of equal."""
    rtol = f"{SAME_RTOL:.0e}".replace("e-0", "e-")  # 1e-4
    if not same_form:
        than = ("an expression of the same complexity" if merged.complexity == kept.complexity
                else "a simpler expression")
        return f"the same predictions on every row (to {rtol}, relative) as {than}"
    if same_pred:
        return f"the same expression up to its constants, with the same predictions on every row (to {rtol})"
    if merged.cv_error == kept.cv_error:
        return "the same expression up to its constants, fitted to other values with the same CV error"
    return "the same expression up to its constants, a worse fit of it (a higher CV error)"


def merge_duplicates(items: Sequence[tuple[FrontEntry, sp.Expr, Mapping[str, float], np.ndarray]]
                     ) -> tuple[list[FrontEntry], list[dict[str, Any]]]:
    """(the front with its duplicates merged, each merged entry as complexity, expression, ``into``: the index of
    the entry it was merged into, and why). ``items``: per scored entry, the entry, its parametrized expression
    over the discovery variables, its constants' names (:func:`parametrize`) and its predictions on every row.
    Of entries predicting the same values, the simplest stays; of one shape fitted to different values, the one
    with the lower CV error (the other is a worse fit of the same expression). The front stays in complexity
    order."""
    slots: list[list[Any]] = []  # [kept entry, its shape, its predictions]
    merged: list[tuple[FrontEntry, int, str]] = []  # (entry, slot, why)
    for entry, pexpr, constants, pred in items:
        form = shape(pexpr, constants)
        for k, (kept, kept_form, kept_pred) in enumerate(slots):
            same_pred, same_form = same_predictions(pred, kept_pred), form == kept_form
            if not (same_pred or same_form):
                continue
            # the same values: the simpler stays; one expression fitted to different values: the better fit
            stays = entry.complexity < kept.complexity if same_pred else entry.cv_error < kept.cv_error
            if stays:
                slots[k], entry = [entry, form, pred], kept
            merged.append((entry, k, _why(same_form, same_pred, entry, slots[k][0])))
            break
        else:
            slots.append([entry, form, pred])
    order = sorted(range(len(slots)), key=lambda k: slots[k][0].complexity)
    index = {k: i for i, k in enumerate(order)}
    return [slots[k][0] for k in order], [
        {"complexity": int(e.complexity), "expression": e.expression, "into": index[k], "why": why}
        for e, k, why in merged]
