"""The evaluation report's PNG plots (matplotlib with the Agg backend, no display; the ``compare`` extra).

Imports numpy, pandas, :mod:`energylens.compare.result`, :mod:`energylens.compare.report_tables` and
:mod:`energylens.extras`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from energylens.compare.report_tables import OURS, method_order
from energylens.compare.result import EvaluationResult, summarize
from energylens.extras import require

__all__ = ["PLOTS", "plot_curves", "plot_pred_vs_meas", "plot_groups", "short_label"]


def _plt() -> Any:
    matplotlib = require("matplotlib", "compare", "the evaluation report's plots")
    matplotlib.use("Agg", force=True)
    return require("matplotlib.pyplot", "compare", "the evaluation report's plots")


def _save(plt: Any, fig: Any, path: Path, **tight: Any) -> None:
    """Lay ``fig`` out tightly once, write it at 110 dpi and close it.

    ``fig.tight_layout()`` leaves a placeholder layout engine on the figure, and ``savefig`` draws a figure that
    has a layout engine twice (a pass with rendering off that still places every tick, text and legend, then the
    real one). Without the engine one draw writes the same PNG (byte for byte on the bundled data)."""
    fig.tight_layout(**tight)
    with plt.rc_context({"figure.autolayout": False, "figure.constrained_layout.use": False}):
        fig.set_layout_engine(None)  # None, not an rc file's tight/constrained engine: the layout is fixed now
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_curves(result: EvaluationResult, path: Path) -> bool:
    """Top-1, pairwise and regret against training rows per method (curve split); False without one."""
    t = result.table[result.table["split"] == "curve"]
    if t.empty:
        return False
    plt = _plt()
    s = summarize(t, by=("train_size", "method"))
    fig, axes = plt.subplots(1, 3, figsize=(15, 5.0))
    for ax, metric, label, ylabel in zip(axes, ("top1", "pairwise", "regret_pct"),
                                         ("Top-1 selection accuracy", "pairwise ranking accuracy",
                                          "regret (% energy over optimum)"),
                                         ("Top-1 (share of groups)", "pairwise (share of pairs)",
                                          "regret (%, symlog)"), strict=True):
        for m in method_order(s["method"]):
            sm = s[s["method"] == m].sort_values("train_size")
            ax.errorbar(sm["train_size"], sm[metric], yerr=sm[f"{metric}_std"], marker="o",
                        capsize=2, lw=2.5 if m == OURS else 1.2, label=m)
        ax.set_xscale("log")
        sizes = sorted(s["train_size"].unique())
        ax.set_xticks(sizes, [str(x) for x in sizes])
        ax.minorticks_off()
        ax.set_xlabel("training rows (log scale)")
        ax.set_ylabel(ylabel)
        if metric == "regret_pct":  # no regret is below 0: a standard deviation bar past it is cut at the axis
            ax.set_yscale("symlog", linthresh=1.0)
            ax.set_ylim(bottom=0)
        ax.set_title(label)
        ax.grid(alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()  # below the panels, not over a curve
    fig.legend(handles, labels, loc="lower center", ncol=min(len(labels), 7), fontsize=8, frameon=False)
    reps = int(t["repeat"].nunique()) if "repeat" in t else 1
    fig.suptitle(f"sample efficiency (split `curve` in summary.csv): mean ± standard deviation over {reps} "
                 f"repeat{'s' if reps != 1 else ''} (the same held-out rows at every size within a repeat)", fontsize=10)
    _save(plt, fig, path, rect=(0, 0.08, 1, 1))
    return True


def plot_pred_vs_meas(result: EvaluationResult, path: Path) -> bool:
    """Predicted against measured energy, random split, first repeat; False without predictions."""
    p = result.predictions
    if p.empty:
        return False
    first = int(p["repeat"].min())
    p = p[(p["repeat"] == first) & p["energy_scale"]]
    methods = method_order(p["method"].unique())
    if not methods:
        return False
    plt = _plt()
    ncol = min(3, len(methods))
    nrow = int(np.ceil(len(methods) / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.5 * ncol, 4.2 * nrow), squeeze=False)
    lo, hi = p["energy_j"].min() * 0.5, p["energy_j"].max() * 2
    for ax, m in zip(axes.flat, methods, strict=False):
        pm = p[p["method"] == m]
        pred_all = pm["predicted_energy_j"].to_numpy(dtype=float)
        failed = not np.isfinite(pred_all).any()  # every fit of this repeat failed: no point is a prediction
        for mod, pmod in ([] if failed else pm.groupby("modality")):
            pred = pmod["predicted_energy_j"].to_numpy(dtype=float)
            edge = beyond_axes(pred, lo, hi)
            dots = ax.scatter(pmod["energy_j"][~edge], pred[~edge], s=9, alpha=0.7, label=str(mod))
            if edge.any():  # drawn at the edge, hollow, not dropped: the title counts them
                ax.scatter(pmod["energy_j"][edge], np.clip(np.nan_to_num(pred[edge], nan=lo), lo, hi), s=24,
                           marker="^", facecolors="none", edgecolors=dots.get_facecolor()[:1], alpha=0.9)
        n_edge = -1 if failed else int(beyond_axes(pred_all, lo, hi).sum())
        ax.plot([lo, hi], [lo, hi], "k--", lw=0.8)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlim(lo, hi)
        ax.set_ylim(lo, hi)
        ax.set_title(m + (f"\nno predictions: its fit failed in repeat {first}" if n_edge < 0 else
                          f"\n{n_edge} of {len(pm)} predictions off the axes (hollow, at the edge)" if n_edge else ""),
                     fontsize=10 if n_edge else None)
        ax.set_xlabel("measured J/request")
        ax.set_ylabel("predicted J/request")
        if not failed:
            ax.legend(fontsize=7)
    for ax in list(axes.flat)[len(methods):]:
        ax.axis("off")
    fig.suptitle(f"random split, repeat {first}: held-out rows", fontsize=10)
    _save(plt, fig, path)
    return True


def beyond_axes(predicted: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Predictions the predicted-vs-measured plot cannot place: outside [lo, hi] or not finite (drawn at the
    edge and counted; before 2026-12-06 clipped onto the edge unmarked, and NaN ones not drawn at all)."""
    with np.errstate(invalid="ignore"):
        return ~np.isfinite(predicted) | (predicted < lo) | (predicted > hi)


