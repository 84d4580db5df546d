"""Schema v1 rule on a profile row's own ``layer_pattern`` (a hybrid's layer kinds, one character per layer:
:mod:`energylens.profiles.layer_pattern`), which a sweep writes for a model the model table lacks
(:mod:`energylens.profiling.hf_config`). The search's memory check places the row's KV cache and state per
pipeline stage by it only where it fits the row's layers; until 2026-12-07 a cell that did not (a wrong
character, a length other than n_layers, an attention count other than n_attention_layers) was passed over for
the proportional rule without a word. Each is a problem named by column and row now, checked against the row's
own n_layers / n_attention_layers / n_sliding_layers / state_elems_per_seq where it gives them, else its model's
in the model table. Used by :func:`energylens.profiles.load_profiles`."""
from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from energylens.profiles import cells, tables
from energylens.profiles.layer_pattern import pattern_problem

__all__ = ["check_layer_patterns", "PATTERN_COLUMN"]

PATTERN_COLUMN = "layer_pattern"
#: The columns a pattern is checked against: the row's own where given, else the model table's.
_AGAINST = ("n_layers", "n_attention_layers", "state_elems_per_seq", "n_sliding_layers")


def check_layer_patterns(raw: Mapping[str, object], models: np.ndarray, problems) -> None:
    """Rows whose non-blank ``layer_pattern`` cell is not a valid pattern of the row's model (``raw``: column name
    -> the values read; ``models``: the rows' stripped model names) into ``problems``, one reason per distinct
    (cell, model, own columns)."""
    if PATTERN_COLUMN not in raw:
        return
    column = pd.Series(raw[PATTERN_COLUMN], copy=False)
    blank = column.isna().to_numpy() | column.map(lambda v: isinstance(v, str) and not v.strip()).to_numpy()
    rows = np.flatnonzero(~blank)
    if not len(rows):
        return
    keys = pd.DataFrame({"cell": column.iloc[rows].astype(object).to_numpy(),
                         "model": np.asarray(models, dtype=object)[rows].astype(str),
                         **{c: cells.to_float(raw[c])[0][rows] if c in raw else np.nan for c in _AGAINST}})
    codes = keys.groupby(list(keys.columns), dropna=False, sort=False).ngroup().to_numpy()
    firsts = np.unique(codes, return_index=True)[1]  # one row of each distinct key, in code order
    reasons = [_problem(keys.at[i, "cell"], keys.at[i, "model"], {c: float(keys.at[i, c]) for c in _AGAINST})
               for i in firsts]
    for reason in dict.fromkeys(r for r in reasons if r is not None):
        hit = np.zeros(len(column), dtype=bool)
        hit[rows[np.isin(codes, [k for k, r in enumerate(reasons) if r == reason])]] = True
        problems.add(hit, PATTERN_COLUMN, reason)


def _problem(cell, model: str, given: dict[str, float]) -> str | None:
    """What is wrong with ``cell`` as ``model``'s pattern (None: nothing)."""
    if not isinstance(cell, str):
        return pattern_problem(cell, math.nan)
    spec = tables.find_model(model) if model else None
    values = {c: v if math.isfinite(v) else float(getattr(spec, c, math.nan)) for c, v in given.items()}
    if not math.isfinite(values["n_layers"]):
        return (f"{cell.strip()!r} needs the model's layer count: give n_layers (and n_attention_layers) in the "
                "row, or describe the model in a model table (--model-table)")
    bad = pattern_problem(cell, values["n_layers"], values["n_attention_layers"], values["state_elems_per_seq"],
                          values["n_sliding_layers"])
    return None if bad is None else f"not the model's layer kinds in order: {bad}"
