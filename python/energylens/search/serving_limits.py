"""What a checkpoint allows besides memory and layout: its context window, and the FFN widths that
vLLM's weight-block rule checks for a block-scaled fp8 checkpoint (docs/search.md, "Feasibility").

The engine reads them as combo fields (search.hpp: ``context_window_tokens``, ``fp8_weight_block``,
``intermediate_size``, ``moe_intermediate_size``; 0 = unknown or not applicable, never rejected) and
applies the rules in search_kernel.hpp (``beyond_context``, ``fp8_block_misfit``); the NumPy oracle applies
them with its own arithmetic. The engine's ``intermediate_size`` is every tp-sharded FFN at once: the dense
layers' and a shared expert's (``shared_expert_intermediate_size``), folded by :func:`tp_sharded_width`.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd

from energylens.profiles import tables

__all__ = ["LIMIT_FIELDS", "SHARED_EXPERT_FIELD", "limit_values", "served_spec", "fp8_block_misfit",
           "tp_sharded_width", "row_limits"]

#: The combo fields this module fills.
LIMIT_FIELDS = ("context_window_tokens", "fp8_weight_block", "intermediate_size", "moe_intermediate_size")
#: A shared expert's FFN width (model table / profile column): a plain MLP split over tp like the dense layers
#: (vLLM's Qwen3-Next, DeepSeek-V3 and GLM-4.5 shared experts are column-/row-parallel linears), not like
#: the routed experts; it enters the engine folded into ``intermediate_size`` (:func:`tp_sharded_width`).
SHARED_EXPERT_FIELD = "shared_expert_intermediate_size"

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


def tp_sharded_width(dense, shared) -> np.ndarray:
    """One width standing for two FFNs split over tp (the dense layers' and a shared expert's; 0 = none or
    unknown) in the block rule: their greatest common divisor, since tp x block divides both widths exactly
    when it divides their gcd; the other where one is 0. A width that is not a whole number cannot be whole
    blocks: 0.5 stands for it (never a multiple of a block)."""
    dense, shared = np.broadcast_arrays(np.asarray(dense, dtype=float), np.asarray(shared, dtype=float))
    both = (dense > 0) & (shared > 0)
    whole = (np.mod(dense, 1.0) == 0) & (np.mod(shared, 1.0) == 0)
    gcd = np.gcd(np.where(both & whole, dense, 1.0).astype(np.int64), np.where(both & whole, shared, 1.0).astype(np.int64))
    return np.where(both, np.where(whole, gcd.astype(float), 0.5), np.maximum(dense, shared))


def limit_values(rows: list[dict], specs: list[tables.ModelSpec]) -> dict[str, np.ndarray]:
    """Per combination (its schema-v1 profile row and model spec): the LIMIT_FIELDS values, a shared expert's
    width folded into ``intermediate_size``. The weight block counts only when the combination is searched in
    fp8 (a bf16 deployment of the same model loads the bf16 checkpoint, which has no blocks)."""
    out = {name: np.zeros(len(rows)) for name in LIMIT_FIELDS}
    shared = np.zeros(len(rows))
    for i, (row, spec) in enumerate(zip(rows, specs, strict=True)):
        for name in LIMIT_FIELDS:
            out[name][i] = _value(row, spec, name)
        shared[i] = _value(row, spec, SHARED_EXPERT_FIELD)
        if tables.normalize_precision(str(row.get("precision", "bf16"))) not in _BLOCK_FORMATS:
            out["fp8_weight_block"][i] = 0.0
    out["intermediate_size"] = tp_sharded_width(out["intermediate_size"], shared)
    return out


def fp8_block_misfit(block, ffn, expert, tp, dp, ep) -> np.ndarray:
    """vLLM's block rule for block-scaled fp8 weights (search_kernel.hpp's ``fp8_block_misfit``, in NumPy):
    the dense FFN's tp shard (tp > 1) and the experts' shard (over tp x dp without EP, whole with EP) must be
    whole blocks; a width or block of 0 is not checked."""
    block, ffn, expert, tp, dp, ep = np.broadcast_arrays(*(np.asarray(x, dtype=float)
                                                           for x in (block, ffn, expert, tp, dp, ep)))
    safe = np.where(block > 0, block, 1.0)
    dense_bad = (tp > 1) & (ffn > 0) & (np.mod(ffn / tp, safe) != 0)
    expert_bad = (expert > 0) & (np.mod(expert / np.where(ep > 1, 1.0, tp * dp), safe) != 0)
    return (block > 0) & (dense_bad | expert_bad)


def row_limits(frame: pd.DataFrame) -> pd.DataFrame:
    """Per validated profile row (model, precision, tp, dp, ep, input / output tokens): ``fits_context``
    (prompt + output within the checkpoint's context window) and ``fits_fp8_blocks`` (vLLM's weight-block
    rule for a block-scaled fp8 checkpoint served in fp8), each NA where it does not apply or is unknown (a
    model the table lacks, a window or width it does not give). A row's own column of a LIMIT_FIELDS name (or
    ``shared_expert_intermediate_size``) overrides the table's value, as in the search."""
    precision = frame["precision"].astype(str).to_numpy()
    codes, pairs = pd.factorize(pd.Series(list(zip(frame["model"].astype(str), precision, strict=True)),
                                          dtype=object))
    names = (*LIMIT_FIELDS, SHARED_EXPERT_FIELD)
    table = {name: np.zeros(len(pairs)) for name in names}
    block_format = np.zeros(len(pairs), dtype=bool)
    for u, (model, prec) in enumerate(pairs):  # the table's values once per (model, precision)
        block_format[u] = tables.normalize_precision(prec) in _BLOCK_FORMATS
        spec = tables.find_model(model)
        if spec is not None:
            for name in names:
                table[name][u] = _value({}, spec, name)
    values = {name: table[name][codes] for name in names}
    for name in names:  # a row's own value wins where it is a positive number
        if name in frame.columns:
            own = pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=float)
            values[name] = np.where(np.isfinite(own) & (own > 0), own, values[name])
    # only a block format loads the blocks, a row's own fp8_weight_block included
    values["fp8_weight_block"] = np.where(block_format[codes], values["fp8_weight_block"], 0.0)
    values["intermediate_size"] = tp_sharded_width(values["intermediate_size"], values[SHARED_EXPERT_FIELD])
    tokens = frame["input_tokens"].to_numpy(dtype=float) + frame["output_tokens"].to_numpy(dtype=float)
    window = values["context_window_tokens"]
    fits_context = pd.array(tokens <= window, dtype="boolean")
    fits_context[window <= 0] = pd.NA
    misfit = fp8_block_misfit(values["fp8_weight_block"], values["intermediate_size"],
                              values["moe_intermediate_size"], *(frame[c].to_numpy(dtype=float) for c in ("tp", "dp", "ep")))
    blocks = pd.array(~misfit, dtype="boolean")
    blocks[values["fp8_weight_block"] <= 0] = pd.NA
    return pd.DataFrame({"fits_context": fits_context, "fits_fp8_blocks": blocks})
