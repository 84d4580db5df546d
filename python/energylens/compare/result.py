"""What a comparison returns (:class:`EvaluationResult`) and how its tidy table is summarised
(:func:`summarize`, :func:`overview`).

Imports numpy, pandas and :mod:`energylens.compare.metrics` only, so the runner and the report both build
on it without importing each other.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from energylens.compare.metrics import METRICS, SLO_METRICS

__all__ = ["EvaluationResult", "summarize", "overview", "worst", "worst_labels"]


@dataclass
class EvaluationResult:
    """What :func:`energylens.compare.runner.run_evaluation` returns.

    ``table``: the tidy per-group table (see :func:`energylens.compare.runner.evaluate`). ``predictions``: per held-out row of
    the ``random`` split (``repeat, method, row, group, energy_j, predicted_energy_j``), for plots.
    ``info``: run metadata (seed, sizes, methods, their notes, run time in seconds).
    """

    table: pd.DataFrame
    predictions: pd.DataFrame
    info: dict[str, Any]

    def summary(self, by: Sequence[str] | None = None) -> pd.DataFrame:
        """:func:`overview` of the table, or :func:`summarize` by ``by`` when given."""
        return overview(self.table) if by is None else summarize(self.table, by=by)



def summarize(table: pd.DataFrame,
              by: Sequence[str] = ("split", "variant", "train_size", "method")) -> pd.DataFrame:
    """One row per ``by`` key: the metrics, pooled within a repeat, then mean and std over repeats.

    Within one repeat (and key): ``top1`` and ``regret_pct`` are means over groups with at least
    two candidates, ``pairwise`` is concordant / comparable pairs pooled over groups, ``mape``
    the mean absolute percentage error over held-out rows, ``spearman`` the mean over groups,
    ``top1_tpot`` the mean over groups of Top-1 under the group's median measured TPOT, and
    ``parallelism`` the parallelism choices hit over those made (pooled; see
    :func:`energylens.compare.metrics.serving_metrics`). With a TPOT SLO, ``top1_strict`` and ``slo_violation`` (means over groups) too.
    Columns: ``by``, each metric and ``<metric>_std``, ``n_groups`` (Top-1 groups per repeat),
    ``n_repeats`` (repeats with any score: a repeat whose fit failed is not averaged in) and
    ``n_failed_repeats`` (repeats of the key with no score at all; for a leave-one-out split, whose folds
    share one repeat, the folds with no score, named by ``detail``), and ``<metric>_repeats``: the scored
    repeats that metric's mean is over, fewer than ``n_repeats`` where a repeat had nothing of it to score (no
    held-out group with two candidates, no measured TPOT, no parallelism choice).
    """
    by = list(by)
    missing = [c for c in by if c not in table.columns]
    if missing:
        raise ValueError(f"cannot summarize by unknown column(s) {missing}")
    t = table.copy()
    t["_top1_n"] = t["top1"].notna().astype(int)
    for c, fill in (("top1_tpot", np.nan), ("par_hits", np.nan), ("par_total", 0)):
        if c not in t.columns:  # tables from before these metrics
            t[c] = fill
    # a failed fit's groups keep their row and choice counts but no scores: the denominators count only
    # what was scored (a leave-one-out repeat whose one fold failed read a lower MAPE and parallelism)
    t["_ape_rows"] = t["n_rows"].where(t["ape_sum"].notna(), 0)
    t["par_total"] = t["par_total"].where(t["par_hits"].notna(), 0)
    keys = by + (["repeat"] if "repeat" not in by else [])
    agg = t.groupby(keys, sort=False, dropna=False).agg(
        top1=("top1", "mean"), regret_pct=("regret_pct", "mean"),
        pairs_concordant=("pairs_concordant", lambda s: s.sum(min_count=1)),
        pairs_total=("pairs_total", "sum"),
        ape_sum=("ape_sum", lambda s: s.sum(min_count=1)), n_rows=("n_rows", "sum"), ape_rows=("_ape_rows", "sum"),
        spearman=("spearman", "mean"), n_groups=("_top1_n", "sum"),
        top1_tpot=("top1_tpot", "mean"),
        par_hits=("par_hits", lambda s: s.sum(min_count=1)), par_total=("par_total", "sum"),
    ).reset_index()
    agg["pairwise"] = agg["pairs_concordant"] / agg["pairs_total"].where(agg["pairs_total"] > 0)
    agg["parallelism"] = agg["par_hits"] / agg["par_total"].where(agg["par_total"] > 0)
    agg["mape"] = agg["ape_sum"] / agg["ape_rows"].where(agg["ape_rows"] > 0)
    metrics = list(METRICS)
    if "top1_strict" in t.columns:  # the deployment view of a TPOT SLO
        extra = t.groupby(keys, sort=False, dropna=False)[list(SLO_METRICS)].mean().reset_index()
        agg = agg.merge(extra, on=keys, how="left")
        metrics += list(SLO_METRICS)
    agg["_scored"] = agg[["top1", "pairwise", "mape"]].notna().any(axis=1)  # the fit of that repeat ran
    if "repeat" in by:
        out = agg
        for m in metrics:
            out[f"{m}_std"] = np.nan
        out["n_repeats"] = agg["_scored"].astype(int)
        out["n_failed_repeats"] = 1 - out["n_repeats"]
        for m in metrics:
            out[f"{m}_repeats"] = out[m].notna().astype(int)
    else:
        g = agg.groupby(by, sort=False, dropna=False)
        out = agg[agg["_scored"]].groupby(by, sort=False, dropna=False)[metrics + ["n_groups"]].mean()
        out = out.reindex(g.size().index)  # a key never scored keeps its row, all NaN
        std = g[metrics].std(ddof=0).add_suffix("_std")
        out = out.join(std)
        out["n_repeats"] = g["_scored"].sum()
        out["n_failed_repeats"] = g.size() - out["n_repeats"]
        # a metric a scored repeat had nothing of (no Top-1 group, no TPOT) is averaged over fewer repeats
        counted = agg[agg["_scored"]].groupby(by, sort=False, dropna=False)[metrics].count()
        out = out.join(counted.reindex(g.size().index).fillna(0).astype(int).add_suffix("_repeats"))
        out = out.reset_index()
    if "detail" in t.columns and "detail" not in by:  # a leave-one-out split's folds share repeat 0: count
        units = by + [c for c in ("repeat", "detail") if c not in by]  # each fold that failed, not the repeat
        t["_scored"] = t[["top1", "pairs_concordant", "ape_sum"]].notna().any(axis=1)
        scored_unit = t.groupby(units, sort=False, dropna=False)["_scored"].any().reset_index()
        failed = (~scored_unit["_scored"]).groupby([scored_unit[c] for c in by], sort=False, dropna=False).sum()
        failed = failed.rename("_failed_units").reset_index()
        out = out.merge(failed, on=by, how="left")
        out["n_failed_repeats"] = out["_failed_units"].fillna(0).astype(int)
    cols = by + [c for m in metrics for c in (m, f"{m}_std")] + ["n_groups", "n_repeats", "n_failed_repeats"] \
        + [f"{m}_repeats" for m in metrics]
    return out[cols]


def overview(table: pd.DataFrame) -> pd.DataFrame:
    """The canonical summary: one row per (split, variant, train_size, method).

    ``random`` and ``curve`` keep their training sizes apart; the extrapolation splits pool their
    folds (held-out model, GPU direction), whose training sizes differ, so their ``train_size``
    is NaN.
    """
    parts = []
    sized = table[table["split"].isin(("random", "curve"))]
    if not sized.empty:
        parts.append(summarize(sized, by=("split", "variant", "train_size", "method")))
    rest = table[~table["split"].isin(("random", "curve"))]
    if not rest.empty:
        s = summarize(rest, by=("split", "variant", "method"))
        s.insert(2, "train_size", np.nan)
        parts.append(s)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def worst(table: pd.DataFrame, method: str, by: str = "group", n: int = 5) -> pd.DataFrame:
    """Where ``method`` is worst on the random split: the ``n`` keys of ``by`` (``"group"`` or
    ``"task"``) with the highest MAPE, with their Top-1, Top-1 under the median TPOT, parallelism
    choice, pairwise and MAPE (means over repeats), so the next gap is visible. ``n_repeats``: the repeats
    that held out a row of the key (and scored it); ``<metric>_repeats``: those each figure is over, out of
    ``run_repeats``, the repeats ``method`` was scored in (a key held out in 2 of 6 repeats, or with two
    candidates in only one, is averaged over those)."""
    t = table[(table["split"] == "random") & (table["method"] == method)]
    if t.empty or by not in t.columns:
        return pd.DataFrame()
    s = summarize(t, by=(by,))
    s["run_repeats"] = int(summarize(t, by=("method",))["n_repeats"].iloc[0])
    shown = ["mape", "top1", "top1_tpot", "parallelism", "pairwise"]
    cols = [by, *shown, "n_groups", "n_repeats", "run_repeats", *(f"{m}_repeats" for m in shown)]
    return s.sort_values("mape", ascending=False).head(n)[cols].reset_index(drop=True)


def worst_labels(w: pd.DataFrame, by: str) -> list[str]:
    """The keys of :func:`worst`'s table as the command and the report show them: a group's blank parts left out
    (a blank task: no leading " | "), a blank task as "(no task)"; all blank (profiles without tasks): []."""
    labels = [" | ".join(p for p in str(v).split(" | ") if p.strip()) for v in w[by]]
    if not any(labels):
        return []
    return [v or "(no task)" for v in labels] if by == "task" else labels

