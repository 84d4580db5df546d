"""A/B of a search's bootstrap pass (P(best) and the energy interval, ``search/uncertainty.py``) against the same
module at another commit, alternated in one process: everything else (the engine, the frames) is the working
tree's, so the difference is the pass's own. Prints wall-clock medians and minima; writes nothing.

    python bench/ab_replicate_pass.py --base c22f338e [--repeats 21] [--large-repeats 7]

Cases: the default search of Llama-3.1-70B at 512 / 256 tokens (TPOT limit 0.2 s) on H100,H200,B200 (GPUs the
bundled fit never saw: P(best) draws their transfer factors, the TPOT's too since 2026-12-07) and on H100 alone, the
first without the limit (the CLI's default: no latency draw); and a 2.1e7-candidate space (4 models
x 4 GPUs, 40 workload points, max_num_seqs 1..256, one thread), where the engine's own pass dominates.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

import energylens
import energylens.search.api as api
from energylens.search.api import bundled_model

L70 = "meta-llama/Llama-3.1-70B-Instruct"
MODELS = ["llama-3.1-8b", "llama-3.1-70b", "mixtral-8x7b", "Qwen/Qwen3-30B-A3B"]


def base_module(rev: str):
    """``search/uncertainty.py`` as it was at ``rev``, imported under another name."""
    root = Path(__file__).resolve().parents[1]
    text = subprocess.run(["git", "show", f"{rev}:python/energylens/search/uncertainty.py"], cwd=root, check=True,
                          capture_output=True, text=True).stdout
    path = Path(tempfile.mkdtemp()) / "base_uncertainty.py"
    path.write_text(text)
    spec = importlib.util.spec_from_file_location("base_uncertainty", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def alternated(call, passes: dict, repeats: int) -> dict[str, list[float]]:
    """Wall seconds of ``call()`` per name of ``passes`` (a replicate_columns each), alternated ``repeats`` times."""
    times: dict[str, list[float]] = {k: [] for k in passes}
    call()  # warm-up
    for _ in range(repeats):
        for name, fn in passes.items():
            api.replicate_columns = fn
            t0 = time.perf_counter()
            call()
            times[name].append(time.perf_counter() - t0)
    return times


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", required=True, help="commit whose search/uncertainty.py is the baseline")
    ap.add_argument("--repeats", type=int, default=21)
    ap.add_argument("--large-repeats", type=int, default=7)
    args = ap.parse_args()
    passes = {"base": base_module(args.base).replicate_columns, "now": api.replicate_columns}
    model = bundled_model()
    warnings.simplefilter("ignore")  # the bundled model's range and unseen-GPU notes
    cases = {gpus: (lambda g=gpus: energylens.search(L70, g, input_tokens=512, output_tokens=256, energy_model=model,
                                                     tpot_limit_s=0.2), args.repeats)
             for gpus in ("H100,H200,B200", "H100")}
    cases["H100,H200,B200, no limit"] = (lambda: energylens.search(L70, "H100,H200,B200", input_tokens=512, output_tokens=256,
                                                                    energy_model=model), args.repeats)
    large = dict(gpus="H100,H200,B200,A100-SXM4-80GB", input_tokens=list(np.linspace(100, 4000, 40)),
                 output_tokens=list(np.linspace(50, 2000, 40)), tp=(1, 2, 4, 8), pp=(1, 2), dp=(1, 2), ep=(1, 2),
                 max_num_seqs=list(range(1, 257)), precision=("bf16", "fp8"), kv_cache_dtype=("auto", "fp8"),
                 energy_model=model, threads=1, tpot_limit_s=0.1)
    cases["2.1e7 candidates"] = (lambda: energylens.search(MODELS, **large), args.large_repeats)
    now = api.replicate_columns
    try:
        for name, (call, repeats) in cases.items():
            t = alternated(call, passes, repeats)
            print(f"{name}: " + "; ".join(f"{k} median {1e3 * statistics.median(v):.2f} ms, min {1e3 * min(v):.2f} ms"
                                          for k, v in t.items()) + f" ({repeats} alternated runs)")
    finally:
        api.replicate_columns = now
    return 0


if __name__ == "__main__":
    sys.exit(main())
