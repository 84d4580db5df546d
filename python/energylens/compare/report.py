"""The evaluation report: ``report.md`` plus PNG plots (matplotlib, Agg backend, no display).

:func:`write_report` takes an :class:`energylens.compare.runner.EvaluationResult` and writes

* ``report.md`` -- headline table, the paper's claims side by side with ours, ours at the chosen
  train size against every baseline trained on all the other rows, break-downs by modality and
  task, the sample-efficiency table, the extrapolation splits, and notes on each baseline;
* ``sample_efficiency.png`` -- Top-1 and pairwise accuracy against training rows, per method;
* ``predicted_vs_measured.png`` -- predicted against measured energy (random split, repeat 0);
* ``group_rankings.png`` -- Top-1 hit rate per group and method (random split);
* ``summary.csv`` and ``results.csv`` -- the summaries and the tidy per-group table.

:func:`format_summary` is the short text table the CLI and ``energylens demo`` print.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from energylens.compare.runner import EvaluationResult, overview, summarize

__all__ = ["write_report", "format_summary", "headline", "paper_comparison", "targets",
           "paired_wins", "PAPER_CLAIMS", "OURS"]

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


def _order(methods: Sequence[str]) -> list[str]:
    ms = list(dict.fromkeys(methods))
    return ([OURS] if OURS in ms else []) + [m for m in ms if m != OURS]


def _fmt(v: Any, std: Any = None, pct: bool = False) -> str:
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "n/a"
    s = f"{v:.1f}" if pct else f"{v:.3f}"
    if std is not None and isinstance(std, float) and np.isfinite(std) and std > 0:
        s += f" ± {std:.1f}" if pct else f" ± {std:.3f}"
    return s


def _md_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
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
    return s.loc[_order(s.index)].reset_index()


def format_summary(result: EvaluationResult) -> str:
    """A short fixed-width table (one line per method) for terminals."""
    h = headline(result)
    if h.empty:
        return "(no random split in this evaluation)"
    n = result.info.get("train_size")
    lines = [f"{'method':<18} {'Top-1':>6} {'pairwise':>8} {'MAPE %':>7} {'regret %':>8}"
             f"   ({result.info.get('repeats')} repeats, {n} training rows)"]
    for _, r in h.iterrows():
        mape = "n/a" if not np.isfinite(r["mape"]) else f"{r['mape']:.1f}"
        lines.append(f"{r['method']:<18} {r['top1']:>6.3f} {r['pairwise']:>8.3f} {mape:>7} "
                     f"{r['regret_pct']:>8.1f}")
    return "\n".join(lines)


def paper_comparison(result: EvaluationResult) -> pd.DataFrame:
    """The paper's published numbers next to ours on this data (random split)."""
    t = result.table[result.table["split"] == "random"]
    ours = t[t["method"] == OURS]
    base = t[t["method"] != OURS]
    rows = []

    def val(df: pd.DataFrame, metric: str, **where: str) -> float:
        for k, v in where.items():
            if k not in df.columns:
                return float("nan")
            df = df[df[k] == v]
        if df.empty:
            return float("nan")
        return float(summarize(df, by=("method",))[metric].iloc[0])

    best_base = float("nan")
    best_name = ""
    if not base.empty:
        sb = summarize(base[base["method"].isin(ANALYTICAL)], by=("method",))
        if not sb.empty:
            i = int(np.nanargmax(sb["top1"].to_numpy()))
            best_base, best_name = float(sb["top1"].iloc[i]), str(sb["method"].iloc[i])
    rows.append(("Top-1 selection accuracy", 0.882, val(ours, "top1")))
    rows.append((f"Top-1, best analytical baseline ({best_name or 'n/a'})", 0.609, best_base))
    rows.append(("Pairwise ranking accuracy", 0.958, val(ours, "pairwise")))
    for label, mod, claim in (("text", "text", 0.961), ("image+text", "image", 0.922),
                              ("video+text", "video", 0.833)):
        rows.append((f"Pairwise, {label}", claim, val(ours, "pairwise", modality=mod)))
    return pd.DataFrame(rows, columns=["metric", "paper", "energylens"])


def _small_vs_all(result: EvaluationResult) -> tuple[pd.DataFrame, int, int]:
    """Ours at the chosen train size against every method at the largest curve size."""
    t = result.table[result.table["split"] == "curve"]
    if t.empty:
        return pd.DataFrame(), 0, 0
    s = summarize(t, by=("train_size", "method"))
    n_small = int(result.info.get("train_size", 50))
    n_all = int(s["train_size"].max())
    ours = s[(s["method"] == OURS) & (s["train_size"] == n_small)]
    others = s[(s["method"] != OURS) & (s["train_size"] == n_all)]
    return pd.concat([ours, others]), n_small, n_all


