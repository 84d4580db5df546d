"""Device check of issue 15: transformers-backend prefill + decode energy against the measured total.

On a GPU with NVML: builds a randomly initialised Llama locally (no download; ``--layers/--hidden``,
default 8 layers of 2048, ~0.5B parameters in bf16, built on the CPU in seconds), runs a small sweep through the real transformers backend with the
NVML power source and ``min_window_s`` long enough for NVML's ~100 ms update period, and compares,
per configuration,

* ``prefill_energy_j`` (from prefill-only runs) + ``decode_window_energy_j`` (the decode window of the
  full run) against ``energy_j`` (the full run's own total window): target within 3 %;
* ``prefill_energy_j`` against ``prefill_in_run_energy_j`` (the same phase measured inside the run).

Writes ``-o`` (JSON) after the model is built and after every unit (so a run cut short by the device
session's deadline leaves what it measured), and exits 1 when a configuration misses 3 %. Needs torch (CUDA), transformers and
an NVIDIA driver; bench/gpu_session.sh can call it:

    python3 bench/gpu_profiling_check.py -o "$OUT/gpu_profiling_check.json"
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-o", "--output", default="bench/results/gpu_profiling_check.json")
    ap.add_argument("--layers", type=int, default=8)
    ap.add_argument("--hidden", type=int, default=2048)
    ap.add_argument("--heads", type=int, default=16)
    ap.add_argument("--min-window-s", type=float, default=1.0, help="prefill-only window length (>> 100 ms)")
    ap.add_argument("--tolerance", type=float, default=0.03)
    args = ap.parse_args()

    import torch

    from energylens.profiles import load_profiles
    from energylens.profiling import parse_spec, run_sweep
    from energylens.profiling.testing import build_tiny_llama
    from energylens.profiling.worker import execute

    if not torch.cuda.is_available():
        print("no CUDA device: this check needs a GPU", file=sys.stderr)
        return 2
    t0 = time.time()
    partial = {"stage": "building the model", "units": []}

    def save() -> None:  # after each stage: a run cut short keeps what it measured
        partial["seconds"] = time.time() - t0
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(json.dumps(partial, indent=1, default=str))

    def run_one(cfg, source):
        row = execute(cfg, source)
        partial["units"].append({k: row.get(k) for k in ("status", "error", "max_num_seqs", "input_tokens",
                                                         "energy_j", "prefill_energy_j", "decode_window_energy_j",
                                                         "prefill_in_run_energy_j", "ttft_s", "tpot_s")})
        partial["stage"] = f"{len(partial['units'])} units measured"
        save()
        return row

    save()
    with tempfile.TemporaryDirectory() as tmp:
        model = build_tiny_llama(Path(tmp) / "llama", layers=args.layers, hidden=args.hidden, heads=args.heads,
                                 vocab=32000, dtype="bfloat16", max_positions=4096)
        partial["stage"] = "model built"
        save()
        spec = parse_spec({
            "sweep": {"backend": "transformers", "warmup": 2, "min_window_s": args.min_window_s, "seed": 0},
            "grid": {"models": [str(model)], "precision": ["bf16"], "max_num_seqs": [1, 8, 32],
                     "input_len": [512, 2048], "output_len": [128]}})
        res = run_sweep(spec, str(Path(tmp) / "store"), power_source="nvml", run_one=run_one)
        if res.ok == 0:
            partial.update(stage="no unit succeeded (their errors above)", passed=False)
            save()
            print(f"every unit failed; wrote {args.output}", file=sys.stderr)
            return 1
        df = load_profiles(Path(tmp) / "store")
    parts = df["prefill_energy_j"] + df["decode_window_energy_j"]
    rel = (parts / df["energy_j"] - 1.0).to_numpy()
    rel_prefill = (df["prefill_energy_j"] / df["prefill_in_run_energy_j"] - 1.0).to_numpy()
    out = {
        "device": str(df["device"].iloc[0]), "driver": str(df["driver_version"].iloc[0]),
        "power_source": str(df["power_source"].iloc[0]), "ok": res.ok, "failed": res.failed,
        "params_b": float(df["params_b"].iloc[0]), "tolerance": args.tolerance,
        "rows": [{"batch": int(r.max_num_seqs), "input": float(r.input_tokens), "output": float(r.output_tokens),
                  "energy_j": float(r.energy_j), "prefill_energy_j": float(r.prefill_energy_j),
                  "decode_window_energy_j": float(r.decode_window_energy_j),
                  "prefill_in_run_energy_j": float(r.prefill_in_run_energy_j), "ttft_s": float(r.ttft_s),
                  "tpot_s": float(r.tpot_s), "latency_s": float(r.latency_s), "short_windows": int(r.short_windows),
                  "rel_sum_vs_total": float(a), "rel_prefill_only_vs_in_run": float(b)}
                 for r, a, b in zip(df.itertuples(), rel, rel_prefill, strict=True)],
        "max_abs_rel_sum_vs_total": float(np.max(np.abs(rel))),
        "passed": bool(np.all(np.abs(rel) <= args.tolerance)) and res.failed == 0,
        "seconds": time.time() - t0,
    }
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(out, indent=1))
    print(f"prefill + decode vs total: max |rel| {out['max_abs_rel_sum_vs_total']:.4f} "
          f"(target {args.tolerance}); {'PASS' if out['passed'] else 'FAIL'}; wrote {args.output}")
    return 0 if out["passed"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
