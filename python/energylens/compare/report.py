"""The evaluation report: ``report.md`` plus PNG plots and CSV tables, from one :class:`EvaluationResult`.

:func:`write_report` writes into a folder

* ``report.md`` -- the headline table and where ours ranks, paired wins over repeats, the paper's
  published claims next to ours on this data, ours at the chosen train size against every method trained on
  all the other rows, break-downs by modality and task, the sample-efficiency table, the extrapolation
  splits, and notes on each method (:mod:`.findings`: every sentence that states a result is computed);
* ``sample_efficiency.png``, ``predicted_vs_measured.png``, ``group_rankings.png`` (:mod:`.report_plots`,
  the ``compare`` extra);
* ``summary.csv``, ``results.csv`` and ``predictions.csv`` -- the summaries, the tidy per-group table and the
  random split's per-row predictions (the report's figures can be recomputed from them).

:func:`~energylens.compare.report_tables.format_summary` is the short text table the CLI and
``energylens demo`` print. Imports the compare modules it assembles (result, report_tables, findings,
report_plots); the runner does not import it.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd

from energylens.compare.coverage import coverage_markdown
from energylens.compare.findings import method_notes, standing
from energylens.compare.report_plots import PLOTS
from energylens.compare.report_tables import (
    ANALYTICAL,
    OURS,
    WHY_FEWER_PART,
    breakdown,
    command_run_time,
    drawn_note,
    failed_note,
    fewer_list,
    fewer_repeats,
    fmt,
    format_summary,
    headline,
    heads,
    md_table,
    method_order,
    metric_rows,
    paired_cell,
    paired_wins,
    paper_comparison,
    paper_notes,
    run_time,
    run_time_of,
    small_vs_all,
    unscored_notes,
)
from energylens.compare.result import EvaluationResult, overview, summarize, worst, worst_labels
from energylens.outputs import plural

__all__ = ["write_report", "format_summary"]

#: split, title, the keys of its table, what its folds are (the units a repeat pools)
_EXTRAPOLATION = (
    ("unseen_batch", "Unseen batch sizes (train on each group's smaller half)", (), "folds"),
    ("unseen_gpu", "Unseen GPU (train on one GPU plus k rows of the other)", ("variant",), "directions"),
    ("unseen_model", "Unseen model (leave one model out)", (), "folds, one per held-out model"),
)


def _run_time(info: dict) -> str:
    """report.md's run time: the command's (evaluate), or the demo's from its start to this report written
    (its last line, after the search, counts on from the same start)."""
    if info.get("command_runtime_of") != "demo" or info.get("command_runtime_s") is None:
        return command_run_time(info)
    return (f"the demo's run time {run_time(info['command_runtime_s'])} from its start to this report written (of "
            f"which the comparison's fits and scoring {run_time_of(info)})")


def _repeats_run(result: EvaluationResult) -> str:
    """The repeats asked, and the splits that ran fewer (a leave-one-out split runs its folds once), counted from
    the table: a run of unseen_model alone said "20 repeats" for one pass of its folds."""
    asked, t = result.info.get("repeats"), result.table
    if asked is None or t.empty or not {"split", "repeat"} <= set(t.columns):
        return "repeats: ?" if asked is None else plural(int(asked), "repeat")
    ran = t.groupby("split", sort=False)["repeat"].nunique()
    short = ran[ran < int(asked)]
    if short.empty:
        return plural(int(asked), "repeat")
    if len(short) == len(ran) and set(short) == {1}:
        return (f"one pass ({', '.join(short.index)}: each fold once; --repeats {asked} applies to the splits "
                "that draw rows at random)")
    return f"{plural(int(asked), 'repeat')} ({'; '.join(f'{s}: ' + plural(int(n), 'repeat') for s, n in short.items())})"


def _intro(result: EvaluationResult, command: str) -> list[str]:
    info = result.info
    md = ["# energylens evaluation", "",
          f"{info['n_rows']} profile rows; groups by {', '.join(info['group_by'])}; {_repeats_run(result)}; "
          f"seed {info['seed']}; TPOT SLO {info['tpot_slo'] or 'none'}; {_run_time(info)}."]
    if command:
        md += ["", f"Command: `{command}`"]
    if info.get("assumed_inputs"):  # (energylens evaluate: only stderr said it)
        md += ["", f"Note: {info['assumed_inputs']}."]
    if info.get("empty_splits"):  # (energylens evaluate: splits asked for that this data cannot give; stderr said it)
        md += ["", "Note: asked for, but nothing to evaluate on this data: "
               + "; ".join(f"{s} ({why})" for s, why in info["empty_splits"].items()) + "."]
    return md + ["", "The runner draws each split once and hands every method its own copy of the same "
                 "training and held-out rows; every score is computed against the runner's own copy of the "
                 "measurements.", ""]


def _headline(result: EvaluationResult, h: pd.DataFrame) -> list[str]:
    info = result.info
    md = [f"## Headline: {info['train_size']} random training rows, the rest held out", "",
          md_table(("method",) + heads(h), metric_rows(h, ("method",))), "",
          *_fewer(h, ("method",)),
          *(f"- {failed_note(r)}" for _, r in h.iterrows() if r.get("n_failed_repeats", 0) > 0),
          *([""] if (h.get("n_failed_repeats", pd.Series(dtype=float)) > 0).any() else []),
          "Mean ± standard deviation over repeats. Top-1 and regret: groups with at least two held-out "
          "candidates (`groups`: how many per repeat); pairwise pooled over groups; MAPE over rows. "
          "`Top-1 @TPOT`: Top-1 among a group's held-out rows whose measured TPOT is at most the group's median "
          "measured TPOT. `parallelism`: held-out rows of a group with the same max_num_seqs (else max_batch_size) "
          "and different GPU counts form one choice of how many GPUs to serve that load on; hits over choices, "
          "pooled over groups. `Spearman`: rank correlation of predicted and measured energy in each group with "
          "three or more candidates, mean over groups. ±: the population standard deviation (ddof 0) of the "
          "per-repeat figures, here and in every table.", ""]
    sentence = standing(result)
    if sentence:
        md += [sentence, ""]
    unscored = unscored_notes(result, h, top1=not sentence) + ([drawn_note(result)] if drawn_note(result) else [])
    if unscored:  # (the standing sentence says why Top-1 is n/a)
        md += [*(f"- {n}" for n in unscored), ""]
    if "top1_strict" in h.columns:
        md += [f"With the TPOT SLO ({info['tpot_slo']} s), Top-1 and regret are taken among the candidates "
               "whose predicted *and* measured TPOT meet it (so a method that over-predicts TPOT narrows its "
               "own choice: compare `groups`). `Top-1 strict` is the deployment view: the method chooses among "
               "the candidates it predicts feasible; a hit must meet the SLO when measured and be the measured "
               "cheapest feasible one; `SLO violations` is the share of choices that miss the SLO.", ""]
    pw = paired_wins(result)
    if not pw.empty:
        # each row out of its own count: a method whose fit failed in some repeats is compared on the others only
        # (the sentence named the first row's count for every row: "2" read as 2 of 4 when it was 2 of 2)
        # a cell out of fewer repeats says so: a repeat with no Top-1 group read as a loss ("1" of "6" for 1 of 1)
        md += ["Paired over repeats (same rows for every method): in how many of the repeats where both were "
               f"scored (`repeats`) {OURS} did better than each method (ties count half); `w of k`: only k of "
               "them had that metric for both (the others had no held-out group with two candidates).", "",
               md_table(("vs", "Top-1", "pairwise", "regret", "repeats"),
                        [(r["method"], *(paired_cell(r[m], int(r[f"{m}_repeats"]), int(r["repeats"]))
                                         for m in ("top1", "pairwise", "regret_pct")), f"{r['repeats']}")
                         for _, r in pw.iterrows()]), ""]
    pc = paper_comparison(result)
    slo = info.get("tpot_slo")  # the run's Top-1 is then among the candidates meeting it: said on its rows
    under = f" (this run: under the TPOT SLO {slo:g} s)" if slo else ""
    return md + ["## The paper's claims side by side", "",
                 md_table(("metric", "paper", "this run"),
                          [(r.metric + (under if r.metric.startswith("Top-1") else ""), fmt(r.paper), fmt(r.energylens))
                           for r in pc.itertuples()]), "",
                 *fewer_list(paper_notes(pc)), *_absent_modalities(result, pc)]


def _absent_modalities(result: EvaluationResult, pc: pd.DataFrame) -> list[str]:
    """Why a per-modality row of the paper table reads n/a: the run held out no row of that modality (it read
    "Pairwise, video+text | 0.833 | n/a" with no reason), or no group of them with two candidates (every row its
    own group: text and image+text read n/a with no reason)."""
    t = result.table
    held = set(t.loc[t["split"] == "random", "modality"].astype(str)) if "modality" in t.columns else set()
    ours = t[(t["split"] == "random") & (t["method"] == OURS)]
    scored = not ours.empty and ours[["top1", "pairs_concordant", "ape_sum"]].notna().any(axis=None)  # ran, fitted
    mixed = {m for h in held if h.startswith("mixed (") for m in h[len("mixed ("):-1].split(", ")}  # metrics.py

    def why(mod: str) -> str:
        if mod in held:
            return f"no held-out group of {mod} rows had two candidates measured apart"
        if mod in mixed:  # (--group-by without task) its rows share groups with other modalities' only
            return f"the {mod} rows were held out only in groups mixing modalities (--group-by)"
        return f"no {mod} rows in this run's held-out rows"
    out = [f"- {r.metric}: n/a, {why(mod)}"
           for r in pc.itertuples() for label, mod in (("text", "text"), ("image+text", "image"), ("video+text", "video"))
           if r.metric == f"Pairwise, {label}" and (mod not in held or (scored and not np.isfinite(r.energylens)))]
    if not set(t.loc[t["split"] == "random", "method"]) & set(ANALYTICAL):  # (its row read n/a with no reason)
        out.insert(0, f"- Top-1, best analytical baseline: n/a, no analytical baseline ({', '.join(ANALYTICAL)}) "
                      "was run (--methods)")
    return out + [""] if out else []


def _fewer(s: pd.DataFrame, keys: tuple[str, ...]) -> list[str]:
    """Under a table: the metrics some row averages over fewer repeats than it was scored in, as a list."""
    return fewer_list(fewer_repeats(s, keys))


def _method_rank(s: pd.DataFrame) -> pd.DataFrame:
    """``s`` with ``_o``: the method's position, ours first (for sorting)."""
    return s.assign(_o=s["method"].map({m: i for i, m in enumerate(method_order(s["method"]))}))


