"""The closed-form model on a GPU: parity with the CPU evaluator, and throughput against the
device-to-device copy bandwidth measured in the same run (target: float32 at N = 1e8 reaches >= 50 %).
Parity: both templates (energy, latency), float64 and float32, on 1e6 rows; the model is fitted on the CPU
(no device fit exists), so evaluation is the whole device part of the model.

Needs energylens built with the CUDA part, a CUDA device and CuPy. Writes JSON to -o (default
$OUT/gpu_model_check.json or ./gpu_model_check.json), after the parity stage and at the end; exits 0 with
the reason ("skipped") when something is absent, 1 when parity fails (its "pass" says which target is met).

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

#: Largest relative difference from the CPU evaluator accepted (tests/gpu/test_device_parity.py's tolerances).
PARITY_RTOL = {"float64": 1e-12, "float32": 2e-4}


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
    out.parent.mkdir(parents=True, exist_ok=True)
    result: dict = {"script": "gpu_model_check", "rows": args.rows}

    import energylens
    from energylens import _core
    from energylens.model.device import evaluate_device
    from energylens.profiles.datasets import mlenergy_v2
    from energylens.profiles.features import build_features
    from energylens.search.device import unavailable_reason

    caps = energylens.capabilities()
    result["capabilities"] = {k: getattr(caps, k) for k in ("cuda_built", "cuda_devices", "cuda_reason",
                                                            "cuda_runtime_version", "driver_version")}
    reason = unavailable_reason(caps)
    try:
        import cupy as cp
    except ImportError as exc:
        reason = reason or f"CuPy not importable ({exc}): pip install cupy-cuda13x"
    if reason is not None:
        result["skipped"] = f"no usable CUDA device: {reason}" if caps.cuda_devices == 0 else reason
        out.write_text(json.dumps(result, indent=2))
        print(result["skipped"])
        return 0

    base = build_features(mlenergy_v2())
    result["device"] = cp.cuda.runtime.getDeviceProperties(0)["name"].decode()

    # Parity on 1e6 rows, float64 and float32, both templates, against the CPU evaluator (same formula, one header).
    idx = np.random.default_rng(0).integers(0, len(base["tp"]), 1_000_003)
    host = {k: np.ascontiguousarray(v[idx]) for k, v in base.items()}
    parity = {}
    for template in ("energy", "latency"):
        desc = _core.describe_template(template)
        for dtype in ("float64", "float32"):
            cols = [host[n].astype(dtype) for n in desc.feature_names]
            ref = _core.evaluate(template, cols, desc.init, False, dtype)
            dev = [cp.asarray(c) for c in cols]
            d0, d1 = evaluate_device(template, dev, desc.init)
            parity[f"{template} {dtype}"] = max(_rel(cp.asnumpy(d0), ref.out0), _rel(cp.asnumpy(d1), ref.out1))
            del dev, d0, d1
    result["max_relative_difference_vs_cpu"] = parity
    result["parity_tolerance"] = PARITY_RTOL
    result["pass"] = {"parity": all(v <= PARITY_RTOL[k.split()[1]] for k, v in parity.items())}
    out.write_text(json.dumps(result, indent=2))
    print(f"parity vs the CPU evaluator: {json.dumps(parity)}", flush=True)

    desc = _core.describe_template("energy")
    names, theta = desc.feature_names, desc.init
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
    result["pass"]["float32_at_least_half_copy_bandwidth"] = result["fraction_of_copy_bandwidth"] >= 0.5
    out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    return 0 if result["pass"]["parity"] else 1


def _rel(dev: np.ndarray, ref: np.ndarray) -> float:
    """Largest elementwise relative difference (inf where either holds a NaN)."""
    if np.isnan(dev).any() or np.isnan(ref).any():
        return float("inf")
    return float(np.max(np.abs(dev - ref) / np.maximum(np.abs(ref), np.finfo(ref.dtype).tiny)))


if __name__ == "__main__":
    sys.exit(main())
