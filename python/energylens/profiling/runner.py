"""The sweep loop: expand the spec, skip what the store holds, run the rest, write each row at once.

:func:`run_sweep` runs the units of work of a :class:`SweepSpec` in order (``strategy="grid"``), in a
seeded random order (``"random"``) or chosen one by one by :class:`ActiveChooser` (``"active"``),
at most ``budget`` of them; locally or on a Ray cluster (:mod:`energylens.profiling.ray_runner`).
A failed unit is a row with its error; the sweep goes on. Progress lines carry an ETA.
"""

from __future__ import annotations

import hashlib
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from energylens.capabilities import capabilities
from energylens.errors import UnknownGpuError
from energylens.outputs import plural
from energylens.profiles import tables
from energylens.profiles.store_dir import read_part
from energylens.profiling.active import ActiveChooser
from energylens.profiling.backend_transformers import static_batch_lengths
from energylens.profiling.engine_resume import (
    CHANGED_ENGINE_ARGS,
    changed_error,
    changed_note,
    engine_args_changes,
)
from energylens.profiling.hf_config import SHAPE_COLUMNS
from energylens.profiling.meter import check_power_source, ordinal_mapping_problem, parse_power_source
from energylens.profiling.ray_runner import run_on_ray
from energylens.profiling.requirements import check_local_backend, check_local_models, check_ray
from energylens.profiling.spec import RunConfig, SweepSpec
from energylens.profiling.store import Store
from energylens.profiling.worker import execute, package_versions

__all__ = ["SweepResult", "SweepPlan", "run_sweep", "plan_sweep", "STRATEGIES"]

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


class Progress:
    """Plain periodic lines: ``[3/12] ok 2.1 s  <config>  (elapsed 6 s, ETA 19 s)``."""

    def __init__(self, total: int, out=None) -> None:
        self.total, self.done, self.t0 = total, 0, time.monotonic()
        self.out = out or sys.stdout

    def update(self, row: dict[str, Any], desc: str) -> None:
        self.done += 1
        el = time.monotonic() - self.t0
        eta = el / self.done * (self.total - self.done)
        status = row["status"] if row["status"] == "ok" else "FAILED"
        err = "" if row["status"] == "ok" else f": {_first_line(str(row.get('error', '')))}"
        print(f"[{self.done}/{self.total}] {status} {row.get('wall_s', math.nan):.1f} s  {desc}{err}  "
              f"(elapsed {el:.0f} s, ETA {eta:.0f} s)", file=self.out, flush=True)


def _first_line(error: str, limit: int = 200) -> str:
    """A failed unit's error on its progress line: the first line, cut at ``limit`` with a pointer to the rest
    (the row's error column); cut bare at 120 it read "... Use `" and stopped, as if that were the message."""
    line = (error.splitlines() or [""])[0]
    return line if len(line) <= limit else f"{line[:limit].rstrip()} [...; the row's error column has all of it]"


def _manifest(spec: SweepSpec, configs: list[RunConfig], power_source: str) -> dict[str, Any]:
    ids = [c.config_id for c in configs]
    return {"format": "energylens.sweep-store", "version": 1, "source": spec.source,
            "spec_hash": hashlib.sha1("\n".join(ids).encode()).hexdigest()[:16],
            # the units as a set: a grid listed in another order is the same sweep (what --resume compares)
            "units_hash": hashlib.sha1("\n".join(sorted(ids)).encode()).hexdigest()[:16],
            "sweep": dict(spec.sweep), "n_units": len(ids), "config_ids": ids, "power_source": power_source}


def sweep_label(spec: SweepSpec) -> str:
    """How the command's lines name the sweep: its ``sweep.name`` quoted where the spec sets one, else the spec
    file's name. The name defaults to the file's stem, so a spec called sweep.toml read ``sweep sweep: ...``."""
    name, source = spec.sweep["name"], Path(spec.source)
    return f"sweep {source.name}" if name == source.stem else f"sweep {name!r}"


def _power_source_note(power_source: str, local: bool) -> str:
    """The start line's word on energy: NVML asked for on a machine without it measures time only."""
    if power_source != "nvml" or not local:
        return f"power source {power_source}"
    caps = capabilities()
    if caps.nvml_available:
        return "power source nvml"
    return (f"power source nvml, NOT AVAILABLE here ({caps.nvml_reason.splitlines()[0] if caps.nvml_reason else 'no driver'}): "
            "rows get timings only, energy columns NaN; run where NVML is, or pass --power-source none to say so")


