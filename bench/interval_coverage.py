"""How well the 90 % prediction intervals cover held-out measurements, and on which side they miss.

Fit ``EnergyModel(bootstrap=200)`` on 50 random rows (seeds 0..19), predict the interval of every other
row, count the held-out measurements below the lower bound, above the upper bound and inside; for the
bundled v2 rows and the ML.ENERGY v3 H100 rows (shared data, never bundled; skipped without it). A
well-placed 90 % interval misses about 5 % on each side; an interval that flips the residuals misses
mostly on one side (the long tail of the scatter drawn on the wrong side of the prediction). The counting is
``energylens.compare.coverage.interval_coverage``'s (``energylens evaluate --coverage``) on this file's draws.

    python bench/interval_coverage.py            # JSON to bench/results/interval_coverage.json (7 s on 2 cores)
"""
from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

import numpy as np

from data_paths import V3
from energylens.compare.coverage import interval_coverage
from energylens.compare.registry import default_methods
from energylens.compare.splits import Split
from energylens.profiles import read_profiles

OUT = Path(__file__).parent / "results" / "interval_coverage.json"


def coverage(df, repeats: int, level: float, train_rows: int = 50) -> dict:
    """energylens.compare.coverage.interval_coverage (what ``energylens evaluate --coverage`` runs) on this bench's
    draws: repeat ``seed`` trains on the first ``train_rows`` rows of ``default_rng(seed).permutation`` and predicts
    the rest in that order, its model seeded ``seed``; the figures under this file's JSON keys."""
    df = df.reset_index(drop=True)
    draws = [np.random.default_rng(seed).permutation(len(df)) for seed in range(repeats)]
    splits = [Split("random", "", "", seed, p[:train_rows], p[train_rows:]) for seed, p in enumerate(draws)]
    s = interval_coverage(df, splits, lambda seed: default_methods(seed, include=("energylens",)), lambda r: r,
                          level)["methods"]["energylens"]
    if s["error"] or s["repeats"] != repeats:
        raise RuntimeError(f"interval fits failed: {s['error']}")
    return {"level": level, "repeats": repeats, "train_rows": train_rows, "coverage_mean": s["coverage_mean"],
            "coverage_min": s["coverage_min"], "coverage_max": s["coverage_max"],
            "below_lower_mean": s["below_mean"], "above_upper_mean": s["above_mean"],
            "median_width_rel": s["median_width_rel"]}


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
