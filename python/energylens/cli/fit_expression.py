"""``energylens fit PROFILES --expression DISCOVERY.json [--pick chosen|INDEX]``: refit a discovered expression's
constants on profiles and write a model file for ``energylens predict``: the command-line twin of
``expression_model(load_discovery(DISCOVERY.json)).fit(profiles).save(path)`` (docs/discover.md), through the same
functions. Imported by :mod:`energylens.cli.fit` only when ``--expression`` is given: it loads SymPy (the ``sr``
extra), which a template fit never needs.
"""

from __future__ import annotations

import argparse

import numpy as np

from energylens.cli.fit import announce_long_fit, fit_reporting, print_design, print_params, warn_poor_fit
from energylens.cli.options import read_discovery, read_profiles_with_rows
from energylens.discover.adopt import fit_front_expression, no_expression
from energylens.discover.result import DiscoveryResult
from energylens.model import EnergyModel
from energylens.outputs import announce_written, existing_file
from energylens.profiles.features import build_features

__all__ = ["fit_discovered"]

def _index(result: DiscoveryResult, pick: str | None, path: str) -> int | None:
    """The front index ``--pick`` names (None: the chosen one, as ``expression_model`` takes it); an empty front
    is refused here, before the profiles are read, whatever ``--pick`` says."""
    if not result.front:  # (--pick 0 read "index none: its front is empty (the first column of discover's table)")
        raise ValueError(f"--expression {path}: {no_expression(result)}")
    if pick is None or pick == "chosen":
        return None
    last = len(result.front) - 1
    try:
        index: int | None = int(pick)
    except ValueError:
        index = None
    if index is None or not 0 <= index <= last:
        back = "; it counts from 0, as the table does, not back from the end" if index is not None and index < 0 else ""
        raise ValueError(f"--pick {pick}: {path}'s front holds {len(result.front)} expression(s), index 0..{last} "
                         f"(the first column of discover's table), or 'chosen'{back}")
    return index


_FEWER = "(fewer constants, or more measured configurations)"  # ExpressionEnergyModel.fit's too-few-rows hint


def _not_evaluable(model: object, profiles: object, picked: int, args: argparse.Namespace) -> str:
    """The error of a fit that ended ``non_finite``: neither the log- nor the relative-error fit of the expression's
    constants gives a finite prediction on some rows (``log(2.0 - tp)`` at tp >= 2), which more starts or another
    residual cannot change: on how many rows, the first few, the values of the features it reads there; "" where
    it predicts a finite value on every row."""
    pred = model.predict(profiles, check_range=False)
    bad = np.flatnonzero(~np.isfinite(pred))
    if not bad.size:  # finite everywhere at the constants reached: fit's non-convergence error says the rest
        return ""
    feats = build_features(profiles)
    values = "; ".join(f"{n} {', '.join(f'{v:g}' for v in np.unique(feats[n][bad])[:5])}"
                       + (", ..." if np.unique(feats[n][bad]).size > 5 else "") for n in model.feature_names)
    rows = ", ".join(str(r + 1) for r in bad[:5]) + (", ..." if bad.size > 5 else "")
    return (f"expression {picked} of {args.expression} ({model.to_sympy()}) cannot be evaluated on {bad.size} of "
            f"{len(pred)} rows of {args.profiles} (data rows {rows}, 1-based; there {values}): no fit of its "
            f"constants gives a finite prediction there; the model is not written to {args.output}: fit another "
            "front expression (--pick), or the template (energylens fit without --expression)")


def fit_discovered(args: argparse.Namespace) -> int:
    """``energylens fit PROFILES --expression DISCOVERY.json``: output checks done by the caller."""
    result = read_discovery(args.expression)
    index = _index(result, args.pick, args.expression)
    profiles = read_profiles_with_rows(args.profiles, require_energy=True, command="fit")
    kwargs = dict(residual=args.residual, loss=args.loss, n_starts=args.starts, bootstrap=args.bootstrap,
                  seed=args.seed)
    template = None
    if result.target == "residual":  # template x exp(g): the template g corrects, fitted on the same profiles
        template = EnergyModel(bootstrap=0).fit(profiles, latency=False)
        print(f"{args.expression}: a residual discovery: fitted the template on {args.profiles} (bootstrap 0, no "
              "latency) for template x exp(g)")
    picked = result.chosen if index is None else index
    long = announce_long_fit(len(profiles), args.bootstrap, "expression model")
    fits: list[object] = []  # a second fit: the first stopped at the discovery's constants (fit_front_expression)

    def fit(m: object) -> None:
        fits.append(m)
        try:
            fit_reporting(m, profiles, long, where=args.profiles, context=f" (fitting expression {picked} of "
                          f"{args.expression})")
        except ValueError as exc:  # the library's hint, in the command line's words
            if _FEWER not in str(exc):
                raise
            raise ValueError(str(exc).replace(_FEWER, "(--pick a front expression with fewer constants, or give "
                                              "more rows)")) from None

    try:  # from the start discover's refit and evaluate --expression take (constants predicting <= 0 J: relative first)
        model = fit_front_expression(result, index, profiles, template=template, fit=fit, **kwargs)
    except ValueError as exc:
        if str(exc).startswith(f"{args.profiles}: "):
            raise
        raise ValueError(f"--expression {args.expression}: {exc}") from None
    s = model.summary
    assert s is not None
    if s.status == "non_finite" and (why := _not_evaluable(model, profiles, picked, args)):
        raise ValueError(why)
    if not s.converged:
        held = ", template=EnergyModel(bootstrap=0).fit(profiles, latency=False)" if template is not None else ""
        raise ValueError(f"the fit of expression {picked} of {args.expression} on {args.profiles} did not converge "
                         f"(status {s.status} after {s.iterations} iterations, {s.starts_converged} of {s.starts} "
                         f"starts converged); the model is not written to {args.output}: try more --starts, "
                         "--residual relative, or another front expression (--pick); in Python, more iterations: "
                         f"energylens.discover.expression_model(load_discovery(...){held}, max_iterations=3000) "
                         "(docs/discover.md)")
    print(f"fitted expression {picked} (complexity {result.front[picked].complexity}{', chosen' if index is None else ''}"
          f") of {args.expression} on {s.n_rows} rows: {s.status} after {s.iterations} iterations (converged), "
          f"training MAPE {s.train_mape:.3f}, {s.bootstrap_converged}/{s.bootstrap_replicates} bootstrap refits, "
          f"{s.fit_seconds * 1e3:.1f} ms")
    print(f"  energy_j = {model.to_sympy()}")
    if len(fits) > 1:
        print(f"  start: the discovery's constants predict <= 0 J on some of {args.profiles}'s rows (the log residual "
              "is undefined there), so a relative-error fit gave the start values, as discover's refit does")
    if model.options["residual"] != args.residual:  # (fit_front_expression: log of a prediction <= 0 J)
        print(f"  residual: {model.options['residual']} (asked: {args.residual}): the relative-error fit still "
              f"predicts <= 0 J on some of {args.profiles}'s rows, where the log residual is undefined")
    warn_poor_fit(model, s.train_mape)
    print_design(s)
    print_params(model)
    print("latency model: none (an expression models energy only): predict gives no TTFT / TPOT, and search "
          "--model-file refuses the file (it prices configurations with the template and its latency model)")
    replaced = existing_file(args.output)
    model.save(args.output)
    announce_written(args.output, replaced, command="fit")
    return 0
