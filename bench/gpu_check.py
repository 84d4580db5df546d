"""One script for a lent H100/H200 (< 5 minutes): does the sampler meet its targets on real hardware?

Assumes energylens is installed (builds nothing) and CuPy or PyTorch with CUDA is importable for the
load; without them (or without NVML) it writes a JSON saying why and exits 0. Checks:

1. start-up: which sources started, the update period detected for each, samples/s achieved;
2. sampler CPU overhead at the default rate (process CPU time / wall, main thread asleep), target < 1 %;
3. window energy of the power stream (``power_energy_j``: the driver buffer where NVML has one) vs the energy
   counter over 10 s windows of real load (matmul, memory copy, and an alternating mix), target within 2 %
   (``driver_buffer_vs_counter`` in the JSON: the buffer's windows, or why none);
4. steady-state power of each class (matmul, memcpy, idle) from 10 s runs (the last 6 s of each);
5. per-class attribution (energylens.measure.attribution.attribute) of a known workload of random phases
   (matmul / memcpy / idle, 5-50 ms each) vs those steady powers, target within 5 %, for every
   source present (energy counter, driver buffer, instant field);
6. CUPTI kernel records land on the steady clock inside the host window that launched them;
7. mark() latency next to a pybind11 no-op on this machine.

Writes $OUT/gpu_check.json (or ./gpu_check.json, or -o). ``--dry-run`` runs every step against
the synthetic sampler with a sleeping "GPU", to check the script itself on a machine without one.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import signal
import sys
import time
import traceback
from pathlib import Path

import numpy as np

CLASS_POWER_DRY_W = {"matmul": 650.0, "memcpy": 350.0, "idle": 120.0}
BUDGET_S = 280.0
#: With --quick: no stage starts after this (bench/gpu_session.sh stops the step at 130 s; the stages take ~65 s
#: and the CUDA / NVML start-up ~10 s, so this cuts only a run slowed by something unexpected).
QUICK_BUDGET_S = 100.0


# ---- loads ---------------------------------------------------------------------------------------------


class Backend:
    """Runs one phase of a class on the GPU and returns its (start_ns, end_ns) on the steady clock."""

    name = "none"

    def phase(self, cls: str, duration_s: float) -> tuple[int, int]:
        raise NotImplementedError


class GpuBackend(Backend):
    def __init__(self, lib: str, gpu: int) -> None:
        from energylens import _core
        from energylens.measure.kernels import StreamMarks

        self.lib = lib
        self._now = _core.steady_now_ns
        if lib == "cupy":
            import cupy as cp

            cp.cuda.Device(gpu).use()
            self.xp = cp
            self.a = cp.random.standard_normal((8192, 8192), dtype=cp.float32).astype(cp.float16)
            self.b = cp.random.standard_normal((8192, 8192), dtype=cp.float32).astype(cp.float16)
            self.src = cp.empty(256 * 1024 * 1024, dtype=cp.uint8)
            self.dst = cp.empty_like(self.src)
            self._mm = lambda: cp.matmul(self.a, self.b)
            self._cp = lambda: cp.copyto(self.dst, self.src)
            self._sync = cp.cuda.Device().synchronize
            self._stream = lambda: cp.cuda.get_current_stream().ptr
        else:
            import torch

            torch.cuda.set_device(gpu)
            self.a = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
            self.b = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
            self.src = torch.empty(256 * 1024 * 1024, device="cuda", dtype=torch.uint8)
            self.dst = torch.empty_like(self.src)
            self._mm = lambda: torch.matmul(self.a, self.b)
            self._cp = lambda: self.dst.copy_(self.src)
            self._sync = torch.cuda.synchronize
            self._stream = lambda: torch.cuda.current_stream().cuda_stream
        self.name = f"{lib}"
        self.marks = None
        self.marks_error = "host timing (StreamMarks records on CUDA device 0 only)"
        if gpu == 0:
            try:
                self.marks = StreamMarks()
            except Exception as exc:  # noqa: BLE001 - host timing is the fallback
                self.marks_error = str(exc)
        self.op_s = {"matmul": self._time(self._mm), "memcpy": self._time(self._cp)}

    def _time(self, fn) -> float:
        for _ in range(3):
            fn()
        self._sync()
        t0 = time.perf_counter()
        for _ in range(20):
            fn()
        self._sync()
        return (time.perf_counter() - t0) / 20

    def phase(self, cls: str, duration_s: float) -> tuple[int, int]:
        if cls == "idle":
            t0 = self._now()
            time.sleep(duration_s)
            return t0, self._now()
        fn = self._mm if cls == "matmul" else self._cp
        n = max(1, round(duration_s / self.op_s[cls]))
        t0 = self._now()
        if self.marks is not None:
            self.marks.record(f"{cls}:start", self._stream())
        for _ in range(n):
            fn()
        if self.marks is not None:
            self.marks.record(f"{cls}:end", self._stream())
        self._sync()
        t1 = self._now()
        if self.marks is not None:
            m = self.marks.collect()
            return int(m["t_ns"].iloc[0]), int(m["t_ns"].iloc[-1])
        return t0, t1


class DryBackend(Backend):
    """Sleeps through a planned schedule whose true power feeds the synthetic sampler."""

    name = "dry-run"

    def __init__(self) -> None:
        self.origin_ns = 0
        self.cursor_s = 0.0

    def phase(self, cls: str, duration_s: float) -> tuple[int, int]:
        from energylens.measure.monitor import steady_now_ns

        start = self.origin_ns + int(self.cursor_s * 1e9)
        self.cursor_s += duration_s
        end = self.origin_ns + int(self.cursor_s * 1e9)
        time.sleep(max(0.0, (end - steady_now_ns()) * 1e-9))  # absolute schedule: no drift
        return start, end


def load_backend(dry: bool, gpu: int) -> tuple[Backend | None, str]:
    if dry:
        return DryBackend(), ""
    last = ""
    for lib in ("cupy", "torch"):
        try:
            if lib == "cupy":
                import cupy  # noqa: F401
            else:
                import torch

                if not torch.cuda.is_available():
                    raise RuntimeError("torch.cuda.is_available() is False")
            return GpuBackend(lib, gpu), ""
        except Exception as exc:  # noqa: BLE001 - try the next library
            last = f"{lib}: {exc}"
    return None, f"no CUDA array library for the load ({last}); pip install cupy-cuda13x or torch"


# ---- the schedule ----------------------------------------------------------------------------------------


def plan(quick: bool, seed: int = 0) -> dict[str, list[tuple[str, float]]]:
    """Every stage's phases (class, seconds), fixed up front so --dry-run can build the true power."""
    rng = np.random.default_rng(seed)
    steady_s = 6.0 if quick else 10.0
    mixed = []
    t = 0.0
    while t < steady_s:
        for cls in ("matmul", "memcpy", "idle"):
            mixed.append((cls, 0.25))
            t += 0.25
    attrib = []
    t = 0.0
    while t < (30.0 if quick else 60.0):
        cls = ("matmul", "memcpy", "idle")[int(rng.integers(3))]
        d = float(rng.uniform(0.005, 0.050))
        attrib.append((cls, d))
        t += d
    return {
        "lead_in": [("idle", 2.0)],
        "overhead": [("idle", 3.0 if quick else 5.0)],
        "steady": [("matmul", steady_s), ("memcpy", steady_s), ("idle", steady_s)],
        "mixed": mixed,
        "attribution": attrib,
        "tail": [("idle", 1.0)],
    }


