"""A discovery's expression as an energy model: an ``energy`` front expression on its own, or a ``residual`` term
``g`` as the template times ``exp(g)`` (what the residual test's 'adopt' refers to; it had no way to become a
model), the template held at its fit and only g's constants refitted, as the discovery scored it.
:func:`expression_model` is re-exported by :mod:`energylens.discover`."""

from __future__ import annotations

import numbers
from collections.abc import Callable
from typing import Any

import numpy as np
import sympy as sp

from energylens import warning_sink
from energylens.discover.result import DiscoveryResult, FrontEntry
from energylens.errors import ModelFileError
from energylens.model import EnergyModel, ExpressionEnergyModel
from energylens.model.compile import parametrize
from energylens.model.expression_file import parse_srepr
from energylens.model.symbolic import energy_expressions, feature_symbols, parameter_symbols

__all__ = ["expression_model", "fit_front_expression", "template_expression", "front_formula", "no_expression"]


def template_expression(template: EnergyModel) -> sp.Expr:
    """A fitted template's energy per request (prefill + decode) over the feature columns, its fitted values (full
    precision: it predicts as ``template.predict``) as the constants; a calibrated template is refused (its
    per-family offsets are not in the formula)."""
    if not isinstance(template, EnergyModel) or not template.is_fitted:
        raise ValueError(f"template must be a fitted EnergyModel (EnergyModel(bootstrap=0).fit(profiles, "
                         f"latency=False)), got {'an unfitted one' if isinstance(template, EnergyModel) else template!r}")
    if getattr(template, "calibration", None) is not None:
        raise ValueError("template: a calibrated EnergyModel's offsets are not in its formula; fit one without "
                         "calibration")
    values = {s: sp.Float(float(template.params[n].value)) for n, s in parameter_symbols(template.param_names).items()}
    prefill, decode = energy_expressions(None)
    return (prefill + decode).xreplace({**values, **{s: sp.Symbol(n, positive=True)
                                                     for n, s in feature_symbols().items()}})


def front_formula(front: list[FrontEntry], index: int) -> sp.Expr:
    """``front[index].formula`` (SymPy's ``srepr``) as a SymPy expression, built node by node as a model file's
    (:func:`energylens.model.expression_file.parse_srepr`): a result file received from someone else is text, and
    ``sympify`` (used here before 2026-12-06) ran a formula's text as Python. A ValueError (as load_discovery's)
    names the entry and what it holds; nothing in it runs."""
    try:
        return parse_srepr(front[index].formula, f"the discovery result's front[{index}].formula")
    except ModelFileError as exc:
        raise ValueError(str(exc)) from None


def no_expression(result: DiscoveryResult) -> str:
    """What an error says of a discovery whose front is empty: that it found no expression, why (an interrupted run,
    every expression dropped), and what to do."""
    if result.search.get("unscored"):
        why = ("its run was interrupted before one was scored; the expressions found are under search['unscored'] "
               "in the result file")
    elif result.dropped:
        why = (f"for each of the {len(result.dropped)} expressions the search found, no fit of their constants gives "
               "a finite error on the training rows; they are under 'dropped' in the result file")
    else:
        why = "its search returned none"
    return (f"the discovery found no expression to fit ({why}): rerun energylens discover (more --generations or "
            "--time-budget, or another --seed), or fit the template (energylens fit without --expression)")


