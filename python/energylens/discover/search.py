"""Structure discovery: symbolic regression of energy (or of the template's log-residuals) to a scored front.

Owns the discovery run: the seeded split into training and held-out rows, the target, the backend run,
the native refit of every front expression's constants on the training rows, the choice of one
expression by cross-validation on the training rows only, and the held-out scores (R^2, Top-1,
pairwise, MAPE from :mod:`energylens.compare.metrics`) next to the template fitted on the same rows.
"""

from __future__ import annotations

import math
import sys
import time
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import sympy as sp

from energylens import _core
from energylens.compare.metrics import batch_setting, score_groups
from energylens.compare.splits import (
    DEFAULT_GROUP_BY,
    DuplicateRowsWarning,
    duplicate_message,
    duplicate_units,
    take_with_copies,
)
from energylens.discover.adopt import expression_model, front_formula  # noqa: F401  (re-exported: energylens.discover)
from energylens.discover.backends import SearchInterrupted, check_search_settings, run_backend, select_backend
from energylens.discover.digits import shown_constants
from energylens.discover.merge import merge_duplicates
from energylens.discover.result import (
    DiscoveryInterrupted,
    DiscoveryResult,
    FrontEntry,
    load_discovery,
    shown,
)
from energylens.discover.variables import energy_variables, residual_variables, substitute, variable_matrix
from energylens.errors import ProfileSchemaError
from energylens.model import EnergyModel
from energylens.model.compile import compile_expression, parametrize
from energylens.profiles.datasets import load_profiles_or_bundled
from energylens.profiles.features import FEATURE_NAMES, build_features
from energylens.profiles.problems import frame_source, rows_text
from energylens.profiles.row_names import as_read

__all__ = ["FrontEntry", "DiscoveryResult", "DiscoveryInterrupted", "discover", "TARGETS", "shown", "heldout_counts", "load_discovery",
           "search_summary"]


TARGETS = {"energy": "energy_j", "prefill": "prefill_energy_j", "decode": "decode_energy_j", "residual": "energy_j"}


def _scores(test_df: pd.DataFrame, meas: np.ndarray, pred: np.ndarray, group_by: Sequence[str]) -> dict[str, float]:
    """Held-out R^2 and MAPE (%) of the predicted energy (for the residual target: template x exp(g)), Top-1
    and pairwise (pooled over groups), and the parallelism choice as ``energylens evaluate`` scores it
    (:func:`energylens.compare.metrics.serving_metrics`: within a group, rows of one ``max_num_seqs``, else
    ``max_batch_size``, on at least two distinct GPU counts; ML.ENERGY v3's batch_size is a measured mean that no
    two rows share, so batch size stands in only where no row has either setting)."""
    spread = np.sum((meas - meas.mean()) ** 2)  # 0 where the held-out rows hold one value: no R^2 (it read -inf)
    out = {"r2": float(1.0 - np.sum((pred - meas) ** 2) / spread) if spread > 0 else float("nan"),
           "mape": float(np.mean(np.abs(pred / meas - 1.0)) * 100.0)}
    if not np.all(np.isfinite(pred)):
        return {**out, "top1": float("nan"), "pairwise": float("nan"), "parallelism_top1": float("nan")}
    frame = test_df.assign(energy_j=meas)
    setting = batch_setting(frame)  # max_num_seqs, else max_batch_size (the v2 converter's name), as evaluate reads it
    if setting is None or not np.isfinite(setting).any():  # (a file with max_batch_size alone scored no choice)
        frame = frame.assign(max_num_seqs=frame["batch_size"])  # a row without a setting is in no choice, as in
        # evaluate (one blank max_num_seqs cell made every row fall back to the batch size: v3 scored 0 choices)
    if "n_gpus" not in frame:  # (a validated profile has it)
        frame = frame.assign(n_gpus=frame["tp"] * frame["pp"] * (frame["dp"] if "dp" in frame else 1))
    g = score_groups(frame, pred, list(group_by))
    tot, choices = g["pairs_total"].sum(), g["par_total"].sum()
    out["top1"] = float(g["top1"].mean())
    out["pairwise"] = float(g["pairs_concordant"].sum() / tot) if tot > 0 else float("nan")
    out["parallelism_top1"] = float(g["par_hits"].sum() / choices) if choices > 0 else float("nan")
    # what each score is over (the held-out part of a split: the bundled v2 data's 22 TP x PP choices leave
    # 4 held out at the default split, so a 0.75 there is 3 of 4)
    out.update(top1_groups=int(g["top1"].notna().sum()), pairs=int(tot), parallelism_choices=int(choices))
    return out