def targets(result: EvaluationResult) -> pd.DataFrame:
    """The issue's targets, each with our number, the number to beat, and whether it is met.

    * every paper claim (Top-1 0.882, pairwise 0.958 and per modality) beaten on this data;
    * ours at the chosen train size beats every baseline trained on all the other rows (curve
      split, same held-out rows) on Top-1, pairwise and regret;
    * ours at ~1/10 of the rows matches the best ensemble learner (Top-1 and pairwise).
    """
    rows: list[tuple[str, float, float, bool]] = []
    pc = paper_comparison(result)
    for r in pc.itertuples():
        if r.metric.startswith("Top-1, best analytical baseline"):
            continue
        if np.isfinite(r.energylens):
            rows.append((f"{r.metric} > paper", r.energylens, r.paper, r.energylens > r.paper))
    t = result.table[result.table["split"] == "curve"]
    if not t.empty and OURS in set(t["method"]):
        s = summarize(t, by=("train_size", "method"))
        n_small = int(result.info.get("train_size", 50))
        n_all = int(s["train_size"].max())
        ours = s[(s["method"] == OURS) & (s["train_size"] == n_small)]
        if not ours.empty:
            o = ours.iloc[0]
            for m in _order(s["method"]):
                if m == OURS:
                    continue
                b = s[(s["method"] == m) & (s["train_size"] == n_all)].iloc[0]
                for metric, better in (("top1", np.greater), ("pairwise", np.greater),
                                       ("regret_pct", np.less)):
                    if np.isfinite(b[metric]):
                        rows.append((f"{metric} at {n_small} rows vs {m} at {n_all}",
                                     float(o[metric]), float(b[metric]),
                                     bool(better(o[metric], b[metric]))))
        ens = s[s["method"].isin(("random_forest", "gradient_boosting", "xgboost"))]
        sizes = sorted(s["train_size"].unique())
        for n in sizes:
            big = [x for x in sizes if x >= 8 * n]
            ours_n = s[(s["method"] == OURS) & (s["train_size"] == n)]
            if not big or ours_n.empty or ens.empty:
                continue
            e = ens[ens["train_size"] == big[0]]
            for metric in ("top1", "pairwise"):
                best = float(e[metric].max())
                rows.append((f"{metric} at {n} rows vs best ensemble at {big[0]}",
                             float(ours_n[metric].iloc[0]), best,
                             bool(ours_n[metric].iloc[0] >= best)))
    return pd.DataFrame(rows, columns=["target", "energylens", "to_beat", "met"])


def paired_wins(result: EvaluationResult, split: str = "random") -> pd.DataFrame:
    """Per baseline: in how many repeats of ``split`` ours was better (Top-1, pairwise, regret).

    Same training and held-out rows per repeat, so this is a paired comparison; ties count half.
    """
    t = result.table[result.table["split"] == split]
    if t.empty or OURS not in set(t["method"]):
        return pd.DataFrame()
    per = summarize(t, by=("repeat", "method"))
    rows = []
    for m in _order(per["method"].unique()):
        if m == OURS:
            continue
        a = per[per["method"] == OURS].set_index("repeat")
        b = per[per["method"] == m].set_index("repeat").reindex(a.index)
        rec: dict[str, Any] = {"method": m, "repeats": len(a)}
        for metric, sign in (("top1", 1.0), ("pairwise", 1.0), ("regret_pct", -1.0)):
            d = sign * (a[metric] - b[metric])
            d = d[np.isfinite(d)]
            rec[metric] = float(((d > 0) + 0.5 * (d == 0)).sum()) if len(d) else float("nan")
        rows.append(rec)
    return pd.DataFrame(rows)


def _breakdown(result: EvaluationResult, col: str) -> str:
    t = result.table[result.table["split"] == "random"]
    if col not in t.columns:
        return f"(no `{col}` column)"
    s = summarize(t, by=(col, "method"))
    rows = []
    for key in sorted(s[col].astype(str).unique()):
        sk = s[s[col].astype(str) == key].set_index("method")
        for m in _order(sk.index):
            r = sk.loc[m]
            rows.append((key, m, _fmt(r["top1"]), _fmt(r["pairwise"]), _fmt(r["mape"], pct=True),
                         _fmt(r["regret_pct"], pct=True), f"{r['n_groups']:.0f}"))
    return _md_table((col, "method", "Top-1", "pairwise", "MAPE %", "regret %", "groups"), rows)


