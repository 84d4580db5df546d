"""Which decoder layers of a hybrid model hold the KV cache and which the recurrent state: the model table's
``layer_pattern`` column (docs/reference-tables.md), read by the search's per-stage memory check
(:mod:`energylens.search.stage_cache`).

One character per decoder layer, in order, as Nemotron-H's ``hybrid_override_pattern`` writes it: ``*`` an
attention layer (a KV cache), ``S`` a sliding-window attention layer (a KV cache of at most ``sliding_window``
positions: Gemma 2 / 3, gpt-oss), ``M`` a layer with a recurrent state (Mamba-2, Gated DeltaNet linear
attention), ``-`` or ``E`` one with neither (an MLP or MoE layer). A periodic pattern may be written once with its repeat
count: ``(MMM*)x12`` is Qwen3-Next's 48 layers with full attention in every 4th (``full_attention_interval``
4). Blank: not known (the check then spreads the KV cache and state over the layers in proportion).
"""

from __future__ import annotations

import math
import re

import numpy as np

__all__ = ["parse_layer_pattern", "sliding_layers", "pattern_problem", "LAYER_KINDS", "MAX_PATTERN_LAYERS"]

#: Pattern characters: attention (KV cache), sliding-window attention, recurrent state, neither.
LAYER_KINDS = {"*": "attention", "S": "sliding-window attention", "M": "recurrent state", "-": "MLP", "E": "MoE"}
#: Longest pattern the engine's layer masks hold (4 x 48 bits; search.hpp kAttentionMask0).
MAX_PATTERN_LAYERS = 192
_REPEAT = re.compile(r"^\((?P<unit>[^()]+)\)x(?P<count>[0-9]+)$")


def _expand(cell: str) -> str:
    text = cell.strip().replace(" ", "")
    m = _REPEAT.match(text)
    return m["unit"] * int(m["count"]) if m else text


def pattern_problem(cell, n_layers, n_attention_layers=math.nan, state_elems_per_seq=math.nan,
                    n_sliding_layers=math.nan) -> str | None:
    """What is wrong with a ``layer_pattern`` cell against the model's other columns (None: nothing, or blank):
    a character other than ``*``, ``S``, ``M``, ``-``, ``E``; a length other than ``n_layers``; a count of ``*``
    and ``S`` other than ``n_attention_layers`` (blank: every layer); a count of ``S`` other than
    ``n_sliding_layers`` (blank: none); no ``M`` where the model has a recurrent state."""
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
    attention = kinds.count("*") + kinds.count("S")
    if attention != want:
        return f"{cell!r} has {attention} attention layers ('*' and 'S') where n_attention_layers is {want:g}"
    sliding = float(n_sliding_layers) if math.isfinite(float(n_sliding_layers)) else 0.0
    if kinds.count("S") != sliding:
        return f"{cell!r} has {kinds.count('S')} sliding-window layers ('S') where n_sliding_layers is {sliding:g}"
    if math.isfinite(float(state_elems_per_seq)) and state_elems_per_seq > 0 and "M" not in kinds:
        return f"{cell!r} has no recurrent-state layer ('M') where state_elems_per_seq is {state_elems_per_seq:g}"
    return None


def parse_layer_pattern(cell) -> tuple[np.ndarray, np.ndarray] | None:
    """(attention, recurrent) boolean arrays, one entry per layer, of a valid ``layer_pattern`` cell (attention:
    ``*`` and ``S``); None where it is blank (:func:`pattern_problem` checks it against the model)."""
    if not isinstance(cell, str) or not cell.strip():
        return None
    kinds = np.array(list(_expand(cell)))
    return (kinds == "*") | (kinds == "S"), kinds == "M"


def sliding_layers(cell) -> np.ndarray | None:
    """The sliding-window attention layers (``S``) of a valid ``layer_pattern`` cell, one entry per layer; None
    where it is blank."""
    if not isinstance(cell, str) or not cell.strip():
        return None
    return np.array(list(_expand(cell))) == "S"
