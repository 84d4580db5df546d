"""``energylens profile SPEC.toml -o DIR``: run a profiling sweep into a crash-safe store
(docs/profiling.md). ``energylens fit DIR`` reads the store's rows directly."""

from __future__ import annotations

import argparse
import shlex
import sys

from energylens.cli.parsers.profile import add_parser
from energylens.outputs import plural
from energylens.profiling import Store, load_spec, parse_power_source, plan_sweep, run_sweep
from energylens.profiling.runner import failed_note
from energylens.profiling.start_notes import gpu_name_note
from energylens.profiling.store import PartNotWrittenError

__all__ = ["add_parser", "run"]


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
    except OSError as exc:  # a full disk mid-sweep: a part's own error names where its row went (PartNotWrittenError)
        if isinstance(exc, PartNotWrittenError) or not Store(args.output).exists():
            raise
        raise OSError(f"{exc}{_kept(args)}") from exc
    return 0 if res.failed == 0 else 3


def _kept(args: argparse.Namespace) -> str:
    """The stop line's account of the store: its units' rows on disk, and the command that goes on."""
    store = Store(args.output)
    n = sum(1 for _ in store.parts.glob("*.parquet")) if store.parts.is_dir() else 0
    if n == 0 and store.exists():  # (the same command again is refused: the directory holds a store)
        return f"; no unit had finished, {args.output} holds no rows yet; `{_resume_command(args)}` starts it again"
    if n == 0:
        return f"; no unit had finished, {args.output} holds no rows"
    rows = "unit's row" if n == 1 else "units' rows"
    return (f"; the store {args.output} keeps {n} {rows} (every unit that finished); `{_resume_command(args)}` "
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
    if gpu_note := gpu_name_note(spec, args.ray in (None, "local")):
        print(f"energylens profile: note: {gpu_note}", file=sys.stderr, flush=True)
    if writer := Store(args.output).writer():  # (a run would be refused; the listing is a moment of a moving store)
        print(f"energylens profile: note: another sweep is writing {args.output} now ({writer}): the states below are "
              "as of now", file=sys.stderr, flush=True)
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
