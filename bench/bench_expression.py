"""Throughput of the native expression engine against NumPy ``lambdify`` of the same SymPy expression,
measured in the same run and dtype (float64), and the time of a native constant refit on 50 rows.

Expressions: the template's energy formula written as a SymPy expression of the feature columns (14
constants, square roots, roofline blend: what ``EnergyModel.from_expression`` runs for a formula of the
template's size), and a short discovered-style formula. Rows are the bundled ML.ENERGY v2 configurations
resampled to N rows. Median of >= 7 samples (min-max reported).

    python bench/bench_expression.py [--rows 1000000] [--json bench/results/expression.json]
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
import sympy as sp

from energylens import _core
from energylens.model import EnergyModel
from energylens.model.compile import compile_expression
from energylens.model.symbolic import feature_symbols
from energylens.profiles.datasets import load_profiles_or_bundled
from energylens.profiles.features import FEATURE_NAMES, build_features

SHORT = ("1.1*output_tokens/batch_size*tp*pp*tdp_w*weight_bytes_per_step/(tp*pp*hbm_bytes_per_s)"
         " + 3.2*tp*pp*tdp_w*2*active_params*input_tokens/(tp*pp*peak_flops_per_s) + 28.4*exp(-4.7*tp)")


def _timed(fn, samples: int) -> dict[str, float]:
    fn()  # warm-up
    t = []
    for _ in range(samples):
        t0 = time.perf_counter()
        fn()
        t.append(time.perf_counter() - t0)
    return {"median_s": statistics.median(t), "min_s": min(t), "max_s": max(t)}


def _template_expression(df) -> sp.Expr:
    m = EnergyModel(bootstrap=0).fit(df.iloc[:50], latency=False)
    pf, dec = m.to_sympy()
    return (pf + dec).xreplace({s: sp.Symbol(n, positive=True) for n, s in feature_symbols().items()})


def _bench_eval(name: str, expr: sp.Expr, feats: dict[str, np.ndarray], samples: int) -> dict:
    c = compile_expression(expr, FEATURE_NAMES)
    syms = [sp.Symbol(n, positive=True) for n in c.feature_names] + [sp.Symbol(n, real=True) for n in c.param_names]
    f = sp.lambdify(syms, c.expr, "numpy")
    cols = [feats[n] for n in c.feature_names]
    rows = len(cols[0])
    ref = f(*cols, *c.start)
    got = c.evaluate(cols)
    nat = _timed(lambda: c.evaluate(cols), samples)
    npy = _timed(lambda: f(*cols, *c.start), samples)
    return {"expression": name, "rows": rows, "instructions": c.program.n_instructions, "constants": len(c.start),
            "max_rel_diff": float(np.max(np.abs(got / ref - 1.0))), "native": nat, "numpy_lambdify": npy,
            "native_rows_per_s": rows / nat["median_s"], "numpy_rows_per_s": rows / npy["median_s"],
            "speedup": npy["median_s"] / nat["median_s"]}


def _bench_fit(expr: sp.Expr, df, feats: dict[str, np.ndarray], samples: int) -> dict:
    c = compile_expression(expr, FEATURE_NAMES)
    idx = np.arange(50)
    cols = [np.ascontiguousarray(feats[n][idx]) for n in c.feature_names]
    y = df["energy_j"].to_numpy(dtype=float)[idx]
    start = c.start * np.exp(0.3 * np.random.default_rng(0).standard_normal(len(c.start)))
    res = {}
    fit = _core.fit_expression(c.program, cols, y, start, None, None, {"residual": "log"})
    res["timing"] = _timed(lambda: _core.fit_expression(c.program, cols, y, start, None, None, {"residual": "log"}),
                           max(samples, 21))
    res.update({"rows": 50, "constants": len(c.start), "iterations": fit.iterations, "evaluations": fit.evaluations,
                "status": fit.status})
    return res


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--samples", type=int, default=7)
    ap.add_argument("--json", default="bench/results/expression.json")
    args = ap.parse_args()
    df = load_profiles_or_bundled("bundled").reset_index(drop=True)
    base = build_features(df)
    idx = np.random.default_rng(0).integers(0, len(df), size=args.rows)
    feats = {k: np.ascontiguousarray(v[idx]) for k, v in base.items()}
    template = _template_expression(df)
    out = {"machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                       "omp_num_threads": os.environ.get("OMP_NUM_THREADS")},
           "evaluate": [_bench_eval("template energy formula", template, feats, args.samples),
                        _bench_eval("short discovered-style formula", sp.sympify(SHORT), feats, args.samples)],
           "refit_50_rows": _bench_fit(template, df, base, args.samples)}
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(out, indent=1))
    for e in out["evaluate"]:
        print(f"{e['expression']}: native {e['native_rows_per_s']:.3g} rows/s, lambdify {e['numpy_rows_per_s']:.3g} "
              f"rows/s, x{e['speedup']:.1f} (max rel diff {e['max_rel_diff']:.1e})")
    f = out["refit_50_rows"]
    print(f"refit 50 rows, {f['constants']} constants: {1e3 * f['timing']['median_s']:.3f} ms median "
          f"({f['iterations']} iterations, {f['status']})")


if __name__ == "__main__":
    main()
