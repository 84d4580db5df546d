"""The baselines' template inputs shared per evaluated frame (energylens.compare.shared_inputs) against
computing them per call, as before, in the same run.

Two measurements per data set (the bundled ML.ENERGY v2 rows; the v3 H100 rows where
/work/shared/data is present): (1) one ``template_inputs`` call on a random split's 50 training rows and
on its held-out rows, computed (``features_of``) against sliced from the whole frame's inputs (after
checking the two agree bit for bit); (2) ``run_evaluation`` of the random split (20 repeats) with the
two baselines whose fits read little else (wilkins2024, llmcarbon), with sharing against without (the
runner's block replaced by a no-op), the tables checked identical. Rounds alternate the two sides; each
side's per-round value is the median of its calls; the report gives the median and min-max over rounds,
and the load average before and after (the development box is shared).

    python bench/shared_inputs.py [--rounds 7] [--calls 20] [--json bench/results/shared_inputs.json]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np
import pandas as pd

from data_paths import V3 as V3_CSV
from energylens.compare import inputs
from energylens.compare import runner as ev
from energylens.profiles.datasets import load_profiles_or_bundled

V3 = V3_CSV
METHODS = ("wilkins2024", "llmcarbon")


def _summary(samples: list[float]) -> dict[str, float]:
    return {"median_s": statistics.median(samples), "min_s": min(samples), "max_s": max(samples),
            "samples": len(samples)}


def _per_call(df: pd.DataFrame, rounds: int, calls: int) -> dict[str, dict]:
    """One call on the training rows and on the held-out rows: computed against sliced."""
    train_idx = np.sort(np.random.default_rng(0).choice(len(df), 50, replace=False))
    frames = {"train_50": df.iloc[train_idx].copy(),
              "held_out": df.iloc[np.setdiff1d(np.arange(len(df)), train_idx)].copy()}
    out: dict[str, dict] = {}
    with inputs.shared_template_inputs(df) as shared:
        for name, rows in frames.items():
            sliced = inputs.template_inputs(rows)
            computed = inputs._template_inputs(rows, None)
            assert all(sliced[k].tobytes() == computed[k].tobytes() for k in computed), name
            times: dict[str, list[float]] = {"computed": [], "sliced": []}
            for _ in range(rounds):
                for side, fn in (("computed", lambda r=rows: inputs._template_inputs(r, None)),
                                 ("sliced", lambda r=rows: inputs.template_inputs(r))):
                    per = []
                    for _ in range(calls):
                        t = time.perf_counter()
                        fn()
                        per.append(time.perf_counter() - t)
                    times[side].append(statistics.median(per))
            out[name] = {"rows": len(rows), **{side: _summary(v) for side, v in times.items()},
                         "speedup_median": statistics.median(times["computed"]) / statistics.median(times["sliced"])}
        assert shared.computed == 1 and shared.misses == 0
    return out


def _evaluation(df: pd.DataFrame, rounds: int) -> dict:
    """run_evaluation (random split, 20 repeats, METHODS) with the shared inputs against without."""
    real = ev.shared_template_inputs

    def run(share: bool) -> tuple[float, pd.DataFrame]:
        ev.shared_template_inputs = real if share else (lambda *a, **k: contextlib.nullcontext())
        try:
            t = time.perf_counter()
            res = ev.run_evaluation(df, splits=("random",), repeats=20, method_names=METHODS, progress=False)
            return time.perf_counter() - t, res.table
        finally:
            ev.shared_template_inputs = real

    times: dict[str, list[float]] = {"per_call": [], "shared": []}
    tables = {}
    for r in range(rounds):
        for side in (("per_call", "shared") if r % 2 == 0 else ("shared", "per_call")):
            seconds, tables[side] = run(side == "shared")
            times[side].append(seconds)
    pd.testing.assert_frame_equal(tables["shared"], tables["per_call"], check_exact=True)
    return {"methods": list(METHODS), **{side: _summary(v) for side, v in times.items()},
            "speedup_median": statistics.median(times["per_call"]) / statistics.median(times["shared"])}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--calls", type=int, default=20)
    ap.add_argument("--json", type=Path, default=Path("bench/results/shared_inputs.json"))
    args = ap.parse_args()
    data = {"v2_bundled": "bundled", **({"v3_h100": str(V3)} if V3.exists() else {})}
    load_before = os.getloadavg()
    results = {}
    for name, src in data.items():
        df = load_profiles_or_bundled(src).reset_index(drop=True)
        results[name] = {"rows": len(df), "template_inputs": _per_call(df, args.rounds, args.calls),
                         "run_evaluation_random_20": _evaluation(df, args.rounds)}
        print(name, json.dumps(results[name], indent=1))
    out = {"machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                       "load_average_1_5_15_before": load_before, "load_average_1_5_15_after": os.getloadavg()},
           "results": results}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
