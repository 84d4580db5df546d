"""``--strategy active`` in a sweep: the candidates (the units as schema-v1 rows), one choice at a time
(:class:`~energylens.profiling.active.ActiveChooser`), the stop rule (:mod:`~energylens.profiling.active_known`)
and what ``--dry-run`` shows of it (:func:`plan_active`: the units a run would measure first).

A failed unit is no candidate, and the units with at least its batch and lengths in its engine configuration
run last (where it ran out of memory they would too). A model neither measured nor in the model table gets
one unit drawn at random first; while no unit has an energy the draw moves on with each unit tried.
With ``stop="known"`` the sweep stops before ``budget`` once the model is known; it writes
``DIR/active-stop.json`` so that ``--resume`` with nothing measured since does not start the count again, and
keeps the rule's last readings in ``DIR/active-known.json`` (each with the store's state it was made on and the
unit it chose), so that a sweep killed or stopped mid-way and resumed reaches the decision the uninterrupted one
reaches from the same rows (until 2026-12-06 the count of known fits started from 0 again).
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from energylens.errors import UnknownGpuError
from energylens.profiles import tables
from energylens.profiling.active import ActiveChooser
from energylens.profiling.active_known import KnownRule, fit_from_json, fit_to_json, read_fit
from energylens.profiling.backend_transformers import static_batch_lengths
from energylens.profiling.hf_config import SHAPE_COLUMNS
from energylens.profiling.spec import RunConfig
from energylens.profiling.store import Store, atomic_write_bytes

__all__ = ["candidate_frame", "run_active", "plan_active", "known_before", "STOP_FILE", "RULE_FILE", "GROUP_BY"]

#: Where a sweep stopped by the stop rule says so (read by ``--resume`` and ``--dry-run``).
STOP_FILE = "active-stop.json"
#: The stop rule's last readings, each with the store's state it was made on and the unit it chose.
RULE_FILE = "active-known.json"
#: How a sweep's candidates are grouped when the chooser judges optima and the stop rule reads picks.
GROUP_BY = ("model", "gpu", "input_len_spec", "output_len_spec")


def candidate_frame(configs: list[RunConfig], store: Store, rows: pd.DataFrame | None = None) -> pd.DataFrame:
    """Schema-v1 candidate rows for active choice: model facts from measured rows of the same model (``rows``,
    the store's ok rows: read from ``store`` when None), else from the model table (``energylens.profiles.tables``),
    else the model cannot be predicted yet (NaN). ``batch_size`` is the full running batch, dp x max_num_seqs
    (vLLM's max_num_seqs is per data-parallel rank; the model splits the batch B_r = B / dp per replica)."""
    known: dict[str, dict[str, Any]] = {}
    rows = store.rows() if rows is None else rows
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


@dataclass
class _Choice:
    """One choice: the unit (index into the configs), its chosen_by, the progress line's why, the chooser that
    made it (None: drawn) with the configs' indexes of its candidates (``keep``), and the unknown GPUs."""

    pick: int
    chosen_by: str
    why: str
    chooser: ActiveChooser | None
    keep: list[int]
    unknown: list[str]


def _choose(configs: list[RunConfig], statuses: dict[str, str], measured: dict[int, float], frame: pd.DataFrame,
            seed: int) -> _Choice | None:
    """The next unit given the units' statuses and the measured energies (index -> J); ``frame``: every unit's
    candidate row (:func:`candidate_frame`). None when every unit is measured or failed."""
    ids = [c.config_id for c in configs]
    blocked = {i for i, c in enumerate(ids) if c in statuses and i not in measured}
    free = [i for i in range(len(ids)) if i not in measured and i not in blocked]
    if not free:
        return None
    larger = _larger_than_failed(configs, {i for i, c in enumerate(ids) if statuses.get(c) == "failed"})
    if any(i not in larger for i in free):  # those run last: a larger unit than one that failed
        blocked |= larger - set(measured)
        free = [i for i in free if i not in larger]
    keep = [i for i in range(len(ids)) if i not in blocked]  # a failed configuration is no candidate
    cand = frame.iloc[keep].reset_index(drop=True)
    unknown = _unknown_gpus(cand)
    pick, chosen_by, why, chooser = None, "random", f"random: {', '.join(unknown)} not in the GPU table", None
    if cand["params_b"].notna().all() and not unknown:  # else a model not measured yet and not in the table
        chooser = ActiveChooser(cand, group_by=GROUP_BY, seed=seed)
        pos = {i: k for k, i in enumerate(keep)}
        k = chooser.next_index({pos[i]: e for i, e in measured.items()}) if measured else None
        pick = None if k is None else keep[k]
        chosen_by = "design" if len(measured) < chooser.min_rows else "active"
        why = _why(chooser, k, len(measured), len(keep))
    if pick is None:  # the design's first unit, or a model not measured yet and not in the table: drawn
        blind = [i for k, i in enumerate(keep) if i in free and pd.isna(cand["params_b"].iloc[k])]
        pick = int(np.random.default_rng(seed + len(statuses)).choice(blind or free))  # (after failures too)
        why = f"random: {configs[pick].model} is in no table and not measured yet" if blind else why
    return _Choice(int(pick), chosen_by, why, chooser, keep, unknown)


def _measured(configs: list[RunConfig], store: Store, rows: pd.DataFrame | None = None) -> dict[int, float]:
    """Index -> measured energy of the units with an energy in ``rows`` (the store's ok rows; None: read them)."""
    rows = store.rows() if rows is None else rows
    energy = dict(zip(rows["config_id"], rows["energy_j"], strict=True)) if len(rows) else {}
    return {i: float(energy[c.config_id]) for i, c in enumerate(configs)
            if c.config_id in energy and math.isfinite(energy[c.config_id])}


def _measured_key(configs: list[RunConfig], measured: dict[int, float]) -> str:
    return hashlib.sha1("\n".join(sorted(configs[i].config_id for i in measured)).encode()).hexdigest()[:16]


def known_before(configs: list[RunConfig], store: Store) -> str:
    """What ``DIR/active-stop.json`` says where the store's measured units are those the model was known at
    (a sweep stopped by the rule, nothing measured since), else ``""``."""
    path = store.dir / STOP_FILE
    try:
        said = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ""
    key = _measured_key(configs, _measured(configs, store)) if store.exists() else ""
    return str(said.get("reading", "")) if isinstance(said, dict) and said.get("measured") == key else ""


def _state(statuses: dict[str, str], without: str = "") -> str:
    """The store's units and statuses (less ``without``), as a key a reading is made on."""
    return hashlib.sha1("\n".join(f"{k}:{v}" for k, v in sorted(statuses.items()) if k != without)
                        .encode()).hexdigest()[:16]


def _restore_rule(rule: KnownRule, store: Store) -> list[dict[str, Any]]:
    """Give ``rule`` the readings of ``DIR/active-known.json`` that led to the store's rows, and return them as
    saved: kept where the last was made on the store less the unit it chose (that unit's row written since), or on
    the store as it is (its unit never finished: dropped, this run makes that reading again); else none (rows
    removed, retried or measured otherwise since: the count starts again)."""
    path = store.dir / RULE_FILE
    if rule.history or not path.exists():
        return []
    statuses = store.statuses()
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))["readings"]
        fits = [fit_from_json(r["fit"]) for r in saved]
        state, pick = (str(saved[-1]["state"]), str(saved[-1]["pick"])) if saved else ("", "")
    except (OSError, ValueError, KeyError, TypeError, IndexError) as exc:
        print(f"energylens profile: {path}: cannot be read ({type(exc).__name__}: {exc}): the stop rule counts its "
              "known fits from 0 again", file=sys.stderr, flush=True)
        return []
    if saved and pick not in statuses and state == _state(statuses):
        saved, fits = saved[:-1], fits[:-1]
    elif not saved or pick not in statuses or state != _state(statuses, without=pick):
        return []
    rule.history = fits
    return saved


