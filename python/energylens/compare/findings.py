"""The sentences of the evaluation report that state a result, each computed from the run's own numbers.

Nothing here is fixed text about how a method fares: a sentence either describes a method's definition
(what it is fitted on, which terms its formula has) or quotes a number of this run (Top-1, regret, rank,
the Top-1 of a uniformly random pick among the same candidates). Change the numbers and the sentences
change (``tests/compare/test_report.py``).

A method whose fit failed in every repeat of the random split gets that said instead (its notes had quoted
"n/a of groups" and "nan %"). Imports numpy, pandas, :mod:`energylens.compare.result`,
:mod:`energylens.compare.report_tables` and :mod:`energylens.compare.inputs` (the ensembles' columns).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from energylens.compare.inputs import BASELINE_FEATURES
from energylens.compare.report_tables import OURS, method_order, why_no_choice
from energylens.compare.result import EvaluationResult, summarize
from energylens.outputs import plural

__all__ = ["random_summary", "chance_top1", "candidates_per_group", "standing", "method_notes"]


def random_summary(result: EvaluationResult) -> pd.DataFrame:
    """The random split summarised per method (index: method); empty without that split."""
    t = result.table
    t = t[t["split"] == "random"] if not t.empty else t
    if t.empty:
        return pd.DataFrame()
    return summarize(t, by=("method",)).set_index("method")


def _groups_of(result: EvaluationResult, split: str, method: str | None = None) -> pd.DataFrame:
    """One row per (split instance, group) of ``split``: ``method``'s rows (default the first method's; the
    groups and held-out rows are every method's, but the candidates of a group under a TPOT limit are the
    method's own)."""
    t = result.table
    if t.empty:
        return t
    t = t[t["split"] == split]
    if t.empty:
        return t
    return t[t["method"] == (t["method"].iloc[0] if method is None else method)]


def chance_top1(result: EvaluationResult, split: str = "random", method: str | None = None) -> float:
    """Top-1 of a uniformly random pick among ``method``'s candidates (default the first method's): per
    repeat the mean of ``1 / candidates`` over the groups with at least two (measured ties aside), then the
    mean over repeats, as Top-1 itself is averaged; NaN without such groups."""
    g = _groups_of(result, split, method)
    if g.empty:
        return float("nan")
    g = g[g["n_candidates"].to_numpy(dtype=float) >= 2]
    if g.empty:
        return float("nan")
    repeat = g["repeat"].to_numpy() if "repeat" in g else np.zeros(len(g))  # (a table without repeats: one)
    per = (1.0 / g["n_candidates"].astype(float)).groupby(repeat).mean()
    return float(per.mean())


def candidates_per_group(result: EvaluationResult, split: str = "random") -> float:
    """Mean held-out rows per group of ``split`` (NaN without it)."""
    g = _groups_of(result, split)
    return float(g["n_rows"].mean()) if not g.empty else float("nan")


def _ordinal(k: int) -> str:
    return {1: "first", 2: "second", 3: "third"}.get(k, f"{k}th")


def _rank(s: pd.DataFrame, metric: str, higher_is_better: bool) -> tuple[int, str, float, list[str]]:
    """(rank of ours among the methods with a value, best other method, its value, the others tied with ours)."""
    col = s[metric].dropna()
    order = col.sort_values(ascending=not higher_is_better)
    others = order.drop(OURS, errors="ignore")
    best_other = (str(others.index[0]), float(others.iloc[0])) if len(others) else ("", float("nan"))
    better = col > col[OURS] if higher_is_better else col < col[OURS]
    tied = [str(m) for m, v in others.items() if v == col[OURS]]
    return int(better.sum()) + 1, best_other[0], best_other[1], tied


def _digits(a: float, b: float, decimals: int) -> int:
    """Decimals that tell ``a`` from ``b`` apart (at most 3 more than ``decimals``): a regret of 0.04 % against
    0.01 % read "0.0 %" against "0.0 %" beside the word "second"."""
    for d in range(decimals, decimals + 4):
        if f"{a:.{d}f}" != f"{b:.{d}f}":
            return d
    return decimals


def _standing_part(s: pd.DataFrame, metric: str, label: str, higher: bool, unit: str) -> str:
    """``first by Top-1 (0.809; best other: llmcarbon 0.685)``; a tie says so rather than reading as a lead."""
    ours = float(s.loc[OURS, metric])
    if not np.isfinite(ours):  # (no pair to order: every held-out candidate measured alike) it raised KeyError
        return f"{label} n/a"
    rank, other, value, tied = _rank(s, metric, higher)
    base = 1 if unit else 3
    tie = f", tied with {', '.join(tied)}" if tied else ""
    d = _digits(ours, value, base) if other and other not in tied else base
    vs = f"; best other: {other} {value:.{d}f}{unit}" if other and other not in tied else ""
    return f"{_ordinal(rank)} by {label} ({ours:.{d}f}{unit}{tie}{vs})"