def _candidate_frame(configs: list[RunConfig], store: Store) -> pd.DataFrame:
    """Schema-v1 candidate rows for active choice: model facts from measured rows of the same model,
    else from the model table (``energylens.profiles.tables``), else the model cannot be predicted yet (NaN).
    ``batch_size`` is the full running batch, dp x max_num_seqs (vLLM's max_num_seqs is per data-parallel
    rank; the model splits the batch B_r = B / dp per replica)."""
    known: dict[str, dict[str, Any]] = {}
    rows = store.rows()
    for model, g in (rows.groupby("model") if len(rows) else []):
        known[model] = g.iloc[-1].to_dict()
    out = []
    for c in configs:
        k = known.get(c.model)
        spec = tables.find_model(c.model) if k is None else None
        out.append({"model": c.model, "params_b": k["params_b"] if k else (spec.params_b if spec else math.nan),
                    "gpu": k["gpu"] if k else (c.options.get("gpu") or "H100"), "tp": c.tp, "pp": c.pp, "dp": c.dp, "ep": c.ep,
                    "batch_size": float(c.full_batch), **_lengths(c), "input_len_spec": c.input_len.label(),
                    "output_len_spec": c.output_len.label(), "precision": c.precision,
                    "kv_cache_dtype": c.kv_cache_dtype, "modality": c.modality,
                    **({a: k.get(a, math.nan) for a in SHAPE_COLUMNS} | {"architecture": k.get("architecture", "dense"),
                                                                      "active_params_b": k.get("active_params_b", math.nan)}
                       if k else {})})
    return pd.DataFrame(out)


def _lengths(c: RunConfig) -> dict[str, float]:
    """The candidate's input / output tokens as its row will record them: transformers runs a static batch
    (the longest lengths drawn, reproduced from the unit's seed), vLLM the mean lengths."""
    if c.backend == "transformers":
        return dict(zip(("input_tokens", "output_tokens"), static_batch_lengths(c), strict=True))
    return {"input_tokens": _mean_len(c.input_len), "output_tokens": _mean_len(c.output_len)}


def _mean_len(ls) -> float:
    if ls.distribution == "fixed":
        return float(ls.value)
    if ls.distribution == "uniform":
        return (ls.low + ls.high) / 2
    return float(ls.mean)


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
                     changed_engine_args: str | None = None) -> None:
    check_power_source(power_source)  # a replay file that cannot be read is refused before the store is written
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


def _check_unit_gpus(power_source: str, configs: list[RunConfig]) -> None:
    """NVML here, on a host of mixed GPU models whose CUDA order is unknown: every unit would fail naming the
    fix (``meter.ordinal_mapping_problem``), so the sweep stops before the store is written instead."""
    if power_source != "nvml" or not configs or not capabilities().nvml_available:
        return
    problem = ordinal_mapping_problem(max(c.n_gpus for c in configs))
    if problem:
        raise ValueError(f"--power-source nvml: {problem}")


@dataclass(frozen=True)
class SweepPlan:
    """What :func:`run_sweep` would do with the same arguments (:func:`plan_sweep`): every unit with its state
    in the store (``"ok"``, ``"failed"`` or ``""``), the units it would run now in their order (``None``
    for ``active``: chosen one at a time from the energies measured, after the failed units it retries,
    ``retry``), and how many; ``failed_before``: the failed units it leaves alone (all of them without
    ``retry_failed``; those past ``budget`` with it)."""

    units: list[tuple[RunConfig, str]]
    run: list[RunConfig] | None
    n_run: int
    skipped: int
    failed_before: int
    store_exists: bool
    retry: frozenset[str] = frozenset()


def plan_sweep(spec: SweepSpec, out_dir: str, *, resume: bool = False, retry_failed: bool = False,
               power_source: str = "nvml", budget: int | None = None, strategy: str = "grid",
               ray_address: str | None = None, changed_engine_args: str | None = None) -> SweepPlan:
    """The checks :func:`run_sweep` makes before it runs (arguments, power source, the store against this
    spec and ``resume``, rows measured under other engine arguments) and the units it would run, writing nothing
    (``energylens profile --dry-run``). Whether the backend is installed is not checked: a dry run plans for the
    machine that will run it."""
    _check_arguments(power_source, strategy, budget, ray_address, changed_engine_args)
    configs = spec.configs()
    store = Store(out_dir)
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
    return SweepPlan(units=[(c, statuses.get(c.config_id, "")) for c in configs], run=order, n_run=n,
                     skipped=skipped, failed_before=failed_before, store_exists=store.exists(), retry=retry)


