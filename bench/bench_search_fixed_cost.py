"""The fixed cost of one ``energylens.search`` call, what a scheduler pays per decision: CPU time per call on one
thread (``time.process_time``, so other load on the box moves it less than wall time) of

- a one-row candidate table (Llama 3.1 8B on one H100 at batch 32), the same and with another running batch
  each call, and
- a 70B model over its default axes on one GPU (tp 1, 2, 4, 8 x max_num_seqs 1..256),

each the median of ``--repeats`` samples of ``--calls`` calls, with a model fitted on 50 bundled rows
(no bootstrap, as a scheduler's refits would be). Each call is the same search, as a scheduler's loop repeats
it: the per-combination values and the result rows' features are remembered between calls
(search/combo_cache.py). Writes bench/results/search_fixed_cost.json, with the box's 1-minute load average
at the end (other load moves CPU time too, less than wall time).

    OMP_NUM_THREADS=1 python bench/bench_search_fixed_cost.py [--calls 20] [--repeats 7] [--refits 0,100,200]

``--refits N,...`` adds, per N, a default-style search (Llama-3.1-70B on H100,H200,B200, 512 / 256 tokens, TPOT
limit 0.2 s, bootstrap on: P(best) and the interval columns) with a model of N bootstrap refits fitted on all
bundled rows: what the refits cost a call (the default model has EnergyModel's 200).
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

import energylens
from energylens.model import EnergyModel
from energylens.profiles import read_profiles

OUT = Path(__file__).resolve().parent / "results" / "search_fixed_cost.json"


def cpu_ms_per_call(call, calls: int, repeats: int) -> dict:
    call()
    samples = []
    for _ in range(repeats):
        t0 = time.process_time()
        for _ in range(calls):
            call()
        samples.append((time.process_time() - t0) / calls * 1e3)
    return {"median_ms": float(np.median(samples)), "min_ms": float(min(samples)), "max_ms": float(max(samples))}


def refit_cases(refits: list[int]) -> dict:
    """A default-style search (bootstrap on) per refit count, each with its own model fitted on every bundled row."""
    rows = read_profiles("bundled")
    out = {}
    for n in refits:
        m = EnergyModel(bootstrap=n, seed=0).fit(rows)
        out[f"70B on H100,H200,B200, TPOT limit 0.2 s, {n} bootstrap refits"] = lambda m=m: energylens.search(
            model="meta-llama/Llama-3.1-70B-Instruct", gpus=["H100", "H200", "B200"], input_tokens=512,
            output_tokens=256, tpot_limit_s=0.2, energy_model=m)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--calls", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--out", default=str(OUT))
    ap.add_argument("--refits", default="", help="comma-separated bootstrap refit counts to time a default-style "
                    "search with (e.g. 0,100,200); none by default")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    model = EnergyModel(bootstrap=0, seed=0).fit(read_profiles("bundled").sample(50, random_state=0))
    table = pd.DataFrame({"model": ["meta-llama/Meta-Llama-3.1-8B-Instruct"], "gpu": ["H100"], "tp": [1],
                          "batch_size": [32.0], "input_tokens": [512.0], "output_tokens": [256.0]})
    batches = itertools.count(33)  # another running batch per call: nothing of its rows remembered
    cases = {
        "one-row candidate table": lambda: energylens.search(candidates=table, energy_model=model, bootstrap=False),
        "one-row candidate table, another batch each call": lambda: energylens.search(
            candidates=table.assign(batch_size=float(next(batches))), energy_model=model, bootstrap=False),
        "70B over its default axes, one GPU": lambda: energylens.search(
            model="meta-llama/Llama-3.1-70B-Instruct", gpus=["H100"], input_tokens=512, output_tokens=256,
            energy_model=model, bootstrap=False),
    }
    cases.update(refit_cases([int(n) for n in args.refits.split(",") if n.strip()]))
    rows = {name: cpu_ms_per_call(call, args.calls, args.repeats) for name, call in cases.items()}
    for name, r in rows.items():
        print(f"{name}: {r['median_ms']:.1f} ms CPU per call (min {r['min_ms']:.1f}, max {r['max_ms']:.1f})")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                            cwd=Path(energylens.__file__).parent).stdout.strip()  # the package timed
    Path(args.out).parent.mkdir(exist_ok=True)
    Path(args.out).write_text(json.dumps({"commit": commit, "package": energylens.__file__, "calls": args.calls,
                                          "repeats": args.repeats, "load_average_1min": os.getloadavg()[0],
                                          "cases": rows}, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
