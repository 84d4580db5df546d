"""Model-table cells that differ between the names of one row: ``"value; alias=value; ..."``.

A row of the model table stands for every checkpoint of one architecture (its ``aliases``), but a few
facts belong to a checkpoint, not the architecture: the weight format it is published in
(``checkpoint_precision``: Kimi-K2-Thinking int4 beside K2's fp8) and its context window
(``context_window_tokens``: Qwen3-235B-A22B-Instruct-2507's 262144 beside the original's 40960). Such a cell
holds the row's value, then ``; alias=value`` for an alias published otherwise (docs/reference-tables.md).

:func:`alias_override` picks a name's own value: that of the alias it is (case and punctuation aside),
else that of the alias it is a quantised copy of (``...-Instruct-2507-AWQ`` takes ``...-Instruct-2507``'s;
only quantisation tokens are dropped, so ``Qwen2.5-7B-Instruct-AWQ`` stays the Instruct checkpoint and does
not take the base model's window); None when the name takes the row's value. Imports only the name
normaliser.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

from energylens.profiles.gpu_names import normalize_name

__all__ = ["alias_cell", "alias_override", "QUANT_TOKENS"]

#: Name tokens that mark a quantised copy of a checkpoint (the same checkpoint's window and architecture).
QUANT_TOKENS = frozenset({"fp8", "fp16", "bf16", "awq", "gptq", "int4", "int8", "w4a16", "w8a8", "w8a16", "bnb",
                          "4bit", "8bit", "dynamic", "gguf", "mlx", "fp4", "nvfp4", "mxfp4"})

_PUNCT = re.compile(r"[\s\-_.]+")


def alias_cell(cell) -> tuple[str | None, dict[str, str]]:
    """``"value; alias=value; ..."`` -> (the row's value or None, {alias as written: its value})."""
    if not isinstance(cell, str):
        return (None if cell is None or (isinstance(cell, float) and math.isnan(cell)) else str(cell)), {}
    parts = [p.strip() for p in cell.split(";") if p.strip()]
    overrides = {a.strip(): v.strip() for a, v in (p.split("=", 1) for p in parts if "=" in p)}
    base = [p for p in parts if "=" not in p]
    return (base[0] if base else None), overrides


def _checkpoint_key(name: str) -> str:
    """The name without its ``org/`` prefix, case, punctuation and quantisation tokens."""
    tokens = _PUNCT.split(str(name).strip().lower().rsplit("/", 1)[-1])
    return "".join(t for t in tokens if t and t not in QUANT_TOKENS)


def alias_override(cell, row_names: Iterable[str], name: str) -> str | None:
    """The value a row's ``cell`` gives ``name`` of its own (``name`` one of the row's names, or a quantised
    copy of one; see the module docstring), or None: the row's value applies."""
    overrides = alias_cell(cell)[1]
    own = {normalize_name(a): v for a, v in overrides.items()}
    key = normalize_name(name)
    if key in own:
        return own[key]
    if key in {normalize_name(n) for n in row_names}:
        return None
    return {_checkpoint_key(a): v for a, v in overrides.items()}.get(_checkpoint_key(name))
