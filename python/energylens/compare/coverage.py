"""Prediction-interval coverage on the random split (``energylens evaluate --coverage``, opt-in).

For each random split and each method that gives prediction intervals (ours and its ``+prior`` / ``+KEY``
variants, :class:`~energylens.compare.methods.ClosedForm`), the model is refitted with the package's default
bootstrap (``EnergyModel``'s ``bootstrap=200`` refits; the scored fits run without it) on the same training rows,
and the ``level`` interval of every held-out row is compared with its measured energy. Per method:

* ``coverage_mean`` / ``coverage_min`` / ``coverage_max``: the share of held-out rows inside the interval, mean
  and range over repeats; ``below_mean`` / ``above_mean``: the shares below the lower and above the upper bound;
* ``median_width_rel``: the median of (upper - lower) / measured energy per repeat, averaged over repeats;
* ``worst_tasks``: per task (rows of all repeats pooled) the coverage, farthest from ``level`` first.

The same computation as ``bench/interval_coverage.py`` (which draws its own splits, ``default_rng(seed)``, and
predicts the held-out rows in the draw's order: the residual draws follow a row's position in the table, so the
same split predicted in another row order gives slightly different bounds). Methods without intervals are listed
with the reason. Imports :mod:`energylens.model` and :mod:`energylens.compare.methods`.
"""

from __future__ import annotations

import math
import textwrap
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from energylens.compare.methods import ClosedForm, Method
from energylens.errors import (
    DegenerateFitWarning,
    EnergyLensError,
    IntervalLevelWarning,
    IntervalsUnavailableError,
)
from energylens.model import EnergyModel

__all__ = ["check_level", "interval_reason", "interval_coverage", "format_coverage", "coverage_markdown",
           "WORST_SHOWN"]

WORST_SHOWN = 5


def check_level(level: Any, what: str = "coverage level") -> float:
    """``level`` as a float in (0, 1); ValueError naming ``what`` otherwise (90 is read as a percentage and refused
    with the fraction to give: 0.9)."""
    try:
        value = float(level)
    except (TypeError, ValueError):
        raise ValueError(f"{what} {level!r} is not a number; give the interval's level as a fraction, e.g. 0.9 for a "
                         "90 % prediction interval") from None
    if not math.isfinite(value):
        raise ValueError(f"{what} {level!r} is not finite; give a fraction between 0 and 1, e.g. 0.9")
    if 1 < value < 100:
        raise ValueError(f"{what} {level!r} is a fraction between 0 and 1, not a percentage: for a {value:g} % "
                         f"interval give {value / 100:g}")
    if not 0 < value < 1:
        raise ValueError(f"{what} {level!r} must be between 0 and 1 (exclusive), e.g. 0.9 for a 90 % interval")
    return value


def interval_reason(method: Method) -> str:
    """Why ``method`` gives no prediction interval ('' when it gives one)."""
    if isinstance(method, ClosedForm):
        return ""
    if not getattr(method, "predicts_energy_scale", True):
        return "a ranking score, not an energy prediction: no interval"
    return "point predictions only: no prediction interval"


