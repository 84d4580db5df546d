"""The search on a GPU: candidates per second of the CUDA pass (target >= 1e10 on an H100/H200) against
the CPU engine on the same machine, and parity of the top-k and fronts. Run on a lent device:

    python bench/gpu_search_check.py [--repeats 7]

Writes bench/results/search_gpu.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np

import energylens
from energylens.model import EnergyModel
from energylens.search.api import native_options, run_engine
from energylens.search.space import build_space


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--out", default=str(Path(__file__).with_name("results") / "search_gpu.json"))
    args = ap.parse_args()
    caps = energylens.capabilities()
    if caps.cuda_devices == 0:
        raise SystemExit(f"no CUDA device: {caps.cuda_reason}")
    model = EnergyModel(bootstrap=0).fit("bundled")
    theta, phi = model.theta, model.latency_model.theta
    # ~1.1e10 candidates: 4 models x 4 GPUs x 2 precisions x 2 KV dtypes, TP 4 x PP 3 x DP 2 x EP 2,
    # 512 batch caps, 80 x 80 workload points
    work = np.linspace(64, 8192, 80)
    big = build_space(["llama-3.1-8b", "llama-3.1-70b", "mixtral-8x7b", "Qwen/Qwen3-30B-A3B"],
                      "H100,H200,B200,A100-SXM4-80GB", input_tokens=list(np.repeat(work, 80)),
                      output_tokens=list(np.tile(np.linspace(16, 4096, 80), 80)), tp=[1, 2, 4, 8], pp=[1, 2, 4],
                      dp=[1, 2], ep=[1, 2], max_num_seqs=list(range(1, 513)), precision=["bf16", "fp8"],
                      kv_cache_dtype=["auto", "fp8"])
    opts = native_options(top=10, tpot_limit_s=0.1)
    run_engine(big, theta, phi, opts, device="cuda")  # warm-up
    times = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        out = run_engine(big, theta, phi, opts, device="cuda")
        times.append(time.perf_counter() - t0)
    gpu_rate = big.size / statistics.median(times)
    # CPU engine on the same machine, on a slice (the first 1/64 of the combos' axes is not separable,
    # so a smaller space with the same axes but fewer workload points)
    small = build_space(["llama-3.1-8b", "llama-3.1-70b", "mixtral-8x7b", "Qwen/Qwen3-30B-A3B"],
                        "H100,H200,B200,A100-SXM4-80GB", input_tokens=list(work[:10]), output_tokens=list(work[:10]),
                        tp=[1, 2, 4, 8], pp=[1, 2, 4], dp=[1, 2], ep=[1, 2], max_num_seqs=list(range(1, 513)),
                        precision=["bf16", "fp8"], kv_cache_dtype=["auto", "fp8"])
    cpu_times = []
    for _ in range(3):
        t0 = time.perf_counter()
        cpu = run_engine(small, theta, phi, opts)
        cpu_times.append(time.perf_counter() - t0)
    cpu_rate = small.size / statistics.median(cpu_times)
    gpu_small = run_engine(small, theta, phi, opts, device="cuda")
    parity = bool(np.array_equal(cpu.top.index, gpu_small.top.index)
                  and np.array_equal(cpu.rejected, gpu_small.rejected)
                  and np.array_equal(cpu.front_tpot.index, gpu_small.front_tpot.index))
    res = {"gpu_candidates": big.size, "gpu_per_s_median": gpu_rate, "gpu_s": times, "feasible": int(out.feasible),
           "cpu_candidates": small.size, "cpu_per_s_median": cpu_rate, "gpu_vs_cpu": gpu_rate / cpu_rate,
           "parity_top_rejections_front": parity, "target_per_s": 1e10}
    print(json.dumps(res, indent=1))
    Path(args.out).write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
