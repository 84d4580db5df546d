"""The weight format a named checkpoint is published in, the search's default weight precision.

A deployment serves a checkpoint, and the checkpoint fixes the weights' format: ``Qwen/Qwen3-8B-FP8`` is
fp8, ``Qwen/Qwen2.5-7B-Instruct-AWQ`` int4, ``nvidia/Llama-3.3-70B-Instruct-FP4`` NVFP4. Some models are
published only quantised, which their names do not say: openai/gpt-oss-* in mxfp4, DeepSeek-V3 / R1,
Kimi K2 and MiniMax-M2 in block-scaled fp8, Kimi-K2-Thinking with int4 experts. The model table records
those in its ``checkpoint_precision`` column (docs/reference-tables.md): a format for the row's names,
optionally followed by ``; alias=format`` for an alias published otherwise.

:func:`checkpoint_precision` reads a name's quantisation token first (``-FP8``, ``-AWQ``, ``-GPTQ-Int4``,
``-NVFP4``, ``-BF16`` ...), then the table, else ``"bf16"``. A format token (``FP8``, ``Int8``, ``Int4``,
``NVFP4`` ...) wins over one that gives only the width (``W8A8``, ``W4A16``, ``8bit``, ``4bit``: ``-W8A8-FP8``
is fp8, ``quantized.w8a8`` int8), and both over a method word (``GPTQ``, ``AWQ``), which only implies 4-bit
where nothing else says: ``Qwen/Qwen2.5-72B-Instruct-GPTQ-Int8`` is int8, ``-GPTQ-Int4`` and ``-AWQ`` int4.
bitsandbytes ``NF4`` is int4 (4-bit weights with block scales, 16-bit GEMMs). ``-NVFP4A16`` (or ``NVFP4`` beside
``W4A16`` / ``A16``) is the weight-only ``nvfp4a16``: NVFP4 bytes, 16-bit GEMMs (vLLM runs it on FP4 Marlin).
``W8A16`` (llm-compressor's ``quantized.w8a16``: int8 weights, 16-bit activations) is ``int8`` (``-FP8-W8A16``
fp8; until 2026-12-06 bf16), and ``-FP8-block`` / ``-FP8_BLOCK`` the block-scaled ``fp8_block`` (a bare ``-FP8``
stays ``fp8``: the name does not say how it is scaled, the model table's ``fp8_weight_block`` does). A local
path's last folder is the name (``/models/Qwen3-8B-AWQ/``). A token it does not map (``GGUF``, whose quantisation level the name does not fix; ``W4A4``, int4 or fp4) falls through.

:func:`checkpoint_weight_only` says whether the name declares 16-bit activations (``W8A16``, ``W4A16``, ``A16``,
``NVFP4A16``) or a weight-only method (GPTQ, AWQ: vLLM's WNA16 kernels at any width) and no 8-bit activations
(``W8A8``): the GEMMs of such an 8-bit checkpoint run at 16 bits, as a sweep records from its config.json
(``energylens.profiling.hf_config.declared_precision``). ``Int8`` or ``FP8`` alone do not say (W8A8 or W8A16):
not guessed.

:func:`checkpoint_layout` says which weights are in the format (:class:`WeightLayout`): only the routed experts
for an expert-only format (gpt-oss's mxfp4) or where the table's cell says ``experts`` after the format
(Kimi-K2-Thinking: ``int4 experts group32``, int4 experts in groups of 32, the rest bf16), which the memory check
and the features' weight bytes both read. A profile row's own ``weight_layout`` column (what a sweep read from the
checkpoint's config.json: ``hf_config.declared_layout_words``) decides before the table (:func:`row_layout`,
:func:`canonical_layout`; docs/profile-schema.md).
"""

from __future__ import annotations

import functools
import math
import re
from typing import NamedTuple

import numpy as np

from energylens.profiles import cells, model_registry, tables
from energylens.profiles.alias_cells import alias_cell
from energylens.profiles.gpu_names import fold_text

__all__ = ["checkpoint_precision", "checkpoint_weight_only", "weight_only_compute", "fill_weight_only_compute",
           "NAME_TOKEN_PRECISIONS", "METHOD_TOKENS", "WIDTH_TOKENS", "A16_TOKENS", "A8_TOKENS", "EXPERT_ONLY_FORMATS",
           "WeightLayout", "checkpoint_layout", "layout_rows", "expert_bytes_per_param", "group_bytes_per_param",
           "LAYOUT_COLUMN", "canonical_layout", "layout_of", "row_layout"]