def _small_vs_all(result: EvaluationResult) -> list[str]:
    sv, n_small, n_all = small_vs_all(result)
    if sv.empty:
        return []
    asked = result.info.get("train_size")
    nearest = f" (the learning curve's size nearest to the {asked} training rows asked for)" \
        if asked is not None and int(asked) != n_small else ""
    return [f"## Ours at {n_small} rows against every method at {n_all} rows (all the others), same "
            f"held-out rows{nearest}", "", md_table(("method", "train rows") + heads(sv),
                                           metric_rows(sv, ("method", "train_size"))), "",
            *_fewer(sv, ("method", "train_size"))]


def _sample_efficiency(result: EvaluationResult) -> list[str]:
    cv = result.table[result.table["split"] == "curve"]
    if cv.empty:
        return []
    s = _method_rank(summarize(cv, by=("train_size", "method"))).sort_values(["_o", "train_size"])
    first = cv[cv["method"] == cv["method"].iloc[0]]
    held = first.groupby(["repeat", "train_size"])["n_rows"].sum().groupby(level="repeat").first()
    lo, hi = int(held.min()), int(held.max())
    return ["## Sample efficiency", "", f"{lo if lo == hi else f'{lo}-{hi}'} held-out rows per repeat "
            f"({plural(int(held.size), 'repeat')}) of the {result.info.get('n_rows', '?')} rows, drawn anew each "
            "repeat and the same for every training size; training sets are nested draws from the rest, up to all "
            f"{int(cv['train_size'].max())} of them. Mean ± standard deviation over repeats (the plot: the same, "
            "training rows on a log axis).", "", "![sample efficiency](sample_efficiency.png)", "",
                 md_table(("method", "train rows") + heads(s), metric_rows(s, ("method", "train_size"))), "",
                 *_fewer(s, ("method", "train_size"))]