def dry_timeline(stages: dict[str, list[tuple[str, float]]]) -> tuple[list[float], list[float]]:
    t, p, cursor = [], [], 0.0
    for phases in stages.values():
        for cls, d in phases:
            t.append(cursor)
            p.append(CLASS_POWER_DRY_W[cls])
            cursor += d
    return t, p


# ---- checks ----------------------------------------------------------------------------------------------


def rel(a: float, b: float) -> float:
    return abs(a - b) / abs(b) if b and b == b else math.nan


def windows_within(windows: list[dict], tolerance: float) -> bool:
    """Every window's energy within ``tolerance`` of the counter's; an exact 0.0 difference passes, a missing
    (None) or undefined (NaN, counter read 0) one fails, and so does an empty list."""
    return bool(windows) and all(w["rel_diff"] is not None and w["rel_diff"] <= tolerance for w in windows)


def window_row(name: str, m) -> dict:
    """A window's two estimates side by side: the power stream's integral (``power_energy_j``, of ``m.source``) and
    the energy counter's difference. Not ``energy_j``: since 2026-12-07 it is the counter's own figure where the
    power stream is not the driver buffer and the window is long (``energy_source``), which compared with the
    counter read 0 % and passed the 2 % target without measuring anything."""
    return {"window": name, "duration_s": m.duration_s, "power_energy_j": m.power_energy_j,
            "counter_energy_j": m.counter_energy_j, "source": m.source, "energy_j": m.energy_j,
            "energy_source": m.energy_source, "rel_diff": rel(m.power_energy_j, m.counter_energy_j)}


