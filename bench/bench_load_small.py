"""``load_profiles`` on a small raw table and a one-row ``energylens.search(candidates=...)``: this checkout
against a baseline checkout (a ``git worktree`` of an earlier commit), run back to back.

The per-call fixed cost a scheduler pays when it hands energylens a table it built: the schema pass of
``load_profiles`` on 1, 10, 1000 and 100,000 rows of the bundled ML.ENERGY v2 set as a user's frame holds them (11
columns: the required ones, ``precision`` and ``tpot_s``, text as pandas ``str``, counts int64), and one
``search`` over a one-row candidate table (as bench/bench_search_fixed_cost.py, a model fitted on 50 bundled
rows, no bootstrap). Each side runs in its own process, kept alive; each case is timed ``--rounds`` times
in alternation (baseline, ours, baseline, ...), moments apart, with ``bench_public.sample`` (median of
``--repeats`` samples, a sample of a call shorter than 2 ms repeats it and divides); a side's figure is the
median over its rounds, min and max beside, and the ratio is baseline / ours. Writes
bench/results/load_small.json.

    git worktree add /tmp/wt_base <commit>
    cp "$(python -c 'import energylens._core as c; print(c.__file__)')" /tmp/wt_base/python/energylens/
    python bench/bench_load_small.py --baseline /tmp/wt_base/python [--ours /tmp/wt_ours/python] [--rounds 9]
    python bench/bench_load_small.py --baseline /tmp/wt_base/python --profile 1   # where the time goes
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from bench_env import machine, write_result

HERE = Path(__file__).resolve().parent
OUT = HERE / "results" / "load_small.json"
COLUMNS = ("model", "params_b", "gpu", "tp", "pp", "batch_size", "input_tokens", "output_tokens", "energy_j",
           "precision", "tpot_s")
ROWS = (1, 10, 1000, 100_000)  # the last: no regression on a large table


def _use_checkout(python_dir: str) -> None:
    """Import energylens from ``python_dir`` (a baseline worktree's python/, its ``_core`` copied in): the
    editable install's import hook, which maps energylens to this checkout, is taken out first."""
    sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != "ScikitBuildRedirectingFinder"]
    sys.path.insert(0, python_dir)


def cases() -> dict:
    """Every case as a call, in this process (the checkout chosen before energylens is imported)."""
    import warnings

    import numpy as np
    import pandas as pd

    import energylens
    from energylens.model import EnergyModel
    from energylens.profiles import load_profiles, read_profiles
    from energylens.profiles.datasets import mlenergy_v2

    warnings.simplefilter("ignore")
    base = mlenergy_v2()
    out = {}
    for n in ROWS:
        idx = np.random.default_rng(0).integers(0, len(base), n)
        frame = pd.DataFrame({c: base[c].to_numpy()[idx] for c in COLUMNS})
        out[f"load_profiles_{n}_rows"] = lambda f=frame: load_profiles(f)
    model = EnergyModel(bootstrap=0, seed=0).fit(read_profiles("bundled").sample(50, random_state=0))
    table = pd.DataFrame({"model": ["meta-llama/Meta-Llama-3.1-8B-Instruct"], "gpu": ["H100"], "tp": [1],
                          "batch_size": [32.0], "input_tokens": [512.0], "output_tokens": [256.0]})
    out["search_one_row_candidates"] = lambda: energylens.search(candidates=table, energy_model=model,
                                                                 bootstrap=False)
    return out


def child(repeats: int) -> None:
    """Serve timings: the checkout's path, then for each case name read from stdin its ``sample`` as a JSON line."""
    import energylens

    sys.path.insert(0, str(HERE))
    from bench_public import sample

    calls = cases()
    print(json.dumps({"energylens": str(Path(energylens.__file__).parent), "cases": list(calls)}), flush=True)
    for line in sys.stdin:
        print(json.dumps(sample(calls[line.strip()], repeats)), flush=True)


