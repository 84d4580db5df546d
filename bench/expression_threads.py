"""One thread against two for ``CompiledExpression.evaluate`` of the template formula at a small size
(issue 14: two threads gained nothing at 1e4 rows from Python while a C++ loop gained 1.7x).

Rounds alternate one and two threads (``_core.set_max_threads``); each round times many back-to-back
calls and keeps their median; the report gives the median and min over rounds, and the voluntary context
switches per call with two threads (about 1: the helper thread slept between every two calls; about 0:
it was still polling when the next call came). The box's load average is recorded.

    python bench/expression_threads.py [--rows 1e4] [--rounds 20] [--json bench/results/expression_threads.json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
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


def _columns(rows: int):
    df = load_profiles_or_bundled("bundled").reset_index(drop=True)
    m = EnergyModel(bootstrap=0).fit(df.iloc[:50], latency=False)
    pf, dec = m.to_sympy()
    expr = (pf + dec).xreplace({s: sp.Symbol(n, positive=True) for n, s in feature_symbols().items()})
    c = compile_expression(expr, FEATURE_NAMES)
    base = build_features(df)
    idx = np.random.default_rng(0).integers(0, len(df), size=rows)
    return c, [np.ascontiguousarray(base[n][idx]) for n in c.feature_names]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", default="1e4")
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--json", type=Path, default=Path("bench/results/expression_threads.json"))
    args = ap.parse_args()
    rows = int(float(args.rows))
    c, cols = _columns(rows)
    calls = max(20, int(2e6 / rows))
    per_round: dict[int, list[float]] = {1: [], 2: []}
    switches: list[float] = []
    load_before = os.getloadavg()
    try:
        for _ in range(args.rounds):
            for threads in (1, 2):
                _core.set_max_threads(threads)
                c.evaluate(cols)
                ts = []
                r0 = resource.getrusage(resource.RUSAGE_SELF).ru_nvcsw
                for _ in range(calls):
                    t0 = time.perf_counter()
                    c.evaluate(cols)
                    ts.append(time.perf_counter() - t0)
                if threads == 2:
                    switches.append((resource.getrusage(resource.RUSAGE_SELF).ru_nvcsw - r0) / calls)
                per_round[threads].append(statistics.median(ts))
    finally:
        _core.set_max_threads(0)
    out = {"rows": rows, "rounds": args.rounds, "calls_per_round": calls, "load_average_before": load_before,
           "load_average_after": os.getloadavg()}
    for threads, ts in per_round.items():
        out[f"threads_{threads}"] = {"median_s": statistics.median(ts), "min_s": min(ts), "max_s": max(ts),
                                     "rows_per_s": rows / statistics.median(ts)}
    out["two_over_one_speedup_median"] = statistics.median(per_round[1]) / statistics.median(per_round[2])
    out["two_over_one_speedup_min"] = min(per_round[1]) / min(per_round[2])
    out["voluntary_switches_per_call_two_threads"] = statistics.median(switches)
    print(json.dumps(out, indent=1))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