def _read_rule(rule: KnownRule, store: Store, choice: _Choice, configs: list[RunConfig], saved: list[dict[str, Any]],
               statuses: dict[str, str]) -> None:
    """Add the active choice's fit to ``rule`` and to ``DIR/active-known.json`` (before its unit runs; ``statuses``:
    the store's)."""
    ch = choice.chooser
    fit = None if ch.last_boot is None else read_fit(ch.last_boot, ch.last_energy, ch.groups,
                                                     [configs[i].config_id for i in choice.keep])
    rule.add(fit)
    saved.append({"state": _state(statuses), "pick": configs[choice.pick].config_id, "fit": fit_to_json(fit)})
    del saved[:-(rule.fits + 1)]
    atomic_write_bytes(store.dir / RULE_FILE, json.dumps({"readings": saved}).encode())


def run_active(configs: list[RunConfig], store: Store, n: int, power_source: str, run_one: Callable, record: Callable,
               seed: int, rule: KnownRule | None = None) -> tuple[bool, str]:
    """Measure up to ``n`` units chosen one at a time (``rule``: stop earlier once the model is known, going on
    from the readings the store keeps); returns whether the rule stopped it and the summary's word on the rule
    (``""`` without one)."""
    if rule is not None and (said := known_before(configs, store)):
        return True, (f"the model was known when this store's sweep stopped ({said}; {store.dir / STOP_FILE}) and "
                      "nothing was measured since: nothing measured")
    saved = _restore_rule(rule, store) if rule is not None else []
    warned = False
    for _ in range(n):
        statuses, rows = store.snapshot()  # (one listing of the parts per unit)
        measured = _measured(configs, store, rows)
        choice = _choose(configs, statuses, measured, candidate_frame(configs, store, rows), seed)
        if choice is None:
            return False, ""
        if choice.unknown and not warned:
            print(f"energylens profile: --strategy active predicts from the GPU's specs and {', '.join(choice.unknown)} "
                  "is not in the GPU table: the remaining units are drawn at random (chosen_by = 'random'); set "
                  "sweep.gpu to the device's GPU-table name (docs/reference-tables.md) for active choices",
                  file=sys.stderr, flush=True)
            warned = True
        why = choice.why
        if rule is not None and choice.chosen_by == "active":
            _read_rule(rule, store, choice, configs, saved, statuses)
            if rule.known:
                reading = rule.describe()
                atomic_write_bytes(store.dir / STOP_FILE, json.dumps(
                    {"measured": _measured_key(configs, measured), "n_measured": len(measured),
                     "reading": reading}).encode())
                return True, f"the model is known after {len(measured)} measured units ({reading}): stopped"
            why += f"; {rule.describe()}"
        row = run_one(configs[choice.pick], power_source)
        row["chosen_by"] = choice.chosen_by
        record(configs[choice.pick], row, f" [{why}]")
    if rule is None or not rule.history:
        return False, ""
    return False, f"the model was not known yet when its last unit ran ({rule.describe()})"


