"""How many measurements active profiling needs to match random sampling at 50 (issue 15).

Sub-samples measured rows of a data set as if each row were a configuration still to be measured:

* **random-50**: 50 rows drawn uniformly, the closed-form model fitted on them;
* **active**: :class:`energylens.profiling.ActiveChooser` as ``--strategy active`` runs it: a 15-row
  start design (locally D-optimal at the template's start parameters; ``--design random``: uniform),
  then one row at a time where the fitted model's bootstrap is least sure about each group's optimum
  and where a measurement most lowers the predicted variance of the rows not yet measured
  (``--information i-optimal``, the default; ``d-optimal``: the parameters' joint variance, the
  chooser before 2026-12-02), up to 50;
* **random curve**: the same sizes drawn uniformly (the reference curve).

After each size the model (``bootstrap=0``) is fitted on the chosen rows and scored on the whole data
set: **Top-1** = mean over groups (task, model, GPU; >= 2 rows) of "the predicted cheapest row is a
measured cheapest" (:func:`energylens.compare.metrics.top1_hit`), **MAPE** over the rows not chosen.
The answer is the smallest size at which the active curve averaged over ``--seeds`` runs reaches both
random-50's Top-1 and MAPE averaged over ``--random-seeds`` draws (a random-50 draw's MAPE scatters by
~0.025 on v3, so few draws make the target itself noisy). A bootstrap over the seeds (active runs and
random-50 draws resampled) gives the 5-95 % range of that size. Writes
bench/results/active_profiling_<data>.json.

    python bench/active_profiling.py --data v3 --seeds 50
    python bench/active_profiling.py --data v2 --seeds 50
    python bench/active_profiling.py --data v3 --seeds 50 --design random   # the start before issue 15's rework
    python bench/active_profiling.py --data v2 --seeds 50 --information d-optimal   # the previous information term
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from data_paths import V3 as V3_CSV
from energylens.compare.metrics import top1_hit
from energylens.model import EnergyModel
from energylens.profiles.datasets import mlenergy_v2, mlenergy_v3
from energylens.profiling import ActiveChooser
from energylens.profiling.active import DESIGNS, INFORMATION

GROUP_BY = ("task", "model", "gpu")
RESULTS = Path(__file__).resolve().parent / "results"


def load(name: str) -> pd.DataFrame:
    if name == "v2":
        return mlenergy_v2()
    path = V3_CSV
    if not path.is_file():
        raise SystemExit(f"{path} not found (ML.ENERGY v3 H100 rows: development data, not bundled); run --data v2")
    return mlenergy_v3(path)


def score(df: pd.DataFrame, chosen: list[int], seed: int) -> tuple[float, float]:
    """(Top-1 over all groups, MAPE over the rows not chosen) of a fit on the chosen rows."""
    model = EnergyModel(bootstrap=0, n_starts=3, seed=seed)
    model.fit(df.iloc[chosen], latency=False)
    pred = model.predict(df)
    meas = df["energy_j"].to_numpy()
    hits = [top1_hit(pred[idx], meas[idx]) for idx in df.groupby(list(GROUP_BY)).indices.values() if len(idx) >= 2]
    rest = np.setdiff1d(np.arange(len(df)), chosen)
    return float(np.mean(hits)), float(np.mean(np.abs(pred[rest] / meas[rest] - 1.0)))


def active_curve(df: pd.DataFrame, seed: int, n_max: int, args: argparse.Namespace) -> dict[int, tuple[float, float]]:
    chooser = ActiveChooser(df.drop(columns=["energy_j"]), group_by=GROUP_BY, min_rows=args.min_rows,
                            bootstrap=args.bootstrap, seed=seed, spread_weight=args.spread_weight,
                            coverage_weight=args.coverage_weight, design=args.design,
                            information_weight=args.information_weight, information=args.information,
                            start_information=args.start_information)
    energy = df["energy_j"].to_numpy()
    measured: dict[int, float] = {}
    curve = {}
    while len(measured) < n_max:
        i = chooser.next_index(measured)
        measured[i] = float(energy[i])
        if len(measured) >= 12:
            curve[len(measured)] = score(df, list(measured), seed)
    return curve


def random_curve(df: pd.DataFrame, seed: int, n_max: int) -> dict[int, tuple[float, float]]:
    order = np.random.default_rng(2000 + seed).permutation(len(df))
    return {n: score(df, order[:n].tolist(), seed) for n in range(12, n_max + 1)}


def reach(curves: np.ndarray, sizes: list[int], target: np.ndarray) -> int | None:
    """Smallest size whose seed-mean Top-1 >= target[0] and MAPE <= target[1]; curves: (seeds, sizes, 2)."""
    mean = curves.mean(axis=0)
    ok = (mean[:, 0] >= target[0]) & (mean[:, 1] <= target[1])
    return sizes[int(np.argmax(ok))] if ok.any() else None


def reach_interval(curves: np.ndarray, sizes: list[int], rand50: np.ndarray, reps: int = 1000) -> dict:
    """Bootstrap over seeds (active curves and random-50 draws resampled apart): 5/50/95 % of the reach
    size, and how often it is not reached by the largest size."""
    rng = np.random.default_rng(0)
    got = []
    for _ in range(reps):
        c = curves[rng.integers(len(curves), size=len(curves))]
        r = rand50[rng.integers(len(rand50), size=len(rand50))].mean(axis=0)
        got.append(reach(c, sizes, r))
    found = np.array([g for g in got if g is not None], dtype=float)
    q = np.percentile(found, [5, 50, 95]).tolist() if found.size else [None] * 3
    return {"p5": q[0], "p50": q[1], "p95": q[2], "share_not_reached": 1.0 - found.size / reps}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", choices=("v2", "v3"), default="v2")
    ap.add_argument("--seeds", type=int, default=50, help="active runs (and random curves), one per seed")
    ap.add_argument("--random-seeds", type=int, default=400, help="random-50 draws the target is averaged over")
    ap.add_argument("--n-max", type=int, default=50)
    ap.add_argument("--bootstrap", type=int, default=40)
    ap.add_argument("--spread-weight", type=float, default=ActiveChooser.spread_weight)
    ap.add_argument("--min-rows", type=int, default=ActiveChooser.min_rows, help="start-design rows before active choice")
    ap.add_argument("--coverage-weight", type=float, default=ActiveChooser.coverage_weight)
    ap.add_argument("--design", choices=DESIGNS, default=ActiveChooser.design)
    ap.add_argument("--information-weight", type=float, default=ActiveChooser.information_weight)
    ap.add_argument("--information", choices=INFORMATION, default=ActiveChooser.information)
    ap.add_argument("--start-information", choices=INFORMATION, default=ActiveChooser.start_information)
    ap.add_argument("--out", default=None, help="JSON path (default bench/results/active_profiling_<data>.json)")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    df = load(args.data).reset_index(drop=True)
    t0 = time.perf_counter()
    rand50 = np.array([score(df, np.random.default_rng(1000 + s).choice(len(df), 50, replace=False).tolist(), s)
                       for s in range(args.random_seeds)])
    target = rand50.mean(axis=0)
    print(f"random-50 over {args.random_seeds} draws: Top-1 {target[0]:.3f} (sd {rand50[:, 0].std():.3f}), "
          f"MAPE {target[1]:.3f} (sd {rand50[:, 1].std():.3f})", flush=True)
    act, rnd = [], []
    for seed in range(args.seeds):
        c = active_curve(df, seed, args.n_max, args)
        r = random_curve(df, seed, args.n_max)
        sizes = sorted(c)
        act.append([c[n] for n in sizes])
        rnd.append([r[n] for n in sizes])
        print(f"seed {seed}: active@25 {c[25][0]:.3f} / {c[25][1]:.3f}; random@25 {r[25][0]:.3f} / {r[25][1]:.3f}; "
              f"active@50 {c[50][0]:.3f} / {c[50][1]:.3f}", flush=True)
    act_a, rnd_a = np.array(act), np.array(rnd)
    n_reach = reach(act_a, sizes, target)
    top1_only = reach(act_a, sizes, np.array([target[0], np.inf]))
    interval = reach_interval(act_a, sizes, rand50)

    def table(a: np.ndarray) -> dict:
        return {str(n): {"top1": a[:, k, 0].mean(), "mape": a[:, k, 1].mean(), "top1_sd": a[:, k, 0].std(),
                         "mape_sd": a[:, k, 1].std()} for k, n in enumerate(sizes)}

    out = {"data": args.data, "rows": len(df), "seeds": args.seeds, "random_seeds": args.random_seeds,
           "design": args.design, "information_weight": args.information_weight,
           "information": args.information, "start_information": args.start_information, "bootstrap": args.bootstrap, "spread_weight": args.spread_weight,
           "coverage_weight": args.coverage_weight, "min_rows": args.min_rows,
           "random50_top1": target[0], "random50_mape": target[1],
           "random50_top1_sd": rand50[:, 0].std(), "random50_mape_sd": rand50[:, 1].std(),
           "active_curve": table(act_a), "random_curve": table(rnd_a),
           "active_reaches_random50_at": n_reach, "active_reaches_random50_top1_at": top1_only,
           "random_reaches_random50_at": reach(rnd_a, sizes, target),
           "reach_bootstrap_over_seeds": interval, "seconds": time.perf_counter() - t0}
    RESULTS.mkdir(exist_ok=True)
    path = Path(args.out) if args.out else RESULTS / f"active_profiling_{args.data}.json"
    path.write_text(json.dumps(out, indent=1))
    print(f"random-50: Top-1 {target[0]:.3f}, MAPE {target[1]:.3f}; active ({args.design} start) reaches both at "
          f"n = {n_reach} (Top-1 alone at n = {top1_only}; over seeds 5-95 %: {interval['p5']}-{interval['p95']}, "
          f"not reached in {interval['share_not_reached']:.0%}); {out['seconds']:.0f} s; wrote {path}")


if __name__ == "__main__":
    main()
