"""Ablation of one candidate multiplicative term over seeds: template vs template * exp(g) with g's constants
fitted on the same 50 training rows' log-residuals, scored on the held-out rows (Top-1, pairwise, MAPE).

The default term is the structure that recurred in bench/residual_discovery.py's fronts (a correction in
the compute/memory intensity of a decode step per sequence); it was picked after seeing those runs, so
this ablation is exploratory, not a confirmation.

    python bench/residual_term_ablation.py [PROFILES] [--term "0.1 + 1.0*intensity/B"] [--seeds 20]

Writes bench/results/residual_term_ablation.json.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import sympy as sp

from energylens import _core
from energylens.discover.search import _scores, _split
from energylens.discover.variables import residual_variables, substitute
from energylens.model import EnergyModel
from energylens.model.compile import compile_expression, parametrize
from energylens.profiles.datasets import load_profiles_or_bundled
from energylens.profiles.features import FEATURE_NAMES, build_features


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("profiles", nargs="?", default="bundled")
    ap.add_argument("--term", default="0.1 + 1.0*intensity/B")
    ap.add_argument("--seeds", type=int, default=20)
    args = ap.parse_args()
    df = load_profiles_or_bundled(args.profiles).reset_index(drop=True)
    feats = build_features(df)
    v = residual_variables()
    pexpr, starts = parametrize(sp.sympify(args.term, locals={k: sp.Symbol(k, positive=True) for k in v}))
    c = compile_expression(substitute(pexpr, v), FEATURE_NAMES, starts)
    y = df["energy_j"].to_numpy(dtype=float)
    group_by = ["task", "model", "gpu"]
    rows = []
    for seed in range(args.seeds):
        train, test = _split(len(df), 50, seed)
        base = EnergyModel(bootstrap=0, seed=seed).fit(df.iloc[train], latency=False).predict(df)
        r = np.log(y / base)
        cols = [feats[n] for n in c.feature_names]
        fit = _core.fit_expression(c.program, [a[train] for a in cols], r[train], c.start, None, None,
                                   {"residual": "absolute"})
        with_term = base * np.exp(c.evaluate(cols, fit.params))
        t, w = _scores(df.iloc[test], y[test], base[test], group_by), _scores(df.iloc[test], y[test], with_term[test],
                                                                             group_by)
        rows.append({"seed": seed, "template": t, "with_term": w, "params": list(map(float, fit.params))})
        print(f"seed {seed}: MAPE {t['mape']:.2f} -> {w['mape']:.2f}, Top-1 {t['top1']:.3f} -> {w['top1']:.3f}, "
              f"pairwise {t['pairwise']:.3f} -> {w['pairwise']:.3f}", flush=True)
    mean = {k: {m: float(np.nanmean([r[k][m] for r in rows])) for m in ("mape", "top1", "pairwise", "r2")}
            for k in ("template", "with_term")}
    cut = (mean["template"]["mape"] - mean["with_term"]["mape"]) / mean["template"]["mape"]
    summary = {"term": args.term, "seeds": args.seeds, "train_size": 50, **mean, "mape_cut_relative": cut,
               "adopt": bool(cut >= 0.2 and mean["with_term"]["top1"] >= mean["template"]["top1"]
                             and mean["with_term"]["pairwise"] >= mean["template"]["pairwise"])}
    Path("bench/results").mkdir(parents=True, exist_ok=True)
    Path("bench/results/residual_term_ablation.json").write_text(json.dumps({"summary": summary, "runs": rows},
                                                                            indent=1))
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