def profile(rows: int, calls: int = 200) -> None:
    """Where one load_profiles call on ``rows`` rows spends its time, in this process's checkout: calls per load of
    the pandas steps that cost a small table most, and the energylens functions by cumulative time (cProfile)."""
    import cProfile
    import pstats
    import warnings

    import numpy as np
    import pandas as pd

    from energylens.profiles import load_profiles
    from energylens.profiles.datasets import mlenergy_v2

    warnings.simplefilter("ignore")
    base = mlenergy_v2()
    idx = np.random.default_rng(0).integers(0, len(base), rows)
    frame = pd.DataFrame({c: base[c].to_numpy()[idx] for c in COLUMNS})
    load_profiles(frame)
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(calls):
        load_profiles(frame)
    prof.disable()
    stats = pstats.Stats(prof)
    per_load = {f"{Path(f).parent.name}/{Path(f).name}:{name}": n / calls for (f, _l, name), (_cc, n, *_rest)
                in stats.stats.items() if name in ("__getitem__", "__init__", "astype", "to_numeric", "isna")
                and "pandas" in f and n >= calls}
    print(json.dumps({"rows": rows, "pandas_calls_per_load": dict(sorted(per_load.items()))}, indent=1))
    stats.sort_stats("cumulative").print_stats(r"energylens/profiles", 15)


def _start(checkout: str | None, repeats: int) -> tuple[subprocess.Popen, dict]:
    """A child timing ``checkout`` (a python/ directory; None: the installed energylens)."""
    cmd = [sys.executable, __file__, "--child", "--repeats", str(repeats)]
    if checkout:
        cmd += ["--baseline", checkout]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    return proc, json.loads(proc.stdout.readline())


def _ask(proc: subprocess.Popen, case: str) -> dict:
    proc.stdin.write(case + "\n")
    proc.stdin.flush()
    return json.loads(proc.stdout.readline())


def _machine() -> dict:
    import pandas as pd

    return machine(numpy=np.__version__, pandas=pd.__version__)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline", help="python/ directory of the baseline worktree (_core copied in)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--ours", help="python/ directory of the checkout to time against the baseline (default: the "
                    "installed energylens, this checkout); a worktree of the baseline with only the change under "
                    "test applied keeps other work on the branch out of the ratio")
    ap.add_argument("--profile", type=int, default=0, metavar="ROWS",
                    help="instead of timing: profile load_profiles on ROWS rows in the baseline, then in ours")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--json", type=Path, default=OUT)
    args = ap.parse_args()
    if args.child:
        if args.baseline:
            _use_checkout(args.baseline)
        profile(args.profile) if args.profile else child(args.repeats)
        return
    if not args.baseline:
        ap.error("--baseline is required: the python/ directory of the baseline worktree")
    if args.profile:
        for side, checkout in (("baseline", args.baseline), ("ours", args.ours)):
            print(f"--- {side}: {checkout or 'the installed energylens'}", flush=True)
            subprocess.run([sys.executable, __file__, "--child", "--profile", str(args.profile),
                            *(["--baseline", checkout] if checkout else [])], check=True)
        return
    sides = {"baseline": _start(args.baseline, args.repeats), "ours": _start(args.ours, args.repeats)}
    assert sides["baseline"][1]["energylens"] != sides["ours"][1]["energylens"], "both sides imported one checkout"
    result = {"baseline": sides["baseline"][1]["energylens"], "ours": sides["ours"][1]["energylens"],
              "rounds": args.rounds, "repeats": args.repeats, "cases": {}}
    try:
        for case in sides["ours"][1]["cases"]:
            runs = {"baseline": [], "ours": []}
            for _ in range(args.rounds):  # the two sides in alternation, moments apart
                for side, (proc, _info) in sides.items():
                    runs[side].append(_ask(proc, case)["median_s"] * 1e3)
            row = {f"{side}_ms": {"median": float(np.median(t)), "min": min(t), "max": max(t)} for side, t in runs.items()}
            row["ratio_baseline_over_ours"] = row["baseline_ms"]["median"] / row["ours_ms"]["median"]
            result["cases"][case] = row
            print(f"{case:28s} baseline {row['baseline_ms']['median']:7.3f} ms ({row['baseline_ms']['min']:.3f}-"
                  f"{row['baseline_ms']['max']:.3f})  ours {row['ours_ms']['median']:7.3f} ms "
                  f"({row['ours_ms']['min']:.3f}-{row['ours_ms']['max']:.3f})  "
                  f"{row['ratio_baseline_over_ours']:.2f}x", flush=True)
    finally:
        for proc, _info in sides.values():
            proc.stdin.close()
            proc.wait()
    write_result(args.json, result, _machine())
    print(f"wrote {args.json} (load average {result['load_average']})")


if __name__ == "__main__":
    main()
