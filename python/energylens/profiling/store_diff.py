"""How a store's manifest and rows differ from a spec given to ``--resume`` (the units, the [grid] lists and the
[sweep] settings of a unit's id), for :meth:`energylens.profiling.store.Store.check`'s refusal."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pandas as pd

from energylens.profiling.spec import LengthSpec
from energylens.profiling.unit_ids import MEDIA_READ_BY

__all__ = ["grid_value", "grid_of_rows", "settings_differ", "units_differ"]


def units_differ(old: Mapping[str, Any], new: Mapping[str, Any]) -> str:
    """``", whose units differ: ..."``: how many of the store's units this spec lacks and how many of its units
    the store never had (an edited grid: what changed), or ``""`` where the store's manifest lists none."""
    before, now = old.get("config_ids"), new.get("config_ids")
    if not isinstance(before, list) or not isinstance(now, list):
        return ""
    gone, added = len(set(before) - set(now)), len(set(now) - set(before))
    return (f", whose units differ: {gone} of the store's {len(set(before))} are not in it, {added} of its "
            f"{len(set(now))} are not in the store")


#: [sweep] settings that are not part of a unit's id (another value is the same sweep).
_NOT_IN_UNITS = ("name", "timeout_s", "isolation")
#: A [grid] list -> the key of a unit's configuration (``config_json``) that holds its value.
_GRID_KEYS = {"models": "model", "tp": "tp", "pp": "pp", "dp": "dp", "ep": "ep", "precision": "precision",
              "kv_cache_dtype": "kv_cache_dtype", "max_num_seqs": "max_num_seqs", "input_len": "input_len",
              "output_len": "output_len", "modality": "modality"}


def grid_value(v: Any) -> Any:
    """A [grid] value as the manifest records it (what ``--resume`` with another spec names): a length by its
    label, a clipped distribution with its bounds, anything else as it is."""
    if not isinstance(v, LengthSpec):
        return v
    return v.label() if v.distribution in ("fixed", "uniform") else f"{v.label()} in [{v.low}, {v.high}]"


def settings_differ(old: Mapping[str, Any], new: Mapping[str, Any], rows_grid) -> str:
    """``"; this spec differs from the store's in grid.tp (the store's: 1, 2; this spec's: 1, 4)"``: the [grid] lists
    (as sets: a list in another order is the same sweep) and the [sweep] settings of a unit's id that differ. A
    manifest without its grid (written before 2026-12-06): ``rows_grid()``, the values of the store's rows, names
    the lists that lack a value the store measured. ``""`` where none is found."""
    said = []
    for table in ("grid", "sweep"):
        before, now, whose = old.get(table), new.get(table), "the store's"
        if table == "grid" and not isinstance(before, Mapping):
            before, whose = rows_grid(), "the store's rows"
        if not isinstance(before, Mapping) or not isinstance(now, Mapping):
            continue
        for key in sorted(set(before) | set(now)):
            a, b = before.get(key), now.get(key)
            if table == "sweep":
                same = key in _NOT_IN_UNITS or a == b or not _read_by(key, old, new)
            else:
                same = (set(_as_set(a)) <= set(_as_set(b))) if whose == "the store's rows" else _as_set(a) == _as_set(b)
            if not same:
                said.append(f"{table}.{key} ({whose}: {_shown(a)}; this spec's: {_shown(b)})")
    return "; this spec differs from the store's in " + " and ".join(said) if said else ""


def _read_by(key: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    """Whether a unit of either grid reads the [sweep] setting ``key`` (a media setting only those of its modalities:
    :data:`unit_ids.MEDIA_READ_BY`; a manifest without its grid: as if they did)."""
    if key not in MEDIA_READ_BY:
        return True
    grids = [g.get("modality", ["text"]) if isinstance(g, Mapping) else ["image", "video"]
             for g in (old.get("grid"), new.get("grid"))]
    return any(m in MEDIA_READ_BY[key] for modalities in grids for m in modalities)


def _as_set(v: Any) -> Any:
    return sorted(json.dumps(x, sort_keys=True) for x in v) if isinstance(v, list) else [json.dumps(v)]


def _shown(v: Any) -> str:
    if isinstance(v, list):
        return ", ".join(str(x) for x in v)
    return "(not set)" if v is None else str(v)


def grid_of_rows(rows: pd.DataFrame) -> dict[str, list[Any]] | None:
    """The [grid] values of ``rows`` (their ``config_json``), in the order first seen; None without any."""
    out: dict[str, list[Any]] = {k: [] for k in _GRID_KEYS}
    for text in rows["config_json"].dropna() if "config_json" in rows else ():
        try:
            cfg = json.loads(text)
            values = {g: cfg[c] for g, c in _GRID_KEYS.items()}
            values = {g: grid_value(LengthSpec(**v)) if isinstance(v, dict) else v for g, v in values.items()}
        except (ValueError, TypeError, KeyError):  # (a row edited or of another release: not named from)
            continue
        for g, v in values.items():
            if v not in out[g]:
                out[g].append(v)
    order = lambda x: (0, x, "") if isinstance(x, (int, float)) else (1, 0, str(x))  # noqa: E731 (numbers, then text)
    return {g: sorted(v, key=order) for g, v in out.items()} if any(out.values()) else None