def heldout_counts(template: dict[str, float]) -> str:
    """What the held-out scores are over, as printed under the table (empty for a result without counts)."""
    if "pairs" not in template:
        return ""
    def count(n: int, noun: str) -> str:
        return f"{n} {noun}{'' if n == 1 else 's'}"

    return (f"held-out scores over {count(template['top1_groups'], 'group')} with a choice (Top-1), "
            f"{count(template['pairs'], 'pair')} (pairwise), {count(template['parallelism_choices'], 'TP x PP choice')}")


def _refit(formula: sp.Expr, starts: dict[str, float], features: dict[str, np.ndarray], rows: np.ndarray,
           target: np.ndarray, residual: str) -> tuple[Any, np.ndarray] | None:
    """(compiled, fitted constants) of ``formula`` on ``rows``; None when it cannot be evaluated there."""
    compiled = compile_expression(formula, FEATURE_NAMES, starts)
    cols = [features[n][rows] for n in compiled.feature_names]
    if not compiled.param_names:
        return compiled, compiled.start
    theta = _fit_constants(compiled, cols, target[rows], compiled.start, residual)
    if theta is None and residual == "log":
        # The backend fits squared error, and its constants (a negative intercept, say) can predict <= 0 on
        # some rows, where a log residual is undefined: fit the relative error first (defined for any
        # prediction), then the log residual from there; keep the relative fit if that cannot improve it.
        theta = _fit_constants(compiled, cols, target[rows], compiled.start, "relative")
        if theta is not None:
            theta = _fit_constants(compiled, cols, target[rows], theta, "log") if np.all(
                compiled.evaluate(cols, theta) > 0) else theta
    return None if theta is None else (compiled, theta)


def _fit_constants(compiled, cols: list[np.ndarray], y: np.ndarray, start: np.ndarray,
                   residual: str) -> np.ndarray | None:
    """The fitted constants, or None where the fit's cost is not finite (or the expression cannot be fitted)."""
    try:
        fit = _core.fit_expression(compiled.program, cols, y, np.asarray(start, dtype=np.float64), None, None,
                                   {"residual": residual, "max_iterations": 200})
    except ValueError:
        return None
    return np.asarray(fit.params) if np.isfinite(fit.cost) else None