def plot_groups(result: EvaluationResult, path: Path) -> bool:
    """Top-1 hit rate per group and method (random split); False without one."""
    t = result.table[(result.table["split"] == "random") & result.table["top1"].notna()]
    if t.empty:
        return False
    plt = _plt()
    piv = t.pivot_table(index="group", columns="method", values="top1", aggfunc="mean")
    known = [m for m in result.info.get("methods", []) if m in piv.columns]
    piv = piv[method_order(known + [m for m in piv.columns if m not in known])]
    if OURS in piv.columns:
        piv = piv.sort_values(OURS)
    fig, ax = plt.subplots(figsize=(1.2 * piv.shape[1] + 5, 0.18 * piv.shape[0] + 1.9))
    cmap = plt.get_cmap("viridis").with_extremes(bad="lightgrey")  # NaN: drawn grey and named, not blank
    im = ax.imshow(piv.to_numpy(dtype=float), aspect="auto", cmap=cmap, vmin=0, vmax=1)
    ax.set_xticks(range(piv.shape[1]), piv.columns, rotation=30, ha="right", fontsize=8)
    labels = [short_label(str(g)) for g in piv.index]
    if len(set(labels)) < len(labels):  # two groups cut alike (Meta-Llama...-Instruct of 8B and 70B): in full
        labels = [str(g) for g in piv.index]
    ax.set_yticks(range(piv.shape[0]), labels, fontsize=5)
    ax.set_xlabel("method (grey: no Top-1 for that method and group: its fit failed, or under a TPOT SLO it kept "
                  "fewer than two candidates)", fontsize=7)
    slo = result.info.get("tpot_slo")
    ax.set_title("Top-1 hit rate per group (random split, mean over repeats)"  # two lines: one was cut off
                 + (f"\namong the candidates meeting the {slo:g} s TPOT SLO" if slo else ""), fontsize=10)
    fig.colorbar(im, ax=ax, fraction=0.03).set_label("Top-1, mean over repeats (1: always the measured optimum)")
    _save(plt, fig, path)
    return True




def short_label(text: str, width: int = 90) -> str:
    """A group label cut in the middle (task | model | GPU: the GPU at the end stays readable; cut at the end,
    ``... | NVIDIA A100-SXM4-`` named the 40 GB and the 80 GB card alike)."""
    return text if len(text) <= width else text[: width // 2 - 2] + "..." + text[-(width - width // 2 - 1):]


#: File name -> plot function, in the order the report lists them.
PLOTS = (("sample_efficiency.png", plot_curves), ("predicted_vs_measured.png", plot_pred_vs_meas),
         ("group_rankings.png", plot_groups))
