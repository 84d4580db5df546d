"""Reference tables: GPU datasheet numbers and LLM architectures (docs/reference-tables.md).

Both tables are package data (``energylens/data/gpus.csv``, ``energylens/data/models.csv``), read once
and cached. Every row cites its public source (vendor datasheet, the model's ``config.json``). This
module owns the model table (its row, :class:`ModelSpec`, is :mod:`energylens.profiles.model_row`); the GPU
table (bundled rows, user GPU tables, GPU spec columns in a profile) lives in :mod:`energylens.gpu_table` and
precision formats in :mod:`energylens.profiles.precision`, all re-exported here so ``tables`` stays the one
place to look things up.

Lookups are tolerant of case and punctuation: names are normalised by :func:`normalize_name` and matched
against the canonical name and every alias. An unknown GPU raises :class:`UnknownGpuError` listing close
matches; an unknown model either raises :class:`UnknownModelError` or, when a parameter count is given,
returns an architecture estimated by :func:`estimate_architecture` and warns with
:class:`EstimatedArchitectureWarning`.
"""

from __future__ import annotations

import difflib
import functools
import math
import re
from dataclasses import fields, replace
from importlib import resources

import pandas as pd

from energylens import warning_sink
from energylens.errors import UnknownModelError
from energylens.profiles import model_registry
from energylens.profiles.alias_cells import alias_cell, alias_override, name_values
from energylens.profiles.gpu_names import fold_text
from energylens.profiles.gpu_table import (
    GPU_COLUMNS,
    INLINE_COLUMNS,
    GpuSpec,
    GpuTableError,
    clear_user_gpus,
    gpu_spec,
    gpu_specs_for_profiles,
    gpus,
    load_gpu_table,
    normalize_name,
    register_gpu,
    register_gpu_table,
    unregister_gpu,
    user_gpus,
)
from energylens.profiles.model_row import ModelSpec
from energylens.profiles.precision import (
    KV_CACHE_DTYPE_BYTES,
    PRECISION_BYTES,
    WEIGHT_FORMATS,
    bytes_per_param,
    compute_precision,
    normalize_kv_cache_dtype,
    normalize_precision,
    peak_flops,
)

__all__ = [
    "GpuSpec", "ModelSpec", "EstimatedArchitectureWarning", "gpu_spec", "model_spec", "gpus", "models",
    "bytes_per_param", "estimate_architecture", "normalize_name", "normalize_precision", "find_model",
    "PRECISION_BYTES", "WEIGHT_FORMATS", "KV_CACHE_DTYPE_BYTES", "compute_precision", "peak_flops",
    "normalize_kv_cache_dtype", "GPU_COLUMNS", "INLINE_COLUMNS", "GpuTableError", "load_gpu_table",
    "register_gpu", "register_gpu_table", "unregister_gpu", "clear_user_gpus", "user_gpus",
    "gpu_specs_for_profiles"
]

class EstimatedArchitectureWarning(UserWarning):
    """A model was not in the table; its architecture was estimated from its parameter count."""


# --------------------------------------------------------------------------------------------------
# Normalisation and loading
# --------------------------------------------------------------------------------------------------

_PUNCT = re.compile(r"[\s\-_.]+")  # as gpu_table.normalize_name
# Tokens that name a variant of a checkpoint, not a different architecture; dropped for the
# second-chance model lookup (``Qwen/Qwen3-8B-FP8`` -> ``Qwen3-8B``).
_VARIANT_TOKENS = frozenset({
    "instruct", "it", "chat", "hf", "base", "pt", "fp8", "fp16", "bf16", "awq", "gptq", "int4", "int8",
    "w4a16", "w8a8", "w8a16", "bnb", "4bit", "8bit", "dynamic", "gguf", "mlx",
    # Blackwell-era quantised checkpoints (nvidia/Llama-3.3-70B-Instruct-FP4, ...-NVFP4) and reasoning
    # variants of one architecture (Qwen3-VL-235B-A22B-Thinking)
    "fp4", "nvfp4", "mxfp4", "nvfp4a16", "thinking",
    # llm-compressor's names (neuralmagic/ and RedHatAI/ ...-quantized.w8a8, -quantized.w4a16)
    "quantized", "w4a4", "block",  # ...-FP8-block: block-scaled fp8 (alias_cells.channel_scaled_fp8)
})


