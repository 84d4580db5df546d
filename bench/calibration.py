#!/usr/bin/env python3
"""Issue 10, optional calibration: the opt-in per-family (and per-model) offsets next to the default.

Same protocol as bench/modern_serving.py: fit on 50 random rows, 20 seeded repeats, the rest held out,
groups task x model x GPU, scored by ``energylens.compare.run_evaluation`` (the code behind
``energylens evaluate --calibrate KEY``). The offsets are estimated on each repeat's 50 training rows only
(empirical Bayes, energylens.model.calibration); nothing is tuned on the held-out rows. Also: 90 %
interval coverage on the same splits as modern_serving.coverage, and leave-one-family-out, where every
held-out row's family is unseen so the calibrated model must give the default's predictions (offsets 0).

    python bench/calibration.py                 # JSON to bench/results/calibration.json
    python bench/calibration.py --repeats 5     # quicker
"""
from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from energylens.compare.methods import ClosedForm  # noqa: E402
from energylens.compare.registry import register_method, unregister_method  # noqa: E402
from energylens.compare.result import summarize  # noqa: E402
from energylens.compare.runner import run_evaluation  # noqa: E402
from energylens.model import EnergyModel  # noqa: E402
from energylens.profiles import read_profiles  # noqa: E402
from energylens.profiles.tables import find_model  # noqa: E402
from modern_serving import V3, fmt, held_out_scores, mean_over_keys, metric_means  # noqa: E402

OUT = Path(__file__).parent / "results" / "calibration.json"
CALIBRATIONS = ("family", "model")


def scores(df: pd.DataFrame, repeats: int) -> dict:
    """Metric means and stds per method: the default and each calibration, identical splits."""
    names = [f"energylens+{k}" for k in CALIBRATIONS]
    for key, name in zip(CALIBRATIONS, names, strict=True):
        register_method(name, lambda seed, _g, key=key, name=name: ClosedForm(name=name, seed=seed, calibration=key))
    try:
        res = run_evaluation(df, train_size=50, repeats=repeats, splits=("random",),
                             method_names=["energylens", *names], progress=False)
    finally:
        for name in names:
            unregister_method(name)
    s = summarize(res.table, by=("method",))
    out = {}
    for _, r in s.iterrows():
        out[str(r["method"])] = metric_means(r)
    return out


def coverage(df: pd.DataFrame, repeats: int, calibration: str | None, level: float = 0.9) -> dict:
    """Held-out rows inside the ``level`` interval (fit on 50 random rows; modern_serving.coverage's splits)."""
    cov, width, seen, ks = [], [], [], []
    for r in range(repeats):
        idx = np.random.default_rng(r).permutation(len(df))
        tr, te = df.iloc[idx[:50]], df.iloc[idx[50:]]
        m = EnergyModel(bootstrap=200, seed=r, calibration=calibration).fit(tr, latency=False)
        iv = m.predict_interval(te, level, check_range=False)
        e = te["energy_j"].to_numpy()
        cov.append(float(np.mean((iv["energy_j_lo"].to_numpy() <= e) & (e <= iv["energy_j_hi"].to_numpy()))))
        width.append(float(np.median((iv["energy_j_hi"] - iv["energy_j_lo"]).to_numpy() / e)))
        if m.calibration is not None:
            seen.append(float(np.mean(m.calibration.seen(te))))
            ks.append(m.calibration.k)
    out = {"level": level, "coverage_mean": float(np.mean(cov)), "coverage_min": float(np.min(cov)),
           "coverage_max": float(np.max(cov)), "median_width_rel": float(np.mean(width))}
    if seen:
        out["held_out_rows_with_seen_key"] = float(np.mean(seen))
        finite = [k for k in ks if np.isfinite(k)]  # k = inf: no between-key variance, every offset 0
        out["shrinkage_k"] = {"repeats_all_zero": len(ks) - len(finite),
                              "median_finite": float(np.median(finite)) if finite else None}
    return out


def leave_one_family_out(df: pd.DataFrame, calibration: str | None) -> dict:
    """Fit on every other family, score the held-out family (its key unseen: offset 0)."""
    fam = np.array([getattr(find_model(m), "family", m) for m in df["model"]])
    per, max_diff = {}, 0.0
    for key in sorted(set(fam)):
        tr, te = df[fam != key], df[fam == key]
        base = EnergyModel(bootstrap=0, seed=0).fit(tr, latency=False).predict(te, check_range=False)
        m = EnergyModel(bootstrap=0, seed=0, calibration=calibration).fit(tr, latency=False)
        pred = m.predict(te, check_range=False)
        max_diff = max(max_diff, float(np.max(np.abs(pred / base - 1.0))))
        per[key] = held_out_scores(te, pred)
    return {"families": per, "max_rel_diff_vs_default": max_diff, "mean": mean_over_keys(per)}


def run(label: str, df: pd.DataFrame, repeats: int) -> dict:
    t0 = time.perf_counter()
    out: dict = {"rows": len(df), "scores": scores(df, repeats)}
    for name, m in out["scores"].items():
        print(f"{label} {name:<20} {fmt(m)}", file=sys.stderr)
    out["coverage"] = {str(k): coverage(df, repeats, k) for k in (None, *CALIBRATIONS)}
    for k, c in out["coverage"].items():
        print(f"{label} coverage [{k}] {c}", file=sys.stderr)
    out["leave_one_family_out"] = {str(k): leave_one_family_out(df, k) for k in (None, "family")}
    for k, c in out["leave_one_family_out"].items():
        print(f"{label} leave-one-family-out [{k}] {c['mean']} max diff {c['max_rel_diff_vs_default']:.2g}",
              file=sys.stderr)
    print(f"{label}: {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--out", default=str(OUT))
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    out: dict = {"repeats": args.repeats, "train_rows": 50, "v3_file": str(V3) if V3.is_file() else None}
    if V3.is_file():
        out["v3_h100"] = run("v3", read_profiles(str(V3)), args.repeats)
    out["v2"] = run("v2", read_profiles("bundled"), args.repeats)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=1))
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
