"""``energylens predict MODEL.json TABLE.csv -o OUT.csv`` on a large table, timed in one process against a plain
baseline, in alternation.

The table is the bundled ML.ENERGY v2 rows (``mlenergy_v2()``, the schema's columns) repeated ``--repeat`` times (118: 42,008 rows; 1180: 420,080), written
with the model (``energylens fit bundled``) to a temporary folder, removed at the end. Cases, each timed once per
round, rounds in alternation (``--rounds``):

- ``cli_predict``: the public command, ``energylens.cli.main(["predict", ...])`` in this process (stderr dropped);
- ``cli_predict_old`` (with ``--old PATH``): the same with an earlier copy of python/energylens/cli/predict.py in
  place of the module (kept with ``cp`` before a change); its output is compared byte for byte with the new one's
  (``same_bytes``), CSV and, with ``--parquet``, Parquet;
- ``plain``: what a user would write by hand: ``pandas.read_csv`` + ``load_model`` + ``EnergyModel.predict`` +
  ``DataFrame.to_csv`` of a frame with the CLI output's columns and values (read back before the timing).

Each figure is the median over the rounds (min and max beside); ``ratio_over_plain`` is a case's median over
``plain``'s. Writes bench/results/predict_cli_<rows>.json with the machine and the load average.

    python bench/bench_predict_cli.py [--repeat 118] [--rounds 3] [--old /tmp/predict_old.py] [--parquet]
"""
from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import sys
import tempfile
import time
import types
from pathlib import Path

from bench_env import machine, write_result

HERE = Path(__file__).resolve().parent


def _old_module(path: Path) -> types.ModuleType:
    """An earlier copy of energylens.cli.predict, run against today's package (its imports must still exist)."""
    mod = types.ModuleType("energylens.cli.predict")
    mod.__file__ = str(path)
    exec(compile(path.read_text(encoding="utf-8"), str(path), "exec"), mod.__dict__)  # noqa: S102 - a bench harness
    return mod


def _run_cli(args: list[str], module: types.ModuleType | None) -> None:
    """``energylens predict`` in this process, with ``module`` standing in for energylens.cli.predict."""
    from energylens.cli.main import main

    saved = sys.modules.get("energylens.cli.predict")
    if module is not None:
        sys.modules["energylens.cli.predict"] = module
    try:
        with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
            assert main(args) == 0
    finally:
        if saved is not None:
            sys.modules["energylens.cli.predict"] = saved


def _plain(table: Path, model_path: Path, frame, out: Path) -> None:
    import pandas as pd

    from energylens.model import load_model

    df = pd.read_csv(table)
    load_model(model_path).predict(df, check_range=False)
    frame.to_csv(out, index=False)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=118, help="copies of the 356 bundled rows (default 118: 42,008)")
    ap.add_argument("--rounds", type=int, default=3, help="rounds, cases in alternation within each (default 3)")
    ap.add_argument("--old", type=Path, help="an earlier copy of python/energylens/cli/predict.py to time beside")
    ap.add_argument("--parquet", action="store_true", help="also compare old and new .parquet outputs byte for byte")
    args = ap.parse_args()

    import pandas as pd

    from energylens.cli.main import main as cli
    from energylens.profiles.datasets import mlenergy_v2

    old = _old_module(args.old) if args.old else None
    times: dict[str, list[float]] = {"cli_predict": [], "plain": []} | ({"cli_predict_old": []} if old else {})
    result: dict = {"repeat": args.repeat, "rounds": args.rounds}
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        base = mlenergy_v2()  # the bundled rows in the schema's columns
        pd.concat([base] * args.repeat, ignore_index=True).to_csv(d / "t.csv", index=False)
        result["rows"] = len(base) * args.repeat
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            assert cli(["fit", "bundled", "-o", str(d / "m.json")]) == 0
        predict = ["predict", str(d / "m.json"), str(d / "t.csv"), "-o"]
        _run_cli([*predict, str(d / "new.csv")], None)  # warm-up: imports, and the frame the plain case writes
        frame = pd.read_csv(d / "new.csv")
        for _ in range(args.rounds):
            for case in times:
                t0 = time.perf_counter()
                if case == "plain":
                    _plain(d / "t.csv", d / "m.json", frame, d / "plain.csv")
                else:
                    _run_cli([*predict, str(d / ("old.csv" if case.endswith("old") else "new.csv"))],
                             old if case.endswith("old") else None)
                times[case].append(time.perf_counter() - t0)
        if old:
            result["same_bytes_csv"] = (d / "old.csv").read_bytes() == (d / "new.csv").read_bytes()
            if args.parquet:
                _run_cli([*predict, str(d / "old.parquet")], old)
                _run_cli([*predict, str(d / "new.parquet")], None)
                result["same_bytes_parquet"] = (d / "old.parquet").read_bytes() == (d / "new.parquet").read_bytes()
    plain = statistics.median(times["plain"])
    result["cases"] = {c: {"median_s": round(statistics.median(v), 3), "min_s": round(min(v), 3),
                           "max_s": round(max(v), 3), "ratio_over_plain": round(statistics.median(v) / plain, 2)}
                       for c, v in times.items()}
    print(result)
    write_result(HERE / "results" / f"predict_cli_{result['rows']}.json", result,
                 machine(pandas=pd.__version__))


if __name__ == "__main__":
    main()
