"""How far a short formula can outrun NumPy at all: the floor of the public call on the same columns.

bench/bench_expression.py times the short discovered-style formula (9 columns, ~20 operations, one exp)
at 3-6x NumPy ``lambdify`` where the template-sized formula reaches 10-40x. This script tests the
claim that the short formula's kernel is at the floor of the call, not short of a better kernel: it times,
through the same public call (``CompiledExpression.evaluate`` with the generated kernel), the sum of the
same 9 columns (every column read once, one output written, no other work), and reports the ratio to
``lambdify`` of the short formula that this floor allows, next to the ratio the short formula's kernel
reaches, at 1e3..1e7 rows, one thread and both cores.

    python bench/expression_floor.py [--json bench/results/expression_floor.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np
import sympy as sp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_expression import SHORT, _timed  # noqa: E402
from energylens import _core  # noqa: E402
from energylens.model.compile import compile_expression  # noqa: E402
from energylens.profiles.datasets import load_profiles_or_bundled  # noqa: E402
from energylens.profiles.features import FEATURE_NAMES, build_features  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", default="1000,10000,100000,1000000,10000000")
    ap.add_argument("--samples", type=int, default=7)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    base = build_features(load_profiles_or_bundled("bundled").reset_index(drop=True))
    short = compile_expression(sp.sympify(SHORT), FEATURE_NAMES)
    floor = compile_expression(" + ".join(short.feature_names), FEATURE_NAMES)
    ok = short.compile_kernel() and floor.compile_kernel()
    syms = [sp.Symbol(n, positive=True) for n in short.feature_names] + [sp.Symbol(n) for n in short.param_names]
    f = sp.lambdify(syms, short.expr, "numpy")
    rows_out = []
    load0 = os.getloadavg()
    for rows in [int(float(r)) for r in args.rows.split(",")]:
        idx = np.random.default_rng(0).integers(0, len(base["tp"]), size=rows)
        cols = [np.ascontiguousarray(base[n][idx]) for n in short.feature_names]
        npy = _timed(lambda cols=cols: f(*cols, *short.start), args.samples)
        for threads in (1, 0):
            _core.set_max_threads(threads)
            try:
                k = _timed(lambda cols=cols: short.evaluate(cols), args.samples)
                fl = _timed(lambda cols=cols: floor.evaluate(cols), args.samples)
            finally:
                _core.set_max_threads(0)
            r = {"rows": rows, "threads": threads or _core.max_threads(), "columns": len(cols),
                 "numpy_ns_per_row": 1e9 * npy["median_s"] / rows, "kernel_ns_per_row": 1e9 * k["median_s"] / rows,
                 "floor_ns_per_row": 1e9 * fl["median_s"] / rows, "kernel_ratio": npy["median_s"] / k["median_s"],
                 "floor_ratio": npy["median_s"] / fl["median_s"], "kernel_over_floor": k["median_s"] / fl["median_s"]}
            rows_out.append(r)
            print(f"N={rows:>10,d} threads={r['threads']}: lambdify {r['numpy_ns_per_row']:.2f} ns/row, kernel "
                  f"{r['kernel_ns_per_row']:.2f} (x{r['kernel_ratio']:.1f}), floor (read {len(cols)} columns, write 1) "
                  f"{r['floor_ns_per_row']:.2f} (at most x{r['floor_ratio']:.1f}); kernel / floor "
                  f"{r['kernel_over_floor']:.2f}", flush=True)
    out = {"kernels": bool(ok), "backend": short.backend_reason, "expression": SHORT, "results": rows_out,
           "load_average_before": load0, "load_average_after": os.getloadavg()}
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1) + "\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
