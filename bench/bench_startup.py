"""Start-up of the search path, each run a fresh interpreter: ``import energylens.search`` and the command
``energylens search --model meta-llama/Llama-3.1-70B-Instruct --gpus H100 --input-tokens 512 --output-tokens 256``
end to end (``energylens.cli.main`` in ``python -c``; wall time of the child process, stdout kept).

With ``--base PATH`` (the root of an earlier checkout, e.g. ``git worktree add /tmp/base COMMIT``) each case runs
on both trees in alternation, rounds alternating which goes first, and the search's stdout is compared (its own
timing, "in 0.001 s on", masked): ``same_output``. Both trees run the same way: ``PYTHONPATH`` names the tree's
python/ folder and a generated sitecustomize.py that drops the editable install's finder and loads the installed
native core (``energylens._core``), so only the Python sources differ.

``--bytecode``: the children write and read ``.pyc`` under a temporary ``PYTHONPYCACHEPREFIX`` (one warm-up run
per case and tree first), what an installed package sees; without it they inherit this environment (where
``PYTHONDONTWRITEBYTECODE=1`` is set, energylens' sources are compiled in every run). Medians over ``--rounds``
(min and max beside); writes bench/results/startup[_bytecode].json with the machine and the load average.

    python bench/bench_startup.py [--rounds 5] [--base /tmp/base] [--bytecode]
"""
from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_env import machine, write_result

HERE = Path(__file__).resolve().parent
SEARCH = ["search", "--model", "meta-llama/Llama-3.1-70B-Instruct", "--gpus", "H100", "--input-tokens", "512",
          "--output-tokens", "256"]
CASES = {
    "import_energylens_search": "import energylens.search",
    "cli_search": f"import sys\nfrom energylens.cli import main\nsys.exit(main({SEARCH!r}))",
}
SITECUSTOMIZE = """import importlib.util, sys
sys.meta_path[:] = [f for f in sys.meta_path if "editable" not in type(f).__module__.lower()]
_spec = importlib.util.spec_from_file_location("energylens._core", {core!r})
sys.modules["energylens._core"] = _mod = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_mod)
"""


def _env(tree: Path, site: Path, pycache: Path | None) -> dict:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(site), str(tree / "python")]))
    if pycache is not None:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(pycache)
    return env


def _run(code: str, env: dict) -> tuple[float, str]:
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"bench_startup: {code!r} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    return seconds, re.sub(r"in [0-9.e+-]+ s on", "in T s on", proc.stdout)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=5, help="runs of each case per tree (default 5)")
    ap.add_argument("--base", type=Path, default=None, help="root of an earlier checkout to compare against")
    ap.add_argument("--bytecode", action="store_true", help="children cache .pyc under a temporary prefix")
    ap.add_argument("--json", type=Path, default=None, help="result file (default bench/results/startup*.json)")
    args = ap.parse_args()
    if args.rounds < 1:
        ap.error("--rounds must be at least 1")
    import energylens._core as core  # the installed native core, loaded by both trees' children

    trees = {"new": HERE.parent}
    if args.base is not None:
        if not (args.base / "python" / "energylens" / "__init__.py").is_file():
            ap.error(f"--base {args.base}: no python/energylens/__init__.py there")
        trees = {"base": args.base.resolve(), **trees}
    times = {case: {name: [] for name in trees} for case in CASES}
    outputs = {name: set() for name in trees}
    with tempfile.TemporaryDirectory() as tmp:
        site = Path(tmp) / "site"
        site.mkdir()
        (site / "sitecustomize.py").write_text(SITECUSTOMIZE.format(core=core.__file__))
        envs = {name: _env(tree, site, Path(tmp) / name if args.bytecode else None) for name, tree in trees.items()}
        for name, tree in trees.items():  # each child imports its tree's sources, not the editable install's
            _, where = _run("import energylens.search as s; print(s.__file__)", envs[name])
            if not Path(where.strip()).is_relative_to(tree):
                raise SystemExit(f"bench_startup: the {name} tree's child imported {where.strip()}, not {tree}")
            for code in CASES.values() if args.bytecode else ():  # write the .pyc files (the interpreter's too)
                _run(code, envs[name])
        for r in range(args.rounds):
            order = list(trees) if r % 2 == 0 else list(reversed(trees))
            for case, code in CASES.items():
                for name in order:
                    seconds, out = _run(code, envs[name])
                    times[case][name].append(seconds)
                    if case == "cli_search":
                        outputs[name].add(out)
    result = {"rounds": args.rounds, "bytecode": args.bytecode, "trees": {k: str(v) for k, v in trees.items()},
              "dont_write_bytecode": os.environ.get("PYTHONDONTWRITEBYTECODE", ""),
              "same_output": len(set().union(*outputs.values())) == 1, "cases": {}}
    for case, by_tree in times.items():
        result["cases"][case] = {name: {"median_s": round(statistics.median(ts), 4), "min_s": round(min(ts), 4),
                                        "max_s": round(max(ts), 4)} for name, ts in by_tree.items()}
        print(case, "  ".join(f"{name} {v['median_s']:.3f} s (min {v['min_s']:.3f}, max {v['max_s']:.3f})"
                              for name, v in result["cases"][case].items()))
    print("same search output:", result["same_output"])
    path = args.json or HERE / "results" / f"startup{'_bytecode' if args.bytecode else ''}.json"
    write_result(path, result, machine())


if __name__ == "__main__":
    main()