#: A quantisation token of a checkpoint's name -> its weight format (energylens.profiles.precision).
#: ``FP4`` in a name is NVIDIA's NVFP4 (nvidia/*-FP4 model cards), not the OCP MXFP4 that the precision
#: name ``fp4`` means.
NAME_TOKEN_PRECISIONS: dict[str, str] = {
    "fp8": "fp8", "fp8block": "fp8_block", "mxfp4": "mxfp4", "nvfp4": "nvfp4", "fp4": "nvfp4", "nvfp4a16": "nvfp4a16",
    "awq": "int4", "gptq": "int4", "int4": "int4", "w4a16": "int4", "4bit": "int4", "nf4": "int4",
    "int8": "int8", "w8a8": "int8", "w8a16": "int8", "8bit": "int8",
    "bf16": "bf16", "fp16": "fp16",
}

#: Quantisation methods whose name does not fix the width (GPTQ and AWQ checkpoints come in 4 and 8 bits): the
#: format they imply (4-bit, the common one) is taken only when no other token of the name gives the width.
METHOD_TOKENS = frozenset({"awq", "gptq"})
#: Tokens that give the width but not the number format (W8A8 is int8 in llm-compressor's ``quantized.w8a8``
#: names, but ``-W8A8-FP8`` is fp8): a format token of the name (``FP8``, ``INT8``, ``NVFP4`` ...) decides over them.
WIDTH_TOKENS = frozenset({"w8a8", "w8a16", "w4a16", "8bit", "4bit"})
#: Tokens that say the activations stay 16-bit: beside an NVFP4 token (``-NVFP4-W4A16``) the weight-only
#: ``nvfp4a16`` (W4A16 via FP4 Marlin in vLLM; energylens.profiles.precision), not the W4A4 ``nvfp4``.
A16_TOKENS = frozenset({"w4a16", "w8a16", "a16", "nvfp4a16"})
#: Tokens that say the activations are quantised (W8A8; W4A8, W4A4): never weight-only, whatever the method word.
A8_TOKENS = frozenset({"w8a8", "w4a8", "w4a4", "a8"})

#: Weight formats that hold only a MoE checkpoint's routed experts whatever the checkpoint: vLLM's ``Mxfp4Config``
#: gives its MoE method to ``FusedMoE`` layers only and the unquantised one to every linear layer (gpt-oss: mxfp4
#: experts; attention, router, embeddings and lm_head bf16). A format quantised elsewhere too can still be
#: experts-only for one checkpoint: :func:`checkpoint_layout`.
EXPERT_ONLY_FORMATS = ("mxfp4",)

#: Bits of the integer formats a ``group<N>`` layout word prices (:func:`group_bytes_per_param`).
_INT_BITS = {"int4": 4.0, "int8": 8.0}

_PUNCT = re.compile(r"[\s\-_.]+")
#: ``FP8-block``, ``FP8_BLOCK``, ``fp8.blockwise``: one token (split apart, ``block`` alone means nothing).
_FP8_BLOCK = re.compile(r"fp8[\s\-_.]*block(?:wise)?(?=$|[\s\-_.])")


def _words(name: str) -> list[str]:
    """The words of the last part of a Hugging Face id or of a local path ("/models/Qwen3-8B-AWQ/": the trailing
    '/' included), lower-cased, with ``fp8-block`` joined into ``fp8block``."""
    base = fold_text(name).strip().rstrip("/\\").lower().replace("\\", "/").rsplit("/", 1)[-1]
    return _PUNCT.split(_FP8_BLOCK.sub("fp8block", base))


@functools.lru_cache(maxsize=4096)
def checkpoint_precision(name: str) -> str:
    """The canonical weight format (``energylens.profiles.precision``) the checkpoint ``name`` is published
    in: its name's quantisation token, else the model table's ``checkpoint_precision`` for that name, else
    ``"bf16"`` (a name the table does not know included)."""
    words = _words(name)
    tokens = [t for t in words if t in NAME_TOKEN_PRECISIONS]
    if tokens:  # a format word (W8A8-FP8: fp8), then a width word (GPTQ-Int8: int8), then a method word (int4)
        fmt = NAME_TOKEN_PRECISIONS[min(tokens, key=lambda t: (t in METHOD_TOKENS, t in WIDTH_TOKENS))]
        return "nvfp4a16" if fmt == "nvfp4" and not A16_TOKENS.isdisjoint(words) else fmt
    spec = tables.find_model(name)
    if spec is None:
        return "bf16"
    default, overrides = _table_formats().get(spec.name, (("bf16", ()), {}))
    return overrides.get(tables.normalize_name(name), default)[0]