def _metric_rows(s: pd.DataFrame, keys: Sequence[str]) -> list[tuple[str, ...]]:
    slo = "top1_strict" in s.columns
    rows = []
    for _, r in s.iterrows():
        row = tuple(str(r[k]) for k in keys) + (
            _fmt(r["top1"], r.get("top1_std")), _fmt(r["pairwise"], r.get("pairwise_std")),
            _fmt(r["mape"], pct=True), _fmt(r["spearman"]), _fmt(r["regret_pct"], pct=True),
            f"{r['n_groups']:.1f}")
        if slo:
            row += (_fmt(r["top1_strict"], r.get("top1_strict_std")),
                    _fmt(100 * r["slo_violation"], pct=True))
        rows.append(row)
    return rows


def _heads(s: pd.DataFrame) -> tuple[str, ...]:
    head = ("Top-1", "pairwise", "MAPE %", "Spearman", "regret %", "groups")
    if "top1_strict" in s.columns:
        head += ("Top-1 strict", "SLO violations %")
    return head


# ------------------------------------------------------------------------------- plots

def _plt():
    import matplotlib
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt
    return plt


def _plot_curves(result: EvaluationResult, path: Path) -> bool:
    t = result.table[result.table["split"] == "curve"]
    if t.empty:
        return False
    plt = _plt()
    s = summarize(t, by=("train_size", "method"))
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    for ax, metric, label in zip(axes, ("top1", "pairwise", "regret_pct"),
                                 ("Top-1 selection accuracy", "pairwise ranking accuracy",
                                  "regret (% energy over optimum)"), strict=True):
        for m in _order(s["method"]):
            sm = s[s["method"] == m].sort_values("train_size")
            ax.errorbar(sm["train_size"], sm[metric], yerr=sm[f"{metric}_std"], marker="o",
                        capsize=2, lw=2.5 if m == OURS else 1.2, label=m)
        ax.set_xscale("log")
        sizes = sorted(s["train_size"].unique())
        ax.set_xticks(sizes, [str(x) for x in sizes])
        ax.minorticks_off()
        ax.set_xlabel("training rows")
        if metric == "regret_pct":
            ax.set_yscale("symlog", linthresh=1.0)
        ax.set_title(label)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def _plot_pred_vs_meas(result: EvaluationResult, path: Path) -> bool:
    p = result.predictions
    if p.empty:
        return False
    p = p[(p["repeat"] == p["repeat"].min()) & p["energy_scale"]]
    methods = _order(p["method"].unique())
    if not methods:
        return False
    plt = _plt()
    ncol = min(3, len(methods))
    nrow = int(np.ceil(len(methods) / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.5 * ncol, 4.2 * nrow), squeeze=False)
    lo, hi = p["energy_j"].min() * 0.5, p["energy_j"].max() * 2
    for ax, m in zip(axes.flat, methods, strict=False):
        pm = p[p["method"] == m]
        for mod, pmod in pm.groupby("modality"):
            ax.scatter(pmod["energy_j"], pmod["predicted_energy_j"].clip(lo, hi), s=9,
                       alpha=0.7, label=str(mod))
        ax.plot([lo, hi], [lo, hi], "k--", lw=0.8)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlim(lo, hi)
        ax.set_ylim(lo, hi)
        ax.set_title(m)
        ax.set_xlabel("measured J/request")
        ax.set_ylabel("predicted J/request")
        ax.legend(fontsize=7)
    for ax in list(axes.flat)[len(methods):]:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def _plot_groups(result: EvaluationResult, path: Path) -> bool:
    t = result.table[(result.table["split"] == "random") & result.table["top1"].notna()]
    if t.empty:
        return False
    plt = _plt()
    piv = t.pivot_table(index="group", columns="method", values="top1", aggfunc="mean")
    known = [m for m in result.info.get("methods", []) if m in piv.columns]
    piv = piv[_order(known + [m for m in piv.columns if m not in known])]
    if OURS in piv.columns:
        piv = piv.sort_values(OURS)
    fig, ax = plt.subplots(figsize=(1.2 * piv.shape[1] + 5, 0.18 * piv.shape[0] + 1.5))
    im = ax.imshow(piv.to_numpy(), aspect="auto", cmap="viridis", vmin=0, vmax=1)
    ax.set_xticks(range(piv.shape[1]), piv.columns, rotation=30, ha="right", fontsize=8)
    ax.set_yticks(range(piv.shape[0]), [g[:60] for g in piv.index], fontsize=5)
    ax.set_title("Top-1 hit rate per group (random split, mean over repeats)")
    fig.colorbar(im, ax=ax, fraction=0.03)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