def run_sweep(spec: SweepSpec, out_dir: str, *, resume: bool = False, retry_failed: bool = False,
              power_source: str = "nvml", budget: int | None = None, strategy: str = "grid",
              ray_address: str | None = None, ray_num_gpus: bool = True,
              run_one: Callable[[RunConfig, str], dict[str, Any]] = execute, out=None,
              changed_engine_args: str | None = None) -> SweepResult:
    """Run (or continue) the sweep into the store ``out_dir``; see the module docstring. ``changed_engine_args``:
    what ``--resume`` does with rows measured under other vLLM engine arguments (``remeasure``, ``keep``; None:
    refuse, :mod:`energylens.profiling.engine_resume`)."""
    _check_arguments(power_source, strategy, budget, ray_address, changed_engine_args)
    configs = spec.configs()
    store = Store(out_dir)  # (a path that is a file is refused here, before anything is checked or started)
    if ray_address in (None, "local") and run_one is execute:  # (a Ray cluster's nodes may mount other folders)
        check_local_models(spec)
    if ray_address is None and run_one is execute:  # this machine runs the units: stop now if it cannot
        check_local_backend(spec.sweep["backend"], {c.modality for c in configs})
        _check_unit_gpus(power_source, configs)
        if strategy == "active" and power_source == "nvml" and not capabilities().nvml_available:
            reason = (capabilities().nvml_reason or "no driver").splitlines()[0].split(". Fix:")[0]
            raise ValueError("--strategy active chooses the next configuration from the energies measured so far, "
                             f"and NVML is not available here ({reason}), so rows would record time only; run "
                             "where NVML is, or use --strategy random (or grid)")
    elif ray_address is not None:
        check_ray()  # before the store exists: a rerun is not refused as "already holds a sweep store"
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
            _note_other_versions(done, store, label, out)
            _note_unrecorded_engine_args(done, store, label, out)
        statuses = store.statuses()
        todo, n, skipped, failed_before, retry = _todo(configs, statuses, retry_failed, budget)
        print(f"{label}: {plural(len(configs), 'unit')}, {skipped} done already"
              + failed_note(failed_before, retry_failed)
              + f", running {n} ({strategy}{', on Ray ' + ray_address if ray_address else ''}; "
              f"{_power_source_note(power_source, ray_address is None and run_one is execute)})",
              file=out, flush=True)
        if strategy == "active" and budget is None and n > 1:
            print(f"{label}: no --budget: active measures all {n} units, only in another order (--budget N stops it "
                  "at N units in all)", file=out, flush=True)
        progress = Progress(n, out)
        t0 = time.monotonic()
        counts = {"ok": 0, "failed": 0, "no_energy": 0}

        def record(cfg: RunConfig, row: dict[str, Any], why: str = "") -> None:
            store.write(cfg.config_id, row)
            counts["ok" if row["status"] == "ok" else "failed"] += 1
            counts["no_energy"] += row["status"] == "ok" and not row.get("energy_measured", False)
            progress.update(row, cfg.describe() + why)

        if n and ray_address is not None:
            run_on_ray(_order(configs, todo, strategy, spec.sweep["seed"], retry)[:n], power_source, ray_address,
                       record, reserve_gpus=ray_num_gpus, out=out)
        elif n and strategy == "active":
            for cfg in (c for c in configs if c.config_id in retry):  # chosen before; retried first
                record(cfg, run_one(cfg, power_source) | {"chosen_by": "retry"})
            _run_active(configs, store, n - len(retry), power_source, run_one, record, spec.sweep["seed"])
        else:
            for cfg in _order(configs, todo, strategy, spec.sweep["seed"], retry)[:n]:
                record(cfg, run_one(cfg, power_source))
        res = SweepResult(ran=counts["ok"] + counts["failed"], ok=counts["ok"], failed=counts["failed"],
                          skipped=skipped, total=len(configs), seconds=time.monotonic() - t0)
        print(f"{label}: {res.ok} ok, {res.failed} failed, {res.skipped} skipped, "
              f"{res.seconds:.0f} s; rows in {out_dir}", file=out, flush=True)
        if counts["no_energy"] and power_source != "none":
            print(f"{label}: {counts['no_energy']} of the {res.ok} ok rows have no energy "
                  f"(power source {power_source} gave none; see their power_source column): `energylens fit` "
                  "fits the latency model alone on them", file=out, flush=True)
    return res


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


def _unknown_gpus(cand: pd.DataFrame) -> list[str]:
    """The candidates' devices the GPU table lacks (the CPU, a GPU not in the table): active profiling
    predicts from the GPU's specs, so it cannot choose among them."""
    out = []
    for g in cand["gpu"].dropna().unique():
        try:
            tables.gpu_spec(str(g))
        except UnknownGpuError:
            out.append(str(g))
    return out


