"""The search on a GPU: candidates per second of the CUDA pass (target >= 1e10 on an H100/H200) against
the CPU engine on the same machine, and parity of the top-k and fronts. The large space is sized from the
rate of a first, small pass so that a timed pass takes <= 10 s, and the JSON is written after every stage.
Last, the kernel compiled for two resident blocks per SM (ENERGYLENS_SEARCH_MIN_BLOCKS=2, capped at 128
registers) against the default one (one block, ~185 registers), same space, results checked identical.
Run on a lent device:

    python bench/gpu_search_check.py [--repeats 7]

Writes bench/results/search_gpu.json.
"""

from __future__ import annotations

import argparse
import json
import os
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
    opts = native_options(top=10, tpot_limit_s=0.1)
    out_path = Path(args.out)
    res: dict = {"target_per_s": 1e10}

    def save(stage: str) -> None:  # after every stage: a session cut short still brings back what ran
        res["stage"] = stage
        out_path.write_text(json.dumps(res, indent=1))

    # The CPU engine and its parity with the device on a ~1.6e7-candidate space (4 models x 4 GPUs x 2
    # precisions x 2 KV dtypes, TP 4 x PP 3 x DP 2 x EP 2, 512 batch caps, 10 workload points)
    work = np.linspace(64, 8192, 80)
    small = space(list(work[:10]), list(work[:10]))
    t0 = time.perf_counter()
    gpu_small = run_engine(small, theta, phi, opts, device="cuda")  # also the device's warm-up
    res["gpu_small_first_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    gpu_small = run_engine(small, theta, phi, opts, device="cuda")
    small_s = time.perf_counter() - t0
    cpu_times = []
    for _ in range(3):
        t0 = time.perf_counter()
        cpu = run_engine(small, theta, phi, opts)
        cpu_times.append(time.perf_counter() - t0)
    res.update({"cpu_candidates": small.size, "cpu_per_s_median": small.size / statistics.median(cpu_times),
                "gpu_small_per_s": small.size / small_s,
                "parity_top_rejections_front": bool(np.array_equal(cpu.top.index, gpu_small.top.index)
                                                    and np.array_equal(cpu.rejected, gpu_small.rejected)
                                                    and np.array_equal(cpu.front_tpot.index, gpu_small.front_tpot.index))})
    save("small")
    # The rate on the largest space that the small pass's rate says takes <= 10 s a pass (up to ~1.1e10
    # candidates: 80 x 80 workload points), so the timed passes fit the session whatever the rate is.
    n_out = int(np.clip(10.0 * res["gpu_small_per_s"] / (small.size / 10 * 80), 1, 80))
    big = space(list(np.repeat(work, n_out)), list(np.tile(np.linspace(16, 4096, n_out), 80)))
    times = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        out = run_engine(big, theta, phi, opts, device="cuda")
        times.append(time.perf_counter() - t0)
        res.update({"gpu_candidates": big.size, "gpu_s": times, "feasible": int(out.feasible),
                    "gpu_per_s_median": big.size / statistics.median(times)})
        res["gpu_vs_cpu"] = res["gpu_per_s_median"] / res["cpu_per_s_median"]
        save(f"big, {len(times)} of {args.repeats} passes")
        if sum(times) > 40.0:  # enough passes for a median; leave the session's time to the other checks
            break
    # A/B of the register cap: the same space, the kernel compiled for two blocks per SM
    os.environ["ENERGYLENS_SEARCH_MIN_BLOCKS"] = "2"
    try:
        times2 = []
        for _ in range(3):
            t0 = time.perf_counter()
            out2 = run_engine(big, theta, phi, opts, device="cuda")
            times2.append(time.perf_counter() - t0)
        res.update({"gpu_min_blocks_2_s": times2, "gpu_min_blocks_2_per_s_median": big.size / statistics.median(times2),
                    "min_blocks_2_vs_1": statistics.median(times) / statistics.median(times2),
                    "min_blocks_2_identical": bool(np.array_equal(out.top.index, out2.top.index)
                                                   and np.array_equal(out.rejected, out2.rejected)
                                                   and np.array_equal(out.front_tpot.index, out2.front_tpot.index))})
        save("min_blocks 2")
    finally:
        del os.environ["ENERGYLENS_SEARCH_MIN_BLOCKS"]
    print(json.dumps(res, indent=1))


def space(inputs: list, outputs: list):
    """The benchmark's axes with these workload points (equal-length lists)."""
    return build_space(["llama-3.1-8b", "llama-3.1-70b", "mixtral-8x7b", "Qwen/Qwen3-30B-A3B"],
                       "H100,H200,B200,A100-SXM4-80GB", input_tokens=inputs, output_tokens=outputs,
                       tp=[1, 2, 4, 8], pp=[1, 2, 4], dp=[1, 2], ep=[1, 2], max_num_seqs=list(range(1, 513)),
                       precision=["bf16", "fp8"], kv_cache_dtype=["auto", "fp8"])


if __name__ == "__main__":
    main()