def _extrapolation(result: EvaluationResult) -> list[str]:
    md: list[str] = []
    t = result.table
    for split, title, keys, noun in _EXTRAPOLATION:
        ts = t[t["split"] == split]
        if ts.empty:
            continue
        s = summarize(ts, by=tuple(keys) + ("method",))
        s = _method_rank(s)
        if keys:
            s = s.assign(_k=s["variant"].map(lambda v: (len(str(v)), str(v)))).sort_values(["_k", "_o"])
        else:
            s = s.sort_values("_o")
        md += [f"## {title}", "", _passes(ts, keys, noun), "", md_table(tuple(keys) + ("method",) + heads(s),
                                                                       metric_rows(s, tuple(keys) + ("method",))), "",
               *_fewer(s, tuple(keys) + ("method",)), *_failed_folds(ts, keys)]
    return md


def _failed_folds(ts: pd.DataFrame, keys: tuple[str, ...]) -> list[str]:
    """Under an extrapolation table: each method whose fit failed in some of a row's folds (a repeat of a held-out
    GPU direction or model), which ones, and the error. Its row averaged the folds that succeeded beside methods
    scored on all of them, with no word there (a GPU with 3 rows: ours at k=0 read Top-1 1.000 over one direction
    where the others pooled two)."""
    ok = ts[["top1", "pairs_concordant", "ape_sum"]].notna().any(axis=1)
    units = ts.assign(_ok=ok).groupby([*keys, "method", "repeat", "detail"], sort=False, dropna=False)
    u = units.agg(_ok=("_ok", "any"), error=("error", "first")).reset_index()
    out = []
    for key, g in u.groupby([*keys, "method"], sort=False, dropna=False):
        bad = g[~g["_ok"]]
        if bad.empty:
            continue
        where = f"{key[-1]} at {key[0]}" if keys else str(key[-1])
        names = ", ".join(dict.fromkeys(str(d) for d in bad["detail"] if str(d)))
        rest = ("; it has no figures there" if len(bad) == len(g) else
                f"; its figures average the other {len(g) - len(bad)}, so they are not comparable with a method "
                f"scored in all {len(g)}")
        err = next((str(e) for e in bad["error"] if isinstance(e, str) and e), "")
        out.append(f"- {where}: its fit failed in {len(bad)} of {plural(len(g), 'fold')}" + (f" ({names})" if names else "")
                   + rest + (f" (the error: {err})" if err else ""))
    return out + [""] if out else []