def _fit_interval(method: ClosedForm, train: pd.DataFrame, test: pd.DataFrame, level: float,
                  bootstrap: int | None) -> tuple[np.ndarray, np.ndarray, str]:
    """The ``level`` interval of ``test`` by ``method``'s model refitted with the bootstrap (None: the default), and
    the message of the model's IntervalLevelWarning ('' without one: :func:`interval_coverage` says it once)."""
    boot = {} if bootstrap is None else {"bootstrap": int(bootstrap)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DegenerateFitWarning)  # as the scored fit (ClosedForm.fit)
        model = EnergyModel(seed=method.seed, calibration=method.calibration, **method.model_options,
                            **boot).fit(train)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", IntervalLevelWarning)
        iv = model.predict_interval(test, level, check_range=False)  # the splits extrapolate on purpose
    for w in caught:  # the level's warning came once per repeat and variant: said once by interval_coverage
        if not issubclass(w.category, IntervalLevelWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    said = next((str(w.message) for w in caught if issubclass(w.category, IntervalLevelWarning)), "")
    return iv["energy_j_lo"].to_numpy(dtype=float), iv["energy_j_hi"].to_numpy(dtype=float), said


class _Tally:
    """One method's per-repeat shares and per-task counts."""

    def __init__(self) -> None:
        self.inside: list[float] = []
        self.below: list[float] = []
        self.above: list[float] = []
        self.width: list[float] = []
        self.tasks: list[pd.DataFrame] = []
        self.error = ""

    def add(self, e: np.ndarray, lo: np.ndarray, hi: np.ndarray, task: np.ndarray) -> None:
        inside = (lo <= e) & (e <= hi)
        self.inside.append(float(np.mean(inside)))
        self.below.append(float(np.mean(e < lo)))
        self.above.append(float(np.mean(e > hi)))
        self.width.append(float(np.median((hi - lo) / e)))
        self.tasks.append(pd.DataFrame({"task": task, "inside": inside, "below": e < lo, "above": e > hi}))

    def summary(self, level: float) -> dict[str, Any]:
        if not self.inside:
            return {"coverage_mean": None, "error": self.error or "no random split to score"}
        t = pd.concat(self.tasks).groupby("task", sort=True).agg(rows=("inside", "size"), coverage=("inside", "mean"),
                                                                 below=("below", "mean"), above=("above", "mean"))
        t = t.assign(off=(t["coverage"] - level).abs()).sort_values(["off", "rows"], ascending=[False, False],
                                                                    kind="stable")
        worst = [{"task": str(k), "rows": int(r["rows"]), "coverage": float(r["coverage"]),
                  "below": float(r["below"]), "above": float(r["above"])} for k, r in t.iterrows()]
        return {"coverage_mean": float(np.mean(self.inside)), "coverage_min": float(np.min(self.inside)),
                "coverage_max": float(np.max(self.inside)), "below_mean": float(np.mean(self.below)),
                "above_mean": float(np.mean(self.above)), "median_width_rel": float(np.mean(self.width)),
                "repeats": len(self.inside), "tasks": worst, "error": self.error}


def interval_coverage(df: pd.DataFrame, splits: Sequence[Any], factory: Callable[[int], Sequence[Method]],
                      method_seed: Callable[[int], int], level: float, *, bootstrap: int | None = None,
                      tick: Callable[[], None] = lambda: None) -> dict[str, Any]:
    """Coverage of the ``level`` intervals of every interval-giving method of ``factory`` on ``splits`` (objects
    with ``repeat``, ``train_idx`` and ``test_idx``, positions in ``df``; the held-out rows are predicted in
    ``test_idx``'s order); ``method_seed(repeat)``: the seed the methods of a repeat are made with. Returns
    ``{"level", "bootstrap", "methods": {name: summary}, "no_interval": {name: reason}}``; ``tick()`` after each fit.
    A fit or interval that fails (too few rows, parameters not identified) is the method's ``error``, its other
    repeats still counted."""
    level = check_level(level)
    tallies: dict[str, _Tally] = {}
    none: dict[str, str] = {}
    level_said = False
    task_col = df["task"].astype("string").fillna("").to_numpy(dtype=object) if "task" in df else None
    for sp in splits:
        train, test = df.iloc[sp.train_idx], df.iloc[sp.test_idx]
        e = test["energy_j"].to_numpy(dtype=float)
        task = (np.asarray([t or "(no task)" for t in task_col[sp.test_idx]], dtype=object) if task_col is not None
                else np.full(len(test), "(no task)", dtype=object))
        for method in factory(method_seed(sp.repeat)):
            why = interval_reason(method)
            if why:
                none[method.name] = why
                continue
            tally = tallies.setdefault(method.name, _Tally())
            try:
                lo, hi, level_msg = _fit_interval(method, train.copy(), test.copy(), level, bootstrap)
            except (ValueError, ArithmeticError, np.linalg.LinAlgError, EnergyLensError) as exc:
                more = "; evaluate: train on more rows (--train-size)" if isinstance(exc, IntervalsUnavailableError) else ""
                tally.error = tally.error or f"{type(exc).__name__}: {exc}{more}"
            else:
                tally.add(e, lo, hi, task)
                if level_msg and not level_said:
                    level_said = True
                    warnings.warn(f"{level_msg} (said once for the run's {len(splits)} repeats; "
                                  f"--coverage measures the interval as it is: choose a level the refits resolve, "
                                  f"such as 0.9)", IntervalLevelWarning, stacklevel=2)
            tick()
    boot = EnergyModel().bootstrap_replicates if bootstrap is None else int(bootstrap)
    return {"level": level, "bootstrap": boot, "methods": {n: t.summary(level) for n, t in tallies.items()},
            "no_interval": none}


def _f(x: Any, spec: str = ".3f") -> str:
    return "n/a" if x is None or x != x else format(x, spec)


def _worst_line(s: dict[str, Any], shown: int) -> str:
    return "; ".join(f"{w['task']} {_f(w['coverage'])} ({w['rows']} rows, {_f(w['below'], '.0%')} below, "
                     f"{_f(w['above'], '.0%')} above)" for w in s.get("tasks", [])[:shown])


def _legend(cov: dict[str, Any]) -> str:
    return (f"coverage: share of the held-out rows whose measured energy is inside the method's {cov['level']:g} "
            f"prediction interval (model refitted with {cov['bootstrap']} bootstrap refits on each repeat's training "
            "rows), mean and min-max over repeats; below / above: shares under the lower / over the upper bound; "
            "width: median (upper - lower) / measured energy, mean over repeats; a calibrated interval covers about "
            f"{cov['level']:g}, missing {(1 - cov['level']) / 2:.1%} on each side (docs/evaluation.md, \"Interval "
            "coverage\").")


def format_coverage(cov: dict[str, Any], shown: int = WORST_SHOWN) -> str:
    """The terminal table of :func:`interval_coverage`'s result, its legend, and the worst tasks per method."""
    w = max(18, *(len(n) for n in (*cov["methods"], *cov["no_interval"])))
    lines = [f"{'method':<{w}} {'coverage':>8} {'min-max':>11} {'below':>6} {'above':>6} {'width':>6}"
             f"   ({cov['level']:g} prediction intervals, random split)"]
    for name, s in cov["methods"].items():
        if s.get("coverage_mean") is None:
            lines.append(f"{name:<{w}} {'n/a':>8}   ({s.get('error')})")
            continue
        lines.append(f"{name:<{w}} {_f(s['coverage_mean']):>8} {_f(s['coverage_min']) + '-' + _f(s['coverage_max']):>11}"
                     f" {_f(s['below_mean'], '.1%'):>6} {_f(s['above_mean'], '.1%'):>6} "
                     f"{_f(s['median_width_rel'], '.2f') + 'x':>6}")
    lines += [f"{name:<{w}} {'n/a':>8}   ({why})" for name, why in cov["no_interval"].items()]
    lines += textwrap.wrap(_legend(cov), 110)
    for name, s in cov["methods"].items():
        if s.get("coverage_mean") is not None:
            lines += textwrap.wrap(f"{name}: tasks farthest from {cov['level']:g} ({min(shown, len(s['tasks']))} of "
                                   f"{len(s['tasks'])}, repeats pooled): {_worst_line(s, shown)}", 110,
                                   subsequent_indent="  ")
        if s.get("error") and s.get("coverage_mean") is not None:
            lines.append(f"note: {name}'s interval failed in some repeats (counted over the others): {s['error']}")
    return "\n".join(lines)


def coverage_markdown(cov: dict[str, Any] | None, shown: int = WORST_SHOWN) -> list[str]:
    """report.md's "Interval coverage" section ([] when the run did not ask for it)."""
    if not cov:
        return []
    rows = []
    for name, s in cov["methods"].items():
        if s.get("coverage_mean") is None:
            rows.append([name, "n/a", "", "", "", "", s.get("error", "")])
        else:
            rows.append([name, _f(s["coverage_mean"]), f"{_f(s['coverage_min'])}-{_f(s['coverage_max'])}",
                         _f(s["below_mean"], ".1%"), _f(s["above_mean"], ".1%"), _f(s["median_width_rel"], ".2f") + "x",
                         _worst_line(s, shown)])
    rows += [[name, "n/a", "", "", "", "", why] for name, why in cov["no_interval"].items()]
    head = ["method", "coverage", "min-max", "below", "above", "width", f"tasks farthest from {cov['level']:g}"]
    table = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)] + ["| " + " | ".join(r) + " |" for r in rows]
    return ["## Interval coverage", "", _legend(cov), "", *table, ""]
