"""How well the 90 % prediction intervals cover held-out measurements, and on which side they miss.

Fit ``EnergyModel(bootstrap=200)`` on 50 random rows (seeds 0..19), predict the interval of every other
row, count the held-out measurements below the lower bound, above the upper bound and inside; for the
bundled v2 rows and the ML.ENERGY v3 H100 rows (shared data, never bundled; skipped without it). A
well-placed 90 % interval misses about 5 % on each side; an interval that flips the residuals misses
mostly on one side (the long tail of the scatter drawn on the wrong side of the prediction).

    python bench/interval_coverage.py            # JSON to bench/results/interval_coverage.json (~2 min)
"""
from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

import numpy as np

from data_paths import V3
from energylens.model import EnergyModel
from energylens.profiles import read_profiles

OUT = Path(__file__).parent / "results" / "interval_coverage.json"


def coverage(df, repeats: int, level: float, train_rows: int = 50) -> dict:
    below, above, inside, width = [], [], [], []
    for seed in range(repeats):
        idx = np.random.default_rng(seed).permutation(len(df))
        train, test = df.iloc[idx[:train_rows]], df.iloc[idx[train_rows:]]
        iv = EnergyModel(bootstrap=200, seed=seed).fit(train).predict_interval(test, level)
        e, lo, hi = (x.to_numpy(dtype=float) for x in (test["energy_j"], iv["energy_j_lo"], iv["energy_j_hi"]))
        below.append(float(np.mean(e < lo)))
        above.append(float(np.mean(e > hi)))
        inside.append(float(np.mean((lo <= e) & (e <= hi))))
        width.append(float(np.median((hi - lo) / e)))
    return {"level": level, "repeats": repeats, "train_rows": train_rows, "coverage_mean": float(np.mean(inside)),
            "coverage_min": float(np.min(inside)), "coverage_max": float(np.max(inside)),
            "below_lower_mean": float(np.mean(below)), "above_upper_mean": float(np.mean(above)),
            "median_width_rel": float(np.mean(width))}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--level", type=float, default=0.9)
    ap.add_argument("--out", default=str(OUT))
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    out = {"v2_bundled": coverage(read_profiles("bundled"), args.repeats, args.level)}
    print("v2", out["v2_bundled"], file=sys.stderr)
    if V3.is_file():
        out["v3_h100"] = coverage(read_profiles(str(V3)), args.repeats, args.level)
        print("v3", out["v3_h100"], file=sys.stderr)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