@functools.lru_cache(maxsize=4096)
def checkpoint_weight_only(name: str) -> bool:
    """Whether the checkpoint ``name`` says its activations stay 16-bit: an A16 word (``quantized.w8a16``,
    ``-W4A16``, ``-NVFP4A16``) or a weight-only method (``-GPTQ-Int8``, ``-AWQ``), and no word that quantises
    activations (``W8A8``). An 8-bit such checkpoint (``int8`` / ``fp8`` / ``fp8_block``) runs its GEMMs at the
    activations' 16 bits (vLLM's WNA16 / W8A16Fp8 kernels), as ``hf_config.declares_weight_only`` reads its
    config.json; a name that does not say (``-Int8``, ``-FP8``) is False: the precision table decides."""
    words = set(_words(name))
    return bool(words & (A16_TOKENS | METHOD_TOKENS)) and not words & A8_TOKENS


#: Weight formats whose GEMMs run at 8 bits unless the checkpoint is weight-only (W8A16): the formats
#: :func:`weight_only_compute` can move to 16-bit compute (a 4-bit format computes at 16 bits anyway).
EIGHT_BIT_FORMATS = frozenset({"int8", "fp8", "fp8_block"})


@functools.lru_cache(maxsize=4096)
def weight_only_compute(name: str, precision: str) -> str:
    """The GEMM precision a row of checkpoint ``name`` in weight format ``precision`` runs at when its name says
    so: ``"bf16"`` for a weight-only checkpoint (:func:`checkpoint_weight_only`: ``quantized.w8a16``,
    ``-GPTQ-Int8``) in its own 8-bit format, as vLLM's W8A16 kernels and a sweep's config.json reading have it;
    ``""`` otherwise (the precision table decides: W8A8 on a GPU with 8-bit tensor cores). A format other than
    the checkpoint's own (a what-if ``--precision``) is not the checkpoint's, so its name does not decide it."""
    own = checkpoint_precision(name)
    same = own == precision or {own, precision} <= {"fp8", "fp8_block"}
    return "bf16" if same and own in EIGHT_BIT_FORMATS and checkpoint_weight_only(name) else ""


def fill_weight_only_compute(models, precision: tuple[np.ndarray, np.ndarray],
                             compute: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The features' compute precision (code per row, value per code; "" = the precision table's) with
    :func:`weight_only_compute` filled in where a row gives none: ``models`` the model column (text or
    :class:`~energylens.profiles.cells.Coded`), ``precision`` the rows' canonical weight formats (codes, values)."""
    codes, values = compute
    p_codes, p_values = precision
    if not any(str(v) in EIGHT_BIT_FORMATS for v in p_values):
        return compute
    m_codes, names = cells.codes(models)
    keys, at = np.unique(np.column_stack([m_codes, p_codes]), axis=0, return_inverse=True)
    filled = np.array([weight_only_compute(str(names[m]), str(p_values[p])) if m >= 0 else "" for m, p in keys],
                      dtype=object)
    take = (filled.take(at.reshape(-1)) == "bf16") & (values.take(codes) == "")
    if not take.any():
        return compute
    out = np.where(take, len(values), codes)
    return out, np.append(values, "bf16").astype(object)


class WeightLayout(NamedTuple):
    """Which of a checkpoint's weights are in its format and how many bytes its experts take.

    ``experts_only``: only the routed experts are in the format; attention, shared experts, dense layers,
    router, embeddings and lm_head are bf16 (gpt-oss's mxfp4; Kimi-K2-Thinking's int4: its config.json
    ``quantization_config`` ignores ``self_attn``, ``shared_experts``, the dense ``mlp.*_proj`` and ``lm_head``).
    ``expert_bytes``: bytes per expert parameter where the checkpoint's group size fixes them (Kimi-K2-Thinking:
    int4 in groups of 32 with one bf16 scale each, 4.5 bits = 0.5625 B, where the format's int4 is AWQ's 4.25
    bits at group 128); NaN = the format's (``tables.bytes_per_param``)."""

    experts_only: bool
    expert_bytes: float


def group_bytes_per_param(num_bits: float, group_size: float) -> float:
    """Bytes per weight of a symmetric grouped integer format: ``num_bits`` / 8 plus one 16-bit scale per
    ``group_size`` weights (compressed-tensors' pack-quantized int4 and int8: no zero point when symmetric)."""
    return float(num_bits) / 8.0 + 2.0 / float(group_size)