def buffer_vs_counter(windows: list[dict], res) -> dict:
    """The driver buffer (``nvml_samples``) against the energy counter over the windows it integrated: each
    window's relative difference and the largest, or why there is none (the buffer not the source: the fallbacks
    say why; no counter figure)."""
    rows = [w for w in windows if w["source"] == "nvml_samples" and w["rel_diff"] == w["rel_diff"]]
    if not rows:
        sources = sorted({w["source"] for w in windows}) or ["no window measured"]
        why = "; ".join(f"{f.from_source} -> {f.to or 'none'}: {f.reason}" for f in res.fallbacks) or "no fallback"
        return {"measured": False, "why": f"no window integrated the driver buffer with a counter figure (sources: "
                f"{', '.join(sources)}; {why})"}
    return {"measured": True, "windows": {w["window"]: w["rel_diff"] for w in rows},
            "max_rel_diff": max(w["rel_diff"] for w in rows)}


def mark_latency() -> dict:
    from energylens import _core

    def med(fn, *a):
        xs = []
        for _ in range(200):
            t0 = time.perf_counter_ns()
            for _ in range(500):
                fn(*a)
            xs.append((time.perf_counter_ns() - t0) / 500)
        return float(np.median(xs))

    return {"mark_median_ns": med(_core.mark, "decode"), "pybind11_noop_median_ns": med(_core._noop),
            "native_mark_ns": _core._bench_mark_native(1 << 18)}


def cupti_check(backend: Backend) -> dict:
    if not isinstance(backend, GpuBackend):
        return {"skipped": "dry run"}
    from energylens.measure.kernels import KernelTracer
    from energylens.measure.monitor import steady_now_ns

    try:
        with KernelTracer() as kt:
            t0 = steady_now_ns()
            for _ in range(20):
                backend._mm()
            backend._cp()
            backend._sync()
            t1 = steady_now_ns()
        k = kt.kernels
    except Exception as exc:  # noqa: BLE001 - reported, not fatal
        return {"ok": False, "error": str(exc)}
    if len(k) == 0:
        return {"ok": False, "error": "no records"}
    inside = bool((k["start_ns"] >= t0 - 1_000_000).all() and (k["end_ns"] <= t1 + 1_000_000).all())
    return {"ok": inside, "records": len(k), "kinds": k["kind"].value_counts().to_dict(),
            "first_start_after_launch_us": (int(k["start_ns"].min()) - t0) / 1e3,
            "last_end_before_sync_us": (t1 - int(k["end_ns"].max())) / 1e3, "dropped": kt.dropped}


def _terminated(signum, frame) -> None:
    raise TimeoutError("stopped by SIGTERM (a time limit) before the end; the fields above are what ran")


