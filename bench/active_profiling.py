"""How many measurements active profiling needs to match random sampling at 50 (issue 15).

Sub-samples measured rows of a data set as if each row were a configuration still to be measured:

* **random-50**: 50 rows drawn uniformly, the closed-form model fitted on them;
* **active**: 15 rows drawn uniformly, then one row at a time chosen by
  :class:`energylens.profiling.ActiveChooser` (bootstrap of the fitted model: where it is least sure
  about each group's optimum), up to 50.

After each size the model (``bootstrap=0``) is fitted on the chosen rows and scored on the whole data
set: **Top-1** = mean over groups (task, model, GPU; >= 2 rows) of "the predicted cheapest row is a
measured cheapest" (:func:`energylens.compare.metrics.top1_hit`), **MAPE** over the rows not chosen.
The answer is the smallest size at which the seed-averaged active curve reaches random-50's mean
Top-1 and MAPE. Writes bench/results/active_profiling_<data>.json.

    python bench/active_profiling.py --data v2 --seeds 10
    python bench/active_profiling.py --data v3 --seeds 10   # needs a v3 reader in main (see below)
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from energylens.compare.metrics import top1_hit
from energylens.model import EnergyModel
from energylens.profiles.datasets import mlenergy_v2
from energylens.profiling import ActiveChooser

GROUP_BY = ("task", "model", "gpu")
RESULTS = Path(__file__).resolve().parent / "results"


def load(name: str) -> pd.DataFrame:
    if name == "v2":
        return mlenergy_v2()
    try:  # the v3 reader is another issue's work; use it where it has landed
        from energylens.profiles.datasets import mlenergy_v3  # type: ignore[attr-defined]
    except ImportError:
        raise SystemExit("no ML.ENERGY v3 reader in energylens.profiles.datasets yet; run --data v2") from None
    return mlenergy_v3("/work/shared/data/mlenergy-v3-h100/llm_configs_h100.csv")


def score(df: pd.DataFrame, chosen: list[int], seed: int) -> tuple[float, float]:
    """(Top-1 over all groups, MAPE over the rows not chosen) of a fit on the chosen rows."""
    model = EnergyModel(bootstrap=0, n_starts=3, seed=seed)
    model.fit(df.iloc[chosen], latency=False)
    pred = model.predict(df)
    meas = df["energy_j"].to_numpy()
    hits = [top1_hit(pred[idx], meas[idx]) for idx in df.groupby(list(GROUP_BY)).indices.values() if len(idx) >= 2]
    rest = np.setdiff1d(np.arange(len(df)), chosen)
    return float(np.mean(hits)), float(np.mean(np.abs(pred[rest] / meas[rest] - 1.0)))


def active_curve(df: pd.DataFrame, seed: int, n_max: int, bootstrap: int,
                 spread_weight: float, coverage_weight: float, min_rows: int) -> dict[int, tuple[float, float]]:
    chooser = ActiveChooser(df.drop(columns=["energy_j"]), group_by=GROUP_BY, min_rows=min_rows, bootstrap=bootstrap,
                            seed=seed, spread_weight=spread_weight, coverage_weight=coverage_weight)
    energy = df["energy_j"].to_numpy()
    measured: dict[int, float] = {}
    curve = {}
    while len(measured) < n_max:
        i = chooser.next_index(measured)
        measured[i] = float(energy[i])
        if len(measured) >= 12:
            curve[len(measured)] = score(df, list(measured), seed)
    return curve


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", choices=("v2", "v3"), default="v2")
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--n-max", type=int, default=50)
    ap.add_argument("--bootstrap", type=int, default=40)
    ap.add_argument("--spread-weight", type=float, default=ActiveChooser.spread_weight)
    ap.add_argument("--min-rows", type=int, default=ActiveChooser.min_rows, help="random rows before active choice")
    ap.add_argument("--coverage-weight", type=float, default=ActiveChooser.coverage_weight)
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    df = load(args.data).reset_index(drop=True)
    t0 = time.perf_counter()
    rand, curves = [], []
    for seed in range(args.seeds):
        rng = np.random.default_rng(1000 + seed)
        rand.append(score(df, rng.choice(len(df), 50, replace=False).tolist(), seed))
        curves.append(active_curve(df, seed, args.n_max, args.bootstrap, args.spread_weight,
                                   args.coverage_weight, args.min_rows))
        print(f"seed {seed}: random-50 Top-1 {rand[-1][0]:.3f} MAPE {rand[-1][1]:.3f}; active@25 "
              f"{curves[-1][25][0]:.3f} / {curves[-1][25][1]:.3f}; active@50 {curves[-1][50][0]:.3f} / "
              f"{curves[-1][50][1]:.3f}", flush=True)
    r_top1, r_mape = np.mean(rand, axis=0)
    sizes = sorted(curves[0])
    mean_curve = {n: tuple(np.mean([c[n] for c in curves], axis=0)) for n in sizes}
    reach = next((n for n in sizes if mean_curve[n][0] >= r_top1 and mean_curve[n][1] <= r_mape), None)
    reach_top1 = next((n for n in sizes if mean_curve[n][0] >= r_top1), None)
    out = {"data": args.data, "rows": len(df), "seeds": args.seeds, "bootstrap": args.bootstrap, "spread_weight": args.spread_weight,
           "coverage_weight": args.coverage_weight, "min_rows": args.min_rows,
           "random50_top1": r_top1, "random50_mape": r_mape,
           "active_curve": {str(n): {"top1": v[0], "mape": v[1]} for n, v in mean_curve.items()},
           "active_reaches_random50_at": reach, "active_reaches_random50_top1_at": reach_top1,
           "seconds": time.perf_counter() - t0}
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"active_profiling_{args.data}.json"
    path.write_text(json.dumps(out, indent=1))
    print(f"random-50: Top-1 {r_top1:.3f}, MAPE {r_mape:.3f}; active reaches both at n = {reach} "
          f"(Top-1 alone at n = {reach_top1}); {out['seconds']:.0f} s; wrote {path}")


if __name__ == "__main__":
    main()
