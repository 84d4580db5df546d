"""A/B of two builds of the native module: the same predict / evaluate / fit calls timed with each ``_core``
shared object, in alternating child processes (so load hits both alike), one thread, min CPU time per call.

Keep a copy of the installed ``_core`` before a C++ change (``cp $(python -c "import energylens._core as c;
print(c.__file__)") /tmp/before_core.so``), rebuild, copy the new one, then

    python bench/ab_core_builds.py /tmp/before_core.so /tmp/after_core.so [--rounds 5] [--reps 15]

Each round runs every build once; a build is loaded as ``energylens._core`` before the package is imported,
so the Python code is this checkout's for both. Prints one JSON line per run and the paired median change.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import time
import warnings

CALLS = ("latency_evaluate_5e4", "energy_evaluate_5e4", "latency_predict_1e5", "energy_predict_1e5",
         "latency_predict_1row", "fit_80", "fit_bundled_bootstrap_50")


def _load(so: str) -> None:
    spec = importlib.util.spec_from_file_location("energylens._core", so)
    module = importlib.util.module_from_spec(spec)
    sys.modules["energylens._core"] = module
    spec.loader.exec_module(module)


def child(so: str, reps: int) -> dict:
    """Min CPU time (ms) of each call with the build ``so``."""
    _load(so)
    import numpy as np
    import pandas as pd

    from energylens import _core, parallel
    from energylens.model import EnergyModel
    from energylens.profiles.datasets import mlenergy_v2
    from energylens.profiles.features import build_features

    warnings.simplefilter("ignore")
    data = mlenergy_v2()
    model = EnergyModel(bootstrap=0).fit(data.sample(80, random_state=0))
    lat = model.latency_model
    feats = {k: np.ascontiguousarray(np.resize(np.asarray(v, dtype=float), 50_000))
             for k, v in build_features(data).items()}
    cols = [feats[n] for n in model.feature_names]
    out = (np.empty(50_000), np.empty(50_000))
    names = ["model", "gpu", "tp", "pp", "batch_size", "input_tokens", "output_tokens"]
    big = pd.DataFrame({c: np.tile(data[c].to_numpy(), 300) for c in names})  # raw: the light path
    one = pd.DataFrame({c: data[c].to_numpy()[3:4] for c in names})
    fit_rows = pd.DataFrame({c: data[c].to_numpy()[:80] for c in [*names, "energy_j", "tpot_s"]})
    calls = {
        "latency_evaluate_5e4": lambda: _core.evaluate(lat._template, cols, np.asarray(lat.theta), out=out),
        "energy_evaluate_5e4": lambda: _core.evaluate(model._template, cols, np.asarray(model.theta), out=out),
        "latency_predict_1e5": lambda: lat.predict(big, n_threads=1, check_range=False),
        "energy_predict_1e5": lambda: model.predict(big, n_threads=1, check_range=False),
        "latency_predict_1row": lambda: lat.predict(one),
        "fit_80": lambda: EnergyModel(bootstrap=0).fit(fit_rows, n_threads=1),
        "fit_bundled_bootstrap_50": lambda: EnergyModel(bootstrap=50).fit(data, n_threads=1),
    }
    result = {}
    with parallel.threads(1):
        for name in CALLS:
            calls[name]()
            times = []
            for _ in range(reps):
                t0 = time.thread_time_ns()
                calls[name]()
                times.append(time.thread_time_ns() - t0)
            result[name] = min(times) / 1e6
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("builds", nargs=2, metavar="CORE_SO", help="the two _core shared objects: before, after")
    ap.add_argument("--rounds", type=int, default=5, help="rounds, each running both builds once")
    ap.add_argument("--reps", type=int, default=15, help="timed calls per figure (min taken)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.reps)))
        return
    runs: dict[str, list[dict]] = {so: [] for so in args.builds}
    for _ in range(args.rounds):
        for so in args.builds:
            proc = subprocess.run([sys.executable, __file__, *args.builds, "--reps", str(args.reps), "--child", so],
                                  capture_output=True, text=True, check=True)
            runs[so].append(json.loads(proc.stdout.strip().splitlines()[-1]))
            print(so, proc.stdout.strip().splitlines()[-1], flush=True)
    before, after = (runs[so] for so in args.builds)
    for name in CALLS:
        lo = [min(r[name] for r in rs) for rs in (before, after)]
        change = sorted(a[name] / b[name] - 1 for b, a in zip(before, after, strict=True))
        print(f"{name:24s} min {lo[0]:.3f} -> {lo[1]:.3f} ms, paired median change {change[len(change) // 2]:+.1%}")


if __name__ == "__main__":
    main()
