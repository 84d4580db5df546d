"""``energylens profile SPEC.toml -o DIR``: run a profiling sweep into a crash-safe store
(docs/profiling.md). ``energylens fit DIR`` reads the store's rows directly."""

from __future__ import annotations

import argparse

from energylens.profiling import STRATEGIES, load_spec, parse_power_source, run_sweep

__all__ = ["add_parser", "run"]


def _positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {v}")
    return v


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("profile", help="run a profiling sweep (vLLM or transformers) into a crash-safe store")
    p.add_argument("spec", metavar="SPEC.toml", help="sweep spec (docs/profiling.md)")
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="store directory (Parquet part files)")
    p.add_argument("--resume", action="store_true", help="continue the store in DIR, skipping finished units")
    p.add_argument("--retry-failed", action="store_true", help="with --resume: run failed units again")
    p.add_argument("--ray", metavar="ADDRESS", default=None,
                   help="run on a Ray cluster (one task per configuration, its GPUs reserved); 'local' starts one")
    p.add_argument("--ray-no-gpus", action="store_true", help="reserve no GPUs for Ray tasks (CPU clusters, tests)")
    p.add_argument("--power-source", default="nvml", metavar="SOURCE",
                   help="nvml (default; time only where NVML is absent), none, synthetic[:WATTS], replay:FILE")
    p.add_argument("--budget", type=_positive_int, default=None, metavar="N", help="measure at most N units in all")
    p.add_argument("--strategy", choices=STRATEGIES, default="grid",
                   help="grid order, seeded random order, or active (bootstrap-guided) choice")
    p.add_argument("--dry-run", action="store_true", help="validate the spec and list the units; run nothing")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    spec = load_spec(args.spec)  # SweepSpecError (names the key) before anything runs
    parse_power_source(args.power_source)
    if args.dry_run:
        units = spec.configs()
        for c in units:
            print(f"{c.config_id}  {c.describe()}")
        print(f"{len(units)} units")
        return 0
    res = run_sweep(spec, args.output, resume=args.resume, retry_failed=args.retry_failed,
                    power_source=args.power_source, budget=args.budget, strategy=args.strategy,
                    ray_address=args.ray, ray_num_gpus=not args.ray_no_gpus)
    return 0 if res.failed == 0 else 3