@functools.lru_cache(maxsize=4096)
def checkpoint_layout(name: str, precision: str, expert_only_formats: tuple = EXPERT_ONLY_FORMATS) -> WeightLayout:
    """The :class:`WeightLayout` of checkpoint ``name`` in weight format ``precision``: an expert-only format
    (``expert_only_formats``, :data:`EXPERT_ONLY_FORMATS`) is experts-only for every checkpoint; otherwise the model table's
    ``checkpoint_precision`` cell for that name says so after its format (``moonshotai/Kimi-K2-Thinking=int4
    experts group32``: docs/reference-tables.md), when ``precision`` is that format (a what-if format is
    the whole checkpoint's)."""
    fmt = tables.normalize_precision(precision)
    spec = tables.find_model(name) if name else None
    if spec is None:
        return layout_of(fmt, (), expert_only_formats)
    default, overrides = _table_formats().get(spec.name, (("bf16", ()), {}))
    own, words = overrides.get(tables.normalize_name(name), default)
    if own != fmt and not {own, fmt} <= {"fp8", "fp8_block"}:
        return layout_of(fmt, (), expert_only_formats)
    return layout_of(fmt, words, expert_only_formats)


def layout_of(fmt: str, words, expert_only_formats: tuple = EXPERT_ONLY_FORMATS) -> WeightLayout:
    """The :class:`WeightLayout` that layout ``words`` (``experts`` / ``all``, ``group<N>``: a table cell's after its
    format, or a ``weight_layout`` cell's) give a checkpoint in canonical format ``fmt``: experts-only for an
    expert-only format whatever the words; a group size prices the experts of an int4 / int8 format only."""
    groups = [float(w[len("group"):]) for w in words if w.startswith("group")]
    return WeightLayout(fmt in expert_only_formats or "experts" in words,
                        group_bytes_per_param(_INT_BITS[fmt], groups[0]) if groups and fmt in _INT_BITS else math.nan)


#: The profile column that records a checkpoint's own layout (docs/profile-schema.md): blank = the model
#: table's / the format's rule (:func:`checkpoint_layout`).
LAYOUT_COLUMN = "weight_layout"
_LAYOUT_KINDS = ("all", "experts")


