#!/usr/bin/env python3
"""How much Top-1 / pairwise accuracy the bundled ML.ENERGY v2 rows allow any smooth model at all.

The accuracy protocol (docs/model.md section 6: fit 50 random rows, score the other 306 within
(task, model, GPU) groups, 20 repeats) is run for *oracles* that no real method can beat: for every
series (task, model, GPU, TP, PP) a separate curve in the batch size B is fitted to **all** of the
series' measurements, held-out rows included (relative least squares), with 2 to 4 free coefficients
per series (138 to 276 in all over the 69 series, against the template's 12 shared ones). A series with no more rows
than coefficients is given its measurements exactly. Whatever such an oracle still ranks wrong are
near-ties decided by the measurement scatter, so its Top-1 and pairwise bound what the data can show.

The same table reports the native EnergyModel on the same splits and, for reading only (not the
targets), Top-1 where a choice within 1 % / 2 % of the measured optimum counts as a hit.

    python bench/accuracy_ceiling.py [--repeats 20] [--json bench/results/accuracy_ceiling.json]
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

from energylens.compare import metrics
from energylens.compare.splits import random_splits
from energylens.model.closed_form import EnergyModel
from energylens.profiles import datasets

GROUP_BY = ["task", "model", "gpu"]
SERIES_BY = ["task", "model", "gpu", "tp", "pp"]
BASES = {
    "a/B + b": lambda b: np.column_stack([1 / b, np.ones_like(b)]),
    "a/B + b + cB": lambda b: np.column_stack([1 / b, np.ones_like(b), b]),
    "a/B + b + c sqrt(B)": lambda b: np.column_stack([1 / b, np.ones_like(b), np.sqrt(b)]),
    "a/B + b + cB + d/B^2": lambda b: np.column_stack([1 / b, np.ones_like(b), b, 1 / b**2]),
}


def series_oracle(df: pd.DataFrame, basis, by: list[str] = SERIES_BY) -> np.ndarray:
    """Per-series in-sample curve in B (relative least squares on every row of a series, series = rows
    equal in ``by``)."""
    y = df["energy_j"].to_numpy(dtype=float)
    pred = np.empty(len(df))
    for _, s in df.groupby(by):
        idx = s.index.to_numpy()
        x = basis(s["batch_size"].to_numpy(dtype=float))
        if len(idx) <= x.shape[1]:
            pred[idx] = y[idx]
            continue
        coef, *_ = np.linalg.lstsq(x / y[idx, None], np.ones(len(idx)), rcond=None)
        pred[idx] = x @ coef
    return pred


def tolerant_top1(test: pd.DataFrame, pred: np.ndarray, tol: float) -> float:
    hits = []
    for _, g in test.assign(_pred=pred).groupby(GROUP_BY):
        if len(g) < 2:
            continue
        meas = g["energy_j"].to_numpy()
        hits.append(meas[np.argmin(g["_pred"].to_numpy())] <= meas.min() * (1 + tol))
    return float(np.mean(hits))


def score(df: pd.DataFrame, splits, predict) -> dict[str, float]:
    top1, pair, mape, t1, t2 = [], [], [], [], []
    for sp in splits:
        test = df.iloc[sp.test_idx]
        pred = predict(sp)
        sc = metrics.score_groups(test, pred, GROUP_BY)
        top1.append(sc["top1"].mean())
        pair.append(sc["pairs_concordant"].sum() / sc["pairs_total"].sum())
        mape.append(float(np.mean(np.abs(pred / test["energy_j"].to_numpy() - 1))))
        t1.append(tolerant_top1(test, pred, 0.01))
        t2.append(tolerant_top1(test, pred, 0.02))
    return {"top1": float(np.mean(top1)), "top1_std": float(np.std(top1)), "pairwise": float(np.mean(pair)),
            "mape": float(np.mean(mape)), "top1_within_1pct": float(np.mean(t1)),
            "top1_within_2pct": float(np.mean(t2))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--train-size", type=int, default=50)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)

    df = datasets.mlenergy_v2().reset_index(drop=True)
    splits = random_splits(len(df), args.train_size, args.repeats, seed=0)
    rows = {}
    for name, basis in BASES.items():
        pred_all = series_oracle(df, basis)
        n_coef = basis(np.ones(1)).shape[1] * df.groupby(SERIES_BY).ngroups
        rows[f"oracle {name} ({n_coef} coefficients, in-sample)"] = score(
            df, splits, lambda sp, p=pred_all: p[sp.test_idx])

    def ours(sp):
        model = EnergyModel(bootstrap=0).fit(df.iloc[sp.train_idx])
        return model.predict(df.iloc[sp.test_idx])

    rows[f"EnergyModel (12 parameters, fit on {args.train_size} rows)"] = score(df, splits, ours)
    print(f"{'method':58s} {'Top-1':>12s} {'pairwise':>9s} {'MAPE':>6s} {'Top-1@1%':>9s} {'Top-1@2%':>9s}")
    for name, r in rows.items():
        print(f"{name:58s} {r['top1']:.3f}+-{r['top1_std']:.3f} {r['pairwise']:9.3f} {r['mape']:6.3f} "
              f"{r['top1_within_1pct']:9.3f} {r['top1_within_2pct']:9.3f}")
    print("targets (issue 3): Top-1 >= 0.90, pairwise >= 0.96, MAPE <= 0.10")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"repeats": args.repeats, "train_size": args.train_size, "rows": rows},
                                        indent=2))
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
