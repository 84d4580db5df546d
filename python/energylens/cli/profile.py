"""``energylens profile SPEC.toml -o DIR``: run a profiling sweep into a crash-safe store
(docs/profiling.md). ``energylens fit DIR`` reads the store's rows directly."""

from __future__ import annotations

import argparse
import shlex

from energylens.outputs import plural
from energylens.profiling import STRATEGIES, Store, load_spec, parse_power_source, plan_sweep, run_sweep
from energylens.profiling.active_known import STOPS, WIDTH
from energylens.profiling.engine_resume import CHANGED_ENGINE_ARGS
from energylens.profiling.runner import failed_note

__all__ = ["add_parser", "run"]


def _positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {v}")
    return v


def _width(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
    if not 0 < v <= 1:
        raise argparse.ArgumentTypeError(f"must be a relative width in (0, 1] (0.2: 20 %), got {text}")
    return v


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``energylens profile``; its exit statuses are in its --help (3, failed units, was said nowhere)."""
    p = sub.add_parser("profile", help="run a profiling sweep (vLLM or transformers) into a crash-safe store",
                       description="Exit status: 0 when every unit this run measured finished, 3 when some failed "
                                   "(each recorded in the store with its error; --resume --retry-failed runs them "
                                   "again), 2 for a bad spec, option or store (before anything runs), or for a store that cannot "
                                   "be written mid-sweep (full disk, read-only: the line names where the "
                                   "unit's row was rescued; --resume takes it in), 130 / 143 on SIGINT / "
                                   "SIGTERM.")
    p.add_argument("spec", metavar="SPEC.toml", help="sweep spec (docs/profiling.md)")
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="store directory (Parquet part files)")
    p.add_argument("--resume", action="store_true", help="continue the store in DIR, skipping finished units")
    p.add_argument("--retry-failed", action="store_true", help="with --resume: run failed units again")
    p.add_argument("--changed-engine-args", choices=CHANGED_ENGINE_ARGS, default=None,
                   help="with --resume, for vLLM rows measured with other engine arguments than this energylens gives "
                        "(they are not part of a unit's id; without this option such a store is refused): remeasure "
                        "(their rows move to DIR/superseded/) or keep them as done")
    p.add_argument("--ray", metavar="ADDRESS", default=None,
                   help="run on a Ray cluster (one task per configuration, its GPUs reserved); 'local' starts one")
    p.add_argument("--ray-no-gpus", action="store_true", help="reserve no GPUs for Ray tasks (CPU clusters, tests)")
    p.add_argument("--power-source", default="nvml", metavar="SOURCE",
                   help="nvml (default; time only where NVML is absent), none, synthetic[:WATTS], replay:FILE")
    p.add_argument("--budget", type=_positive_int, default=None, metavar="N",
                   help="measure at most N units in all, failed ones included (default: every unit)")
    p.add_argument("--strategy", choices=STRATEGIES, default="grid",
                   help="grid order, seeded random order (sweep.seed), or active choice (a seeded start design, "
                        "then where the fitted model is least sure; it stops as --stop says) (default: grid)")
    p.add_argument("--stop", choices=STOPS, default=None,
                   help="with --strategy active: known (the default) stops before --budget once the model is known: "
                        "every group's predicted cheapest unit unchanged over 3 fits, each with p_opt >= 0.9 and "
                        "the median 90 %% interval of the unmeasured units' predicted energy within --known-width; "
                        "budget measures to --budget (docs/profiling.md)")
    p.add_argument("--known-width", type=_width, default=None, metavar="W",
                   help=f"with --stop known: the relative interval width that counts as known (default: {WIDTH:g})")
    p.add_argument("--dry-run", action="store_true",
                   help="check the spec, power source and store as a run would, list every unit with its state in "
                        "DIR and the units a run would measure now, in order (active: those it would measure first, "
                        "the start design; later ones depend on the energies measured); run and write nothing")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.retry_failed and not args.resume:
        raise ValueError("--retry-failed runs a store's failed units again, with --resume: add --resume")
    if args.changed_engine_args and not args.resume:
        raise ValueError("--changed-engine-args says what --resume does with a store's rows measured under other "
                         "engine arguments: add --resume")
    if args.ray_no_gpus and args.ray is None:
        raise ValueError("--ray-no-gpus sets the GPUs of Ray tasks, with --ray ADDRESS: add --ray or drop it")
    spec = load_spec(args.spec)  # SweepSpecError (names the key) before anything runs
    parse_power_source(args.power_source)
    if args.dry_run:
        return _dry_run(spec, args)
    try:
        res = run_sweep(spec, args.output, resume=args.resume, retry_failed=args.retry_failed,
                        power_source=args.power_source, budget=args.budget, strategy=args.strategy,
                        ray_address=args.ray, ray_num_gpus=not args.ray_no_gpus,
                        changed_engine_args=args.changed_engine_args, stop=args.stop, known_width=args.known_width)
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM (cli.main.Terminated): say what the store kept
        exc.stopped_detail = _kept(args)  # type: ignore[attr-defined]  (cli.main's stop line reads it)
        raise
    return 0 if res.failed == 0 else 3


def _kept(args: argparse.Namespace) -> str:
    """The stop line's account of the store: its units' rows on disk, and the command that goes on."""
    parts = Store(args.output).parts
    n = sum(1 for _ in parts.glob("*.parquet")) if parts.is_dir() else 0
    if n == 0:
        return f"; no unit had finished, {args.output} holds no rows"
    return (f"; the store {args.output} keeps {n} units' rows (every unit that finished); `{_resume_command(args)}` "
            "measures the rest")


def _resume_command(args: argparse.Namespace) -> str:
    """The command that goes on: this run's options then --resume (without them a `--strategy active --budget 20`
    sweep went on in grid order through every unit left, and another power source was refused)."""
    words = ["energylens", "profile", args.spec, "-o", args.output]
    for flag, value, default in (("--power-source", args.power_source, "nvml"), ("--ray", args.ray, None),
                                 ("--strategy", args.strategy, "grid"), ("--budget", args.budget, None),
                                 ("--stop", args.stop, None), ("--known-width", args.known_width, None),
                                 ("--changed-engine-args", args.changed_engine_args, None)):
        words += [flag, str(value)] if value != default else []
    words += ["--ray-no-gpus"] * args.ray_no_gpus + ["--retry-failed"] * args.retry_failed + ["--resume"]
    return shlex.join(words)


def _dry_run(spec, args: argparse.Namespace) -> int:
    plan = plan_sweep(spec, args.output, resume=args.resume, retry_failed=args.retry_failed,
                      power_source=args.power_source, budget=args.budget, strategy=args.strategy, ray_address=args.ray,
                      changed_engine_args=args.changed_engine_args, stop=args.stop, known_width=args.known_width)
    first = [(c, "") for c in plan.run] if plan.run is not None else plan.first
    position = {c.config_id: (k, why) for k, (c, why) in enumerate(first, start=1)}
    for c, state in plan.units:
        k, why = position.get(c.config_id, (0, ""))
        if k:
            mark = f"run {k:>{len(str(plan.n_run))}}"
        elif state == "ok" or (state == "failed" and not args.retry_failed):
            mark = f"done ({state})"
        else:  # active chooses among the new units as it measures; a failed one past --budget waits
            room = plan.n_run > len(first) and not plan.known
            mark = "candidate" if plan.run is None and not state and room else "later"
        print(f"{c.config_id}  {mark:<13}  {c.describe()}" + (f"  [{why}]" if why else ""))  # (13: "done (failed)")
    where = f"{args.output} holds {plan.skipped} of them done" if plan.store_exists else f"{args.output} holds no store yet"
    print(f"{plural(len(plan.units), 'unit')}; {where}" + failed_note(plan.failed_before, args.retry_failed)
          + f"; a run would measure {_would(plan, args)}; nothing was run or written")
    return 0


def _would(plan, args: argparse.Namespace) -> str:
    """The dry run's last line's word on what a run would measure: grid / random their order; active the units
    it would measure first and that the rest is chosen from the energies measured, and when it stops."""
    budget = f", --budget {args.budget}" if args.budget else ""
    if plan.run is not None:
        return f"{plan.n_run} now ({args.strategy} order{', on Ray ' + args.ray if args.ray else ''}{budget})"
    if plan.known:
        return (f"nothing new: the model was known when the store's last sweep stopped ({plan.known}) and nothing "
                "was measured since (--stop budget measures on to --budget)")
    stop = ("until --budget" if args.stop == "budget" else "until the model is known (--stop known) or --budget")
    rest = plan.n_run - len(plan.first)
    return (f"up to {plan.n_run} (active{budget}): first the {len(plan.first)} marked run, in that order, if each is "
            "measured (retried failed units, then the start design, planned from the model facts known now)"
            + (f", then up to {rest} candidates chosen one at a time from the energies measured, {stop}" if rest > 0
               else ""))
