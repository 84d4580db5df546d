"""The weight format a named checkpoint is published in, the search's default weight precision.

A deployment serves a checkpoint, and the checkpoint fixes the weights' format: ``Qwen/Qwen3-8B-FP8`` is
fp8, ``Qwen/Qwen2.5-7B-Instruct-AWQ`` int4, ``nvidia/Llama-3.3-70B-Instruct-FP4`` NVFP4. Some models are
published only quantised, which their names do not say: openai/gpt-oss-* in mxfp4, DeepSeek-V3 / R1,
Kimi K2 and MiniMax-M2 in block-scaled fp8, Kimi-K2-Thinking with int4 experts. The model table records
those in its ``checkpoint_precision`` column (docs/reference-tables.md): a format for the row's names,
optionally followed by ``; alias=format`` for an alias published otherwise.

:func:`checkpoint_precision` reads a name's quantisation token first (``-FP8``, ``-AWQ``, ``-GPTQ-Int4``,
``-NVFP4``, ``-BF16`` ...), then the table, else ``"bf16"``. A token it does not map (``GGUF``, whose
quantisation level the name does not fix; ``W8A16``, a format energylens has no row for) falls through.
"""

from __future__ import annotations

import functools
import re

from energylens.profiles import tables
from energylens.profiles.alias_cells import alias_cell

__all__ = ["checkpoint_precision", "NAME_TOKEN_PRECISIONS"]

#: A quantisation token of a checkpoint's name -> its weight format (energylens.profiles.precision).
#: ``FP4`` in a name is NVIDIA's NVFP4 (nvidia/*-FP4 model cards), not the OCP MXFP4 that the precision
#: name ``fp4`` means.
NAME_TOKEN_PRECISIONS: dict[str, str] = {
    "fp8": "fp8", "mxfp4": "mxfp4", "nvfp4": "nvfp4", "fp4": "nvfp4",
    "awq": "int4", "gptq": "int4", "int4": "int4", "w4a16": "int4", "4bit": "int4",
    "int8": "int8", "w8a8": "int8", "8bit": "int8",
    "bf16": "bf16", "fp16": "fp16",
}

_PUNCT = re.compile(r"[\s\-_.]+")


@functools.lru_cache(maxsize=4096)
def checkpoint_precision(name: str) -> str:
    """The canonical weight format (``energylens.profiles.precision``) the checkpoint ``name`` is published
    in: its name's quantisation token, else the model table's ``checkpoint_precision`` for that name, else
    ``"bf16"`` (a name the table does not know included)."""
    for token in _PUNCT.split(str(name).strip().lower().rsplit("/", 1)[-1]):
        if token in NAME_TOKEN_PRECISIONS:
            return NAME_TOKEN_PRECISIONS[token]
    spec = tables.find_model(name)
    if spec is None:
        return "bf16"
    default, overrides = _table_formats().get(spec.name, ("bf16", {}))
    return overrides.get(tables.normalize_name(name), default)


@functools.cache
def _table_formats() -> dict[str, tuple[str, dict[str, str]]]:
    """Per canonical model name: the row's format and its aliases' own formats (normalised alias ->
    format), from the ``checkpoint_precision`` cells (checked by tests/profiles/test_checkpoints.py)."""
    out = {}
    frame = tables.models()
    for name, cell in zip(frame["name"], frame["checkpoint_precision"], strict=True):
        if not isinstance(cell, str) or not cell.strip():
            continue
        base, overrides = alias_cell(cell)
        out[name] = (tables.normalize_precision(base) if base else "bf16",
                     {tables.normalize_name(a): tables.normalize_precision(f) for a, f in overrides.items()})
    return out