def standing(result: EvaluationResult) -> str:
    """Where ours ranks on the random split by Top-1, pairwise accuracy and regret, with the best other method."""
    s = random_summary(result)
    if s.empty:
        return ""
    n = result.info.get("train_size")
    if not s["top1"].notna().any():  # (idxmax raised "Encountered all NA values")
        return f"No method has a Top-1 on the random split ({n} training rows): {why_no_choice(result)}."
    if OURS not in s.index or not np.isfinite(s.loc[OURS, "top1"]):
        top = float(s["top1"].max())
        best = [str(m) for m, v in s["top1"].items() if v == top]  # all of them: the first alone read as a lead
        return (f"Best Top-1 on the random split ({n} training rows): {' and '.join(best)} "
                f"({top:.3f}{', tied' if len(best) > 1 else ''}).")
    if int(s["top1"].notna().sum()) == 1:  # ("ranks first by Top-1 ... among 1 methods with results")
        r = s.loc[OURS]
        return (f"On the random split ({n} training rows), {OURS} is the only method with results: Top-1 "
                f"{r['top1']:.3f}, pairwise accuracy {_fmt(r['pairwise'], '.3f')}, regret {_fmt(r['regret_pct'], '.1f')} %.")
    parts = [_standing_part(s, metric, label, higher, unit)
             for metric, label, higher, unit in (("top1", "Top-1", True, ""), ("pairwise", "pairwise accuracy", True, ""),
                                                 ("regret_pct", "regret", False, " %"))]
    k = int(s["top1"].notna().sum())
    partial = [f"{m} ({int(r.n_repeats)} of {plural(int(r.n_repeats + r.n_failed_repeats), 'repeat')}; its other fits failed)"
               for m, r in s.iterrows() if "n_failed_repeats" in s and r.n_failed_repeats > 0 and r.n_repeats > 0]
    return (f"On the random split ({n} training rows), {OURS} ranks " + ", ".join(parts[:-1])
            + f" and {parts[-1]}, among {k} methods with results"
            + (f"; averaged over fewer repeats: {', '.join(partial)}" if partial else "") + ".")


def _fmt(v: float, spec: str) -> str:
    return format(v, spec) if np.isfinite(v) else "n/a"


def _metric(s: pd.DataFrame, method: str, metric: str) -> float:
    return float(s.loc[method, metric]) if method in s.index else float("nan")


def _share(x: float) -> str:
    """A Top-1 as a share of groups, to 0.1 % (0.005 read "0%", as if the choice never hit; NaN: n/a)."""
    return f"{100 * x:.1f} %" if np.isfinite(x) else "n/a"


def _failed(s: pd.DataFrame, method: str) -> str:
    """The note of a method with no figures on the random split, else "": its fit failed in every repeat, or (no
    error: ``_errored`` False, :func:`method_notes`) nothing of it could be scored, which read "its fit failed in
    every repeat ... (the error: Failed fits, below)" with no error anywhere (every row its own group)."""
    if method in s.index and "n_repeats" in s.columns and int(s.loc[method, "n_repeats"]) == 0:
        if "_errored" in s.columns and not bool(s.loc[method, "_errored"]):
            return (f"- **{method}**: nothing of it could be scored on the random split: no held-out group had two "
                    "candidates to choose between" + ("" if np.isfinite(s.loc[method].get("mape", np.nan)) else
                                                      ", and it has no energy scale for MAPE") + ".")
        failed = int(s.loc[method, "n_failed_repeats"]) if "n_failed_repeats" in s.columns else 0
        return (f"- **{method}**: its fit failed in every repeat of the random split"
                + (f" ({plural(failed, 'repeat')})" if failed else "")
                + ", so it has no figures there (the error: Failed fits, below).")
    return ""


def _top1(x: float) -> str:
    """A Top-1 of the notes: 0.875, or n/a with why (no held-out group had two candidates; it printed "nan")."""
    return f"{x:.3f}" if np.isfinite(x) else "n/a: no held-out group had two candidates"


def _latency_proxy(s: pd.DataFrame) -> str:
    failed = _failed(s, "latency_proxy")
    if failed:
        return failed
    ours = ""
    if OURS in s.index and np.isfinite(_metric(s, OURS, "top1")):
        ours = (f" ({OURS}: {_share(_metric(s, OURS, 'top1'))} of groups, mean regret "
                f"{_metric(s, OURS, 'regret_pct'):.1f} %)")
    return ("- **latency_proxy** chooses the configuration with the lowest *measured* TPOT: an oracle latency "
            "with no prediction error. On the random split it picks the measured cheapest configuration in "
            f"{_share(_metric(s, 'latency_proxy', 'top1'))} of groups, with a mean regret of "
            + (f"{_metric(s, 'latency_proxy', 'regret_pct'):.1f} %" if np.isfinite(_metric(s, "latency_proxy",
                                                                                        "regret_pct")) else "n/a")
            + f"{ours}. It has no energy scale, so MAPE is n/a.")


#: The runner's split names as the report's sections call them ("curve" is its "Sample efficiency").
SPLIT_WORDS = {"random": "random split", "curve": "sample efficiency", "unseen_batch": "unseen batch sizes",
               "unseen_gpu": "unseen GPU", "unseen_model": "unseen model"}