def expression_model(result: DiscoveryResult, index: int | None = None, *, template: EnergyModel | None = None,
                     **kwargs: Any) -> ExpressionEnergyModel:
    """The energy model of a front expression (default: the chosen one): for an ``energy`` discovery the expression;
    for a ``residual`` one ``template x exp(g)``, with ``template`` a fitted EnergyModel: its values are held (as
    the discovery held them when it scored g) and only g's constants (``g0``, ``g1``, ...; starting from the
    discovery's) are refitted by ``.fit``. Refitting both, as before 2026-12-07, left 7 of 24 constants not
    identified on the bundled data (the template's formula holds its 12 parameters as 22 free floats, and g's
    constant scales them all) and no fit converged. ``index`` counts from 0 as discover's table does: a negative
    index or a bool (True was taken as 1) is refused, and an empty front is a ValueError saying the discovery found
    no expression (:func:`no_expression`). ``kwargs`` go to :meth:`EnergyModel.from_expression`."""
    if result.target not in ("energy", "residual"):
        raise ValueError(f"an energy model needs a discovery of target 'energy' (or 'residual', with the template "
                         f"it corrects), not {result.target!r}")
    if not result.front:  # (fit --pick 0 read "index none: its front is empty")
        raise ValueError(no_expression(result))
    n = len(result.front)
    if index is not None and (isinstance(index, bool) or not isinstance(index, numbers.Integral)):
        raise TypeError(f"index {index!r}: a front index is a whole number, 0..{n - 1} (the first column of "
                        "discover's table), or None for the chosen one")  # (True was taken as 1)
    if index is not None and not 0 <= index < n:  # (a bare "list index out of range"; -1 was taken as the last)
        raise IndexError(f"index {index!r}: this discovery's front holds {n} expressions, 0..{n - 1} (the first "
                         "column of discover's table), or None for the chosen one"
                         + ("; an index counts from 0, as the table does, not back from the end" if index < 0 else ""))
    formula = front_formula(result.front, result.chosen if index is None else index)
    if result.target == "residual":
        if template is None:
            raise ValueError("a residual discovery's term g corrects the template: pass the template it corrects, "
                             "expression_model(result, template=EnergyModel(bootstrap=0).fit(profiles, latency=False)), "
                             "for the model template x exp(g)")
        if "params" in kwargs:
            raise ValueError("params: a residual discovery's model fits g's constants from the discovery's values "
                             "(g0, g1, ...); the template's are held at its fit")
        g, starts = parametrize(formula, prefix="g")
        return EnergyModel.from_expression(template_expression(template) * sp.exp(g), params=starts, **kwargs)
    return EnergyModel.from_expression(formula, **kwargs)


def fit_front_expression(result: DiscoveryResult, index: int | None, profiles: Any, *,
                         template: EnergyModel | None = None,
                         fit: Callable[[ExpressionEnergyModel], Any] | None = None,
                         **kwargs: Any) -> ExpressionEnergyModel:
    """``expression_model(result, index, template=template, **kwargs)`` fitted on ``profiles`` (``fit(model)``:
    the caller's fit of it, ``model.fit(profiles)`` by default), from the start the discovery's own refit takes:
    where the discovery's constants predict <= 0 J on a row, the log residual is undefined there and its fit stops
    before the first step (status ``non_finite``, the constants left as the discovery's), so the relative error
    is fitted first (bootstrap 0) and the log residual from its constants. A relative fit that still predicts
    <= 0 J somewhere is the fit (``residual='relative'``); one that is not finite either leaves the first fit,
    status ``non_finite``, for the caller to refuse. Used by ``energylens fit --expression`` and ``evaluate
    --expression`` (:class:`energylens.discover.DiscoveredExpression`), so the two agree."""
    fit = fit if fit is not None else (lambda m: m.fit(profiles))
    with warning_sink.collected() as caught:  # the first fit's warnings: said only if it stays the fit
        model = expression_model(result, index, template=template, **kwargs)
        fit(model)
    retry = model.summary.status == "non_finite" and template is None and kwargs.get("residual", "log") == "log"
    with warning_sink.collected():  # a start only: its warnings (the first fit's again, at worst) are not said
        rel = (expression_model(result, index, **{**kwargs, "residual": "relative", "bootstrap": 0}).fit(profiles)
               if retry else None)
    if rel is None or rel.summary.status == "non_finite":
        for message, category in caught:
            warning_sink.warn(message, category, stacklevel=2)
        return model
    if np.all(rel.predict(profiles, check_range=False) > 0):
        model = EnergyModel.from_expression(rel.to_sympy(), **kwargs)  # its constants the start values
    else:  # the log residual stays undefined: the relative fit is the fit
        model = expression_model(result, index, **{**kwargs, "residual": "relative"})
    fit(model)
    return model