def _passes(ts: pd.DataFrame, keys: tuple[str, ...], noun: str) -> str:
    """What each row of an extrapolation table averages: per key its repeats and the folds each pools (counted
    from the table: the tables said neither, and k=0 of unseen_gpu is one draw where k=5 is a mean of repeats)."""
    ts = ts[ts["method"] == ts["method"].iloc[0]]
    parts = []
    keyed = sorted(ts.groupby(list(keys), sort=False), key=lambda kv: (len(str(kv[0][0])), str(kv[0][0]))) \
        if keys else [((), ts)]
    for key, g in keyed:
        folds = g[["repeat", "detail"]].drop_duplicates().groupby("repeat").size()
        lo, hi = int(folds.min()), int(folds.max())
        pooled = (f"{', each' if folds.size > 1 else ''} pooling {lo if lo == hi else f'{lo}-{hi}'} {noun}"
                  if hi > 1 else "")
        parts.append(f"{f'{key[0]}: ' if keys else ''}{plural(int(folds.size), 'repeat')}{pooled}")
    if ts["repeat"].nunique() == 1:  # one draw: there is no spread over repeats to speak of
        return "Scored in " + "; ".join(parts) + " (figures pooled over its held-out rows; one draw, no ±)."
    return ("Scored in " + "; ".join(parts) + " (figures pooled over a repeat's held-out rows, then mean ± standard "
            "deviation over repeats).")


def _breakdown_note(result: EvaluationResult) -> str:
    """What the by-modality and by-task tables are over (they named no split, size or repeat count)."""
    t = result.table
    reps = int(t.loc[t["split"] == "random", "repeat"].nunique())
    return (f"The random split ({result.info.get('train_size')} training rows, the rest held out), mean over the "
            f"{plural(reps, 'repeat')} (a cell averaged over fewer is listed under its table); `groups`: groups "
            "with two or more held-out candidates per repeat.")