def canonical_layout(value: object) -> str:
    """A ``weight_layout`` cell in its canonical spelling: ``""`` for a blank one (None, NaN, whitespace), else
    ``all`` or ``experts`` (which weights are in the row's format) and / or ``group<N>`` (the routed experts'
    int4 / int8 group size, one 16-bit scale per group), lower-cased, in that order. ValueError saying what is
    wrong otherwise (another word, both kinds, two group sizes)."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or not str(value).strip():
        return ""
    words = str(value).lower().split()
    bad = [w for w in words if w not in _LAYOUT_KINDS and not re.fullmatch(r"group[1-9][0-9]*", w)]
    kinds, groups = [w for w in words if w in _LAYOUT_KINDS], [w for w in words if w.startswith("group")]
    if bad or len(kinds) > 1 or len(groups) > 1:
        why = f"{bad[0]!r} is not a layout word" if bad else "it gives two " + ("kinds" if len(kinds) > 1 else "group sizes")
        raise ValueError(f"{str(value)!r}: {why}; expected 'all' or 'experts' (which weights are in the row's "
                         "format) and / or 'group<N>' (int4 / int8 group size), e.g. 'experts group32', or blank")
    return " ".join([*kinds, *groups])


@functools.lru_cache(maxsize=4096)
def row_layout(name: str, precision: str, layout: str = "",
               expert_only_formats: tuple = EXPERT_ONLY_FORMATS) -> WeightLayout:
    """The :class:`WeightLayout` of a row of checkpoint ``name`` in format ``precision`` whose ``weight_layout``
    cell is ``layout`` (:func:`canonical_layout`'s spelling or any it accepts): the cell's where it gives one,
    else :func:`checkpoint_layout`'s (the model table's, the format's)."""
    words = canonical_layout(layout).split()
    if not words:
        return checkpoint_layout(name, precision, expert_only_formats)
    return layout_of(tables.normalize_precision(precision), words, expert_only_formats)


def expert_bytes_per_param(name: str, precision: str, layout: str = "") -> float:
    """Bytes per routed-expert parameter of checkpoint ``name`` in format ``precision`` with ``weight_layout``
    cell ``layout``: its layout's (:func:`row_layout`), else the format's."""
    own = row_layout(str(name), precision, canonical_layout(layout)).expert_bytes
    return own if math.isfinite(own) else tables.bytes_per_param(precision)


def layout_rows(models, precision: tuple[np.ndarray, np.ndarray], expert_only_formats: tuple = EXPERT_ONLY_FORMATS,
                layouts=None) -> tuple[np.ndarray, np.ndarray]:
    """Per row, :func:`row_layout`'s (experts_only, expert_bytes: NaN = the format's) of the model column
    ``models`` (text or :class:`~energylens.profiles.cells.Coded`), the rows' canonical weight formats
    ``precision`` (codes, values) and their ``weight_layout`` column ``layouts`` (None: absent): the rule runs
    once per distinct (model, format, layout), and not at all where no row gives a layout and no checkpoint
    has one of its own in the rows' formats (the features' common case)."""
    p_codes, p_values = precision
    if layouts is not None:
        l_codes, l_values = cells.codes(layouts)
        given = np.array([canonical_layout(v) for v in l_values] + [""], dtype=object)
        if given.any():  # some row's own layout: per distinct (model, format, layout) of the rows
            codes, keys = cells.key_codes(models, cells.Coded(p_codes, p_values),
                                          cells.Coded(np.where(l_codes < 0, len(l_values), l_codes), given))
            per_key = [row_layout(str(m) if isinstance(m, str) else "", str(f), str(w), expert_only_formats)
                       for m, f, w in keys]
            return (np.array([k.experts_only for k in per_key], dtype=bool).take(codes),
                    np.array([k.expert_bytes for k in per_key], dtype=float).take(codes))
    if not any(str(v) in _layout_formats() for v in p_values):  # the format alone decides (gpt-oss, bf16: ~5 us)
        only = np.array([str(v) in expert_only_formats for v in p_values], dtype=bool)
        return only.take(p_codes), np.full(len(p_codes), np.nan)
    m_codes, names = cells.codes(models)
    names = [*map(str, names), ""]  # code -1 (a missing model cell): the last
    n_p = len(p_values)
    flat = np.where(m_codes < 0, len(names) - 1, m_codes) * n_p + p_codes
    if len(names) * n_p > max(len(flat), 64):  # many pairs: only those the rows use
        keys, flat = np.unique(flat, return_inverse=True)
    else:
        keys = np.arange(len(names) * n_p)
    per_key = [checkpoint_layout(names[k // n_p], str(p_values[k % n_p]), expert_only_formats) for k in keys.tolist()]
    only = np.array([k.experts_only for k in per_key], dtype=bool)
    nbytes = np.array([k.expert_bytes for k in per_key], dtype=float)
    return only.take(flat.reshape(-1)), nbytes.take(flat.reshape(-1))


@functools.cache
def _layout_formats() -> frozenset[str]:
    """The formats the model table gives some checkpoint a layout in (``int4 experts group32``: int4)."""
    cells_ = [v for base, overrides in _table_formats().values() for v in (base, *overrides.values())]
    return frozenset(fmt for fmt, words in cells_ if words)


#: A ``checkpoint_precision`` cell's layout words after its format: ``experts``, ``group<N>``.
_LAYOUT_WORD = re.compile(r"experts|group[1-9][0-9]*")


def _format_words(value: str, name: str = "") -> tuple[str, tuple[str, ...]]:
    """``"int4 experts group32"`` -> ("int4", ("experts", "group32")): a cell's format and its layout words
    (another word is an error naming the model table's row ``name``)."""
    fmt, *words = value.split()
    words = [w.lower() for w in words]
    bad = [w for w in words if not _LAYOUT_WORD.fullmatch(w)]
    if bad:
        raise ValueError(f"model table (models.csv) row {name!r}, column 'checkpoint_precision': {value!r} has "
                         f"{bad[0]!r} after its format; expected 'experts' and / or 'group<N>' (int4 / int8)")
    return tables.normalize_precision(fmt), tuple(words)


@functools.cache
def _table_formats() -> dict[str, tuple[tuple[str, tuple[str, ...]], dict[str, tuple[str, tuple[str, ...]]]]]:
    """Per canonical model name: the row's (format, layout words) and its aliases' own (normalised alias ->
    (format, words)), from the ``checkpoint_precision`` cells (checked by tests/profiles/test_checkpoints.py); cleared
    when a user model table is registered."""
    out = {}
    frame = tables.models()  # and a user model table's cells (energylens.profiles.model_table)
    for name, cell in [*zip(frame["name"], frame["checkpoint_precision"], strict=True),
                       *model_registry.cells("checkpoint_precision")]:
        if not isinstance(cell, str) or not cell.strip():
            continue
        base, overrides = alias_cell(cell)
        out[name] = (_format_words(base, name) if base else ("bf16", ()),
                     {tables.normalize_name(a): _format_words(f, name) for a, f in overrides.items()})
    return out
