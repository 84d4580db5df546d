"""Throughput of the native expression engine against NumPy ``lambdify`` of the same SymPy expression,
measured in the same run, dtype (float64) and arrays, and the time of a native constant refit on 50 rows.

Expressions: the template's energy formula written as a SymPy expression of the feature columns (what
``EnergyModel.from_expression`` runs for a formula of the template's size), and a short discovered-style
formula. Rows are the bundled ML.ENERGY v2 configurations resampled to N rows, N from 1e3 to 1e7. The
public call is timed (``CompiledExpression.evaluate``) on one thread and on all the process may use
(``_core.set_max_threads``); NumPy runs on one thread (its ufuncs do); one-thread ratios are also given
in CPU time of the calling thread (steadier on a shared box). Baselines: ``lambdify`` as the
issue names it (``cse=False``, its default) and ``lambdify(cse=True)`` (common subexpressions computed
once, as the engine does). Each sample repeats the call until it has run >= 20 ms and reports the time
per call; median of >= 7 samples with min-max. The load average is recorded: the box is shared.

Two engine backends are timed through the same public call: the kernel generated for the expression
(``CompiledExpression.compile_kernel``, then ``evaluate``: "native") and the interpreter (``jit="off"``:
"interpreter"). The kernel's first build is timed in a fresh cache directory (a real compile) and its
cache-hit load separately; an A/B of the two backends in alternating rounds (one thread, CPU time, ns a
row) follows.

    python bench/bench_expression.py [--rows 1e3,1e4,1e5,1e6,1e7] [--json bench/results/expression.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import sympy as sp

from energylens import _core
from energylens.model import EnergyModel, kernel_build
from energylens.model.compile import compile_expression
from energylens.model.symbolic import feature_symbols
from energylens.profiles.datasets import load_profiles_or_bundled
from energylens.profiles.features import FEATURE_NAMES, build_features

SHORT = ("1.1*output_tokens/batch_size*tp*pp*tdp_w*weight_bytes_per_step/(tp*pp*hbm_bytes_per_s)"
         " + 3.2*tp*pp*tdp_w*2*active_params*input_tokens/(tp*pp*peak_flops_per_s) + 28.4*exp(-4.7*tp)")


def _timed(fn, samples: int, min_sample_s: float = 0.02) -> dict[str, float]:
    fn()  # warm-up
    t0 = time.perf_counter()
    fn()
    reps = max(1, int(min_sample_s / max(time.perf_counter() - t0, 1e-9)))
    t, cpu = [], []
    for _ in range(samples):
        t0, c0 = time.perf_counter(), time.thread_time()
        for _ in range(reps):
            fn()
        t.append((time.perf_counter() - t0) / reps)
        cpu.append((time.thread_time() - c0) / reps)
    # CPU time of the calling thread: on a shared box it leaves out the time slices other jobs took, so
    # one-thread ratios are steadier in it (one-thread native work runs on the calling thread).
    return {"median_s": statistics.median(t), "min_s": min(t), "max_s": max(t), "calls_per_sample": reps,
            "cpu_median_s": statistics.median(cpu)}


def _template_expression(df) -> sp.Expr:
    m = EnergyModel(bootstrap=0).fit(df.iloc[:50], latency=False)
    pf, dec = m.to_sympy()
    return (pf + dec).xreplace({s: sp.Symbol(n, positive=True) for n, s in feature_symbols().items()})


def _bench_eval(name: str, expr: sp.Expr, feats: dict[str, np.ndarray], samples: int) -> list[dict]:
    c = compile_expression(expr, FEATURE_NAMES)
    if not c.compile_kernel():
        print(f"no generated kernel: {c.backend_reason}; 'native' is the interpreter", flush=True)
    interp = compile_expression(expr, FEATURE_NAMES, jit="off")
    syms = [sp.Symbol(n, positive=True) for n in c.feature_names] + [sp.Symbol(n, real=True) for n in c.param_names]
    f = sp.lambdify(syms, c.expr, "numpy")
    f_cse = sp.lambdify(syms, c.expr, "numpy", cse=True)
    cols = [feats[n] for n in c.feature_names]
    rows = len(cols[0])
    ref = f(*cols, *c.start)
    got = c.evaluate(cols)
    same_bits = bool(np.array_equal(got.view(np.int64), interp.evaluate(cols).view(np.int64)))
    npy = _timed(lambda: f(*cols, *c.start), samples)
    npy_cse = _timed(lambda: f_cse(*cols, *c.start), samples)
    out = []
    for threads in (1, 0):
        _core.set_max_threads(threads)
        try:
            nat = _timed(lambda: c.evaluate(cols), samples)
            itp = _timed(lambda: interp.evaluate(cols), samples)
        finally:
            _core.set_max_threads(0)
        out.append({"expression": name, "rows": rows, "threads": threads or _core.max_threads(),
                    "backend": c.backend, "backend_reason": c.backend_reason, "kernel_bits_equal_interpreter": same_bits,
                    "instructions": c.program.n_instructions, "passes": c.program.n_passes, "constants": len(c.start),
                    "max_rel_diff": float(np.max(np.abs(got / ref - 1.0))), "native": nat, "interpreter": itp,
                    "numpy_lambdify": npy, "numpy_lambdify_cse": npy_cse, "native_rows_per_s": rows / nat["median_s"],
                    "native_ns_per_row": 1e9 * nat["median_s"] / rows,
                    "interpreter_ns_per_row": 1e9 * itp["median_s"] / rows,
                    "numpy_rows_per_s": rows / npy["median_s"], "speedup": npy["median_s"] / nat["median_s"],
                    "speedup_interpreter": npy["median_s"] / itp["median_s"],
                    "speedup_vs_cse": npy_cse["median_s"] / nat["median_s"],
                    "speedup_cpu_time": npy["cpu_median_s"] / nat["cpu_median_s"] if threads == 1 else None,
                    "speedup_interpreter_cpu_time": npy["cpu_median_s"] / itp["cpu_median_s"] if threads == 1 else None})
    return out


def _bench_build(expr: sp.Expr) -> dict:
    """The kernel's first build (a compile, in a fresh cache directory) and a cache-hit load, each through
    the public ``compile_kernel`` (source generation, hashing, compile or dlopen, the plan check)."""
    old = os.environ.get("ENERGYLENS_CACHE_DIR")
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["ENERGYLENS_CACHE_DIR"] = tmp
        try:
            c = compile_expression(expr, FEATURE_NAMES)
            t0 = time.perf_counter()
            ok = c.compile_kernel()
            first = time.perf_counter() - t0
            hits = []
            for _ in range(7):
                c2 = compile_expression(expr, FEATURE_NAMES)
                t0 = time.perf_counter()
                c2.compile_kernel()
                hits.append(time.perf_counter() - t0)
        finally:
            if old is None:
                os.environ.pop("ENERGYLENS_CACHE_DIR", None)
            else:
                os.environ["ENERGYLENS_CACHE_DIR"] = old
    compiler = kernel_build.find_compiler()[0]
    return {"built": ok, "reason": c.backend_reason, "compiler": compiler and " ".join(compiler),
            "flags": list(kernel_build.COMPILE_FLAGS), "first_build_s": first,
            "compile_s": c.jit.result.compile_s if c.jit.result else None,
            "cache_hit_s": {"median_s": statistics.median(hits), "min_s": min(hits), "max_s": max(hits)},
            "cache_hit_dlopen_s": c2.jit.result.load_s if c2.jit.result else None}


def _ab_rounds(expr: sp.Expr, feats: dict[str, np.ndarray], rounds: int = 6) -> dict:
    """Interpreter and kernel in alternating rounds, one thread, CPU time of the calling thread: ns a row
    (min of 5 samples a round), so both see the same load."""
    c = compile_expression(expr, FEATURE_NAMES)
    c.compile_kernel()
    interp = compile_expression(expr, FEATURE_NAMES, jit="off")
    cols = [feats[n] for n in c.feature_names]
    rows = len(cols[0])
    res: dict[str, list[float]] = {"interpreter": [], "kernel": []}
    _core.set_max_threads(1)
    try:
        for _ in range(rounds):
            for key, fn in (("interpreter", lambda: interp.evaluate(cols)), ("kernel", lambda: c.evaluate(cols))):
                t = _timed(fn, 5)
                res[key].append(1e9 * t["cpu_median_s"] / rows)
    finally:
        _core.set_max_threads(0)
    return {"rows": rows, "backend": c.backend, "ns_per_row": res,
            "median_ratio": statistics.median(i / k for i, k in zip(res["interpreter"], res["kernel"], strict=True))}


def _bench_fit(expr: sp.Expr, df, feats: dict[str, np.ndarray], samples: int) -> dict:
    c = compile_expression(expr, FEATURE_NAMES)
    idx = np.arange(50)
    cols = [np.ascontiguousarray(feats[n][idx]) for n in c.feature_names]
    y = df["energy_j"].to_numpy(dtype=float)[idx]
    start = c.start * np.exp(0.3 * np.random.default_rng(0).standard_normal(len(c.start)))
    opts = {"residual": "log"}
    fit = _core.fit_expression(c.program, cols, y, start, None, None, opts)
    one = []  # one fit per sample, wall clock (the target is per refit)
    for _ in range(max(samples, 21) + 1):
        t0 = time.perf_counter()
        _core.fit_expression(c.program, cols, y, start, None, None, opts)
        one.append(time.perf_counter() - t0)
    one = one[1:]
    cpu0 = time.thread_time()
    for _ in range(100):
        _core.fit_expression(c.program, cols, y, start, None, None, opts)
    return {"rows": 50, "constants": len(c.start), "iterations": fit.iterations, "evaluations": fit.evaluations,
            "status": fit.status, "timing": {"median_s": statistics.median(one), "min_s": min(one), "max_s": max(one),
                                             "p90_s": float(np.quantile(one, 0.9)), "samples": len(one)},
            "cpu_s_per_fit": (time.thread_time() - cpu0) / 100,
            "jacobian_eval": _timed(lambda: c.program.evaluate(cols, start, True), samples)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", default="1e3,1e4,1e5,1e6,1e7", help="comma-separated row counts")
    ap.add_argument("--samples", type=int, default=7)
    ap.add_argument("--json", default="bench/results/expression.json")
    args = ap.parse_args()
    df = load_profiles_or_bundled("bundled").reset_index(drop=True)
    base = build_features(df)
    template = _template_expression(df)
    load_before = os.getloadavg()
    builds = {"template energy formula": _bench_build(template), "short discovered-style formula": _bench_build(sp.sympify(SHORT))}
    for name, b in builds.items():
        print(f"{name}: first build {b['first_build_s']:.2f} s (compile {b['compile_s'] or 0:.2f} s), cache hit "
              f"{1e3 * b['cache_hit_s']['median_s']:.1f} ms; {b['reason']}", flush=True)
    evaluate, ab = [], []
    for rows in [int(float(r)) for r in args.rows.split(",")]:
        idx = np.random.default_rng(0).integers(0, len(df), size=rows)
        feats = {k: np.ascontiguousarray(v[idx]) for k, v in base.items()}
        for name, expr in (("template energy formula", template), ("short discovered-style formula", sp.sympify(SHORT))):
            for e in _bench_eval(name, expr, feats, args.samples):
                evaluate.append(e)
                cpu = f", CPU time x{e['speedup_cpu_time']:.1f}" if e["speedup_cpu_time"] else ""
                print(f"{name:32s} N={rows:>9,d} threads={e['threads']}: kernel {e['native_ns_per_row']:.2f} ns/row "
                      f"x{e['speedup']:.1f}{cpu}, interpreter {e['interpreter_ns_per_row']:.2f} ns/row "
                      f"x{e['speedup_interpreter']:.1f} (vs lambdify cse x{e['speedup_vs_cse']:.1f}; "
                      f"max rel diff {e['max_rel_diff']:.1e}, bits equal {e['kernel_bits_equal_interpreter']})", flush=True)
        if rows <= 100_000:
            ab.append(_ab_rounds(template, feats))
            r = ab[-1]
            print(f"A/B N={rows:,d}: interpreter {[round(v, 2) for v in r['ns_per_row']['interpreter']]} ns/row, "
                  f"kernel {[round(v, 2) for v in r['ns_per_row']['kernel']]}; median ratio {r['median_ratio']:.2f}",
                  flush=True)
        del feats
    fit = _bench_fit(template, df, base, args.samples)
    out = {"machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "max_threads": _core.max_threads(),
                       "load_average_1_5_15_before": load_before, "load_average_1_5_15_after": os.getloadavg()},
           "kernel_build": builds, "evaluate": evaluate, "ab_interpreter_vs_kernel_one_thread": ab,
           "refit_50_rows": fit}
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(out, indent=1))
    t = fit["timing"]
    print(f"refit 50 rows, {fit['constants']} constants: {1e3 * t['median_s']:.3f} ms median "
          f"({1e3 * t['min_s']:.3f}-{1e3 * t['max_s']:.3f}, p90 {1e3 * t['p90_s']:.3f}; CPU "
          f"{1e3 * fit['cpu_s_per_fit']:.3f} ms; {fit['iterations']} iterations, {fit['status']})")
    print(f"load average before {load_before}, after {out['machine']['load_average_1_5_15_after']}")


if __name__ == "__main__":
    main()
