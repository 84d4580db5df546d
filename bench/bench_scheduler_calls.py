"""Per-call cost of pricing 1, 10 or 100 configurations the ways a scheduler's loop can, against the bare native
evaluation of the same rows in the same run and dtype (the ratio public / native).

Calls: ``predict`` on a list of request mappings (``dict``), on a raw DataFrame of the request columns,
the same object each call (``frame``; a new one each call adds pandas' construction: about the ``dict`` figure), ``predict_features`` on float64 feature arrays (``features``, validated; ``features_unchecked``,
``validate=False``) and ``_core.evaluate(template, columns, theta, sum=True)`` on the same template-ordered
contiguous columns (``native``). Each sample is the mean of ``--inner`` calls; the samples of all calls are taken
in alternation (so load hits them alike); the median and min of ``--samples`` are reported, in microseconds.

    python bench/bench_scheduler_calls.py [--rows 1 10 100] [--samples 15] [--inner 50] [--out FILE.json]
"""

from __future__ import annotations

import argparse
import json
import os
import time
import warnings

import numpy as np
import pandas as pd

from energylens import _core
from energylens.model import EnergyModel
from energylens.profiles.datasets import mlenergy_v2
from energylens.profiles.features import build_features

REQUEST = ["model", "gpu", "tp", "batch_size", "input_tokens", "output_tokens"]


def calls(model: EnergyModel, data: pd.DataFrame, n: int) -> dict:
    rows = data.iloc[np.arange(n) % len(data)]
    frame = pd.DataFrame({c: rows[c].to_numpy() for c in REQUEST})
    dicts = frame.to_dict("records")
    feats = {k: np.ascontiguousarray(v, dtype=np.float64) for k, v in build_features(rows).items()}
    cols = [feats[name] for name in model.feature_names]
    theta = np.asarray(model.theta)
    template = model._template
    out = {"dict": lambda: model.predict(dicts), "frame": lambda: model.predict(frame),
           "features": lambda: model.predict_features(feats),
           "features_unchecked": lambda: model.predict_features(feats, validate=False),
           "native": lambda: _core.evaluate(template, cols, theta, sum=True).out0}
    ref = out["native"]()
    for name in ("features", "features_unchecked"):  # the same rows, the same bits
        assert np.array_equal(out[name](), ref), name
    return out


def measure(fns: dict, samples: int, inner: int) -> dict:
    times = {k: [] for k in fns}
    for fn in fns.values():
        fn()  # warm
    for _ in range(samples):
        for name, fn in fns.items():
            start = time.perf_counter()
            for _ in range(inner):
                fn()
            times[name].append((time.perf_counter() - start) / inner * 1e6)
    med = {k: float(np.median(v)) for k, v in times.items()}
    res = {k: {"median_us": med[k], "min_us": float(np.min(v))} for k, v in times.items()}
    for k in fns:
        res[k]["ratio_to_native"] = med[k] / med["native"]
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, nargs="+", default=[1, 10, 100], help="configurations per call")
    ap.add_argument("--samples", type=int, default=15, help="samples per call (median and min reported)")
    ap.add_argument("--inner", type=int, default=50, help="calls per sample")
    ap.add_argument("--out", help="write the results here as JSON")
    args = ap.parse_args()
    data = mlenergy_v2()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = EnergyModel(bootstrap=0, n_starts=1).fit(data.sample(60, random_state=0))
    result = {"load_average": os.getloadavg()[0], "rows": {}}
    for n in args.rows:
        r = measure(calls(model, data, n), args.samples, args.inner)
        result["rows"][n] = r
        print(f"{n:>4} rows: " + ", ".join(f"{k} {v['median_us']:.1f} us ({v['ratio_to_native']:.1f}x)"
                                           for k, v in r.items()), flush=True)
    print(f"load average {result['load_average']:.2f}")
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(result, fh, indent=1)


if __name__ == "__main__":
    main()