def _variant_key(name: str) -> str:
    s = fold_text(name).strip().rstrip("/\\").lower().replace("\\", "/").rsplit("/", 1)[-1].replace("nvidia", "")  # a local path too
    tokens = [t for t in _PUNCT.split(s) if t and t not in _VARIANT_TOKENS]
    return "".join(tokens)


def _read_csv(filename: str) -> pd.DataFrame:
    ref = resources.files("energylens").joinpath("data", filename)
    with ref.open("r", encoding="utf-8") as fh:
        return pd.read_csv(fh, keep_default_na=True, dtype={"name": str, "aliases": str, "source": str,
                                                          "layer_pattern": str})


@functools.cache
def _model_frame() -> pd.DataFrame:
    df = _read_csv("models.csv")
    df["aliases"] = df["aliases"].fillna("")
    return df


def models() -> pd.DataFrame:
    """The model table (a copy), one row per model, columns as in ``data/models.csv``."""
    return _model_frame().copy()


def _index(frame: pd.DataFrame, key_fn) -> dict[str, int]:
    index: dict[str, int] = {}
    ambiguous: set[str] = set()
    for i, row in enumerate(frame.itertuples(index=False)):
        names = [row.name] + [a for a in str(row.aliases).split(";") if a.strip()]
        for n in names:
            k = key_fn(n)
            if not k:
                continue
            if k in index and index[k] != i:
                ambiguous.add(k)
            index.setdefault(k, i)
    for k in ambiguous:  # a key two rows share identifies neither
        del index[k]
    return index


@functools.cache
def _model_index() -> dict[str, int]:
    return _index(_model_frame(), normalize_name)


@functools.cache
def _model_variant_index() -> dict[str, int]:
    return _index(_model_frame(), _variant_key)


def _candidates(frame: pd.DataFrame) -> dict[str, str]:
    """Every normalised name and alias of ``frame`` -> its row's canonical name (the first row wins)."""
    candidates: dict[str, str] = {}
    for row in frame.itertuples(index=False):
        for alias in [row.name] + [a for a in str(row.aliases).split(";") if a.strip()]:
            candidates.setdefault(normalize_name(alias), row.name)
    return candidates


@functools.cache
def _model_candidates() -> dict[str, str]:
    return _candidates(_model_frame())


def _close_matches(query: str, frame: pd.DataFrame, n: int = 5) -> list[str]:
    """Up to ``n`` canonical names whose name or alias resembles ``query`` (difflib)."""
    if frame is _model_frame():  # the bundled table never changes: its names are gathered once
        return list(_bundled_close_matches(query, n))
    return _matches(query, _candidates(frame), n)


@functools.lru_cache(maxsize=1024)
def _bundled_close_matches(query: str, n: int) -> tuple[str, ...]:
    return tuple(_matches(query, _model_candidates(), n))


def _matches(query: str, candidates: dict[str, str], n: int) -> list[str]:
    key = normalize_name(query)
    hits = difflib.get_close_matches(key, list(candidates), n=4 * n, cutoff=0.5)
    out: list[str] = []
    for h in hits:
        if candidates[h] not in out:
            out.append(candidates[h])
    return out[:n]


