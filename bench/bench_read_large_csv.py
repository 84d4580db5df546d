"""Reading a large profile CSV: the public ``load_profiles(path)`` and energylens' reader against a plain
``pandas.read_csv(path)`` and pyarrow's multithreaded CSV reader, timed in one process, in alternation.

The table is generated (not committed): the bundled ML.ENERGY v2 rows as ``DataFrame.to_csv`` writes them, repeated
up to ``--mib`` MiB (150 by default, above ``files.LARGE_CSV_BYTES`` = 128 MiB, so energylens reads it from its
counting handle on the calling thread: progress and Ctrl-C / SIGTERM within a block) in a temporary folder,
removed at the end. Cases, each timed once per round, rounds in alternation (``--rounds``):

- ``pandas_read_csv``: ``pandas.read_csv(path)``, the plain baseline (given a path, the C parser);
- ``energylens_read_csv_file``: ``files.read_csv_file`` as ``load_profiles`` calls it (text columns as str), with
  a ``READ_PROGRESS`` reporter that only counts its calls;
- ``pyarrow_read_csv_threads``: ``pyarrow.csv.read_csv(path)`` on ``pyarrow.cpu_count()`` threads, then
  ``to_pandas()``: what a multithreaded read would cost (its frame is compared with pandas': ``same_frame``);
- ``load_profiles``: the public call on the file (read, then every schema check).

Each figure is the median over the rounds (min and max beside); ``ratio_over_pandas`` is a case's median over
``pandas_read_csv``'s. Writes bench/results/read_large_csv.json with the machine and the load average (a shared
box's other work slows every case alike; run the cases in one process so that they share it).

    python bench/bench_read_large_csv.py [--mib 150] [--rounds 3]
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from bench_env import machine, write_result

HERE = Path(__file__).resolve().parent
OUT = HERE / "results" / "read_large_csv.json"


def write_table(path: Path, mib: float) -> int:
    """The bundled rows repeated to at least ``mib`` MiB at ``path``; returns the data rows written."""
    from energylens.profiles.datasets import mlenergy_v2

    base = mlenergy_v2()
    header, _, body = base.to_csv(index=False).partition("\n")
    copies = int(mib * 2**20 // len(body)) + 1
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(header + "\n")
        for _ in range(copies):
            fh.write(body)
    return copies * len(base)


def cases(path: Path) -> dict:
    """Every case as a call returning its frame."""
    import pandas as pd
    import pyarrow.csv as pacsv

    from energylens.profiles import load_profiles
    from energylens.profiles.files import READ_PROGRESS, read_csv_file
    from energylens.profiles.schema import _TEXT_COLUMNS as TEXT_COLUMNS

    calls = {"n": 0}

    def counting(_src: str, _done: int, _total: int) -> None:
        calls["n"] += 1

    def energylens_read():
        token = READ_PROGRESS.set(counting)
        try:
            return read_csv_file(path, dtype={c: str for c in TEXT_COLUMNS})
        finally:
            READ_PROGRESS.reset(token)

    return {
        "pandas_read_csv": lambda: pd.read_csv(path),
        "energylens_read_csv_file": energylens_read,
        "pyarrow_read_csv_threads": lambda: pacsv.read_csv(path).to_pandas(),
        "load_profiles": lambda: load_profiles(path),
    }, calls


def same_frame(a, b) -> str:
    """``"yes"``, or the first difference pandas' frame check names."""
    import pandas as pd

    try:
        pd.testing.assert_frame_equal(a, b)
    except AssertionError as exc:
        return " ".join(str(exc).split())[:300]
    return "yes"


def _machine() -> dict:
    import pandas as pd
    import pyarrow as pa

    return {**machine(pandas=pd.__version__, pyarrow=pa.__version__), "pyarrow_cpu_count": pa.cpu_count()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mib", type=float, default=150.0, help="size of the generated CSV (default 150 MiB)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--json", type=Path, default=OUT)
    args = ap.parse_args()
    import warnings

    warnings.simplefilter("ignore")
    with tempfile.TemporaryDirectory(prefix="el_read_csv_") as tmp:
        path = Path(tmp) / "big.csv"
        rows = write_table(path, args.mib)
        calls, progress = cases(path)
        times: dict[str, list[float]] = {name: [] for name in calls}
        frames = {}
        for _ in range(args.rounds):
            for name, call in calls.items():
                start = time.perf_counter()
                frame = call()
                times[name].append(time.perf_counter() - start)
                frames[name] = frame
                del frame
        size = path.stat().st_size
    base = statistics.median(times["pandas_read_csv"])
    result = {"mib": round(size / 2**20, 1), "rows": rows, "rounds": args.rounds, "cases": {},
              "progress_calls_per_read": progress["n"] // args.rounds,
              "pyarrow_same_frame_as_pandas": same_frame(frames["pandas_read_csv"],
                                                         frames["pyarrow_read_csv_threads"])}
    for name, t in times.items():
        med = statistics.median(t)
        result["cases"][name] = {"median_s": med, "min_s": min(t), "max_s": max(t), "ratio_over_pandas": med / base}
        print(f"{name:26s} {med:6.2f} s ({min(t):.2f}-{max(t):.2f})  {med / base:5.2f}x pandas.read_csv",
              flush=True)
    print(f"pyarrow's frame equals pandas': {result['pyarrow_same_frame_as_pandas']}")
    write_result(args.json, result, _machine())
    print(f"wrote {args.json} ({result['mib']} MiB, {rows} rows; load average {result['load_average']})")


if __name__ == "__main__":
    main()
