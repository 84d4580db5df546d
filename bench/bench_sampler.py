"""Sampler benchmarks (CPU only; writes JSON):

1. ``mark()`` median latency from Python, next to a plain pybind11 no-op call measured in the same
   run (``_core._noop``), plus the native cost alone (clock read + interned lookup + lock-free push).
2. Sampler CPU overhead: process CPU time / wall time while sampling a synthetic source at the
   default rate (driver-buffer drain every 100 ms, energy counter polled every 25 ms, collector every
   50 ms) with the main thread asleep; target < 1 % of one core. With a C compiler the same is
   measured for the real NVML source code against the stand-in libnvidia-ml (tests/measure/data/fake_nvml.c)
   with 8 GPUs, which exercises the NVML path minus the driver's own cost, for the default chain
   (driver buffer drained every 100 ms) and for the instant-field fallback (polled every ~10 ms).

Usage: python bench/bench_sampler.py [--seconds 5] [-o bench/results/sampler.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def per_call_ns(fn, *args, batch: int = 1000, rounds: int = 300, warmup: int = 20) -> dict:
    """Median and p90 per-call time of fn(*args) over `rounds` batches of `batch` calls."""
    for _ in range(warmup):
        for _ in range(batch):
            fn(*args)
    samples = []
    for _ in range(rounds):
        t0 = time.perf_counter_ns()
        for _ in range(batch):
            fn(*args)
        samples.append((time.perf_counter_ns() - t0) / batch)
    samples.sort()
    return {"median_ns": statistics.median(samples), "p90_ns": samples[int(0.9 * len(samples))],
            "min_ns": samples[0], "calls": batch * rounds}


def bench_mark() -> dict:
    from energylens import _core

    def empty_loop_body():
        pass

    label_id = _core.intern_label("decode")
    res = {
        "python_empty_function": per_call_ns(empty_loop_body),
        "pybind11_noop": per_call_ns(_core._noop),
        "mark": per_call_ns(_core.mark, "decode"),
        "mark_id": per_call_ns(_core.mark_id, label_id),
        "native_mark_ns": _core._bench_mark_native(1 << 19),
    }
    _core.drain_marks()
    res["mark_minus_noop_ns"] = res["mark"]["median_ns"] - res["pybind11_noop"]["median_ns"]
    return res


def cpu_overhead(make_sampler, seconds: float) -> dict:
    sampler = make_sampler()
    sampler.start()
    time.sleep(0.3)  # past start-up (period detection)
    sampler.flush()
    c0, w0 = time.process_time(), time.perf_counter()
    time.sleep(seconds)
    c1, w1 = time.process_time(), time.perf_counter()
    res = sampler.stop()
    return {"cpu_fraction_of_one_core": (c1 - c0) / (w1 - w0), "wall_s": w1 - w0,
            "samples": res.samples, "dropped": res.dropped, "active_source": res.active_source,
            "update_period_s": res.update_period_s, "observed_period_s": res.observed_period_s}


def bench_synthetic_overhead(seconds: float, gpus: int) -> dict:
    from energylens.measure.monitor import PowerSampler

    return cpu_overhead(lambda: PowerSampler.synthetic([([0.0, 1.0], [100.0, 400.0])] * gpus), seconds)


_FAKE_SCRIPT = r"""
import json, sys
sys.path.insert(0, sys.argv[2])
from bench_sampler import cpu_overhead
from energylens.measure.monitor import PowerSampler
chain = tuple(sys.argv[3].split(","))
print(json.dumps(cpu_overhead(lambda: PowerSampler.nvml(chain=chain), float(sys.argv[1]))))
"""


def bench_fake_nvml_overhead(seconds: float, gpus: int, chain: str = "sample_buffer,instant,average") -> dict | None:
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        lib = Path(tmp) / "libfake_nvml.so"
        subprocess.run([cc, "-shared", "-fPIC", "-O2", "-o", str(lib), str(ROOT / "tests/measure/data/fake_nvml.c")],
                       check=True)
        env = dict(os.environ, ENERGYLENS_NVML_LIBRARY=str(lib), FAKE_NVML_GPUS=str(gpus))
        env.pop("CUDA_VISIBLE_DEVICES", None)
        out = subprocess.run([sys.executable, "-c", _FAKE_SCRIPT, str(seconds), str(Path(__file__).parent), chain],
                             capture_output=True, text=True, env=env, timeout=300)
        if out.returncode != 0:
            return {"error": out.stderr[-2000:]}
        return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=5.0, help="sampling time per overhead run")
    ap.add_argument("--gpus", type=int, default=8, help="GPUs of the synthetic / stand-in NVML source")
    ap.add_argument("-o", "--output", default=str(ROOT / "bench/results/sampler.json"))
    args = ap.parse_args()

    import energylens

    result = {
        "machine": {"platform": platform.platform(), "python": platform.python_version(),
                    "cpus": os.cpu_count(), "energylens": energylens.__version__},
        "mark": bench_mark(),
        "overhead_synthetic": bench_synthetic_overhead(args.seconds, args.gpus),
        "overhead_nvml_standin": bench_fake_nvml_overhead(args.seconds, args.gpus),
        # the fallback when the driver buffer is missing: the instant field polled every ~10 ms
        "overhead_nvml_standin_instant": bench_fake_nvml_overhead(args.seconds, args.gpus, "instant"),
    }
    m = result["mark"]
    print(f"mark() median {m['mark']['median_ns']:.0f} ns vs pybind11 no-op {m['pybind11_noop']['median_ns']:.0f} ns "
          f"(native part {m['native_mark_ns']:.0f} ns; mark_id {m['mark_id']['median_ns']:.0f} ns)")
    for key in ("overhead_synthetic", "overhead_nvml_standin", "overhead_nvml_standin_instant"):
        o = result[key]
        if o and "cpu_fraction_of_one_core" in o:
            print(f"{key}: {100 * o['cpu_fraction_of_one_core']:.3f} % of one core over {o['wall_s']:.1f} s "
                  f"({args.gpus} GPUs, {o['samples']} samples, {o['dropped']} dropped, source {o['active_source']})")
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(result, indent=2))
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
