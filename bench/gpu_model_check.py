"""The closed-form model on a GPU: parity with the CPU evaluator, and throughput against the
device-to-device copy bandwidth measured in the same run (target: float32 at N = 1e8 reaches >= 50 %).

Needs energylens built with the CUDA part, a CUDA device and CuPy. Writes JSON to -o (default
$OUT/gpu_model_check.json or ./gpu_model_check.json); exits 0 with the reason when something is absent.

    python bench/gpu_model_check.py [--rows 100000000] [-o out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np


def _out_path(arg: str | None) -> Path:
    if arg:
        return Path(arg)
    base = os.environ.get("OUT")
    return Path(base) / "gpu_model_check.json" if base else Path("gpu_model_check.json")


def _copy_bandwidth(cp, nbytes: int, repeats: int = 10) -> float:
    """Device-to-device copy bandwidth in bytes/s (read + write counted), median of `repeats`."""
    src = cp.ones(nbytes // 4, dtype=cp.float32)
    dst = cp.empty_like(src)
    dst[...] = src
    cp.cuda.Device().synchronize()
    times = []
    for _ in range(repeats):
        start, stop = cp.cuda.Event(), cp.cuda.Event()
        start.record()
        cp.copyto(dst, src)
        stop.record()
        stop.synchronize()
        times.append(cp.cuda.get_elapsed_time(start, stop) / 1e3)
    return 2.0 * src.nbytes / float(np.median(times))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=100_000_000)
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("-o", "--output", default=None)
    args = ap.parse_args(argv)
    out = _out_path(args.output)
    result: dict = {"script": "gpu_model_check", "rows": args.rows}

    import energylens
    from energylens import _core

    caps = energylens.capabilities()
    result["capabilities"] = {k: getattr(caps, k) for k in ("cuda_built", "cuda_devices", "cuda_reason",
                                                            "cuda_runtime_version", "driver_version")}
    try:
        import cupy as cp
    except ImportError as exc:
        result["skipped"] = f"CuPy not importable: {exc}"
    if caps.cuda_devices == 0:
        result["skipped"] = f"no CUDA device: {caps.cuda_reason}"
    if "skipped" in result:
        out.write_text(json.dumps(result, indent=2))
        print(result["skipped"])
        return 0

    from energylens.model.device import evaluate_device
    from energylens.profiles.datasets import mlenergy_v2
    from energylens.profiles.features import build_features

    desc = _core.describe_template("energy")
    names = desc.feature_names
    theta = desc.init
    base = build_features(mlenergy_v2())
    result["device"] = cp.cuda.runtime.getDeviceProperties(0)["name"].decode()

    # Parity on 1e6 rows, float64 and float32, against the CPU evaluator.
    idx = np.random.default_rng(0).integers(0, len(base["tp"]), 1_000_003)
    host = {k: np.ascontiguousarray(v[idx]) for k, v in base.items()}
    parity = {}
    for dtype in ("float64", "float32"):
        cols = [host[n].astype(dtype) for n in names]
        ref = _core.evaluate("energy", cols, theta, False, dtype)
        ref0, ref1 = ref.out0, ref.out1
        dev = {n: cp.asarray(c) for n, c in zip(names, cols, strict=True)}
        d0, d1 = evaluate_device("energy", dev, theta)
        parity[dtype] = float(max(np.max(np.abs(cp.asnumpy(d0) / ref0 - 1)), np.max(np.abs(cp.asnumpy(d1) / ref1 - 1))))
        del dev, d0, d1
    result["max_relative_difference_vs_cpu"] = parity

    # Throughput at N rows, float32: tile the 1e6 rows on the device (no host transfer of 1e8 rows).
    n = args.rows
    reps = -(-n // len(idx))
    dev = {name: cp.tile(cp.asarray(host[name].astype(np.float32)), reps)[:n].copy() for name in names}
    out0 = cp.empty(n, dtype=cp.float32)
    out1 = cp.empty(n, dtype=cp.float32)
    evaluate_device("energy", dev, theta, out=(out0, out1))  # warm-up
    times = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        evaluate_device("energy", dev, theta, out=(out0, out1))  # synchronises
        times.append(time.perf_counter() - t0)
    t = float(np.median(times))
    bytes_moved = n * 4 * (len(names) + 2)
    copy_bw = _copy_bandwidth(cp, min(bytes_moved, 4 << 30))
    result.update({
        "float32_seconds": t,
        "float32_configs_per_s": n / t,
        "float32_effective_bandwidth_bytes_per_s": bytes_moved / t,
        "d2d_copy_bandwidth_bytes_per_s": copy_bw,
        "fraction_of_copy_bandwidth": bytes_moved / t / copy_bw,
        "target_fraction": 0.5,
    })
    out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
