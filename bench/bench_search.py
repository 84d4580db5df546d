"""Throughput of the configuration search against the plain NumPy brute force, in the same run.

Fixed-batch mode (feasibility, TPOT limit, top-10 and both Pareto fronts) on a ~2e7-candidate space for
the native engine; the brute force (energylens.search.oracle: materialise, build_features, NumPy
reference, filter, sort) on a ~1e5-candidate slice of the same axes, because it needs memory per
candidate. Load-driven mode (Little's law bisection per candidate) likewise. Rates are candidates per
second (median of --repeats samples, min-max), wall clock and per CPU-second of the calling thread
(one native thread), since the development box is shared. Writes bench/results/search.json.

    python bench/bench_search.py [--repeats 7] [--threads 2]
    python bench/bench_search.py --fixed-only --n-work 1 --n-batch 640 --out /tmp/one_point.json

--n-work / --n-batch shape the native space (workload points, max_num_seqs 1..n; 40 x 256 by default; one
point is the CLI's case); --fixed-only skips the brute force and load mode (A/B runs of the native engine).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np

import energylens
from energylens.model import EnergyModel
from energylens.search.api import native_options, run_engine
from energylens.search.oracle import brute_force
from energylens.search.space import build_space

MODELS = ["llama-3.1-8b", "llama-3.1-70b", "mixtral-8x7b", "Qwen/Qwen3-30B-A3B"]
GPUS = "H100,H200,B200,A100-SXM4-80GB"


def big_space(n_batch: int = 256, n_work: int = 40):
    return build_space(MODELS, GPUS, input_tokens=list(np.linspace(100, 4000, n_work)),
                       output_tokens=list(np.linspace(50, 2000, n_work)), tp=(1, 2, 4, 8), pp=(1, 2), dp=(1, 2),
                       ep=(1, 2), max_num_seqs=list(range(1, n_batch + 1)), precision=("bf16", "fp8"),
                       kv_cache_dtype=("auto", "fp8"))


def small_space(n_batch: int, n_work: int):
    return build_space(MODELS[:2] + MODELS[2:3], "H100,H200", input_tokens=list(np.linspace(100, 4000, n_work)),
                       output_tokens=list(np.linspace(50, 2000, n_work)), tp=(1, 2, 4, 8), pp=(1, 2), dp=(1,),
                       ep=(1, 2), max_num_seqs=list(np.unique(np.geomspace(1, 256, n_batch).round())),
                       precision=("bf16",))


def timed(fn, repeats: int) -> dict:
    wall, cpu = [], []
    fn()  # warm-up
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.thread_time()
        fn()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.thread_time() - c0)
    return {"median_s": statistics.median(wall), "min_s": min(wall), "max_s": max(wall),
            "cpu_median_s": statistics.median(cpu)}


def rate(size: int, t: dict) -> dict:
    return {"candidates": size, "per_s_median": size / t["median_s"], "per_s_min": size / t["max_s"],
            "per_s_max": size / t["min_s"], **t}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--out", default=str(Path(__file__).with_name("results") / "search.json"))
    ap.add_argument("--n-work", type=int, default=40, help="workload points of the native space")
    ap.add_argument("--n-batch", type=int, default=256, help="max_num_seqs values (1..n) of the native space")
    ap.add_argument("--fixed-only", action="store_true", help="only the native fixed-batch rates")
    args = ap.parse_args()

    model = EnergyModel(bootstrap=0).fit("bundled")
    theta, phi = model.theta, model.latency_model.theta
    res: dict = {"machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "python": platform.python_version(),
                             "energylens": energylens.__version__, "load_average_start": os.getloadavg()},
                 "repeats": args.repeats}

    # --- fixed-batch mode ---------------------------------------------------------------------
    opts = native_options(top=10, tpot_limit_s=0.1)
    big = big_space(n_batch=args.n_batch, n_work=args.n_work)
    res["native_space"] = {"n_work": args.n_work, "n_batch": args.n_batch}
    for threads in sorted({1, args.threads}):
        o = {**opts, "threads": threads}
        out = run_engine(big, theta, phi, o)
        t = timed(lambda o=o: run_engine(big, theta, phi, o), args.repeats)
        r = rate(big.size, t)
        if threads == 1:
            r["per_cpu_s"] = big.size / t["cpu_median_s"]
        res[f"native_fixed_{threads}_threads"] = {**r, "feasible": int(out.feasible), "front_tpot": len(out.front_tpot)}
        print(f"native fixed-batch, {threads} thread(s): {r['per_s_median']:.3g} candidates/s "
              f"({r['per_s_min']:.3g}-{r['per_s_max']:.3g})" + (f", {r['per_cpu_s']:.3g} per cpu-s" if threads == 1 else ""))

    if args.fixed_only:
        finish(res, args)
        return
    small = small_space(32, 40)
    t_np = timed(lambda: brute_force(small, theta, phi, top_k=10, tpot_limit_s=0.1), args.repeats)
    res["numpy_fixed"] = rate(small.size, t_np)
    t_small = timed(lambda: run_engine(small, theta, phi, {**opts, "threads": args.threads}), args.repeats)
    res["native_fixed_same_small_space"] = rate(small.size, t_small)
    print(f"numpy brute force fixed-batch: {res['numpy_fixed']['per_s_median']:.3g} candidates/s on {small.size}")

    # --- load-driven mode ---------------------------------------------------------------------
    lopts = native_options(top=10, tpot_limit_s=0.1, rate_per_s=20)
    lbig = big_space(n_batch=32, n_work=8)
    t_l = timed(lambda: run_engine(lbig, theta, phi, {**lopts, "threads": args.threads}), args.repeats)
    res["native_load"] = rate(lbig.size, t_l)
    lsmall = small_space(3, 3)
    t_ln = timed(lambda: brute_force(lsmall, theta, phi, top_k=10, tpot_limit_s=0.1, rate_per_s=20), args.repeats)
    res["numpy_load"] = rate(lsmall.size, t_ln)
    print(f"native load mode: {res['native_load']['per_s_median']:.3g}/s; numpy: {res['numpy_load']['per_s_median']:.3g}/s")

    best = res[f"native_fixed_{args.threads}_threads"]["per_s_median"]
    res["ratios"] = {
        "fixed_native_vs_numpy": best / res["numpy_fixed"]["per_s_median"],
        "fixed_native_1_thread_vs_numpy": res["native_fixed_1_threads"]["per_s_median"] / res["numpy_fixed"]["per_s_median"],
        "load_native_vs_numpy": res["native_load"]["per_s_median"] / res["numpy_load"]["per_s_median"],
    }
    print(json.dumps(res["ratios"], indent=1))
    finish(res, args)


def finish(res: dict, args) -> None:
    res["targets"] = {"candidates_per_s": 1e8, "vs_numpy": 100.0}
    res["machine"]["load_average_end"] = os.getloadavg()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(res, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
