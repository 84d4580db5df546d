#!/usr/bin/env python3
"""A prior at the fit's own bootstrap centre: does pulling the 50-row fit toward it lift v3 Top-1 / MAPE?

Round 5 (docs/model.md) found that one parameter vector, the log-space mean of the default fit's bootstrap
refits, ranks v3 better (Top-1 0.953) but biases the energy level (MAPE 0.21), and that a prior toward
*another* stack's fit costs that stack's own ranking. This variant uses only the training rows: fit with
``bootstrap=B``, take the bootstrap refits' centre (log-mean with the native prior's offset c_j = 1e-3 x the
upper bound, or the median), then refit the same rows with ``prior=centre, prior_weight=w``
(``EnergyModel``'s native prior, docs/model.md round 8). The data keep the directions they identify (the
level); in the flat valley directions the fit moves to the bootstrap centre instead of where one sample's
noise put it.

Each line is scored by the package's evaluation (``energylens.compare.run_evaluation``, the code behind
``energylens evaluate``): 50 random training rows, 20 repeats, the rest held out; v3 H100 with split seeds 0,
1, 2 and the bundled v2 rows with seed 0; Top-1 / Top-1 @TPOT / parallelism / pairwise / MAPE.

The v3 export is read from /work/shared/data (never bundled); without it the script says so and exits 0.

    python bench/self_prior.py [--boot 100,200] [--weights 0,0.1,1,3,10,100] [--out bench/results/self_prior.json]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from energylens import _core
from energylens.compare.methods import ClosedForm
from energylens.compare.result import summarize
from energylens.compare.runner import run_evaluation
from energylens.model import EnergyModel
from energylens.profiles import read_profiles

sys.path.insert(0, str(Path(__file__).parent))
from data_paths import V3  # noqa: E402

OUT = Path(__file__).parent / "results" / "self_prior.json"
KEYS = ("top1", "top1_tpot", "parallelism", "pairwise", "mape")
OFFSET = 1e-3 * np.asarray(_core.describe_template("energy").upper)  # the native prior's c_j


def centre(boot: np.ndarray, how: str) -> np.ndarray:
    """The bootstrap refits' centre: log-space mean (with the prior's offsets) or the parameter-wise median."""
    if how == "logmean":
        return np.exp(np.mean(np.log(boot + OFFSET), axis=0)) - OFFSET
    return np.median(boot, axis=0)


class SelfPrior(ClosedForm):
    """ClosedForm refitted under a prior at its own bootstrap centre (weight 0: the plain fit)."""

    def __init__(self, seed: int, weight: float, how: str, boot: int) -> None:
        super().__init__(name="energylens", seed=seed)
        self.weight, self.how, self.boot = weight, how, boot

    def fit(self, train_df):
        if self.weight > 0:
            first = EnergyModel(bootstrap=self.boot, seed=self.seed).fit(train_df, latency=False)
            self.model_options = {"prior": centre(np.asarray(first.bootstrap_params), self.how).tolist(),
                                  "prior_weight": self.weight}
        return super().fit(train_df)


def score(df, weight: float, how: str, boot: int, seed: int, repeats: int) -> dict[str, float]:
    res = run_evaluation(df, train_size=50, repeats=repeats, splits=("random",), seed=seed, progress=False,
                         methods=lambda s: [SelfPrior(s, weight, how, boot)])
    row = summarize(res.table, by=("split", "variant", "detail")).iloc[0]
    return {k: float(row[k]) / (100.0 if k == "mape" else 1.0) for k in KEYS}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--boot", default="100,200", help="bootstrap refits behind the centre (comma list)")
    ap.add_argument("--weights", default="0,0.1,1,3,10,100", help="prior weights w (comma list; 0 = plain fit)")
    ap.add_argument("--how", default="logmean,median", help="centre: logmean and/or median")
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--out", default=str(OUT))
    args = ap.parse_args(argv)
    if not V3.is_file():
        print(f"{V3} not found (the v3 export is never bundled): nothing to do")
        return 0
    warnings.simplefilter("ignore")
    data = {"v3": read_profiles(str(V3)), "v2": read_profiles("bundled")}
    runs = []
    for how in args.how.split(","):
        for boot in (int(b) for b in args.boot.split(",")):
            for w in (float(x) for x in args.weights.split(",")):
                if w == 0 and runs and any(r["weight"] == 0 for r in runs):
                    continue  # the plain fit is the same whatever the centre
                t0 = time.perf_counter()
                line = {"how": how, "boot": boot, "weight": w,
                        **{f"v3_seed{s}": score(data["v3"], w, how, boot, s, args.repeats) for s in (0, 1, 2)},
                        "v2_seed0": score(data["v2"], w, how, boot, 0, args.repeats)}
                runs.append(line)
                cells = [" / ".join(f"{line[k][m]:.3f}" for m in KEYS) for k in ("v3_seed0", "v3_seed1",
                                                                                  "v3_seed2", "v2_seed0")]
                print(f"{how:8s} B={boot:3d} w={w:<6g} " + " | ".join(cells)
                      + f"  ({time.perf_counter() - t0:.0f} s)", flush=True)
    Path(args.out).write_text(json.dumps({"repeats": args.repeats, "train_size": 50, "runs": runs}, indent=1) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