def _engine(c: RunConfig) -> tuple:
    """What a unit shares with the units that differ from it only in batch and lengths."""
    return (c.model, c.backend, c.mode, c.tp, c.pp, c.dp, c.ep, c.precision, c.kv_cache_dtype, c.modality,
            repr(sorted(c.options.items())))


def _larger_than_failed(configs: list[RunConfig], failed: set[int]) -> set[int]:
    """The units with at least a failed unit's batch, input and output tokens in its engine configuration
    (:func:`_engine`): where that one ran out of memory, they would too."""
    size = [(c.full_batch, *_lengths(c).values()) for c in configs]
    worst: dict[tuple, list[tuple]] = {}
    for i in failed:
        worst.setdefault(_engine(configs[i]), []).append(size[i])
    return {i for i, c in enumerate(configs) if any(all(a >= b for a, b in zip(size[i], f, strict=True))
                                                   for f in worst.get(_engine(c), ()))}


def _run_active(configs: list[RunConfig], store: Store, n: int, power_source: str, run_one, record,
                seed: int) -> None:
    ids = [c.config_id for c in configs]
    warned = False
    for _ in range(n):
        statuses = store.statuses()
        rows = store.rows()
        energy = dict(zip(rows["config_id"], rows["energy_j"], strict=True)) if len(rows) else {}
        measured = {i: float(energy[c]) for i, c in enumerate(ids) if c in energy and math.isfinite(energy[c])}
        blocked = {i for i, c in enumerate(ids) if c in statuses and i not in measured}
        free = [i for i in range(len(ids)) if i not in measured and i not in blocked]
        if not free:
            return
        larger = _larger_than_failed(configs, {i for i, c in enumerate(ids) if statuses.get(c) == "failed"})
        if any(i not in larger for i in free):  # those run last: a larger unit than one that failed
            blocked |= larger - set(measured)
            free = [i for i in free if i not in larger]
        keep = [i for i in range(len(ids)) if i not in blocked]  # a failed configuration is no candidate
        cand = _candidate_frame(configs, store).iloc[keep].reset_index(drop=True)
        unknown = _unknown_gpus(cand)
        if unknown and not warned:
            print(f"energylens profile: --strategy active predicts from the GPU's specs and {', '.join(unknown)} is "
                  "not in the GPU table: the remaining units are drawn at random (chosen_by = 'random'); set "
                  "sweep.gpu to the device's GPU-table name (docs/reference-tables.md) for active choices",
                  file=sys.stderr, flush=True)
            warned = True
        pick, chosen_by, why = None, "random", f"random: {', '.join(unknown)} not in the GPU table"
        if cand["params_b"].notna().all() and not unknown:  # else a model not measured yet and not in the table
            chooser = ActiveChooser(cand, group_by=("model", "gpu", "input_len_spec", "output_len_spec"), seed=seed)
            pos = {i: k for k, i in enumerate(keep)}
            k = chooser.next_index({pos[i]: e for i, e in measured.items()}) if measured else None
            pick = None if k is None else keep[k]
            chosen_by = "design" if len(measured) < chooser.min_rows else "active"
            why = _why(chooser, k, len(measured))
        if pick is None:  # the design's first unit, or a model not measured yet and not in the table: drawn
            blind = [i for k, i in enumerate(keep) if i in free and pd.isna(cand["params_b"].iloc[k])]
            pick = int(np.random.default_rng(seed + len(statuses)).choice(blind or free))  # (after failures too)
            why = f"random: {configs[pick].model} is in no table and not measured yet" if blind else why
        row = run_one(configs[pick], power_source)
        row["chosen_by"] = chosen_by
        record(configs[pick], row, f" [{why}]")


def _why(chooser: ActiveChooser, k: int | None, n_measured: int) -> str:
    """A progress line's account of an active choice: how far the start design has come and by what its unit
    was chosen, or the two parts of the chosen unit's score (:attr:`ActiveChooser.last_scores`)."""
    if n_measured < chooser.min_rows:
        gain = "log det" if chooser.start_information == "d-optimal" else "prediction variance"
        how = "drawn with the seed" if k is None or chooser.design == "random" else f"most {gain} gain"
        return f"design {n_measured + 1} of {chooser.min_rows}: {how}"
    if chooser.last_scores is None or k is None:  # (the bootstrap gave too few replicates: the design's rule)
        return "active: no bootstrap fit, most log det gain"
    return (f"active: optimum terms {chooser.last_scores['optimum'][k]:.2f} + information term "
            f"{chooser.last_scores['information'][k]:.2f}")

