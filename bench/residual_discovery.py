"""Residual discovery over seeds: fit the template on 50 rows, search its log-residuals for a multiplicative
term, and test on the held-out rows whether the chosen term cuts MAPE by >= 20 % (relative) without lowering
Top-1 or pairwise. Runs on the bundled ML.ENERGY v2 data (no v3 reader is in the package yet) unless a
profile path is given.

    python bench/residual_discovery.py [PROFILES] [--seeds 20] [--time-budget 10]

Writes bench/results/residual_discovery.json.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from energylens.discover import discover


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("profiles", nargs="?", default="bundled")
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--time-budget", type=float, default=10.0)
    args = ap.parse_args()
    runs = []
    for seed in range(args.seeds):
        r = discover(args.profiles, target="residual", train_size=50, time_budget_s=args.time_budget, seed=seed,
                     generations=100, population=300, max_complexity=12, progress=False)
        t = r.residual_test
        runs.append({"seed": seed, **t, "template": r.template, "with_term": r.front[r.chosen].heldout,
                     "front": [{"complexity": e.complexity, "expression": e.expression, **e.heldout} for e in r.front]})
        print(f"seed {seed}: {t['term']}: MAPE {t['mape_template']:.2f} -> {t['mape_with_term']:.2f} "
              f"(cut {100 * t['mape_cut_relative']:.1f} %), adopt {t['adopt']}", flush=True)
    cuts = np.array([r["mape_cut_relative"] for r in runs])
    summary = {"profiles": args.profiles, "seeds": args.seeds, "train_size": 50, "time_budget_s": args.time_budget,
               "mape_template_mean": float(np.mean([r["mape_template"] for r in runs])),
               "mape_with_term_mean": float(np.mean([r["mape_with_term"] for r in runs])),
               "mape_cut_relative_median": float(np.median(cuts)),
               "top1_template_mean": float(np.nanmean([r["template"]["top1"] for r in runs])),
               "top1_with_term_mean": float(np.nanmean([r["with_term"]["top1"] for r in runs])),
               "pairwise_template_mean": float(np.nanmean([r["template"]["pairwise"] for r in runs])),
               "pairwise_with_term_mean": float(np.nanmean([r["with_term"]["pairwise"] for r in runs])),
               "adopted_runs": int(sum(r["adopt"] for r in runs))}
    Path("bench/results").mkdir(parents=True, exist_ok=True)
    Path("bench/results/residual_discovery.json").write_text(json.dumps({"summary": summary, "runs": runs}, indent=1))
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