def _cv_folds(train: np.ndarray, seed: int, folds: int, units: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """(seeded permutation of ``train``, the fold of each of its rows): every ``folds``-th row, or with ``units``
    every ``folds``-th unit by where it first appears, so a row's exact copies share its fold (without copies the
    same folds)."""
    order = np.random.default_rng(seed).permutation(train)
    if units is None:
        return order, np.arange(order.size) % folds
    _, first, inv = np.unique(units[order], return_index=True, return_inverse=True)
    return order, np.argsort(np.argsort(first))[inv] % folds


def _cv_error(formula: sp.Expr, starts: dict[str, float], features: dict[str, np.ndarray], train: np.ndarray, target: np.ndarray,
              residual: str, seed: int, folds: int = 5, units: np.ndarray | None = None) -> float:
    """Mean |relative error| (residual target: mean |error| of the log-correction) over k folds of ``train``;
    ``units`` (:func:`energylens.compare.splits.duplicate_units`): a row's exact copies are in its fold (without
    copies the folds are as before: every ``folds``-th row of one seeded permutation)."""
    order, fold = _cv_folds(train, seed, folds, units)
    errs = []
    for k in range(folds):
        test = order[fold == k]
        fit = _refit(formula, starts, features, np.setdiff1d(order, test), target, residual)
        if fit is None:
            return float("inf")
        compiled, theta = fit
        pred = compiled.evaluate([features[n][test] for n in compiled.feature_names], theta)
        err = np.abs(pred - target[test]) if residual == "absolute" else np.abs(pred / target[test] - 1.0)
        errs.append(err)
    e = np.concatenate(errs)
    return float(np.mean(e)) if np.all(np.isfinite(e)) else float("inf")


def _split(n: int, train_size: int | None, seed: int, units: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Seeded training and held-out rows; ``units`` (:func:`energylens.compare.splits.duplicate_units`): a row's
    exact copies are on its side, as in ``energylens evaluate`` (a held-out row whose copy was trained on scored
    the front on its own training data), so the training side may hold a few rows fewer than asked."""
    if train_size is not None and (isinstance(train_size, bool) or not isinstance(train_size, (int, np.integer))):
        # (0.7, meant as a share, was truncated to 0 rows and refused as "0 of N rows"; 70.9 ran 70 unsaid)
        raise ValueError(f"train_size is a number of training rows (an integer; None: 70 %), got {train_size!r}")
    size = int(round(0.7 * n)) if train_size is None else int(train_size)
    if not 2 <= size <= n - 2:  # R^2 and the ranking scores need two held-out rows
        raise ValueError(f"train_size (--train-size) must leave at least 2 training and 2 held-out rows: {size} of "
                         f"{n} rows")
    train, test = take_with_copies(np.random.default_rng(seed).permutation(n), size, units)
    if train.size < 2 or test.size < 2:
        raise ValueError(f"train_size (--train-size) must leave at least 2 training and 2 held-out rows: {size} of {n} "
                         f"rows, with each row's exact copies on its side, leaves {train.size} and {test.size}")
    return np.sort(train), np.sort(test)


def _source(profiles: Any, df: pd.DataFrame) -> tuple[str, pd.Index | None]:
    """How the profiles are named in an error, and a frame's index (its rows are named by position and label:
    a frame filtered after it was read has positions that are not the file's data rows)."""
    if not isinstance(profiles, pd.DataFrame):
        return str(df.attrs.get("source", profiles)), None
    return frame_source(profiles.attrs.get("source"), edited=as_read(profiles) is False), profiles.index


def _check_target(df: pd.DataFrame, target: str, column: str, src: str, labels: pd.Index | None = None) -> None:
    """ValueError naming the source and the 1-based data rows without a finite ``column`` (the target's
    measurement); it named neither, so a few blank cells among hundreds of rows had to be hunted down. For a
    frame (``labels``: its index) the rows are positions in it, with their index labels."""
    if column not in df:
        raise ValueError(f"{src}: target {target!r} needs a measured {column!r} in every row; the profiles have no "
                         f"{column!r} column")
    bad = ~np.isfinite(pd.to_numeric(df[column], errors="coerce").to_numpy(dtype=float))
    if len(df) and bad.all():  # (listing every row said less: "data rows 1, 2, ..., 20 and 385 more")
        raise ValueError(f"{src}: target {target!r} needs a measured, finite {column!r} in every row; no row has one "
                         f"(all {len(df)} are blank or not finite): these profiles do not measure it")
    if bad.any():
        rows = rows_text(np.flatnonzero(bad), labels)
        raise ValueError(f"{src}: target {target!r} needs a measured, finite {column!r} in every row; it is missing "
                         f"or not finite in {int(bad.sum())} of the {len(df)} rows, {rows}: measure it there, or leave "
                         "those rows out")
    values = pd.to_numeric(df[column], errors="coerce").to_numpy(dtype=float)
    if len(df) > 1 and np.all(values == values[0]):  # (it ran: a template R^2 of -inf, the front's 'n/a')
        raise ValueError(f"{src}: target {target!r} needs a measured {column!r} that varies between rows; it is "
                         f"{values[0]:g} in all {len(df)} rows, so there is nothing to discover (and no R^2 to score): "
                         "check that the column holds each run's measurement")


def _group_columns(df: pd.DataFrame, group_by: Sequence[str]) -> list[str]:
    """The group columns the held-out scores use: a column of the default grouping the profiles lack (``task``
    in a frame without one) is left out; a column the caller named that the profiles lack is an error (it was
    left out unsaid, so a misspelt column scored other groups than asked)."""
    if tuple(group_by) == tuple(DEFAULT_GROUP_BY):
        return [c for c in group_by if c in df]
    missing = [c for c in group_by if c not in df]
    if missing:
        raise ValueError(f"unknown group column(s) {missing}; the profiles have columns {sorted(map(str, df.columns))}")
    twice = sorted({c for c in group_by if list(group_by).count(c) > 1})
    if twice:  # (pandas' "Grouper ... not 1-dimensional" came after the whole search)
        raise ValueError(f"group column(s) {twice} named more than once; name each once")
    return list(group_by)


def _check_seed(seed: Any) -> int:
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**63:
        raise ValueError(f"seed must be an integer in [0, 2**63), got {seed!r}")
    return int(seed)


def _features(profiles: Any, df: pd.DataFrame) -> dict[str, np.ndarray]:
    """build_features of ``df`` (the profiles with a fresh 0..n-1 index); a schema error is raised as the user's own
    frame gives it, so that it names their index labels, not the renumbered ones."""
    try:
        return build_features(df)
    except ProfileSchemaError:
        if isinstance(profiles, pd.DataFrame):
            build_features(profiles)  # raises the same error, with the frame's own labels
        raise


@dataclass
class _Data:
    """A run's rows and what the search and scoring use of them."""

    df: pd.DataFrame
    name: str                 # the profiles as the result names them
    group_by: list[str]
    y: np.ndarray             # the measured target column
    rows: tuple               # (training rows, held-out rows, the rows' copy units or None)
    features: dict[str, np.ndarray]
    variables: dict[str, sp.Expr]
    X: np.ndarray
    base: np.ndarray          # the template's prediction of every row
    sr_target: np.ndarray
    residual: str             # how the refits measure the error: "log" (energy targets), "absolute" (residual)


def _prepare(profiles: Any, target: str, train_size: int | None, seed: int, group_by: Sequence[str]) -> _Data:
    """The profiles read and checked, split, their variables, and the template fitted on the training rows."""
    df = (profiles if isinstance(profiles, pd.DataFrame) else load_profiles_or_bundled(str(profiles))).reset_index(
        drop=True)
    column = TARGETS[target]
    src, labels = _source(profiles, df)
    _check_target(df, target, column, src, labels)
    group_by = _group_columns(df, group_by)
    y = df[column].to_numpy(dtype=float)
    if not len(df):
        raise ValueError(f"{profiles}: no data rows (the file has a header only)")
    n_params = len(EnergyModel().param_names)
    if len(df) < n_params + 2:  # (5 rows were told to change --train-size, which no value could help)
        raise ValueError(f"{src}: {len(df)} data {'row is' if len(df) == 1 else 'rows are'} too few to discover on: the template the front is scored "
                         f"against has {n_params} parameters, so it needs at least {n_params} training rows, and the "
                         f"scores need 2 held-out rows: at least {n_params + 2} rows (about 50 are recommended)")
    units = duplicate_units(df)
    if units is not None:  # as energylens evaluate says it: the copies are kept on their row's side of the split
        warnings.warn(duplicate_message(df, units, src), DuplicateRowsWarning, stacklevel=3)
    train, test = _split(len(df), train_size, seed, units)
    features = _features(profiles, df)
    variables = residual_variables() if target == "residual" else energy_variables()
    X = variable_matrix(variables, features, source=src, labels=labels)  # before the template fit: rows named
    base = _template_base(df, train, target, seed)
    return _Data(df, src if isinstance(profiles, pd.DataFrame) else str(profiles), group_by, y, (train, test, units),
                 features, variables, X, base, np.log(y / base) if target == "residual" else y,
                 "absolute" if target == "residual" else "log")


def discover(profiles: Any, *, target: str = "energy", backend: str = "auto", max_complexity: int = 25,
             time_budget_s: float = 60.0, seed: int = 0, train_size: int | None = None,
             generations: int = 200, population: int = 500, group_by: Sequence[str] = DEFAULT_GROUP_BY,
             progress: bool = True) -> DiscoveryResult:
    """Run symbolic regression on ``profiles`` and score its Pareto front on held-out rows.

    ``target``: ``energy`` (J per request), ``prefill``/``decode`` (a phase, where measured) or
    ``residual`` (log of measured / template, to find the terms the template lacks; the front then holds
    multiplicative corrections ``exp(g)`` of the template). ``train_size``: training rows (default 70 %).
    Ctrl-C (or SIGTERM) after the search's first round raises :class:`DiscoveryInterrupted`, whose ``result``
    holds the front found so far, scored up to a second interrupt.
    """
    if target not in TARGETS:
        raise ValueError(f"target must be one of {sorted(TARGETS)}, got {target!r}")
    seed = _check_seed(seed)
    t0 = time.perf_counter()
    choice = select_backend(backend)
    # before the profiles are read and the template fitted (~1 s): a cap of 4 was refused only after both
    check_search_settings(choice.name, max_complexity=max_complexity, time_budget_s=time_budget_s, seed=seed,
                          generations=generations, population=population)
    d = _prepare(profiles, target, train_size, seed, group_by)
    train, test, _ = d.rows
    _say(progress, f"discover: {len(train)} training / {len(test)} held-out rows of {d.name}, target {target}; "
                   f"searching with {choice.name} (up to {generations} generations or {time_budget_s:g} s, population "
                   f"{population}, complexity <= {max_complexity}, seed {seed})")
    info: dict[str, Any] = {}
    stop: BaseException | None = None
    try:
        front = run_backend(choice, d.X[train], d.sr_target[train], list(d.variables), max_complexity=max_complexity,
                            time_budget_s=time_budget_s, seed=seed, generations=generations, population=population,
                            progress=progress, info=info)
    except SearchInterrupted as exc:  # the front of the rounds run is kept, scored and returned in the exception
        front, info, stop = exc.front, exc.info, exc.cause
        if not front:
            raise stop from None
    if not front:  # (it read "none of the front's 0 expressions can be fitted")
        raise ValueError(f"discovery: the {choice.name} search returned no expression within --max-complexity "
                         f"{max_complexity} (max_complexity); raise --max-complexity or run more generations")
    _say(progress, f"discover: scoring the front's {len(front)} expressions (constants refitted on the training rows, "
                   "5-fold cross-validation to choose one, scores on the held-out rows)"
                   + ("; Ctrl-C again stops the scoring and keeps the expressions scored" if stop else ""))
    scored, dropped, unscored, stopped = _score_until_interrupted(front, d, seed, progress)
    try:  # rescaled duplicates took two places on the front
        entries, merged = merge_duplicates(scored)
    except KeyboardInterrupt as exc:  # (~10 ms an entry of SymPy: the scored front is kept, unmerged)
        entries, merged, stopped = [e for e, *_ in scored], [], stopped or exc
    stop = stop or stopped
    if not entries and stop is None:
        raise ValueError(f"discovery: none of the front's {len(front)} expressions can be fitted on the training rows "
                         f"(e.g. {dropped[0]['expression'] if dropped else '-'}: it predicts no finite value there)")
    result = DiscoveryResult(target, choice.name, choice.reason, seed, len(train), len(test),
                             {k: str(v) for k, v in d.variables.items()}, entries,
                             _scores(d.df.iloc[test], d.y[test], d.base[test], d.group_by),
                             int(np.argmin([e.cv_error for e in entries])) if entries else None,
                             time.perf_counter() - t0, dropped=dropped, merged=merged, profiles=d.name,
                             settings=dict(target=target, backend=backend, max_complexity=max_complexity,
                                           time_budget_s=time_budget_s, generations=generations, population=population,
                                           train_size=train_size, seed=seed))
    if stop is not None and info.get("stopped_by") == "interrupt":
        info["signal"] = _signal_name(stop)
    result.search = {**info, "note": search_summary(info, result.settings, choice.name),
                     **({"unscored": unscored} if stop is not None else {})}
    if target == "residual" and entries:
        result.residual_test = residual_test(result)
    if stop is not None:
        raise DiscoveryInterrupted(result, stop)
    return result


def _signal_name(stop: BaseException) -> str:
    """How an interrupt is named: the command line raises its own KeyboardInterrupt subclass for SIGTERM (this
    layer does not import the command line, so it is known by its class name)."""
    return "SIGTERM" if type(stop).__name__ == "Terminated" else "Ctrl-C"


def _say(progress: bool, line: str) -> None:
    if progress:
        print(line, file=sys.stderr, flush=True)


def _template_base(df: pd.DataFrame, train: np.ndarray, target: str, seed: int) -> np.ndarray:
    """The template, fitted on the training rows, predicting every row's energy (or the target phase's)."""
    try:
        template = EnergyModel(bootstrap=0, seed=seed).fit(df.iloc[train], latency=False)
    except ValueError as exc:
        raise ValueError(f"the template, which the front is scored against, is fitted on the {len(train)} training "
                         f"rows (--train-size; default 70 % of {len(df)}): {exc}") from None
    if target in ("prefill", "decode"):
        return template.predict_phases(df)[f"{target}_energy_j_pred"].to_numpy()
    return template.predict(df)


def search_summary(search: dict[str, Any], settings: dict[str, Any], backend: str) -> str:
    """How the search ended and whether the seed reproduces its front (the generation cap bound) or not (the time
    budget did: how far a search gets in the time depends on the machine and its load)."""
    if search.get("stopped_by") is None:
        return f"{backend} does not say which bound stopped it (--generations or --time-budget)"
    took = "under 0.1 s" if search["seconds"] < 0.05 else f"{search['seconds']:.1f} s"
    ran = f"{backend} ran {search['generations_run']} of {settings['generations']} generations in {took}"
    if search["stopped_by"] == "interrupt":
        again = ("a rerun may differ (operon's time limit cut a round)" if search.get("round_cut") else
                 f"the same command with --generations {search['generations_run']} --seed {settings['seed']} "
                 "reproduces this front")
        return (f"{ran}, interrupted ({search.get('signal', 'Ctrl-C')}) after {search['rounds_run']} of "
                f"{search['rounds']} rounds: {again}; a search cannot be resumed: a larger --generations or "
                "--time-budget searches further")
    if search["stopped_by"] == "generations":  # (a --time-budget 30 run of 1.5 s did not say the budget played no part)
        budget = settings.get("time_budget_s")
        return (f"{ran}, stopped by the generation cap: the same --seed reproduces this front"
                + (f" (the {budget:g} s time budget was not reached: a larger --generations searches longer)"
                   if budget is not None and math.isfinite(budget) else ""))
    return (f"{ran}, stopped by the {settings['time_budget_s']:g} s time budget: a rerun may differ (a --generations "
            "cap reached within the budget makes the front reproducible per seed)")


#: Seconds between progress lines while the front is scored.
PROGRESS_EVERY_S = 5.0


def _counted(front: list, progress: bool) -> Iterator:
    """``front``'s items; a progress line every :data:`PROGRESS_EVERY_S` seconds after an item is scored."""
    t0 = last = time.perf_counter()
    for k, item in enumerate(front, 1):
        yield item
        now = time.perf_counter()
        if now - last >= PROGRESS_EVERY_S:
            last = now
            _say(progress, f"discover: scored {k} of {len(front)} expressions ({now - t0:.1f} s)")


def _score_until_interrupted(front: list, d: _Data, seed: int, progress: bool) -> tuple[list, list, list, Any]:
    """:func:`_score_front`'s scored entries (each with its form and predictions) and dropped expressions, the expressions it did not reach (complexity,
    expression) and the interrupt that stopped it (None: all scored). An interrupt while the front is scored (as
    long as the search at the default settings) lost the whole search too."""
    entries: list[tuple[FrontEntry, sp.Expr, dict[str, float], np.ndarray]] = []
    dropped: list[dict[str, Any]] = []
    try:
        _score_front(front, d, seed, progress, entries, dropped)
    except KeyboardInterrupt as exc:
        rest = front[len(entries) + len(dropped):]
        _say(progress, f"discover: interrupted while the front was scored: {len(entries) + len(dropped)} of "
                       f"{len(front)} expressions scored, {len(rest)} kept unscored")
        return entries, dropped, [{"complexity": int(c), "expression": str(e)} for c, e in rest], exc
    return entries, dropped, [], None


def _score_front(front: list, d: _Data, seed: int, progress: bool, entries: list[tuple],
                 dropped: list[dict[str, Any]]) -> None:
    """Appends to ``entries`` each front expression scored (with its parametrized expression, its constants' starts
    and its prediction of every row: :func:`energylens.discover.merge.merge_duplicates` reads them), and to ``dropped`` (complexity, expression, why) each
    where no fit of its constants gives a finite error on the training rows; each is appended whole, so an
    interrupt leaves both lists consistent."""
    train, test, units = d.rows
    for complexity, expr in _counted(front, progress):
        pexpr, starts = parametrize(expr)
        formula = substitute(pexpr, d.variables)
        fit = _refit(formula, starts, d.features, train, d.sr_target, d.residual)
        if fit is None:
            dropped.append({"complexity": complexity, "expression": str(expr),
                            "why": "no fit of its constants gives a finite error on the training rows"})
            continue
        compiled, theta = fit
        pred, printed = shown_constants(compiled, [d.features[n] for n in compiled.feature_names], theta,
                                        d.base if d.residual == "absolute" else None)  # 6 digits, or what it takes
        subs = dict(zip(compiled.param_names, theta, strict=True))
        shown = pexpr.xreplace({sp.Symbol(k, real=True): v for k, v in printed.items()})
        fitted = compiled.expr.xreplace({sp.Symbol(k, real=True): sp.Float(v, 12) for k, v in subs.items()})
        heldout = _scores(d.df.iloc[test], d.y[test], pred[test], d.group_by)
        if d.residual == "absolute":  # the correction's own fit: R^2 of g on the held-out log-residuals
            g, t = np.log(pred[test] / d.base[test]), d.sr_target[test]
            heldout["r2_residual"] = float(1.0 - np.sum((g - t) ** 2) / np.sum((t - t.mean()) ** 2))
        constant = {x.name for x in pexpr.free_symbols} <= set(starts)  # a tree whose nodes cancel
        entries.append((FrontEntry(
            complexity=1 if constant else complexity, backend_complexity=complexity if constant else None,
            expression=str(shown), formula=sp.srepr(fitted), latex=sp.latex(shown),
            cv_error=_cv_error(formula, starts, d.features, train, d.sr_target, d.residual, seed, units=units),
            heldout=heldout), pexpr, starts, pred))


def _not_lower(term: float, template: float) -> bool | None:
    """Whether the term's score is not below the template's; None where either is n/a (no held-out choice)."""
    if not (np.isfinite(term) and np.isfinite(template)):
        return None
    return bool(not term < template - 1e-12)


def residual_test(result: DiscoveryResult) -> dict[str, Any]:
    """Whether the chosen correction term earns its place on the held-out rows: held-out MAPE cut by
    >= 20 % (relative) without a lower Top-1 or pairwise than the template's. Where the held-out rows offer no
    choice (Top-1 or pairwise n/a), "not lower" is not known (None) and the term is not adopted: it was said
    to be, on MAPE alone, with both checks reported as passed."""
    t, c = result.template, result.front[result.chosen].heldout
    cut = (t["mape"] - c["mape"]) / t["mape"] if t["mape"] > 0 else float("nan")
    top1_ok, pair_ok = _not_lower(c["top1"], t["top1"]), _not_lower(c["pairwise"], t["pairwise"])
    return {"term": result.front[result.chosen].expression, "mape_template": t["mape"], "mape_with_term": c["mape"],
            "mape_cut_relative": cut, "top1_not_lower": top1_ok, "pairwise_not_lower": pair_ok,
            "adopt": bool(cut >= 0.20 and top1_ok is True and pair_ok is True)}
