"""PowerSampler.samples() after new readings: the table grown in place (``measure/sample_table.py``) against the
rebuild it replaced (every column concatenated and every row's source name made again per call), in one run.

A table of ``--rows`` samples (4 signals, one GPU), then ``--merges`` chunks of ``--chunk`` rows each reaching back
100 ms into it (the driver buffer arrives ~100 ms late), merged one at a time: the rebuild's cost, the in-place
merge's with no earlier table still held (a live line of ``energylens monitor``, a window's end) and with one held
(the rows before the late ones copied first). Prints the median and minimum per merge::

    python bench/bench_sample_table.py [--rows 12000000] [--chunk 2000] [--merges 7]
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np

from energylens.measure.sample_table import SampleTable
from energylens.measure.signals import signal_sources

KEYS = ("t_ns", "gpu", "signal", "power_w", "energy_j")


def rebuild(base: dict, chunks: list[dict]) -> dict:
    """The merge before 2026-12-07 (PowerSampler._merged): the new chunks and the tail of the sorted table they
    overlap re-sorted, the whole table concatenated again, every row's source name made again."""
    fresh = {k: np.concatenate([c[k] for c in chunks]) for k in KEYS}
    cut = int(np.searchsorted(base["t_ns"], fresh["t_ns"].min(), side="right"))
    tail = {k: np.concatenate([base[k][cut:], fresh[k]]) for k in KEYS}
    order = np.argsort(tail["t_ns"], kind="stable")
    cat = {k: np.concatenate([base[k][:cut], tail[k][order]]) for k in KEYS}
    return {**cat, "source": signal_sources()[cat["signal"]]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=12_000_000)
    ap.add_argument("--chunk", type=int, default=2000)
    ap.add_argument("--merges", type=int, default=7)
    args = ap.parse_args(argv)
    rng = np.random.default_rng(0)
    n = args.rows
    t = np.arange(n, dtype=np.int64) * 1_000_000  # (a row a ms)
    base = {"t_ns": t, "gpu": np.zeros(n, np.int32), "signal": rng.integers(0, 4, n).astype(np.int32),
            "power_w": rng.uniform(100, 500, n), "energy_j": np.full(n, np.nan)}

    def chunk(k: int) -> dict:
        m = args.chunk
        tt = np.sort(t[-1] + k * 100_000_000 - rng.integers(0, 200_000_000, m)).astype(np.int64)
        return {"t_ns": tt, "gpu": np.zeros(m, np.int32), "signal": np.zeros(m, np.int32), "power_w": np.ones(m),
                "energy_j": np.full(m, np.nan)}

    chunks = [chunk(k) for k in range(1, args.merges + 1)]
    times: dict[str, list[float]] = {"rebuild": [], "in place": [], "in place, a table held": []}
    old = {**base, "source": signal_sources()[base["signal"]]}
    for c in chunks:
        a = time.perf_counter()
        old = rebuild({k: old[k] for k in KEYS}, [c])
        times["rebuild"].append(time.perf_counter() - a)
    for label, hold in (("in place", False), ("in place, a table held", True)):
        table = SampleTable()
        table.add(base)
        held = table.table()  # (the table before the first timed merge)
        held = held if hold else None
        for c in chunks:
            table.add(c)
            a = time.perf_counter()
            got = table.table()
            times[label].append(time.perf_counter() - a)
            held = got if hold else None
            del got
        for k in KEYS:
            np.testing.assert_array_equal(table.table()[k], old[k], err_msg=k)  # (the same table as the rebuild)
        del table, held
    print(f"{platform.node()}: {n} rows, chunks of {args.chunk} reaching 100 ms back, {args.merges} merges")
    for label, ts in times.items():
        print(f"  {label:24s} median {np.median(ts) * 1e3:9.2f} ms  min {min(ts) * 1e3:9.2f} ms per merge")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
