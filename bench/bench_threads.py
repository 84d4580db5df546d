"""Calls per second in all from 1, 2 and 4 Python threads calling one model, as a scheduler's request
threads would: ``predict_features`` and ``predict(df)`` on one row, ``predict_features`` on 1e5 rows, and
``energylens.search`` over a one-row candidate table (its fixed cost per call).
The baseline is the same call from one thread in the same run (the ratio: 4 threads / 1 thread; a
one-row call cannot use a second core, so about 1 means no loss, below 1 is the cost of sharing the GIL).
Writes bench/results/threads.json.

    python bench/bench_threads.py [--seconds 1.0] [--out bench/results/threads.json]
"""

from __future__ import annotations

import argparse
import json
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

import energylens
from energylens.model import EnergyModel
from energylens.profiles.datasets import mlenergy_v2
from energylens.profiles.features import build_features


def calls_per_s(call, n_threads: int, seconds: float) -> float:
    count, stop = [0] * n_threads, threading.Event()

    def work(i: int) -> None:
        while not stop.is_set():
            call()
            count[i] += 1

    workers = [threading.Thread(target=work, args=(i,)) for i in range(n_threads)]
    t0 = time.perf_counter()
    for w in workers:
        w.start()
    time.sleep(seconds)
    stop.set()
    for w in workers:
        w.join()
    return sum(count) / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=1.0, help="time per measurement")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "threads.json"))
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    data = mlenergy_v2()
    model = EnergyModel(bootstrap=0, seed=0).fit(data.sample(50, random_state=0))
    specs = {k: float(np.asarray(v, dtype=float)[0]) for k, v in build_features(data.iloc[[0]]).items()}
    one = {k: np.array([v]) for k, v in specs.items()}
    rng = np.random.default_rng(0)
    many = dict(specs, batch_size=rng.integers(1, 257, 100_000).astype(float))
    raw = pd.DataFrame({"model": ["meta-llama/Meta-Llama-3.1-8B-Instruct"], "params_b": [8.03], "gpu": ["H100"],
                        "tp": [1], "pp": [1], "batch_size": [32.0], "input_tokens": [512.0], "output_tokens": [256.0]})
    calls = {"predict_features, 1 row": lambda: model.predict_features(one),
             "predict(df), 1 row": lambda: model.predict(raw),
             "predict_features, 1e5 rows": lambda: model.predict_features(many),
             "search, 1 candidate": lambda: energylens.search(candidates=raw.drop(columns=["params_b", "pp"]),
                                                              energy_model=model, bootstrap=False)}
    out = {}
    for name, call in calls.items():
        rates = {n: calls_per_s(call, n, args.seconds) for n in (1, 2, 4)}
        out[name] = {f"{n}_threads_calls_per_s": r for n, r in rates.items()} | {"ratio_4_to_1": rates[4] / rates[1]}
        print(f"{name:28s} " + " | ".join(f"{n} thr {r:9.0f}/s" for n, r in rates.items())
              + f" | 4/1 = {rates[4] / rates[1]:.2f}")
    Path(args.out).write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
