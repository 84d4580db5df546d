"""Device check of issue 15: transformers-backend prefill + decode energy against the measured total.

On a GPU with NVML: builds a randomly initialised Llama locally (no download; ``--layers/--hidden``,
default 8 layers of 2048, ~0.5B parameters in bf16, built on the CPU in seconds), runs a small sweep through the real transformers backend with the
NVML power source and ``min_window_s`` long enough for NVML's ~100 ms update period, and compares,
per configuration,

* ``prefill_energy_j`` (from prefill-only runs) + ``decode_window_energy_j`` (the decode window of the
  full run) against ``energy_j`` (the full run's own total window): target within 3 %;
* ``prefill_energy_j`` against ``prefill_in_run_energy_j`` (the same phase measured inside the run).

Writes ``-o`` (JSON) after the model is built and after every unit (so a run cut short by the device
session's deadline leaves what it measured), and exits 1 when a configuration misses 3 %. Needs torch (CUDA),
transformers and an NVIDIA driver (without them it writes the reason, ``skipped``, and exits 0; ``--dry-run``
runs it on the CPU with a synthetic power source); bench/gpu_session.sh calls it:

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
    ap.add_argument("--dry-run", action="store_true",
                    help="check the script on a machine without a GPU: the CPU, a synthetic 300 W power source, a "
                         "2-layer model and a 2 x 2 grid (the figures then say nothing about a GPU)")
    args = ap.parse_args()
    t0 = time.time()

    try:
        import torch
        import transformers  # noqa: F401 - the backend's; absent, the check cannot run
    except ImportError as exc:
        return _skip(args.output, f"torch and transformers are needed ({exc})")

    from energylens.profiles import load_profiles
    from energylens.profiling import parse_spec, run_sweep
    from energylens.profiling.testing import build_tiny_llama
    from energylens.profiling.worker import execute

    if not torch.cuda.is_available() and not args.dry_run:
        return _skip(args.output, "no CUDA device for torch (torch.cuda.is_available() is False): this check needs "
                                  "a GPU (--dry-run checks the script on the CPU)")
    if args.dry_run:
        args.layers, args.hidden, args.heads = 2, 64, 2
    partial = {"stage": "building the model", "units": [], "dry_run": args.dry_run}

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
                                 vocab=256 if args.dry_run else 32000, dtype="float32" if args.dry_run else "bfloat16",
                                 max_positions=4096)
        partial["stage"] = "model built"
        save()
        grid = ({"max_num_seqs": [1, 2], "input_len": [16, 32], "output_len": [8]} if args.dry_run else
                {"max_num_seqs": [1, 8, 32], "input_len": [512, 2048], "output_len": [128]})
        spec = parse_spec({
            "sweep": {"backend": "transformers", "warmup": 1 if args.dry_run else 2,
                      "min_window_s": 0.05 if args.dry_run else args.min_window_s, "seed": 0},
            "grid": {"models": [str(model)], "precision": ["fp32" if args.dry_run else "bf16"], **grid}})
        res = run_sweep(spec, str(Path(tmp) / "store"), power_source="synthetic:300" if args.dry_run else "nvml",
                        run_one=run_one)
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
        "seconds": time.time() - t0, "dry_run": args.dry_run,
    }
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(out, indent=1))
    print(f"prefill + decode vs total: max |rel| {out['max_abs_rel_sum_vs_total']:.4f} "
          f"(target {args.tolerance}); {'PASS' if out['passed'] else 'FAIL'}; wrote {args.output}")
    return 0 if out["passed"] else 1


def _skip(output: str, why: str) -> int:
    """Write the reason this check cannot run (``skipped``) and exit 0: a machine without what it needs."""
    Path(output).parent.mkdir(parents=True, exist_ok=True)
    Path(output).write_text(json.dumps({"skipped": why}, indent=1))
    print(f"gpu_profiling_check skipped: {why}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
