"""Which decoder layers of a hybrid model hold the KV cache and which the recurrent state: the model table's
``layer_pattern`` column (docs/reference-tables.md), read by the search's per-stage memory check
(:mod:`energylens.search.stage_cache`).

One character per decoder layer, in order, as Nemotron-H's ``hybrid_override_pattern`` writes it: ``*`` an
attention layer (a KV cache), ``M`` a layer with a recurrent state (Mamba-2, Gated DeltaNet linear attention),
``-`` or ``E`` one with neither (an MLP or MoE layer). A periodic pattern may be written once with its repeat
count: ``(MMM*)x12`` is Qwen3-Next's 48 layers with full attention in every 4th (``full_attention_interval``
4). Blank: not known (the check then spreads the KV cache and state over the layers in proportion).
"""

from __future__ import annotations

import math
import re

import numpy as np

__all__ = ["parse_layer_pattern", "pattern_problem", "LAYER_KINDS", "MAX_PATTERN_LAYERS"]

#: Pattern characters: attention (KV cache), recurrent state, neither.
LAYER_KINDS = {"*": "attention", "M": "recurrent state", "-": "MLP", "E": "MoE"}
#: Longest pattern the engine's layer masks hold (4 x 48 bits; search.hpp kAttentionMask0).
MAX_PATTERN_LAYERS = 192
_REPEAT = re.compile(r"^\((?P<unit>[^()]+)\)x(?P<count>[0-9]+)$")


def _expand(cell: str) -> str:
    text = cell.strip().replace(" ", "")
    m = _REPEAT.match(text)
    return m["unit"] * int(m["count"]) if m else text


def pattern_problem(cell, n_layers, n_attention_layers=math.nan, state_elems_per_seq=math.nan) -> str | None:
    """What is wrong with a ``layer_pattern`` cell against the model's other columns (None: nothing, or blank):
    a character other than ``*``, ``M``, ``-``, ``E``; a length other than ``n_layers``; a count of ``*`` other
    than ``n_attention_layers`` (blank: every layer); no ``M`` where the model has a recurrent state."""
    if not isinstance(cell, str) or not cell.strip():
        return None if cell is None or isinstance(cell, str) or (isinstance(cell, float) and math.isnan(cell)) \
            else f"{cell!r} is not text: one of {', '.join(LAYER_KINDS)} per layer, or '(UNIT)xN'"
    kinds = _expand(cell)
    bad = sorted(set(kinds) - set(LAYER_KINDS))
    if bad:
        return (f"{cell!r} holds {', '.join(map(repr, bad))}: one character per layer, "
                f"{', '.join(f'{k!r} {v}' for k, v in LAYER_KINDS.items())}, or '(UNIT)xN' for N repeats")
    if len(kinds) != n_layers:
        return f"{cell!r} gives {len(kinds)} layers where n_layers is {n_layers:g}"
    if len(kinds) > MAX_PATTERN_LAYERS:
        return f"{cell!r} gives {len(kinds)} layers; the search holds patterns of up to {MAX_PATTERN_LAYERS}"
    want = n_attention_layers if math.isfinite(float(n_attention_layers)) and n_attention_layers >= 1 else n_layers
    if kinds.count("*") != want:
        return f"{cell!r} has {kinds.count('*')} attention layers ('*') where n_attention_layers is {want:g}"
    if math.isfinite(float(state_elems_per_seq)) and state_elems_per_seq > 0 and "M" not in kinds:
        return f"{cell!r} has no recurrent-state layer ('M') where state_elems_per_seq is {state_elems_per_seq:g}"
    return None


def parse_layer_pattern(cell) -> tuple[np.ndarray, np.ndarray] | None:
    """(attention, recurrent) boolean arrays, one entry per layer, of a valid ``layer_pattern`` cell; None where
    it is blank (:func:`pattern_problem` checks it against the model)."""
    if not isinstance(cell, str) or not cell.strip():
        return None
    kinds = np.array(list(_expand(cell)))
    return kinds == "*", kinds == "M"
