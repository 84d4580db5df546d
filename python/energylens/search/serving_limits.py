"""What a checkpoint allows besides memory and layout: its context window, and the FFN widths that
vLLM's weight-block rule checks for a block-scaled fp8 checkpoint (docs/search.md, "Feasibility").

The engine reads them as combo fields (search.hpp: ``context_window_tokens``, ``fp8_weight_block``,
``intermediate_size``, ``moe_intermediate_size``; 0 = unknown or not applicable, never rejected) and
applies the rules in search_kernel.hpp (``beyond_context``, ``fp8_block_misfit``); the NumPy oracle applies
them with its own arithmetic.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from energylens.profiles import tables

__all__ = ["LIMIT_FIELDS", "limit_values", "served_spec"]

#: The combo fields this module fills.
LIMIT_FIELDS = ("context_window_tokens", "fp8_weight_block", "intermediate_size", "moe_intermediate_size")

#: Weight formats that load a block-scaled fp8 checkpoint's own weights (its blocks apply).
_BLOCK_FORMATS = ("fp8", "fp8_block")


def _value(row: dict, spec: tables.ModelSpec, name: str) -> float:
    """A positive finite value of the profile row (an override), else of the model spec; else 0."""
    for source in (row.get(name), getattr(spec, name, None)):
        try:
            v = float(source)
        except (TypeError, ValueError):
            continue
        if math.isfinite(v) and v > 0:
            return v
    return 0.0


def served_spec(spec: tables.ModelSpec, given) -> tables.ModelSpec:
    """``spec`` (what ``given`` resolved to) under the table row's name, unless the table gives the checkpoint
    ``given`` names values of its own (a context window: ``Qwen/Qwen3-235B-A22B-Instruct-2507`` 262144 beside
    the row's 40960): then under ``given``, so the results show that checkpoint, two checkpoints of one row stay
    apart, and a result row fed back as a candidate resolves to the same window. A ModelSpec is kept as it is."""
    if isinstance(given, tables.ModelSpec) or spec.name == str(given) or tables.find_model(spec.name) == spec:
        return spec
    return dataclasses.replace(spec, name=str(given))


def limit_values(rows: list[dict], specs: list[tables.ModelSpec]) -> dict[str, np.ndarray]:
    """Per combination (its schema-v1 profile row and model spec): the LIMIT_FIELDS values. The weight
    block counts only when the combination is searched in fp8 (a bf16 deployment of the same model loads
    the bf16 checkpoint, which has no blocks)."""
    out = {name: np.zeros(len(rows)) for name in LIMIT_FIELDS}
    for i, (row, spec) in enumerate(zip(rows, specs, strict=True)):
        for name in LIMIT_FIELDS:
            out[name][i] = _value(row, spec, name)
        if tables.normalize_precision(str(row.get("precision", "bf16"))) not in _BLOCK_FORMATS:
            out["fp8_weight_block"][i] = 0.0
    return out
