"""Peak memory (max RSS) of predict, predict_interval and evaluate at scale (issue 13's targets).

Each scenario runs in a fresh Python process (``resource.getrusage(RUSAGE_SELF).ru_maxrss``), so one
scenario's peak does not hide another's. The rows are the bundled ML.ENERGY v2 configurations tiled to
the size asked (schema columns only: model, params_b, gpu, tp, pp, batch_size, input_tokens,
output_tokens, plus energy_j / tpot_s / ttft_s for evaluate), built inside the measured process, so the
peak includes the input table. The baseline of each row is the process's RSS after building its input
(``input_rss_mb``); the peak minus it is what the call itself needed.

    python bench/bench_memory.py                         # the targets: 1e7 predict, 1e7 intervals, 1e6 evaluate
    python bench/bench_memory.py --rows 1e5 --scenarios predict,interval   # a quick look

Writes bench/results/memory.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

TARGETS_MB = {"predict": 3 * 1024, "interval": 4 * 1024, "evaluate": 4 * 1024}
DEFAULT_ROWS = {"predict": 10_000_000, "interval": 10_000_000, "evaluate": 1_000_000}
COLUMNS = ["model", "params_b", "gpu", "tp", "pp", "batch_size", "input_tokens", "output_tokens"]


def _rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _frame(rows: int, with_targets: bool):
    import numpy as np
    import pandas as pd

    from energylens.profiles.datasets import load_profiles_or_bundled

    base = load_profiles_or_bundled("bundled")
    cols = COLUMNS + (["energy_j", "tpot_s", "ttft_s", "task"] if with_targets else [])
    small = pd.DataFrame(base[cols])
    reps = -(-rows // len(small))
    idx = np.tile(np.arange(len(small)), reps)[:rows]
    frame = small.iloc[idx].reset_index(drop=True)
    if with_targets:  # measurement scatter, so that rows are not exact copies
        rng = np.random.default_rng(0)
        frame["energy_j"] = frame["energy_j"].to_numpy() * np.exp(rng.normal(0, 0.05, rows))
    for c in ("model", "gpu") + (("task",) if with_targets else ()):
        frame[c] = frame[c].astype("category")
    return frame, base


def child(scenario: str, rows: int) -> dict:
    """Run one scenario in this process and return its numbers."""
    import warnings

    from energylens.model import EnergyModel

    warnings.simplefilter("ignore")
    frame, base = _frame(rows, scenario == "evaluate")
    model = EnergyModel(seed=0).fit(base)  # the default 200 bootstrap replicates
    input_rss = _rss_mb()
    t0 = time.perf_counter()
    if scenario == "predict":
        out = model.predict(frame)
        check = float(out.sum())
    elif scenario == "interval":
        out = model.predict_interval(frame)
        check = float(out["energy_j_hi"].sum())
    else:
        from energylens.compare.runner import run_evaluation

        res = run_evaluation(frame, train_size=50, repeats=1, method_names=["energylens"], progress=False)
        check = float(len(res.table))
    seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    return {"scenario": scenario, "rows": rows, "peak_rss_mb": round(peak, 1), "input_rss_mb": round(input_rss, 1),
            "target_mb": TARGETS_MB[scenario], "within_target": peak <= TARGETS_MB[scenario],
            "seconds": round(seconds, 2), "checksum": check}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenarios", default="predict,interval,evaluate")
    ap.add_argument("--rows", type=float, default=None, help="rows for every scenario (default: the targets')")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "memory.json"))
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.child, int(args.rows))))
        return 0
    out = Path(args.out)
    previous = json.loads(out.read_text())["results"] if out.exists() else []
    results: list[dict] = []
    for scenario in args.scenarios.split(","):
        rows = int(args.rows) if args.rows else DEFAULT_ROWS[scenario]
        proc = subprocess.run([sys.executable, __file__, "--child", scenario, "--rows", str(rows)],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            results.append({"scenario": scenario, "rows": rows, "error": proc.stderr[-2000:],
                            "returncode": proc.returncode})
        else:
            results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        print(json.dumps(results[-1]), flush=True)
        # Runs of other scenarios or sizes already in the file are kept (one run per scenario and size).
        keep = [r for r in previous if (r["scenario"], r["rows"]) not in {(x["scenario"], x["rows"]) for x in results}]
        doc = {"machine": platform.platform(), "python": platform.python_version(),
               "cpus": len(os.sched_getaffinity(0)), "results": keep + results}
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(doc, indent=1))  # after each scenario: long runs keep what finished
    return 0 if all(r.get("within_target") for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