# ------------------------------------------------------------------------------- report.md

def write_report(result: EvaluationResult, out_dir: str | Path, command: str = "") -> Path:
    """Write ``report.md``, the PNG plots and the CSV tables into ``out_dir``; return report.md."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    info = result.info
    t = result.table
    md: list[str] = ["# energylens evaluation", ""]
    md.append(f"{info['n_rows']} profile rows; groups by {', '.join(info['group_by'])}; "
              f"{info['repeats']} repeats; seed {info['seed']}; "
              f"TPOT SLO {info['tpot_slo'] or 'none'}; run time {info['runtime_s']:.0f} s.")
    if command:
        md += ["", f"Command: `{command}`"]
    md += ["", "Every method is fitted on exactly the same training rows and scored on exactly "
           "the same held-out rows in every split (asserted by the runner).", ""]

    h = headline(result)
    if not h.empty:
        md += [f"## Headline: {info['train_size']} random training rows, the rest held out", ""]
        md.append(_md_table(("method",) + _heads(h), _metric_rows(h, ("method",))))
        md += ["", "Mean ± standard deviation over repeats. Top-1 and regret: groups with at "
               "least two held-out candidates (`groups`: how many per repeat); pairwise pooled "
               "over groups; MAPE over rows.", ""]
        if "top1_strict" in h.columns:
            md += [f"With the TPOT SLO ({info['tpot_slo']} s), Top-1 and regret are taken among "
                   "the candidates whose predicted *and* measured TPOT meet it (so a method that "
                   "over-predicts TPOT narrows its own choice: compare `groups`). `Top-1 strict` "
                   "is the deployment view: the method chooses among the candidates it predicts "
                   "feasible; a hit must meet the SLO when measured and be the measured cheapest "
                   "feasible one; `SLO violations` is the share of choices that miss the SLO.", ""]
        pw = paired_wins(result)
        if not pw.empty:
            md += ["Paired over repeats (same rows for every method): in how many of the "
                   f"{int(pw['repeats'].iloc[0])} repeats energylens did better than each method "
                   "(ties count half).", ""]
            md.append(_md_table(("vs", "Top-1", "pairwise", "regret"),
                                [(r.method, f"{r.top1:g}", f"{r.pairwise:g}", f"{r.regret_pct:g}")
                                 for r in pw.itertuples()]))
            md.append("")
        pc = paper_comparison(result)
        md += ["## The paper's claims side by side", ""]
        md.append(_md_table(("metric", "paper", "energylens, this data"),
                            [(r.metric, _fmt(r.paper), _fmt(r.energylens))
                             for r in pc.itertuples()]))
        md.append("")

    tg = targets(result)
    if not tg.empty:
        md += ["## Targets", ""]
        md.append(_md_table(("target", "energylens", "to beat", "met"),
                            [(r.target, _fmt(r.energylens, pct=r.target.startswith("regret")),
                              _fmt(r.to_beat, pct=r.target.startswith("regret")),
                              "yes" if r.met else "**no**") for r in tg.itertuples()]))
        md.append("")

    sv, n_small, n_all = _small_vs_all(result)
    if not sv.empty:
        md += [f"## Ours at {n_small} rows against every method at {n_all} rows "
               "(all the others), same held-out rows", ""]
        md.append(_md_table(("method", "train rows") + _heads(sv),
                            _metric_rows(sv, ("method", "train_size"))))
        md.append("")

    if not h.empty:
        md += ["## By modality", "", _breakdown(result, "modality"), "",
               "## By task", "", _breakdown(result, "task"), ""]

    cv = t[t["split"] == "curve"]
    if not cv.empty:
        s = summarize(cv, by=("train_size", "method"))
        s = s.assign(_o=s["method"].map({m: i for i, m in enumerate(_order(s["method"]))}))
        s = s.sort_values(["_o", "train_size"])
        md += ["## Sample efficiency", "", "A fixed quarter of the rows is held out per repeat; "
               "training sets are nested draws from the rest.", "",
               "![sample efficiency](sample_efficiency.png)", ""]
        md.append(_md_table(("method", "train rows") + _heads(s),
                            _metric_rows(s, ("method", "train_size"))))
        md.append("")

    for split, title, keys in (
            ("unseen_batch", "Unseen batch sizes (train on each group's smaller half)", ()),
            ("unseen_gpu", "Unseen GPU (train on one GPU plus k rows of the other)",
             ("variant",)),
            ("unseen_model", "Unseen model (leave one model out)", ())):
        ts = t[t["split"] == split]
        if ts.empty:
            continue
        s = summarize(ts, by=tuple(keys) + ("method",))
        s = s.assign(_o=s["method"].map({m: i for i, m in enumerate(_order(s["method"]))}))
        if keys:
            s = s.assign(_k=s["variant"].map(lambda v: (len(str(v)), str(v))))
            s = s.sort_values(["_k", "_o"])
        else:
            s = s.sort_values("_o")
        md += [f"## {title}", ""]
        md.append(_md_table(tuple(keys) + ("method",) + _heads(s),
                            _metric_rows(s, tuple(keys) + ("method",))))
        md.append("")

    md += ["## Notes on the methods", ""]
    notes = info.get("notes", {})
    md.append("- **latency_proxy** chooses the configuration with the lowest *measured* TPOT: an "
              "oracle latency with no prediction error, and it still loses, because the fastest "
              "configuration (small batch, wide TP) spends the most energy per request. It has no "
              "energy scale, so MAPE is n/a.")
    pooled = notes.get("wilkins2024", {}).get("pooled_fraction", {})
    pooled_txt = ", ".join(f"{k}: {100 * v:.0f} %" for k, v in pooled.items()) or "none"
    md.append("- **wilkins2024** (Wilkins, Keshav and Mortier 2024, e = a0 tin + a1 tout + "
              "a2 tin tout) is fitted by least squares per (model, GPU), as published. It has no "
              "TP, PP or batch term, so within a group it cannot tell configurations apart: its "
              "Top-1 is close to chance. Where a (model, GPU) had fewer than 3 training rows it "
              "was predicted by a pooled per-GPU fit of energy per active parameter (our "
              "choice; share of held-out rows so predicted, per split: " + pooled_txt + ").")
    md.append("- **llmcarbon**: n_gpus x TDP x u x roofline time per request; the utilisation u "
              "is fitted as one scalar on the training rows (LLMCarbon fixes it), which can only "
              "help it. Its ranking within a group comes from the roofline alone.")
    md.append("- **random_forest / gradient_boosting / xgboost** regress log energy on the same "
              "information the closed form gets (TP, PP, GPUs, batch, tokens, parameters, GPU "
              "bandwidth, peak FLOP/s, TDP, bytes per weight, layers, width, KV width).")
    md.append("- The headline (`random`) holds out every row not drawn for training (about 5 "
              "candidates per group); the sample-efficiency split holds out a fixed quarter "
              "(about 2 per group), so its Top-1 is higher at the same training size: compare "
              "methods within a table, not across tables.")
    if OURS in info.get("methods", []):
        backends = notes.get(OURS, {}).get("backend", {})
        md.append("- **energylens** (ours) backend, fits per backend: "
                  + (", ".join(f"{k}: {v}" for k, v in backends.items()) or "?") + ".")
    else:
        md.append("- **energylens** (ours) was not available in this run "
                  "(energylens.model.closed_form could not be imported).")
    if info.get("tpot_slo"):
        src = t.groupby("method")["tpot_source"].first()
        md.append("- TPOT for the SLO filter: " + ", ".join(f"{m}: {s}" for m, s in src.items())
                  + " (measured = the method has no latency model).")
    errs = t[t["error"].astype(bool)]
    if not errs.empty:
        md.append("- Failed fits (NaN metrics): " + "; ".join(
            f"{m}: {n} splits" for m, n in errs.groupby("method")["split"].size().items()))
    md.append("")

    plots = [("sample_efficiency.png", _plot_curves), ("predicted_vs_measured.png",
                                                      _plot_pred_vs_meas),
             ("group_rankings.png", _plot_groups)]
    made = [name for name, fn in plots if fn(result, out / name)]
    md += ["## Plots", ""] + [f"![{n}]({n})" for n in made if n != "sample_efficiency.png"]
    md.append("")
    overview(t).to_csv(out / "summary.csv", index=False)
    t.to_csv(out / "results.csv", index=False)
    path = out / "report.md"
    path.write_text("\n".join(md) + "\n", encoding="utf-8")
    return path