def _float(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


_MODEL_INT_FIELDS = ("n_layers", "d_model", "n_heads", "n_kv_heads", "head_dim", "n_experts", "experts_per_token")
#: Numeric ModelSpec fields whose table cell may give an alias its own value (:func:`alias_cell`).
_ALIAS_CELL_FIELDS = ("context_window_tokens",)


def _model_from_row(row: pd.Series) -> ModelSpec:
    kwargs = {}
    for f in fields(ModelSpec):
        if f.name == "estimated":
            continue
        if f.name not in row.index:  # optional later columns (defaults NaN)
            continue
        v = row[f.name]
        if f.name == "aliases":
            kwargs[f.name] = tuple(a for a in str(v).split(";") if a)
        elif f.name in ("name", "family", "architecture", "source"):
            kwargs[f.name] = str(v)
        elif f.name == "layer_pattern":
            kwargs[f.name] = v.strip() if isinstance(v, str) else ""
        elif f.name in _MODEL_INT_FIELDS:
            kwargs[f.name] = int(v)
        elif f.name in _ALIAS_CELL_FIELDS:  # the row's own value; its aliases' in find_model
            kwargs[f.name] = _float(alias_cell(v)[0])
        else:
            kwargs[f.name] = _float(v)
    return ModelSpec(**kwargs, estimated=False)


# --------------------------------------------------------------------------------------------------
# Public lookups
# --------------------------------------------------------------------------------------------------

def find_model(name: str) -> ModelSpec | None:
    """The table row for ``name`` (name, alias, or a variant such as ``-FP8``/``-AWQ``), else None; with
    the values the table gives that name of the row (``context_window_tokens``) where they differ."""
    key = normalize_name(name)
    i = _model_index().get(key)
    if model_registry.count():  # a user model table's (model_table): its names, then its variants
        user = model_registry.find(key, lambda: _variant_key(name), i is not None)
        if user is not None:
            return user
    if i is None:
        i = _model_variant_index().get(_variant_key(name))
    if i is None:
        return None
    return _named_spec(i, str(name))


@functools.lru_cache(maxsize=1024)
def _named_spec(i: int, name: str) -> ModelSpec:
    """Row ``i``'s ModelSpec with the values its alias cells and ``name`` itself give it (:mod:`.alias_cells`)."""
    spec = _model_spec_at(i)
    row = _model_frame().iloc[i]
    names = [row["name"], *(a for a in str(row["aliases"]).split(";") if a)]
    own = {f: _float(v) for f in _ALIAS_CELL_FIELDS
           if f in row.index and (v := alias_override(row[f], names, name)) is not None} | name_values(name, spec)
    return replace(spec, **own) if own else spec


@functools.cache
def _model_spec_at(i: int) -> ModelSpec:
    """The ModelSpec of row ``i`` of the bundled table, built once (a frozen value)."""
    return _model_from_row(_model_frame().iloc[i])


def model_spec(name: str, params_b: float | None = None, *, warn: bool = True) -> ModelSpec:
    """Look up a model by Hugging Face id or alias (case/punctuation tolerant, ``org/`` optional).

    Quantised / instruct variants resolve to their base row (``Qwen/Qwen3-8B-AWQ`` -> ``Qwen/Qwen3-8B``).

    Args:
        name: the model name.
        params_b: total parameters, billions. Used only when ``name`` is unknown: the architecture is
            then estimated (:func:`estimate_architecture`) and marked ``estimated=True``.
        warn: emit :class:`EstimatedArchitectureWarning` when estimating.

    Raises:
        UnknownModelError: unknown name and no ``params_b``; the message lists close matches.
    """
    spec = find_model(name)
    if spec is not None:
        return spec
    close = _close_matches(name, _model_frame())
    hint = f" Close matches: {', '.join(close)}." if close else " No close matches."
    if params_b is None or not (_float(params_b) > 0):
        raise UnknownModelError(
            f"unknown model {name!r}.{hint} Pass params_b to estimate its architecture, or describe it in a user "
            "model table (--model-table FILE; energylens.profiles.model_table.register_model_table(FILE)).")
    est = estimate_architecture(float(params_b))
    est = ModelSpec(**{**est.__dict__, "name": str(name)})
    if warn:
        warning_sink.warn(
            f"model {name!r} is not in the model table; architecture estimated from params_b="
            f"{float(params_b):g} (n_layers={est.n_layers}, d_model={est.d_model}, n_heads={est.n_heads}, "
            f"n_kv_heads={est.n_kv_heads}, head_dim={est.head_dim}).{hint}",
            EstimatedArchitectureWarning, stacklevel=2)
    return est


# --------------------------------------------------------------------------------------------------
# Architecture estimate
# --------------------------------------------------------------------------------------------------

#: Power laws fitted (least squares in log-log) to the distinct dense text-only models of the table
#: (docs/reference-tables.md, "Estimating an unknown model"); P is total parameters in billions.
ESTIMATE_D_COEF = 1633.0
ESTIMATE_D_EXP = 0.406
ESTIMATE_L_COEF = 20.3
ESTIMATE_L_EXP = 0.280
ESTIMATE_HEAD_DIM = 128
ESTIMATE_KV_HEADS = 8


#: Routing of an estimated MoE model: 128 experts (the Qwen3 / Qwen3-VL / Qwen3-Omni / gpt-oss-120b /
#: Maverick rows of the table), top-k from the active share (:func:`_moe_routing`), 8 (Qwen3) without an
#: active count. ESTIMATE_MOE_SHARED: the dense part (attention, embeddings, shared experts) as a share of
#: the total, the median of the table's MoE rows (1.6 / 46.7 Mixtral 8x7B ... 8.0 / 235 Qwen3-235B).
ESTIMATE_MOE_EXPERTS = 128
ESTIMATE_MOE_TOP_K = 8
ESTIMATE_MOE_SHARED = 0.03


def _attention_heads(width: int) -> tuple[int, int, int]:
    """(n_heads, n_kv_heads, head_dim) for d_model = ``width`` x 128 in GQA (n_heads a multiple of n_kv_heads = 8, TP
    2, 4, 8 divide both; n_heads x head_dim = d_model): from 32, ``width`` heads of 128; from 8, the fewest of 8, 16
    or 32 no wider than 128 (until 2026-12-05 ``width`` heads of 128: 8B's 30 over 8); below 8, MHA of 128."""
    if width >= 32 or width < ESTIMATE_KV_HEADS:
        return width, min(width, ESTIMATE_KV_HEADS), ESTIMATE_HEAD_DIM
    n_heads = ESTIMATE_KV_HEADS * 2 ** math.ceil(math.log2(width / ESTIMATE_KV_HEADS))
    return n_heads, ESTIMATE_KV_HEADS, ESTIMATE_HEAD_DIM * width // n_heads


def _moe_routing(p: float, active: float) -> tuple[int, int]:
    """(experts, top-k) with k/E the share of the expert weights one token touches when the dense part is
    ESTIMATE_MOE_SHARED of the total, always below active / total (so the dense part the template derives,
    P - (P - Pa) / (1 - k/E), stays positive)."""
    if not (0 < active < p):
        return ESTIMATE_MOE_EXPERTS, ESTIMATE_MOE_TOP_K
    s, e = ESTIMATE_MOE_SHARED, ESTIMATE_MOE_EXPERTS
    k = math.floor(e * (active - s * p) / ((1 - s) * p) + 0.5)
    if 1 <= k and k / e < active / p:
        return e, min(k, e)
    # active below the dense share (or top-1 of 128 touches too much): top-1 of more, smaller experts,
    # the dense part half the active count
    return max(e, math.ceil(2 * p / active - 1)), 1
#: An estimated hybrid (Mamba-Transformer) keeps attention in one layer of ESTIMATE_HYBRID_ATTN_EVERY
#: (Nemotron Nano v2: 4 of 56 and 6 of 62) and per Mamba layer state elements (SSM + conv) and, of
#: them, conv-state elements of these multiples of d_model (the same rows: 156 / 132 and 4.3 / 3.6).
ESTIMATE_HYBRID_ATTN_EVERY = 12
ESTIMATE_HYBRID_STATE_PER_D = 144.0
ESTIMATE_HYBRID_CONV_PER_D = 4.0


def estimate_architecture(params_b: float, architecture: str = "dense",
                          active_params_b: float | None = None) -> ModelSpec:
    """A plausible decoder for ``params_b`` billion parameters (``estimated=True``): dense by default;
    ``architecture="moe"`` sizes the layers by ``active_params_b`` (what one token runs through; the
    table's MoE rows follow the dense rule on their active count, not their total) and routes
    :data:`ESTIMATE_MOE_EXPERTS` experts, top-k from the active share (:func:`_moe_routing`); ``"hybrid"`` keeps attention
    (and a KV cache) in one layer of :data:`ESTIMATE_HYBRID_ATTN_EVERY` and a Mamba state in the others.

    Rule (docs/reference-tables.md), fitted to the dense text models of the table: ``d_model = 128 * h``,
    ``h = 1633 * P^0.406 / 128`` rounded to a multiple of 8 (from 32 on; from 16, to an even number; below, to
    the nearest), ``n_layers = round(20.3 * P^0.280)`` (P in billions; 8B -> 36 x 3840, 70B -> 67 x 9216), and
    the heads of :func:`_attention_heads` (8B: 32 x 120 over 8 KV). Median error on the table's dense models ~11 %
    (d_model, n_layers); outliers (up to ~45 %: 87 % within 30 %) have wide MLPs or large vocabularies (Gemma).

    Raises:
        ValueError: ``params_b`` not a positive finite number, or ``architecture`` not dense, moe or hybrid.
    """
    p = _float(params_b)
    if not (p > 0) or math.isinf(p):
        raise ValueError(f"params_b must be a positive number of billions, got {params_b!r}")
    kind = str(architecture).strip().lower()
    active = _float(active_params_b) if active_params_b is not None else math.nan
    active = active if (kind == "moe" and 0 < active <= p) else p
    heads = ESTIMATE_D_COEF * active ** ESTIMATE_D_EXP / ESTIMATE_HEAD_DIM
    step = 8 if heads >= 32 else 2 if heads >= 16 else 1
    width = max(1, step * round(heads / step))
    d = ESTIMATE_HEAD_DIM * width
    n_heads, n_kv_heads, head_dim = _attention_heads(width)
    n_layers = max(1, round(ESTIMATE_L_COEF * active ** ESTIMATE_L_EXP))
    extra: dict = {}
    if kind == "hybrid":
        attn = max(1, round(n_layers / ESTIMATE_HYBRID_ATTN_EVERY))
        mamba = max(n_layers - attn, 0)
        conv = mamba * ESTIMATE_HYBRID_CONV_PER_D * d
        extra = {"n_attention_layers": float(attn), "conv_state_elems_per_seq": conv,
                 "state_elems_per_seq": mamba * ESTIMATE_HYBRID_STATE_PER_D * d}  # conv state included
    moe = kind == "moe"
    n_experts, top_k = _moe_routing(p, active) if moe else (1, 1)
    return ModelSpec(
        name=f"estimated-{p:g}b",
        aliases=(),
        family="estimated",
        architecture=kind,  # "denso": ModelSpec's ValueError naming dense, moe, hybrid (was priced as dense)
        params_b=p,
        active_params_b=active,
        n_layers=int(n_layers),
        d_model=int(d),
        n_heads=int(n_heads),
        n_kv_heads=int(n_kv_heads),
        head_dim=int(head_dim),
        n_experts=n_experts,
        experts_per_token=top_k,
        image_tokens_per_image=math.nan,
        vision_params_b=math.nan,
        source="estimated",
        estimated=True,
        **extra,
    )
