"""Run every benchmark, one process each, writing bench/results/*.json.

    python bench/run_all.py [--only public,model] [--quick]

``--quick`` passes smaller sizes and writes to bench/results/quick/ (a check that the scripts run, not
figures). ``bandwidth_floor.cpp``
is compiled by hand (its header says how) and is not run here. The GPU scripts
(gpu_check.py, gpu_model_check.py) run only where ``nvidia-smi -L`` lists a GPU. A failing script is
reported and the others still run; the exit status is non-zero when any failed.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
OUT = Path("{out}")  # placeholder in the argument lists: the results folder of this run

# name -> (script, arguments for a full run, arguments for --quick, needs a GPU)
BENCHMARKS: dict[str, tuple[str, list[str], list[str], bool]] = {
    "public": ("bench_public.py", ["--json", str(OUT / "public.json")],
               ["--max-rows", "100000", "--df-max-rows", "10000", "--memory-rows", "100000", "--busy-sweep-max-rows", "100000",
                "--json", str(OUT / "public.json")], False),
    "model": ("bench_model.py", ["--json", str(OUT / "model.json")],
              ["--rows", "100000", "--fit-draws", "5", "--json", str(OUT / "model.json")], False),
    "attribution": ("bench_attribution.py", ["--json", str(OUT / "attribution.json")],
                    ["--seeds", "2", "--json", str(OUT / "attribution.json")], False),
    "sampler": ("bench_sampler.py", ["-o", str(OUT / "sampler.json")],
                ["--seconds", "1", "-o", str(OUT / "sampler.json")], False),
    "accuracy_ceiling": ("accuracy_ceiling.py", ["--json", str(OUT / "accuracy_ceiling.json")],
                         ["--repeats", "2", "--json", str(OUT / "accuracy_ceiling.json")], False),
    "template_accuracy": ("template_accuracy.py", ["--json"], ["--json", "--repeats", "2"], False),
    "search_realism": ("search_realism.py", ["--out", str(OUT / "search_realism.json")],
                       ["--repeats", "1", "--out", str(OUT / "search_realism.json")], False),
    "bundled_on_v3": ("bundled_on_v3.py", ["--out", str(OUT / "bundled_on_v3.json")],
                      ["--repeats", "2", "--out", str(OUT / "bundled_on_v3.json")], False),
    "prior_transfer": ("prior_transfer.py", ["--out", str(OUT / "prior_transfer.json")],
                       ["--repeats", "2", "--out", str(OUT / "prior_transfer.json")], False),
    "realism_ceiling": ("realism_ceiling.py", ["--out", str(OUT / "realism_ceiling.json")],
                        ["--draws", "10", "--out", str(OUT / "realism_ceiling.json")], False),
    "gpu_model": ("gpu_model_check.py", ["-o", str(OUT / "gpu_model.json")],
                  ["--rows", "1000000", "--repeats", "7", "-o", str(OUT / "gpu_model.json")], True),
    "gpu": ("gpu_check.py", ["-o", str(OUT / "gpu.json")], ["--quick", "-o", str(OUT / "gpu.json")], True),
}

# Benchmarks that print their JSON instead of writing a file.
PRINTS_JSON = ("template_accuracy",)


def has_gpu() -> bool:
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return False
    out = subprocess.run([smi, "-L"], capture_output=True, text=True, check=False)
    return out.returncode == 0 and "GPU" in out.stdout


def main() -> int:
    ap = argparse.ArgumentParser(description="Run every benchmark (bench/README.md).")
    ap.add_argument("--only", default="", help=f"comma-separated subset of: {', '.join(BENCHMARKS)}")
    ap.add_argument("--quick", action="store_true", help="small sizes: checks the scripts run")
    args = ap.parse_args()
    chosen = [s.strip() for s in args.only.split(",") if s.strip()] or list(BENCHMARKS)
    unknown = [s for s in chosen if s not in BENCHMARKS]
    if unknown:
        ap.error(f"unknown benchmark(s) {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}")
    out_dir = RESULTS / "quick" if args.quick else RESULTS  # quick runs never overwrite the figures
    out_dir.mkdir(parents=True, exist_ok=True)
    gpu = has_gpu()
    failed = []
    for name in chosen:
        script, full, quick, needs_gpu = BENCHMARKS[name]
        if needs_gpu and not gpu:
            print(f"[run_all] {name}: skipped (no GPU listed by nvidia-smi)", flush=True)
            continue
        argv = [sys.executable, str(HERE / script),
                *(a.replace("{out}", str(out_dir)) for a in (quick if args.quick else full))]
        print(f"[run_all] {name}: {' '.join(argv[1:])}", flush=True)
        t0 = time.perf_counter()
        if name in PRINTS_JSON:  # writes its JSON to stdout
            with open(out_dir / f"{name}.json", "w") as out:
                rc = subprocess.call(argv, stdout=out)
        else:
            rc = subprocess.call(argv)
        print(f"[run_all] {name}: exit {rc} after {time.perf_counter() - t0:.0f} s", flush=True)
        if rc != 0:
            failed.append(name)
    if failed:
        print(f"[run_all] failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
