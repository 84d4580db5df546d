"""``--resume`` against rows measured under other vLLM engine arguments.

A unit's ``config_id`` is its configuration as the spec writes it; the engine arguments energylens gives vLLM for
it (``backend_vllm.engine_args``: ``max_num_batched_tokens``, ``limit_mm_per_prompt`` ...) are not part of it, so
that an energylens release that changes them does not orphan the stores written before. Every vLLM row records
them (``engine_args``, since 2026-12-06). :func:`engine_args_changes` compares those records with what this run
would give each unit; a resumed sweep that finds a difference stops (:func:`changed_error`) unless told what to do
with ``--changed-engine-args``: ``remeasure`` (the earlier rows move to ``DIR/superseded/`` and the units run again)
or ``keep`` (they stay done, as rows without a record do: ``runner._note_unrecorded_engine_args``).
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from energylens.outputs import plural
from energylens.profiling.backend_vllm import engine_args
from energylens.profiling.spec import RunConfig

__all__ = ["CHANGED_ENGINE_ARGS", "engine_args_changes", "changed_error", "changed_note"]

#: What ``--changed-engine-args`` may say.
CHANGED_ENGINE_ARGS = ("remeasure", "keep")

_ABSENT = object()


def _value(args: dict[str, Any], key: str) -> str:
    return json.dumps(args[key], sort_keys=True) if key in args else "(not given)"


def engine_args_changes(configs: list[RunConfig], rows: pd.DataFrame) -> dict[str, str]:
    """config_id -> how the engine arguments the store's row of that unit records (``rows``: ok and failed) differ
    from those this run gives it (``"max_num_batched_tokens 16384 -> 8192"``), for this sweep's vLLM units whose
    row records any; a row without a record (measured before 2026-12-06) is not compared."""
    if not len(rows) or "engine_args" not in rows or "backend" not in rows:
        return {}
    units = {c.config_id: c for c in configs if c.backend == "vllm"}
    out: dict[str, str] = {}
    for cid, backend, recorded in zip(rows["config_id"].astype(str), rows["backend"].astype(str),
                                      rows["engine_args"].fillna("").astype(str), strict=True):
        if cid not in units or backend != "vllm" or not recorded.strip():
            continue
        now = json.loads(json.dumps(engine_args(units[cid]), sort_keys=True))  # as base_row records them
        try:
            old = json.loads(recorded)
        except ValueError:
            old = None
        if not isinstance(old, dict):
            out[cid] = f"engine_args unreadable ({recorded[:80]!r})"
        elif old != now:
            keys = sorted(set(old) | set(now))
            out[cid] = ", ".join(f"{k} {_value(old, k)} -> {_value(now, k)}" for k in keys
                                 if old.get(k, _ABSENT) != now.get(k, _ABSENT))
    return out


def _summary(changes: dict[str, str], configs: list[RunConfig]) -> str:
    by_id = {c.config_id: c for c in configs}
    first = next(iter(changes))
    kinds = sorted(set(changes.values()))
    more = f"; {len(kinds) - 1} other difference{'s' if len(kinds) > 2 else ''}" if len(kinds) > 1 else ""
    return f"e.g. {first} ({by_id[first].describe()}): {changes[first]}{more}"


def changed_error(store_dir: Any, changes: dict[str, str], configs: list[RunConfig]) -> ValueError:
    """The refusal of a resumed sweep whose store holds rows measured under other engine arguments."""
    one = len(changes) == 1
    return ValueError(
        f"{store_dir}: {plural(len(changes), 'vLLM unit')} of this sweep {'was' if one else 'were'} measured with "
        f"other engine arguments than this energylens gives {'it' if one else 'them'} ({_summary(changes, configs)}); "
        f"engine arguments are not part of a unit's id, so --resume would count {'that row' if one else 'those rows'} "
        f"as this configuration's: rerun with --changed-engine-args remeasure to measure {'it' if one else 'them'} "
        f"again ({'its row moves' if one else 'their rows move'} to superseded/ in the store), or "
        f"--changed-engine-args keep to keep {'it' if one else 'them'} as done, or start another store "
        "(docs/profiling.md)")


def changed_note(label: str, store_dir: Any, changes: dict[str, str], configs: list[RunConfig], how: str) -> str:
    """The start line's note on those rows under ``--changed-engine-args`` ``how``."""
    what = f"{plural(len(changes), 'unit')} measured with other engine arguments ({_summary(changes, configs)})"
    if how == "remeasure":
        return (f"{label}: {what}: measured again (--changed-engine-args remeasure); their earlier rows are in "
                f"{store_dir}/superseded/")
    return f"{label}: note: {what}: kept as done (--changed-engine-args keep)"
