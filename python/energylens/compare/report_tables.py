"""The numbers of the evaluation report as tables: the headline per method, the paper's published claims next
to ours, paired wins over repeats, break-downs, and the Markdown / fixed-width formatting they share.

Imports numpy, pandas and :mod:`energylens.compare.result` only.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from energylens.compare.result import EvaluationResult, overview, summarize
from energylens.outputs import plural

__all__ = ["OURS", "ANALYTICAL", "PAPER_CLAIMS", "method_order", "fmt", "md_table", "headline", "format_summary",
           "paper_comparison", "small_vs_all", "paired_wins", "breakdown", "metric_rows", "heads", "fewer_repeats",
           "paired_cell", "with_run_repeats", "fewer_list", "paper_notes", "WHY_FEWER", "WHY_FEWER_PART", "failed_note",
           "count", "why_no_choice", "unscored_notes", "drawn_note", "run_time"]

OURS = "energylens"

#: The claims of the paper we compare against, as published (metric, value, what it is).
PAPER_CLAIMS = (
    ("Top-1 selection accuracy", 0.882, "paper, its closed form"),
    ("Top-1, closest analytical baseline", 0.609, "paper"),
    ("Pairwise ranking accuracy", 0.958, "paper"),
    ("Pairwise, text", 0.961, "paper"),
    ("Pairwise, image+text", 0.922, "paper"),
    ("Pairwise, video+text", 0.833, "paper"),
)

#: The analytical (closed-form, not learned) baselines: the paper's "closest analytical baseline".
ANALYTICAL = ("wilkins2024", "llmcarbon")


def method_order(methods: Sequence[str]) -> list[str]:
    """Methods in first-seen order, ours first."""
    ms = list(dict.fromkeys(methods))
    return ([OURS] if OURS in ms else []) + [m for m in ms if m != OURS]


def fmt(v: Any, std: Any = None, pct: bool = False) -> str:
    """``0.812 ± 0.020`` (``pct``: one decimal); ``n/a`` for a missing or non-finite value."""
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "n/a"
    s = f"{v:.1f}" if pct else f"{v:.3f}"
    if std is not None and isinstance(std, float) and np.isfinite(std) and std > 0:
        s += f" ± {std:.1f}" if pct else f" ± {std:.3f}"
    return s


#: How the tables name each metric (in :func:`fewer_repeats` notes).
_METRIC_NAMES = {"top1": "Top-1", "top1_tpot": "Top-1 @TPOT", "parallelism": "parallelism", "pairwise": "pairwise",
                 "mape": "MAPE", "spearman": "Spearman", "regret_pct": "regret", "top1_strict": "Top-1 strict",
                 "slo_violation": "SLO violations"}


#: How :func:`fewer_repeats` names the rows of a table by its key columns ("every method and training size").
_KEY_NAMES = {"train_size": "training size"}

#: Why a summary row's metric is over fewer of its repeats (:func:`fewer_repeats`' default).
WHY_FEWER = ("the others had nothing to score for it: no held-out group with two candidates, no measured TPOT or no "
             "parallelism choice")
#: Why a break-down cell (a modality, task or group of one method) is over fewer of the method's repeats.
WHY_FEWER_PART = ("the others held out no row of it, or nothing of it to score: no group with two candidates, no "
                  "measured TPOT or no parallelism choice")


def fewer_repeats(s: pd.DataFrame, keys: Sequence[str], prefix: str = "", of: str = "n_repeats",
                  why: str = WHY_FEWER, metrics: Sequence[str] | None = None) -> list[str]:
    """A note per row of summary ``s`` (named by ``keys``) with a metric averaged over fewer repeats than the
    row's ``of`` column: its own ``n_repeats``, or for a break-down cell the repeats its method was scored in
    over the run (``run_repeats``). ``<metric>_repeats``: the repeats that had something of it to score, e.g.
    ``Top-1, regret over 1 of 6 repeats``; a metric with none reads n/a and needs no note. ``metrics``: those
    the table shows (default: every one); ``why`` ends each note in parentheses ("": said once by the caller)."""
    names = {m: n for m, n in _METRIC_NAMES.items() if metrics is None or m in metrics}
    same: dict[str, list[str]] = {}  # a note's text -> the rows it is said of, in order
    for _, r in s.iterrows():
        n = int(r.get(of, 0) or 0)
        by_count: dict[int, list[str]] = {}
        for m, name in names.items():
            k = r.get(f"{m}_repeats")
            if k is not None and not pd.isna(k) and 0 < int(k) < n:
                by_count.setdefault(int(k), []).append(name)
        if by_count:
            parts = "; ".join(f"{', '.join(names)} over {k} of {plural(n, 'repeat')}" for k, names in by_count.items())
            same.setdefault(parts, []).append(" ".join(str(r[c]) for c in keys if not pd.isna(r[c]) and str(r[c])))
    every = "every " + " and ".join(", ".join(_KEY_NAMES.get(c, c) for c in keys).rsplit(", ", 1))  # (a, b and c)
    return [f"{prefix}{every if len(labels) == len(s) > 1 else ', '.join(labels)}: {parts}" + (f" ({why})" if why else "")
            for parts, labels in same.items()]  # (rows saying the same share one line: it was 42 in a report)


def with_run_repeats(s: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    """Break-down summary ``s`` (by some column and ``method``, from the rows of ``table``) with ``run_repeats``:
    the repeats each method was scored in over all of ``table``, which its cells' ``<metric>_repeats`` are out
    of (a cell's own ``n_repeats`` leaves out the repeats that held out no row of it)."""
    runs = summarize(table, by=("method",)).set_index("method")["n_repeats"]
    return s.assign(run_repeats=s["method"].map(runs).fillna(0).astype(int))


def paired_cell(wins: float, counted: int, repeats: int) -> str:
    """A paired-table cell: the wins, with the repeats they are out of when fewer than the row's ``repeats``
    (``1 of 1`` where both methods had the metric in one of their six repeats; ``n/a`` in none)."""
    if counted == 0:
        return "n/a"
    return f"{wins:g}" if counted == repeats else f"{wins:g} of {counted}"


def md_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A Markdown table."""
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(map(str, r)) + " |" for r in rows]
    return "\n".join(out)


def headline(result: EvaluationResult) -> pd.DataFrame:
    """Per method on the ``random`` split: every metric, mean and std over repeats, ours first."""
    t = result.table
    t = t[t["split"] == "random"]
    if t.empty:
        return pd.DataFrame()
    s = summarize(t, by=("method",)).set_index("method")
    return s.loc[method_order(s.index)].reset_index()


def drawn_note(result: EvaluationResult) -> str:
    """Where the random draws trained on other than the --train-size asked (copies of a row drawn together), what
    they drew; "" otherwise."""
    info = result.info
    drawn = info.get("train_sizes_drawn")
    if not drawn:
        return ""
    sizes = f"{drawn[0]}" if len(drawn) == 1 else f"{drawn[0]}-{drawn[-1]}"
    return (f"{info.get('train_size_asked')} training rows asked, {sizes} drawn: rows that copy one another are drawn "
            "together (or held out together), so a draw holds fewer where the next row's copies do not fit")


def why_no_choice(result: EvaluationResult) -> str:
    """Why no held-out group of the random split had two candidates, and what to change. Every row its own group
    (``info["choices"]``, :func:`energylens.compare.metrics.choice_counts`) is not helped by holding out more:
    it advised --train-size there."""
    info = result.info
    choices, gb = info.get("choices") or {}, ", ".join(info.get("group_by") or ())
    largest = choices.get("largest_group")
    if largest is not None and largest < 2:
        return (f"no ({gb}) group of the {info.get('n_rows', '?')} profile rows holds two rows, so there is no choice "
                "among configurations to score whatever is held out; group by fewer columns (--group-by"
                + (", e.g. model,gpu" if gb == "task, model, gpu" else "") + ") or measure several configurations "
                "of each group")
    slo = info.get("tpot_slo")
    if slo:
        return (f"no held-out group had two candidates meeting the {slo:g} s TPOT SLO (predicted and measured); "
                "raise --tpot-slo, or train on fewer rows (--train-size) to hold out more")
    n, size = info.get("n_rows"), info.get("train_size")
    if n is not None and size is not None and n - size < 2:  # 13 rows at 12: "train on fewer rows" said no size
        prior = any(str(m).endswith("+prior") for m in info.get("methods") or ())  # (--prior given: not advised)
        return (f"each draw holds out only {plural(n - size, 'row')} of the {n}, and a choice needs two of one group; "
                f"give --train-size {n - 2} or less (where that is below the energylens model's parameters its "
                "fit fails" + ("" if prior else ": measure more rows, or add --prior to score energylens+prior") + ")")
    return ("no held-out group had two candidates to choose between"
            + (f" (the largest group has {largest} rows)" if largest is not None else "")
            + "; train on fewer rows (--train-size) to hold out more")


def _unscored_reason(metric: str, result: EvaluationResult) -> str | None:
    """Why ``metric`` (top1_tpot, parallelism) is n/a for every method where Top-1 is not; None: Top-1's."""
    choices, gb = result.info.get("choices") or {}, ", ".join(result.info.get("group_by") or ())
    if metric == "top1_tpot":
        if choices.get("tpot_rows") == 0:
            return "no row has a measured TPOT (tpot_s), so no row can be said to meet the group's median TPOT"
        return ("no held-out group had two rows with a measured TPOT at or below the group's median (of two held-out "
                "rows one is above it); train on fewer rows (--train-size) to hold out more")
    if choices.get("batch_setting") is False:
        return ("the profiles give no max_num_seqs (or max_batch_size) on any row, so rows of one load cannot be "
                "matched across GPU counts; add the column (vLLM --max-num-seqs)")
    if choices.get("parallelism_choices") == 0:
        return f"no ({gb}) group has rows of one max_num_seqs measured on two GPU counts or more"
    return ("no held-out group had rows of one max_num_seqs on two GPU counts; train on fewer rows (--train-size) "
            "to hold out more")


def unscored_notes(result: EvaluationResult, h: pd.DataFrame, top1: bool = True) -> list[str]:
    """For each choice metric of headline ``h`` that every scored method has n/a: why (the terminal printed a
    column of n/a with no reason). Methods with no score at all (failed fits) are said elsewhere. ``top1=False``:
    not Top-1's (the report's standing sentence says it)."""
    scored = h[h["n_repeats"] > 0] if "n_repeats" in h else h
    if scored.empty:
        return []
    none = {m for m in ("top1", "regret_pct", "pairwise", "top1_tpot", "parallelism")
            if m in scored and scored[m].isna().all()}
    notes, with_top1 = [], []
    for m in ("top1_tpot", "parallelism"):
        if m in none:
            why = _unscored_reason(m, result)
            if "top1" in none and why and "--train-size" in why:
                with_top1.append(m)  # held out too little, as for Top-1
            elif why:
                notes.append(f"{_METRIC_NAMES[m]} is n/a: {why}")
    if "top1" in none and top1:
        names = [_METRIC_NAMES[m] for m in ("top1", "regret_pct", "pairwise") if m in none] \
            + [_METRIC_NAMES[m] for m in with_top1]
        notes.insert(0, f"{', '.join(names)} {'is' if len(names) == 1 else 'are'} n/a: {why_no_choice(result)}")
    return notes


def legend(result: EvaluationResult, h: pd.DataFrame) -> list[str]:
    """Under the terminal table: what each column measures and what it is over (the held-out groups and rows per
    repeat, from the run); the table named only the repeats and training rows."""
    scored = h[h["n_repeats"] > 0] if "n_repeats" in h else h
    t = result.table[(result.table["split"] == "random") & (result.table["method"] == h["method"].iloc[0])]
    rows = t.groupby("repeat")["n_rows"].sum().mean() if not t.empty else float("nan")
    gb = ", ".join(result.info.get("group_by") or ())
    slo = result.info.get("tpot_slo")
    groups = scored["n_groups"].iloc[0] if not scored.empty else float("nan")
    held = plural(int(rows), "held-out row") if rows == rows and rows == int(rows) else f"{count(rows)} held-out rows"
    over = (f"among the rows meeting the {slo:g} s TPOT SLO (predicted and measured), over each method's `groups` "
            f"({gb}) per repeat" if slo
            else f"over the {count(groups)} held-out ({gb}) group{'' if groups == 1 else 's'} with two or more rows "
                 "per repeat")
    text = (f"Top-1: the predicted cheapest configuration is a measured cheapest, {over}; @TPOT: the same among a "
            "group's rows at or below its median measured TPOT; parallel: the cheapest GPU count among a group's rows "
            "of one max_num_seqs, hits / choices; pairwise: a group's row pairs ordered as measured, pooled; MAPE: "
            f"mean |predicted - measured| / measured energy per request over the {held} per repeat; regret: measured energy of the pick above the group's cheapest. Each a mean "
            'over repeats (docs/evaluation.md, "Metrics").')
    return textwrap.wrap(text, 110)


def format_summary(result: EvaluationResult, explain: bool = False) -> str:
    """A short fixed-width table (one line per method) for terminals: the random split, or without one every
    split's rows. With a TPOT SLO also the groups each method was scored on, its strict Top-1 and its SLO
    violations (each method's Top-1 is over the configurations it predicts to meet the SLO, so its groups
    differ); methods whose fit failed in some repeats are named below the table. ``explain``: what each column
    measures and is over (:func:`legend`) under it."""
    h = headline(result)
    if h.empty:
        return _other_splits(result, explain)
    n = result.info.get("train_size")
    slo = bool(result.info.get("tpot_slo")) and "top1_strict" in h
    w = max(18, *(len(str(m)) for m in h["method"]))  # the widest method name (e.g. energylens+model+prior)
    lines = [f"{'method':<{w}} {'Top-1':>6} {'@TPOT':>6} {'parallel':>8} {'pairwise':>8} {'MAPE %':>7} "
             f"{'regret %':>8}" + (f" {'groups':>6} {'strict':>6} {'SLO viol':>8}" if slo else "")
             + f"   ({_repeats(result.info.get('repeats'))}, {n} training rows)"]
    for _, r in h.iterrows():
        lines.append(f"{r['method']:<{w}} {_num(r, 'top1', '.3f'):>6} {_num(r, 'top1_tpot', '.3f'):>6} "
                     f"{_num(r, 'parallelism', '.3f'):>8} {_num(r, 'pairwise', '.3f'):>8} "
                     f"{_num(r, 'mape', '.1f'):>7} {_num(r, 'regret_pct', '.1f'):>8}"
                     + (f" {count(r.get('n_groups', float('nan'))):>6} {_num(r, 'top1_strict', '.3f'):>6} "
                        f"{_num(r, 'slo_violation', '.1%'):>8}" if slo else ""))
    lines += legend(result, h) if explain else []
    lines += ["note: " + failed_note(r) for _, r in h.iterrows() if r.get("n_failed_repeats", 0) > 0]
    lines += fewer_repeats(h, ("method",), prefix="note: ")
    lines += ["note: " + n for n in unscored_notes(result, h)]
    lines += [f"note: {drawn_note(result)}"] if drawn_note(result) else []
    return "\n".join(lines)


def failed_note(r: pd.Series) -> str:
    """The note under a table (terminal and report) for a method whose fit failed in some (or every) repeat."""
    failed, scored = int(r["n_failed_repeats"]), int(r["n_repeats"])
    if scored == 0:
        return f"{r['method']}'s fit failed in every repeat ({plural(failed, 'repeat')}); it has no figures"
    return (f"{r['method']}'s fit failed in {failed} of {plural(failed + scored, 'repeat')}; its figures "
            f"average the other {scored}")


def run_time(seconds: float) -> str:
    """A run's wall time: whole seconds from 10 s, two significant digits below (a 0.3 s run read "0 s")."""
    return f"{seconds:.0f} s" if seconds >= 9.5 else f"{seconds:.2g} s"


def run_time_of(info: dict) -> str:
    """The whole run's wall time (``info["runtime_s"]``), and that of its interval fits where ``--coverage`` ran
    them (until 2026-12-07 the line counted the scored fits only: 1.6 s of a 3.5 s run)."""
    cov = info.get("coverage") or {}
    extra = f" (interval fits {run_time(cov['runtime_s'])})" if cov.get("runtime_s") is not None else ""
    return run_time(info["runtime_s"]) + extra


def command_run_time(info: dict) -> str:
    """``run time`` as report.md, the last line and ``--json`` give it: the command's wall time
    (``info["command_runtime_s"]``, to its report written) with the comparison's share named; a result without
    it (the Python API) names the comparison's alone (report.md gave that figure unlabelled while the command's
    last line gave the command's)."""
    share = f"the comparison's fits and scoring {run_time_of(info)}"
    if info.get("command_runtime_s") is None:
        return f"run time of {share}"
    return f"run time {run_time(info['command_runtime_s'])} (of which {share})"


def count(v: Any) -> str:
    """A mean count (``groups``) to one decimal, a whole one without; ``n/a`` where nothing was scored (it read
    ``nan``)."""
    if v is None or not np.isfinite(v):
        return "n/a"
    return f"{v:.0f}" if v == round(v) else f"{v:.1f}"  # a leave-one-out split's folds together: 54, not 54.0


def _repeats(n: Any) -> str:
    """``1 repeat``, ``20 repeats``; ``repeats: ?`` for a result whose info does not say (one built by hand)."""
    return "repeats: ?" if n is None else plural(int(n), "repeat")


def _each_over(result: EvaluationResult) -> str:
    """'Each a mean over repeats', or, where every split ran once (leave-one-out splits), what the table ran."""
    once = not result.table.empty and result.table.get("repeat", pd.Series([0, 1])).nunique() == 1
    return "Each over one pass of the folds" if once else "Each a mean over repeats"


def _other_splits(result: EvaluationResult, explain: bool = False) -> str:
    """Without a random split: Top-1, pairwise, MAPE, regret and the groups they are over per split, variant, size
    and method; ``explain``: what each column measures, under the table."""
    t = result.table
    if t.empty:
        return "(nothing was evaluated)"
    s = overview(t)
    lines = [f"{'split':<14} {'variant':<28} {'size':>5} {'method':<18} {'Top-1':>6} {'pairwise':>8} {'MAPE %':>7} "
             f"{'regret %':>8} {'groups':>6}"]
    for _, r in s.iterrows():
        size = "" if pd.isna(r["train_size"]) else f"{int(r['train_size'])}"
        lines.append(f"{r['split']:<14} {str(r['variant'])[:28]:<28} {size:>5} {r['method']:<18} "
                     f"{_num(r, 'top1', '.3f'):>6} {_num(r, 'pairwise', '.3f'):>8} {_num(r, 'mape', '.1f'):>7} "
                     f"{_num(r, 'regret_pct', '.1f'):>8} {count(r.get('n_groups', float('nan'))):>6}")
    gb = ", ".join(result.info.get("group_by") or ())
    lines += textwrap.wrap(
        f"size: training rows (blank: each fold's own); groups: held-out ({gb}) groups with two or more rows per "
        "repeat (unseen_*: every fold of the repeat together), over which Top-1 (the predicted cheapest configuration is a measured cheapest) and regret "
        "(measured energy of the pick above the group's cheapest) are means; pairwise: their row pairs ordered as "
        "measured, pooled; MAPE: mean |predicted - measured| / measured energy per request over the held-out rows. "
        f'{_each_over(result)} (docs/evaluation.md, "Splits", "Metrics").', 110) if explain else []
    sized = s.assign(size=[f"{int(v)} rows" if not pd.isna(v) else "" for v in s["train_size"]])  # (as the table)
    return "\n".join(lines + fewer_repeats(sized, ("split", "variant", "size", "method"), prefix="note: "))


def _num(row: pd.Series, key: str, fmt: str) -> str:
    v = row.get(key, float("nan"))
    return "n/a" if v is None or not np.isfinite(v) else format(v, fmt)


def paper_comparison(result: EvaluationResult) -> pd.DataFrame:
    """The paper's published numbers next to ours on this data (random split). ``repeats``: the repeats each
    figure of this data is over, out of ``of``, those its method was scored in (fewer where a repeat had nothing
    of it to score: no held-out group with two candidates, none of that modality)."""
    t = result.table[result.table["split"] == "random"]
    ours = t[t["method"] == OURS]
    base = t[t["method"] != OURS]
    of_ours = int(summarize(ours, by=("method",))["n_repeats"].iloc[0]) if not ours.empty else 0

    def val(df: pd.DataFrame, metric: str, **where: str) -> tuple[float, int]:
        for k, v in where.items():
            if k not in df.columns:
                return float("nan"), 0
            df = df[df[k] == v]
        if df.empty:
            return float("nan"), 0
        r = summarize(df, by=("method",)).iloc[0]
        return float(r[metric]), int(r[f"{metric}_repeats"])

    best: tuple[float, int, int] = (float("nan"), 0, 0)
    best_name = ""
    if not base.empty:
        sb = summarize(base[base["method"].isin(ANALYTICAL)], by=("method",))
        if not sb.empty and sb["top1"].notna().any():  # (nanargmax raises on all-NaN: no Top-1 anywhere)
            r = sb.iloc[int(np.nanargmax(sb["top1"].to_numpy()))]
            best, best_name = (float(r["top1"]), int(r["top1_repeats"]), int(r["n_repeats"])), str(r["method"])
    claims = {metric: value for metric, value, _ in PAPER_CLAIMS}
    rows = [("Top-1 selection accuracy", claims["Top-1 selection accuracy"], *val(ours, "top1"), of_ours),
            (f"Top-1, best analytical baseline ({best_name or 'n/a'})", claims["Top-1, closest analytical baseline"],
             *best),
            ("Pairwise ranking accuracy", claims["Pairwise ranking accuracy"], *val(ours, "pairwise"), of_ours)]
    for label, mod in (("text", "text"), ("image+text", "image"), ("video+text", "video")):
        rows.append((f"Pairwise, {label}", claims[f"Pairwise, {label}"], *val(ours, "pairwise", modality=mod),
                     of_ours))
    return pd.DataFrame(rows, columns=["metric", "paper", "energylens", "repeats", "of"])


def paper_notes(pc: pd.DataFrame) -> list[str]:
    """The rows of :func:`paper_comparison` whose figure is over fewer repeats than its method was scored in."""
    return [f"{r.metric}: over {r.repeats} of {plural(int(r.of), 'repeat')} "
            f"({WHY_FEWER_PART if r.metric.startswith('Pairwise, ') else WHY_FEWER})"  # a modality's, or the whole's
            for r in pc.itertuples() if 0 < r.repeats < r.of]


def small_vs_all(result: EvaluationResult) -> tuple[pd.DataFrame, int, int]:
    """Ours at the chosen train size (the curve's size nearest to it when the curve has no such size) against
    every method at the largest curve size."""
    t = result.table[result.table["split"] == "curve"]
    if t.empty:
        return pd.DataFrame(), 0, 0
    s = summarize(t, by=("train_size", "method"))
    asked = int(result.info.get("train_size", 50))
    sizes = s.loc[s["method"] == OURS, "train_size"].dropna().unique()
    n_small = int(min(sizes, key=lambda v: (abs(v - asked), v))) if len(sizes) else asked
    n_all = int(s["train_size"].max())
    ours = s[(s["method"] == OURS) & (s["train_size"] == n_small)]
    others = s[(s["method"] != OURS) & (s["train_size"] == n_all)]
    return pd.concat([ours, others]), n_small, n_all



def paired_wins(result: EvaluationResult, split: str = "random") -> pd.DataFrame:
    """Per baseline: in how many repeats of ``split`` ours was better (Top-1, pairwise, regret).

    Same training and held-out rows per repeat, so this is a paired comparison; ties count half. ``repeats``: the
    repeats where both were scored; ``<metric>_repeats``: those of them where both had the metric, which the
    wins are out of (a repeat whose held-out rows form no group with two candidates has no Top-1).
    """
    t = result.table[result.table["split"] == split]
    if t.empty or OURS not in set(t["method"]):
        return pd.DataFrame()
    per = summarize(t, by=("repeat", "method"))
    rows = []
    for m in method_order(per["method"].unique()):
        if m == OURS:
            continue
        a = per[per["method"] == OURS].set_index("repeat")
        b = per[per["method"] == m].set_index("repeat").reindex(a.index)
        both = (a["n_repeats"] > 0) & (b["n_repeats"] > 0)  # repeats where both were scored
        a, b = a[both], b[both]
        rec: dict[str, Any] = {"method": m, "repeats": len(a)}
        for metric, sign in (("top1", 1.0), ("pairwise", 1.0), ("regret_pct", -1.0)):
            d = sign * (a[metric] - b[metric])
            d = d[np.isfinite(d)]  # repeats where both had the metric (a repeat may have no Top-1 group)
            rec[metric] = float(((d > 0) + 0.5 * (d == 0)).sum()) if len(d) else float("nan")
            rec[f"{metric}_repeats"] = len(d)
        rows.append(rec)
    return pd.DataFrame(rows)


def breakdown(result: EvaluationResult, col: str) -> str:
    """Markdown table of the random split per value of ``col`` (modality, task) and method, with a list of the
    cells averaged over fewer repeats than their method was scored in (a repeat whose held-out rows had none of
    that value, or no group of it with two candidates)."""
    t = result.table[result.table["split"] == "random"]
    if col not in t.columns:
        return f"(no `{col}` column)"
    s = with_run_repeats(summarize(t, by=(col, "method")), t)
    s[col] = [v if v.strip() else f"(no {col})" for v in s[col].fillna("").astype(str)]  # (an empty cell)
    rows, cells = [], []
    for key in sorted(s[col].astype(str).unique()):
        sk = s[s[col].astype(str) == key].set_index("method")
        for m in method_order(sk.index):
            r = sk.loc[m]
            rows.append((key, m, fmt(r["top1"]), fmt(r["pairwise"]), fmt(r["mape"], pct=True),
                         fmt(r["regret_pct"], pct=True), count(r["n_groups"])))
            cells.append(r)  # named by its method
    shown = ("top1", "pairwise", "mape", "regret_pct")
    notes = fewer_repeats(pd.DataFrame(cells).rename_axis("method").reset_index(), (col, "method"),
                          of="run_repeats", why=WHY_FEWER_PART, metrics=shown) if cells else []
    table = md_table((col, "method", "Top-1", "pairwise", "MAPE %", "regret %", "groups"), rows)
    return "\n".join([table, "", *fewer_list(notes)]).rstrip("\n")


def fewer_list(notes: Sequence[str]) -> list[str]:
    """Markdown lines under a table: its :func:`fewer_repeats` notes as a list (none: no lines)."""
    return ["Averaged over fewer repeats:", "", *(f"- {n}" for n in notes), ""] if notes else []


def metric_rows(s: pd.DataFrame, keys: Sequence[str]) -> list[tuple[str, ...]]:
    """Formatted table rows of a summary: ``keys`` then every metric (the SLO ones when present)."""
    slo = "top1_strict" in s.columns
    rows = []
    for _, r in s.iterrows():
        row = tuple(str(r[k]) for k in keys) + (
            fmt(r["top1"], r.get("top1_std")), fmt(r.get("top1_tpot", float("nan")), r.get("top1_tpot_std")),
            fmt(r.get("parallelism", float("nan")), r.get("parallelism_std")), fmt(r["pairwise"], r.get("pairwise_std")),
            fmt(r["mape"], r.get("mape_std"), pct=True), fmt(r["spearman"], r.get("spearman_std")),
            fmt(r["regret_pct"], r.get("regret_pct_std"), pct=True), count(r["n_groups"]))
        if slo:
            row += (fmt(r["top1_strict"], r.get("top1_strict_std")),
                    fmt(100 * r["slo_violation"], 100 * r.get("slo_violation_std", np.nan), pct=True))
        rows.append(row)
    return rows


def heads(s: pd.DataFrame) -> tuple[str, ...]:
    """Column headers matching :func:`metric_rows`."""
    head = ("Top-1", "Top-1 @TPOT", "parallelism", "pairwise", "MAPE %", "Spearman", "regret %", "groups")
    if "top1_strict" in s.columns:
        head += ("Top-1 strict", "SLO violations %")
    return head