def _worst_lists(result: EvaluationResult) -> list[str]:
    """Where ours is worst on the random split, per task and per group (highest MAPE first): the lists the command
    prints under its table, with the same figures and notes (before 2026-12-07 the report did not hold them)."""
    slo = result.info.get("tpot_slo")
    md: list[str] = []
    for by in ("task", "group"):
        w = worst(result.table, OURS, by)
        if w.empty or w["mape"].isna().all():
            continue
        labels = worst_labels(w, by)
        if not labels:
            continue
        held = result.table.loc[(result.table["split"] == "random") & (result.table["method"] == OURS), by].nunique()
        rows = [(label.replace("|", "\\|"), "n/a" if r["mape"] != r["mape"] else f"{r['mape']:.1f}",
                 *("n/a" if r[m] != r[m] else f"{r[m]:.3f}" for m in ("top1", "top1_tpot", "parallelism", "pairwise")))
                for label, (_, r) in zip(labels, w.iterrows(), strict=True)]
        notes = fewer_repeats(w.assign(**{by: labels}), (by,), of="run_repeats", why=WHY_FEWER_PART)
        md += [f"### Worst {by}s", "", f"The {len(w)} of the {held} {by}s held out with the highest MAPE of {OURS}, "
               "mean over the repeats that held out a row of each; n/a: no choice of that kind in it"
               + (f"; Top-1 (SLO): among the candidates meeting the {slo:g} s TPOT SLO" if slo else "") + ".", "",
               md_table((by, "MAPE %", "Top-1 (SLO)" if slo else "Top-1", "Top-1 @TPOT", "parallelism", "pairwise"),
                        rows), "", *fewer_list(notes)]
    return [f"## Where {OURS} is worst (random split)", "", *md] if md else []


def _notes(result: EvaluationResult) -> list[str]:
    t = result.table
    md = ["## Notes on the methods", "", *(method_notes(result) or ["None of this run's methods notes anything."])]
    md += [_expression_note(e) for e in result.info.get("expressions", [])]  # energylens evaluate --expression
    if result.info.get("tpot_slo"):
        src = t.groupby("method")["tpot_source"].first()
        md.append("- TPOT for the SLO filter: " + ", ".join(f"{m}: {src[m]}" for m in method_order(src.index))
                  + " (measured = the method has no latency model).")
    errs = t[t["error"].astype(bool)]
    if not errs.empty:  # one failed fit leaves a row per group of its split: count the splits
        key = [c for c in ("split", "variant", "train_size", "repeat", "detail") if c in errs.columns]
        md.append("- Failed fits (NaN metrics, not averaged in): " + "; ".join(
            f"{m}: {len(e.drop_duplicates(key))} splits or folds (the first: {str(e['error'].iloc[0])[:300]})"
            for m, e in errs.groupby("method", sort=False)))
    return md + [""]


def _expression_note(e: dict) -> str:
    """What a discovered expression's row is (``info["expressions"]``, from ``energylens evaluate --expression``):
    its front entry, complexity, expression, and the share of its fits that converged per split family."""
    what = "template x exp(g), g = " if e.get("target") == "residual" else ""
    conv = ", ".join(f"{split} {share:.0%}" for split, share in e.get("converged", {}).items())
    chosen = ", the discovery's chosen one" if e.get("chosen") else ""
    return (f"- {e['method']}: front entry {e['index']} of `{e['file']}` (complexity {e['complexity']}"
            f"{chosen}), refitted on each split's training rows: "
            f"energy_j = `{what}{e['expression']}`" + (f"; fits converged: {conv}" if conv else "")
            + ("; discovered on these same profiles: its form was chosen seeing rows the splits hold out (only its "
               "constants are refitted per split), so its figures are optimistic against the other methods'"
               if e.get("same_profiles") else "") + ".")


