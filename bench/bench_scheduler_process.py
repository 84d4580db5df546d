"""A scheduler's long-running process: do two Python threads' large ``predict_features`` calls run at once, and
does memory stay flat over many per-request calls?

Threads: two threads each make ``--calls`` ``predict_features`` calls on ``--rows`` rows (``n_threads=1``, so each
call is one native thread); the pair's parallelism is (CPU time of thread A + thread B) / the pair's wall time:
2.0 when both ran all the time, at most 1.0 when one waited for the other (a held GIL). Measured in the same rounds,
in alternation: ``np.exp`` over 1.5e6 values (NumPy releases the GIL: what a free second core allows now) and a
pure-Python loop (holds it). The wall-time speedup of the pair over the same calls made serially is reported too.

Memory: ``--repeats`` calls of ``predict`` on one request dict (a new batch size and prompt length each call, some
extrapolated), ``predict_features`` on 1 row and ``energylens.search`` (a new prompt length each call); after a
tenth as many warm-up calls, the growth of the resident set (``/proc/self/statm``) at each fifth and of the memory
``tracemalloc`` traces at the end.

    python bench/bench_scheduler_process.py [--rows 1000000] [--calls 4] [--rounds 8] [--repeats 10000]
        [--search-repeats 2000] [--only threads|memory] [--out FILE.json]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import threading
import time
import tracemalloc
import warnings

import numpy as np

import energylens
from energylens.model import EnergyModel
from energylens.profiles.datasets import mlenergy_v2
from energylens.profiles.features import build_features

REQUEST = dict(model="meta-llama/Llama-3.1-8B-Instruct", gpu="A100-SXM4-40GB", tp=1, batch_size=64, input_tokens=512,
               output_tokens=256)


def _pair(call, calls: int) -> tuple[float, float]:
    """(parallelism, serial wall / pair wall) of two threads each making ``calls`` calls."""
    t0 = time.perf_counter()
    for _ in range(2 * calls):
        call()
    serial = time.perf_counter() - t0
    cpu: list[float] = []

    def work() -> None:
        c0 = time.thread_time()
        for _ in range(calls):
            call()
        cpu.append(time.thread_time() - c0)

    pair = [threading.Thread(target=work) for _ in range(2)]
    t0 = time.perf_counter()
    for t in pair:
        t.start()
    for t in pair:
        t.join()
    wall = time.perf_counter() - t0
    return sum(cpu) / wall, serial / wall


def threads_result(model: EnergyModel, specs: dict, args: argparse.Namespace) -> dict:
    rng = np.random.default_rng(0)
    sweep = {k: np.full(args.rows, v) for k, v in specs.items()}
    sweep["batch_size"] = rng.integers(1, 257, args.rows).astype(float)
    values = rng.random(1_500_000)

    def held() -> None:
        total = 0
        for i in range(300_000):
            total += i

    calls = {"predict_features": lambda: model.predict_features(sweep, n_threads=1),
             "predict_features validate=False": lambda: model.predict_features(sweep, n_threads=1, validate=False),
             "numpy exp (releases the GIL)": lambda: np.exp(values),
             "pure Python (holds the GIL)": held}
    got: dict = {name: [] for name in calls}
    for call in calls.values():
        call()  # warm
    for _ in range(args.rounds):
        for name, call in calls.items():
            got[name].append(_pair(call, args.calls))
    out = {}
    for name, pairs in got.items():
        par, speed = np.array(pairs).T
        out[name] = {"parallelism_median": float(np.median(par)), "parallelism_max": float(par.max()),
                     "speedup_median": float(np.median(speed)), "speedup_max": float(speed.max())}
        print(f"{name:32s} parallelism median {np.median(par):.2f} (max {par.max():.2f}), two threads vs serial "
              f"{np.median(speed):.2f}x (max {speed.max():.2f}x)", flush=True)
    return out


def _rss_mib() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _growth(call, repeats: int) -> dict:
    for i in range(max(1, repeats // 10)):
        call(i)
    gc.collect()
    tracemalloc.start()
    before, rss0, marks = tracemalloc.take_snapshot(), _rss_mib(), []
    t0 = time.perf_counter()
    for i in range(repeats):
        call(i)
        if (i + 1) % max(1, repeats // 5) == 0:
            gc.collect()
            marks.append(round(_rss_mib() - rss0, 2))
    seconds = time.perf_counter() - t0
    gc.collect()
    traced = sum(s.size_diff for s in tracemalloc.take_snapshot().compare_to(before, "filename"))
    tracemalloc.stop()
    return {"calls": repeats, "seconds": seconds, "rss_growth_mib_at_fifths": marks, "traced_growth_kib": traced / 1024}


def memory_result(model: EnergyModel, specs: dict, args: argparse.Namespace) -> dict:
    one = {k: np.array([v]) for k, v in specs.items()}
    rng = np.random.default_rng(1)
    cases = {
        "predict(dict)": (lambda i: model.predict(dict(REQUEST, batch_size=int(rng.integers(1, 300)),
                                                       input_tokens=int(rng.integers(1, 9000)))), args.repeats),
        "predict_features, 1 row": (lambda i: model.predict_features(one), args.repeats),
        "search": (lambda i: energylens.search(model=REQUEST["model"], gpus="H100", input_tokens=int(rng.integers(100, 2000)),
                                               output_tokens=256, energy_model=model, top=3), args.search_repeats),
    }
    out = {}
    for name, (call, repeats) in cases.items():
        out[name] = r = _growth(call, repeats)
        print(f"{name:24s} {repeats} calls in {r['seconds']:.1f} s: resident set +{r['rss_growth_mib_at_fifths']} MiB "
              f"at each fifth, traced {r['traced_growth_kib']:+.0f} KiB at the end", flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000, help="rows of each threaded predict_features call")
    ap.add_argument("--calls", type=int, default=4, help="calls per thread per round")
    ap.add_argument("--rounds", type=int, default=8, help="rounds (median and max reported)")
    ap.add_argument("--repeats", type=int, default=10_000, help="calls per memory case (predict, predict_features)")
    ap.add_argument("--search-repeats", type=int, default=2_000, help="calls of the memory case search")
    ap.add_argument("--only", choices=["threads", "memory"], help="run one part")
    ap.add_argument("--out", help="write the results here as JSON")
    args = ap.parse_args()
    warnings.simplefilter("ignore")  # (the requests extrapolate on purpose; a scheduler passes check_range=False)
    data = mlenergy_v2()
    model = EnergyModel(bootstrap=20, n_starts=1, seed=0).fit(data.sample(60, random_state=0))
    specs = {k: float(np.asarray(v, dtype=float)[0]) for k, v in build_features(data.iloc[[0]]).items()}
    result: dict = {"load_average_start": os.getloadavg()[0]}
    if args.only in (None, "threads"):
        result["threads"] = threads_result(model, specs, args)
    if args.only in (None, "memory"):
        result["memory"] = memory_result(model, specs, args)
    result["load_average_end"] = os.getloadavg()[0]
    print(f"load average {result['load_average_start']:.2f} -> {result['load_average_end']:.2f}")
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(result, fh, indent=1)


if __name__ == "__main__":
    main()
