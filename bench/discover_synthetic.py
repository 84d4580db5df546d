"""Recovery check of ``energylens.discover``: energies from a known expression of the template's form
(decode at board power for the memory and compute bounds of a step plus a per-layer overhead, prefill at
board power for its compute bound) on the bundled configurations, with 5 % multiplicative noise; discovery
runs within a time budget and the chosen expression is compared with the noise-free truth on held-out rows.

    python bench/discover_synthetic.py [--time-budget 300] [--seed 0]

Writes bench/results/discover_synthetic.json.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import sympy as sp

from energylens.discover import discover
from energylens.discover.variables import energy_variables, variable_matrix
from energylens.model.compile import compile_expression
from energylens.profiles.datasets import load_profiles_or_bundled
from energylens.profiles.features import FEATURE_NAMES, build_features

TRUTH = "0.55*E_mem + 0.55*E_comp + 0.3*E_layer + 0.7*E_pf"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--time-budget", type=float, default=300.0)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    df = load_profiles_or_bundled("bundled").reset_index(drop=True)
    v = energy_variables()
    truth_vars = sp.sympify(TRUTH, locals={k: sp.Symbol(k, positive=True) for k in v})
    feats = build_features(df)
    X = variable_matrix(v, feats)
    names = list(v)
    clean = sum(float(c) * X[:, names.index(str(s))] for s, c in truth_vars.as_coefficients_dict().items())
    rng = np.random.default_rng(args.seed)
    df["energy_j"] = clean * (1.0 + 0.05 * rng.standard_normal(len(df)))
    t0 = time.perf_counter()
    res = discover(df, target="energy", time_budget_s=args.time_budget, generations=100000, seed=args.seed,
                   max_complexity=25)
    seconds = time.perf_counter() - t0
    test = np.setdiff1d(np.arange(len(df)), np.sort(np.random.default_rng(args.seed).permutation(len(df))[:res.n_train]))
    rows = []
    for e in res.front:
        c = compile_expression(sp.sympify(e.formula), FEATURE_NAMES, params={})
        pred = c.evaluate([feats[n] for n in c.feature_names], np.empty(0))
        t = clean[test]
        r2 = float(1 - np.sum((pred[test] - t) ** 2) / np.sum((t - t.mean()) ** 2))
        diff = sp.simplify(sp.nsimplify(sp.sympify(e.expression), rational=True, tolerance=0.01)
                           - sp.nsimplify(truth_vars, rational=True))
        rows.append({"complexity": e.complexity, "expression": e.expression, "r2_vs_truth_heldout": r2,
                     "r2_vs_noisy_heldout": e.heldout["r2"], "mape_heldout": e.heldout["mape"],
                     "difference_at_1pct": str(diff)})
    chosen = rows[res.chosen]
    out = {"truth": TRUTH, "noise": 0.05, "time_budget_s": args.time_budget, "seconds": seconds, "seed": args.seed,
           "backend": res.backend, "n_train": res.n_train, "n_heldout": res.n_heldout, "chosen": chosen,
           "best_r2_vs_truth": max(r["r2_vs_truth_heldout"] for r in rows), "front": rows,
           "target_met": chosen["r2_vs_truth_heldout"] >= 0.999 or chosen["difference_at_1pct"] == "0"}
    Path("bench/results").mkdir(parents=True, exist_ok=True)
    Path("bench/results/discover_synthetic.json").write_text(json.dumps(out, indent=1))
    print(json.dumps({k: out[k] for k in ("seconds", "chosen", "best_r2_vs_truth", "target_met")}, indent=1))


if __name__ == "__main__":
    main()