def _plot_caption(result: EvaluationResult, name: str) -> str:
    """What a plot shows, from the run (the report listed the images alone: which split, which repeat, which
    methods were left out was nowhere)."""
    if name == "predicted_vs_measured.png":
        p = result.predictions
        first = int(p["repeat"].min())
        p = p[p["repeat"] == first]
        left = [str(m) for m in dict.fromkeys(p.loc[~p["energy_scale"].astype(bool), "method"])]
        rows = p.loc[p["energy_scale"].astype(bool)].groupby("method").size()
        return (f"Predicted against measured energy per request (J, log-log; dashed: equal) on the held-out rows "
                f"of the random split, repeat {first} only ({int(rows.max()) if len(rows) else 0} rows a panel); "
                + (f"left out: {', '.join(left)} (no energy scale)" if left else "every method with an energy scale")
                + ". A prediction off the axes is drawn hollow at the edge and counted in its panel's title.")
    if name == "group_rankings.png":
        return ("Top-1 per group (rows) and method (columns) on the random split, mean over the repeats where the "
                "group had two or more held-out candidates; grey: no Top-1 for that method and group.")
    return ""


#: predictions.csv's columns (what the runner's random split gives, ``row`` as the 1-based ``data_row``).
PREDICTION_COLUMNS = ("repeat", "method", "data_row", "group", "modality", "energy_j", "predicted_energy_j",
                      "energy_scale")


def _predictions(result: EvaluationResult) -> pd.DataFrame:
    """The per-row predictions of the random split with 1-based ``data_row`` (the runner's ``row`` is 0-based)."""
    p = result.predictions
    if p.empty:  # (no random split: the columns alone; the file held a blank line)
        return pd.DataFrame(columns=list(PREDICTION_COLUMNS))
    if "row" not in p.columns:
        return p
    p = p.rename(columns={"row": "data_row"})
    return p.assign(data_row=p["data_row"].astype(int) + 1)


def write_report(result: EvaluationResult, out_dir: str | Path, command: str = "",
                 started: float | None = None) -> Path:
    """Write ``report.md``, the PNG plots and the CSV tables into ``out_dir``; return report.md. ``started``: the
    command's ``time.perf_counter()`` at its start; its time to report.md (plots and tables written) is then kept
    in ``result.info["command_runtime_s"]`` and given in report.md's run time, as the command prints it."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    md = []
    h = headline(result)
    if not h.empty:
        md += _headline(result, h)
    md += _small_vs_all(result) + coverage_markdown(result.info.get("coverage"))
    if not h.empty:
        md += ["## By modality", "", _breakdown_note(result), "", breakdown(result, "modality"), "",
               "## By task", "", _breakdown_note(result), "", breakdown(result, "task"), "", *_worst_lists(result)]
    md += _sample_efficiency(result) + _extrapolation(result) + _notes(result)
    made = [name for name, plot in PLOTS if plot(result, out / name)]
    random = not result.table.empty and (result.table["split"] == "random").any()
    md += ["## Plots", ""] + [line for n in made if n != "sample_efficiency.png"
                              for line in (_plot_caption(result, n), "", f"![{n}]({n})", "")]
    if not random:  # (an empty heading before)
        md += ["None: the predicted-against-measured and per-group plots show the random split, which this run did "
               "not include (--splits).", ""]
    md += ["## Files", "", "`summary.csv`: one row per split, variant, training size and method (the tables' "
           "figures, with `<metric>_std` and the repeat counts); `results.csv`: one row per group and fit; "
           + ("`predictions.csv`: one row per held-out row of the random split, repeat and method (`data_row`: "
              "1-based row of the evaluated profiles), from which its MAPE and Top-1 can be recomputed." if random else
              "`predictions.csv`: empty (its header only): it holds the random split's held-out rows, and this run "
              "has no random split.") + " Units (the column names "
           "carry none): `mape`, `regret_pct` and `ape_sum` (a sum over a group's held-out rows) are per cent, as "
           "in the tables; `top1`, `top1_tpot`, `parallelism`, `pairwise` and `spearman` are fractions; "
           "`energy_j` and `predicted_energy_j` are joules per request.", ""]
    overview(result.table).to_csv(out / "summary.csv", index=False)
    result.table.to_csv(out / "results.csv", index=False)
    _predictions(result).to_csv(out / "predictions.csv", index=False)
    path = out / "report.md"
    if started is not None:
        result.info["command_runtime_s"] = time.perf_counter() - started
    path.write_text("\n".join(_intro(result, command) + md) + "\n", encoding="utf-8")
    return path
