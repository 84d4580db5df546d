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

One such fact a checkpoint's name says by itself (:func:`name_values`): whether its fp8 weights are scaled per
block. The row's ``fp8_weight_block`` is the block of the fp8 checkpoint the model is *published* in
(``Qwen/Qwen3-*-FP8``, DeepSeek-V3: 128 x 128), and an ``fp8`` row of such a model computes as ``fp8_block``
(energylens.profiles.features ``FP8_BLOCK_SCALED``, energylens.profiles.precision). Other publishers quantise
the same model with llm-compressor's ``FP8_DYNAMIC`` scheme: one fp32 scale per output channel, activations
quantised per token at run time (``RedHatAI/Qwen3-30B-A3B-FP8-dynamic``; RedHatAI's and neuralmagic's fp8 W8A8
checkpoints are per-channel or per-tensor unless the name says ``block``). vLLM loads those as
``CompressedTensorsW8A8Fp8`` with strategy ``CHANNEL`` and no ``block_structure``: ``apply_weights`` takes
``Fp8LinearOp`` (CUTLASS ``scaled_mm``, per-token x per-channel scales: the fp8 peak on Hopper), never
``W8A8BlockFp8LinearOp``, and ``validate_fp8_block_shape`` runs for the ``BLOCK`` strategy only
(vllm/model_executor/layers/quantization/compressed_tensors/schemes/compressed_tensors_w8a8_fp8.py). So such a
name has no ``fp8_weight_block`` (:func:`channel_scaled_fp8`): its ``fp8`` rows stay W8A8 ``fp8`` and the
search applies no block rule to it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

from energylens.profiles.gpu_names import fold_text, normalize_name

__all__ = ["alias_cell", "alias_override", "QUANT_TOKENS", "name_values", "channel_scaled_fp8", "CHANNEL_FP8_ORGS"]

#: Name tokens that mark a quantised copy of a checkpoint (the same checkpoint's window and architecture).
QUANT_TOKENS = frozenset({"fp8", "fp16", "bf16", "awq", "gptq", "int4", "int8", "w4a16", "w8a8", "w8a16", "bnb",
                          "4bit", "8bit", "dynamic", "gguf", "mlx", "fp4", "nvfp4", "mxfp4",
                          "nvfp4a16"})

_PUNCT = re.compile(r"[\s\-_.]+")
#: Publishers whose fp8 checkpoints are made with llm-compressor's ``FP8`` / ``FP8_DYNAMIC`` schemes (per-tensor
#: or per-channel scales): block-scaled only where the name says ``block``.
CHANNEL_FP8_ORGS = frozenset({"redhatai", "neuralmagic"})


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


def channel_scaled_fp8(name: str) -> bool:
    """Whether the checkpoint ``name`` is an fp8 one scaled per channel (or per tensor), not per block: an ``FP8``
    token with ``dynamic`` (``-FP8-dynamic``, ``-FP8-Dynamic``, ``-FP8Dynamic``), or an ``FP8`` checkpoint of
    RedHatAI / neuralmagic (a local path's parent folder counts as the org) whose name does not say ``block``."""
    parts = fold_text(str(name)).strip().rstrip("/\\").lower().replace("\\", "/").split("/")
    tokens = set(_PUNCT.split(parts[-1]))
    if not tokens & {"fp8", "fp8dynamic"} or tokens & {"block", "blockwise", "fp8block"}:
        return False
    return bool(tokens & {"dynamic", "fp8dynamic"}) or (len(parts) > 1 and parts[-2] in CHANNEL_FP8_ORGS)


def name_values(name: str, spec) -> dict[str, float]:
    """The values the checkpoint ``name`` gives itself over its model-table row ``spec`` (a ``tables.ModelSpec``):
    no ``fp8_weight_block`` (NaN) for a per-channel fp8 copy of a model published block-scaled, else none."""
    if spec.fp8_weight_block > 0 and channel_scaled_fp8(name):
        return {"fp8_weight_block": math.nan}
    return {}