def plan_active(configs: list[RunConfig], store: Store, statuses: dict[str, str], n: int, seed: int,
                retried: Iterable[str] = ()) -> list[tuple[RunConfig, str]]:
    """The units a run would measure first after the failed units it retries (``retried``), in order, with the
    progress line's why, if each is measured: the start design and the draws before it, up to the first choice
    that needs a measured energy or a model's facts from its first row (a model in no table). At most ``n``."""
    measured = _measured(configs, store)
    again = set(retried)
    measured.update({i: 1.0 for i, c in enumerate(configs) if c.config_id in again})
    statuses, frame, out = dict(statuses), candidate_frame(configs, store), []
    while len(out) < n:
        choice = _choose(configs, statuses, measured, frame, seed)
        if choice is None or choice.chosen_by == "active":
            break
        out.append((configs[choice.pick], choice.why))
        if choice.why.startswith("random:") and "in no table" in choice.why:
            break  # (its row's facts change the candidates)
        measured[choice.pick] = 1.0  # (the design reads which units are measured, not their energies)
        statuses[configs[choice.pick].config_id] = "ok"
    return out


def _why(chooser: ActiveChooser, k: int | None, n_measured: int, n_units: int) -> str:
    """A progress line's account of an active choice: how far the start design has come (of its ``min_rows`` units,
    or of the ``n_units`` candidates of a smaller sweep) and by what its unit was chosen, or the two parts of the
    chosen unit's score (:attr:`ActiveChooser.last_scores`)."""
    if n_measured < chooser.min_rows:
        gain = "log det" if chooser.start_information == "d-optimal" else "prediction variance"
        how = "drawn with the seed" if k is None or chooser.design == "random" else f"most {gain} gain"
        return f"design {n_measured + 1} of {min(chooser.min_rows, n_units)}: {how}"
    if chooser.last_scores is None or k is None:  # (the bootstrap gave too few replicates: the design's rule)
        return "active: no bootstrap fit, most log det gain"
    return (f"active: optimum terms {chooser.last_scores['optimum'][k]:.2f} + information term "
            f"{chooser.last_scores['information'][k]:.2f}")