def _wilkins(s: pd.DataFrame, result: EvaluationResult) -> str:
    failed = _failed(s, "wilkins2024")
    if failed:
        return failed
    pooled = result.info.get("notes", {}).get("wilkins2024", {}).get("pooled_fraction", {})
    pooled_txt = ", ".join(f"{SPLIT_WORDS.get(k, k)} {100 * v:.0f} %" for k, v in pooled.items()) or "none"
    return ("- **wilkins2024** (Wilkins, Keshav and Mortier 2024, e = a0 tin + a1 tout + a2 tin tout) is "
            "fitted by least squares per (model, GPU), as published. It has no TP, PP or batch term, so it "
            "orders a group's configurations by their token counts only: its Top-1 on the random split is "
            + (f"{_metric(s, 'wilkins2024', 'top1'):.3f}, against {chance_top1(result, method='wilkins2024'):.3f} for a "
               "uniformly random pick among the same candidates" if np.isfinite(_metric(s, "wilkins2024", "top1"))
               else f"{_top1(np.nan)}") + ". A (model, GPU) with too few training rows was predicted "
            "by a pooled per-GPU fit of energy per active parameter (our choice; share of held-out rows so "
            f"predicted, per section: {pooled_txt}).")


def _llmcarbon(s: pd.DataFrame) -> str:
    failed = _failed(s, "llmcarbon")
    if failed:
        return failed
    return ("- **llmcarbon**: n_gpus x TDP x u x roofline time per request; the utilisation u is fitted as one "
            "scalar on the training rows (LLMCarbon fixes it). One scalar leaves the order within a group "
            + (f"unchanged, so its Top-1 ({_metric(s, 'llmcarbon', 'top1'):.3f} on the random split) is the "
               "roofline's alone." if np.isfinite(_metric(s, "llmcarbon", "top1")) else
               f"unchanged, so its Top-1 is the roofline's alone (on the random split {_top1(np.nan)})."))


def _ensembles(s: pd.DataFrame, present: list[str]) -> list[str]:
    """The learners' note (the columns they read, named from :data:`BASELINE_FEATURES`: the list was written
    by hand and still named the 15 columns of before 370304c), then one note per learner with no figures."""
    out = [_failed(s, m) for m in present]
    scored = [m for m, f in zip(present, out, strict=True) if not f]
    if scored:
        tops = ", ".join(f"{m} {_metric(s, m, 'top1'):.3f}" for m in scored)
        if not any(np.isfinite(_metric(s, m, "top1")) for m in scored):
            tops = _top1(np.nan)
        cols = ", ".join(f"`{c}`" for c in BASELINE_FEATURES)
        out.insert(0, "- **" + " / ".join(scored) + f"** {'regress' if len(scored) > 1 else 'regresses'} log energy "
                   f"on {len(BASELINE_FEATURES)} columns per row: the closed form's own inputs (the template's "
                   f"features) plus the GPU count, total parameters and bytes per weight ({cols}); Top-1 on the "
                   f"random split: {tops}.")
    return [f for f in out if f]


def _candidates(result: EvaluationResult) -> str:
    a, b = candidates_per_group(result, "random"), candidates_per_group(result, "curve")
    chance = chance_top1(result, "random"), chance_top1(result, "curve")
    if not (np.isfinite(a) and np.isfinite(b)) or not np.isfinite(chance).all():
        return ""  # (one candidate per group: it read "A uniformly random pick has Top-1 nan and nan")
    return (f"- Held-out candidates per group: {a:.1f} on average in the headline (`random`: every row not "
            f"drawn for training), {b:.1f} in the sample-efficiency split (a fixed quarter). A uniformly random "
            f"pick has Top-1 {chance_top1(result, 'random'):.3f} and {chance_top1(result, 'curve'):.3f} "
            "there, so compare methods within a table, not across tables.")


def method_notes(result: EvaluationResult) -> list[str]:
    """One Markdown bullet per method of the run that has a note, then the candidates-per-group note."""
    s = random_summary(result)
    if not s.empty:  # which methods raised (a method with no score and no error had nothing to score)
        t = result.table
        err = t.loc[t["split"] == "random", ["method", "error"]] if "error" in t else pd.DataFrame(columns=["method"])
        raised = err[err["error"].fillna("").astype(str) != ""]["method"] if "error" in err else []
        s = s.assign(_errored=s.index.isin(set(raised)))
    methods = method_order(result.info.get("methods", []))
    out: list[str] = []
    if not s.empty:
        if "latency_proxy" in methods:
            out.append(_latency_proxy(s))
        if "wilkins2024" in methods:
            out.append(_wilkins(s, result))
        if "llmcarbon" in methods:
            out.append(_llmcarbon(s))
        ensembles = [m for m in ("random_forest", "gradient_boosting", "xgboost") if m in methods]
        if ensembles:
            out += _ensembles(s, ensembles)
    note = _candidates(result)
    return out + ([note] if note else [])
