#!/usr/bin/env python3
"""A prior from another fit (``EnergyModel(prior=..., prior_weight=w)``): what it buys and costs.

Each line is scored by the package's evaluation (``energylens.compare.run_evaluation``, the code behind
``energylens evaluate``): fit on n random rows, score the rest within task x model x GPU groups, 20
repeats; Top-1, Top-1 under each group's median TPOT, pairwise and MAPE as defined there.

* ML.ENERGY v3 H100 (today's vLLM), prior ``"bundled"``: the template fitted on the bundled v2 rows
  (vLLM 0.5.4; none of the scored rows), n = 10 / 20 / 50, w = 0 (no prior) / 0.01 / 0.1.
* The bundled v2 rows, prior fitted on every v3 H100 row (the other direction; a prior from v2 itself
  would have seen the scored rows), n = 20 / 50; v2's unseen-batch split (train on the small batches) and
  its unseen-GPU transfers (all rows of one GPU plus 5 of the other, score the other's rest).
* The 90 % interval coverage of held-out v3 rows at n = 50 (200 bootstrap refits, which carry the prior).

The v3 export is read from /work/shared/data (never bundled); without it the script says so and exits 0.

    python bench/prior_transfer.py [--repeats 20] [--out bench/results/prior_transfer.json]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

from energylens.compare.methods import ClosedForm
from energylens.compare.result import summarize
from energylens.compare.runner import run_evaluation
from energylens.model import EnergyModel
from energylens.profiles import read_profiles

sys.path.insert(0, str(Path(__file__).parent))
from data_paths import V3 as V3_CSV
from estimator_variants import coverage  # noqa: E402

V3 = V3_CSV
OUT = Path(__file__).parent / "results" / "prior_transfer.json"
WEIGHTS = (0.0, 0.01, 0.1)
KEYS = ("top1", "top1_tpot", "pairwise", "mape")


def score(df, n: int, prior, weight: float, repeats: int, splits=("random",)) -> dict:
    opts = {"prior": prior, "prior_weight": weight} if weight > 0 else {}
    res = run_evaluation(df, train_size=n, repeats=repeats, seed=0, splits=splits, gpu_shots=(5,),
                         methods=lambda s: [ClosedForm(seed=s, model_options=opts)], progress=False)
    out = {}
    for _, r in summarize(res.table, by=("split", "detail")).iterrows():
        key = str(r["split"]) + (f" {r['detail']}" if str(r["detail"]) else "")
        out[key] = {k: round(float(r[k]) / (100.0 if k == "mape" else 1.0), 4) for k in KEYS}
    return out


def line(name: str, m: dict) -> str:
    return f"{name:<34} " + " / ".join(f"{m[k]:.3f}" for k in KEYS)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    if not V3.exists():
        print(f"{V3} not found: the v3 rows are not bundled; nothing to score")
        return 0
    warnings.simplefilter("ignore")
    t0 = time.perf_counter()
    v3, v2 = read_profiles(V3), read_profiles("bundled")
    v3_prior = tuple(EnergyModel(bootstrap=0).fit(v3, latency=False).theta)
    out: dict = {"repeats": args.repeats, "keys": list(KEYS), "v3_prior_bundled": {}, "v2_prior_from_v3": {}}
    print("Top-1 / Top-1 @TPOT / pairwise / MAPE, held-out rows")
    for n in (10, 20, 50):
        for w in WEIGHTS:
            if n < 12 and w == 0:
                continue  # 10 rows cannot fit 12 parameters without a prior
            m = score(v3, n, "bundled", w, args.repeats)["random"]
            out["v3_prior_bundled"][f"n={n} w={w:g}"] = m
            print(line(f"v3 H100, n={n}, bundled prior w={w:g}", m), flush=True)
    for n in (20, 50):
        for w in WEIGHTS:
            splits = ("random", "unseen_batch", "unseen_gpu") if n == 50 else ("random",)
            s = score(v2, n, v3_prior, w, args.repeats, splits)
            for split, m in s.items():
                out["v2_prior_from_v3"][f"{split} n={n} w={w:g}"] = m
                print(line(f"v2 {split}, n={n}, v3 prior w={w:g}", m), flush=True)
    out["coverage_v3_n50"] = {  # the held-out coverage harness of round 5 (bench/estimator_variants.py)
        f"w={w:g}": round(coverage({"opts": {"prior": "bundled", "prior_weight": w} if w else {}}, v3,
                                   args.repeats)["mean"], 4) for w in WEIGHTS}
    print(f"90 % interval coverage, v3 n=50: {out['coverage_v3_n50']}")
    out["seconds"] = round(time.perf_counter() - t0, 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {args.out} ({out['seconds']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