def main() -> int:
    ap = argparse.ArgumentParser(description="energylens sampler check on a real GPU (< 5 min)")
    ap.add_argument("-o", "--output", default=None)
    ap.add_argument("--dry-run", action="store_true", help="synthetic sampler + sleeping load (no GPU)")
    ap.add_argument("--quick", action="store_true", help="shorter stages (~1.5 min)")
    ap.add_argument("--gpu", type=int, default=0, help="visible GPU to load and check")
    ap.add_argument("--budget-s", type=float, default=None,
                    help=f"no stage starts after this many seconds (default {BUDGET_S:.0f}, --quick {QUICK_BUDGET_S:.0f})")
    args = ap.parse_args()
    # A time limit's SIGTERM (bench/gpu_session.sh's step) becomes an exception, so the JSON below is still written
    signal.signal(signal.SIGTERM, _terminated)
    out_path = Path(args.output or (Path(os.environ["OUT"]) / "gpu_check.json" if os.environ.get("OUT")
                                    else "gpu_check.json"))
    t_begin = time.monotonic()
    result: dict = {"script": "bench/gpu_check.py", "dry_run": args.dry_run, "platform": platform.platform(),
                    "python": sys.version.split()[0], "targets": {"overhead_pct": 1.0, "window_vs_counter_rel": 0.02,
                                                               "attribution_rel": 0.05}}

    def write() -> None:
        result["elapsed_s"] = time.monotonic() - t_begin
        out_path.parent.mkdir(parents=True, exist_ok=True)
        out_path.write_text(json.dumps(result, indent=2, default=str))
        print(f"wrote {out_path}")

    try:
        import energylens
        from energylens.measure.monitor import EnergyMonitor, PowerSampler

        caps = energylens.capabilities()
        result["capabilities"] = {k: getattr(caps, k) for k in ("nvml_available", "nvml_reason", "cuda_devices",
                                                                "driver_version", "cuda_runtime_version")}
        result["energylens"] = energylens.__version__
        if not args.dry_run and not caps.nvml_available:
            result["skipped"] = f"NVML unavailable: {caps.nvml_reason}"
            print(result["skipped"])
            write()
            return 0
        backend, why = load_backend(args.dry_run, args.gpu)
        if backend is None:
            result["skipped"] = why
            print(why)
            write()
            return 0
        result["load"] = backend.name
        if isinstance(backend, GpuBackend):
            result["op_s"] = backend.op_s
            result["phase_timing"] = "CUDA events (StreamMarks)" if backend.marks is not None else backend.marks_error
        stages = plan(args.quick)
        budget_s = args.budget_s if args.budget_s is not None else QUICK_BUDGET_S if args.quick else BUDGET_S
        if args.dry_run:
            t, p = dry_timeline(stages)
            sampler = PowerSampler.synthetic([(t, p)])
        else:
            sampler = PowerSampler.nvml([args.gpu], dcgm="auto")
            result["gpus"] = sampler.meta["gpus"]
        spans: dict[str, tuple[int, int]] = {}
        phases_by_stage: dict[str, list[tuple[str, int, int]]] = {}
        with EnergyMonitor(sampler, sync=not args.dry_run) as mon:
            if isinstance(backend, DryBackend):
                backend.origin_ns = sampler.start_ns
            for stage, phases in stages.items():
                if time.monotonic() - t_begin > budget_s:
                    result.setdefault("cut_short", []).append(stage)
                    continue
                print(f"stage {stage}: {len(phases)} phase(s), {sum(d for _, d in phases):.0f} s "
                      f"({time.monotonic() - t_begin:.0f} s in)", flush=True)  # a silent 2-5 min otherwise
                c0, w0 = time.process_time(), time.perf_counter()
                rows = [(cls, *backend.phase(cls, d)) for cls, d in phases]
                c1, w1 = time.process_time(), time.perf_counter()
                phases_by_stage[stage] = rows
                spans[stage] = (rows[0][1], rows[-1][2])
                if stage == "overhead":
                    result["overhead"] = {"cpu_pct_of_one_core": 100 * (c1 - c0) / (w1 - w0), "wall_s": w1 - w0,
                                          "note": "process CPU while the main thread sleeps: sampler threads only"}
            res = sampler.result()
            result["sources"] = [s.__dict__ for s in res.sources]
            result["fallbacks"] = [f.__dict__ for f in res.fallbacks]
            result["update_period_s"] = res.update_period_s
            result["observed_period_s"] = res.observed_period_s
            result["samples_per_s_vs_update"] = {
                src: {"achieved_per_s": 1.0 / res.observed_period_s[src] if res.observed_period_s.get(src) else None,
                      "update_per_s": 1.0 / per if per else None}
                for src, per in res.update_period_s.items()}
            # 3 + 4: 10 s windows (the power stream's energy vs the counter's) and steady power from the last 6 s
            # of each class.
            windows = []
            steady_w = {}
            for cls, a, b in phases_by_stage.get("steady", []):
                m = mon.measure(cls, a, b)
                tail = mon.measure(cls + "_tail", b - int(min(6.0, (b - a) * 1e-9) * 1e9), b)
                steady_w[cls] = tail.avg_power_w
                windows.append(window_row(cls, m))
            if "mixed" in spans:
                windows.append(window_row("mixed 0.25 s matmul/memcpy/idle", mon.measure("mixed", *spans["mixed"])))
            result["windows"] = windows
            result["driver_buffer_vs_counter"] = buffer_vs_counter(windows, res)
            result["steady_power_w"] = steady_w
            kern = [(0, a, b, cls, cls) for cls, a, b in phases_by_stage.get("attribution", []) if cls != "idle"]
            import pandas as pd

            kernels = pd.DataFrame(kern, columns=["gpu", "start_ns", "end_ns", "name", "kind"])
            trace = sampler.to_trace(kernels=kernels)
        if args.dry_run or os.environ.get("OUT"):
            out_path.parent.mkdir(parents=True, exist_ok=True)
            trace.save(out_path.with_name("gpu_check_trace.parquet"))
        # 5: attribution vs steady powers
        attrib = {}
        if "attribution" in spans and steady_w:
            from energylens.measure.attribution import attribute

            variants = [("nvml_energy", "nvml_energy", {}),
                        ("nvml_samples", "nvml_samples", {}),
                        ("nvml_samples (window+offset fitted)", "nvml_samples",
                         {"averaging_window_s": "fit", "clock_offset_s": "fit"}),
                        ("nvml_instant (window+offset fitted)", "nvml_instant",
                         {"averaging_window_s": "fit", "clock_offset_s": "fit"})]
            for name, src, kw in variants:
                if src not in trace.sources() or time.monotonic() - t_begin > budget_s + 10:
                    continue
                try:
                    a = attribute(trace, classes=["matmul", "memcpy"], by="kind", gpu=0, source=src,
                                  span_ns=spans["attribution"], bootstrap=50, **kw)
                except Exception as exc:  # noqa: BLE001 - reported per source
                    attrib[name] = {"error": f"{type(exc).__name__}: {exc}"}
                    continue
                src = name
                row = {"idle_power_w": a.idle_power_w, "idle_steady_w": steady_w.get("idle"),
                       "idle_rel_err": rel(a.idle_power_w, steady_w.get("idle", math.nan)),
                       "n_intervals": a.n_intervals, "r2": a.r2, "window_s": a.window_s,
                       "clock_offset_s": a.clock_offset_s}
                for i, cls in enumerate(a.classes):
                    row[f"{cls}_power_abs_w"] = float(a.power_abs_w[i])
                    row[f"{cls}_steady_w"] = steady_w.get(cls)
                    row[f"{cls}_rel_err"] = rel(float(a.power_abs_w[i]), steady_w.get(cls, math.nan))
                attrib[src] = row
        result["attribution"] = attrib
        result["cupti"] = cupti_check(backend)
        result["mark_latency"] = mark_latency()
        ok_over = result.get("overhead", {}).get("cpu_pct_of_one_core", math.inf) < 1.0
        ok_win = windows_within(windows, 0.02)
        ok_attr = {src: all(v <= 0.05 for k, v in r.items() if k.endswith("_rel_err") and not k.startswith("idle"))
                   for src, r in attrib.items() if "error" not in r}
        result["pass"] = {"overhead_below_1pct": ok_over, "windows_within_2pct": ok_win,
                          "attribution_within_5pct": ok_attr}
        if "skipped" not in result["cupti"]:  # kernel records inside the host window that launched them
            result["pass"]["cupti_kernels_on_the_steady_clock"] = bool(result["cupti"].get("ok"))
        print(json.dumps(result["pass"]))
        for w in windows:
            print(f"  window {w['window']:<32} {w['source']} {w['power_energy_j']:9.1f} J vs counter "
                  f"{w['counter_energy_j']:9.1f} J ({100 * w['rel_diff']:.2f} %)")
        print(f"  driver buffer vs counter: {json.dumps(result['driver_buffer_vs_counter'])}")
        for src, r in attrib.items():
            print(f"  attribution {src}: " + ", ".join(f"{k}={v:.3g}" for k, v in r.items()
                                                       if isinstance(v, float)))
    except Exception as exc:  # noqa: BLE001 - always leave a JSON behind
        result["error"] = f"{type(exc).__name__}: {exc}"
        result["traceback"] = traceback.format_exc()
        print(result["traceback"], file=sys.stderr)
        write()
        return 1
    write()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
