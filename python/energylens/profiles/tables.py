"""Reference tables: GPU datasheet numbers and LLM architectures (docs/reference-tables.md).

Both tables are package data (``energylens/data/gpus.csv``, ``energylens/data/models.csv``), read once
and cached. Every row cites its public source (vendor datasheet, the model's ``config.json``).

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
import warnings
from dataclasses import dataclass, fields
from importlib import resources

import pandas as pd

from energylens.errors import UnknownGpuError, UnknownModelError

__all__ = [
    "GpuSpec",
    "ModelSpec",
    "EstimatedArchitectureWarning",
    "gpu_spec",
    "model_spec",
    "gpus",
    "models",
    "bytes_per_param",
    "estimate_architecture",
    "normalize_name",
    "normalize_precision",
    "find_model",
    "PRECISION_BYTES",
]

#: Bytes per weight for each supported precision. 4-bit formats are counted at 0.5 byte and do NOT
#: include the block-scale overhead (mxfp4: one 8-bit scale per 32 values = +0.03 byte; int4 AWQ/GPTQ
#: with group size 128: one 16-bit scale (+ zero point) per 128 values = +0.016..0.03 byte). That
#: overhead is below 7 % of the 4-bit payload and is left to the energy model's fitted terms.
PRECISION_BYTES: dict[str, float] = {
    "fp32": 4.0,
    "fp16": 2.0,
    "bf16": 2.0,
    "fp8": 1.0,
    "int8": 1.0,
    "int4": 0.5,
    "mxfp4": 0.5,
}

# Which peak column serves a precision, in order of preference (first one the GPU has wins).
# Weight-only 4-bit kernels on GPUs without FP4 tensor cores really compute in 16 bit; the int8/fp8
# fallback follows the project's convention and is an upper bound on what they reach.
_PEAK_PREFERENCE: dict[str, tuple[str, ...]] = {
    "fp32": ("peak_fp32_tflops",),
    "fp16": ("peak_fp16_tflops", "peak_bf16_tflops"),
    "bf16": ("peak_bf16_tflops", "peak_fp16_tflops"),
    "fp8": ("peak_fp8_tflops", "peak_bf16_tflops", "peak_fp16_tflops"),
    "int8": ("peak_int8_tops", "peak_fp8_tflops", "peak_bf16_tflops", "peak_fp16_tflops"),
    "int4": ("peak_fp4_tflops", "peak_int8_tops", "peak_fp8_tflops", "peak_bf16_tflops", "peak_fp16_tflops"),
    "mxfp4": ("peak_fp4_tflops", "peak_fp8_tflops", "peak_int8_tops", "peak_bf16_tflops", "peak_fp16_tflops"),
}

_PRECISION_ALIASES: dict[str, str] = {
    "float32": "fp32", "float": "fp32", "f32": "fp32",
    "float16": "fp16", "half": "fp16", "f16": "fp16",
    "bfloat16": "bf16",
    "float8": "fp8", "fp8e4m3": "fp8", "fp8e5m2": "fp8", "e4m3": "fp8",
    "w4a16": "int4", "awq": "int4", "gptq": "int4",
    "fp4": "mxfp4", "nvfp4": "mxfp4",
}


class EstimatedArchitectureWarning(UserWarning):
    """A model was not in the table; its architecture was estimated from its parameter count."""


@dataclass(frozen=True)
class GpuSpec:
    """One row of the GPU table. Peaks are DENSE (no structured sparsity); NaN where unsupported.

    Attributes:
        name: canonical name, e.g. ``"H100-SXM5-80GB"``.
        aliases: other spellings (NVML names among them).
        vendor: ``"nvidia"`` or ``"amd"``.
        memory_gb: device memory, GB.
        hbm_bw_gbs: peak memory bandwidth, GB/s.
        peak_fp32_tflops: FP32 (CUDA-core / vector, not TF32) peak, TFLOP/s.
        peak_fp16_tflops, peak_bf16_tflops, peak_fp8_tflops, peak_fp4_tflops: tensor-core peaks, TFLOP/s.
        peak_int8_tops: INT8 tensor-core peak, TOP/s.
        tdp_w: board power limit (TDP / max TGP), W.
        interconnect_bw_gbs: per-GPU scale-up bandwidth (NVLink / Infinity Fabric; PCIe when that is
            all a multi-GPU group has), bidirectional, GB/s.
        source: URL of the datasheet.
    """

    name: str
    aliases: tuple[str, ...]
    vendor: str
    memory_gb: float
    hbm_bw_gbs: float
    peak_fp32_tflops: float
    peak_fp16_tflops: float
    peak_bf16_tflops: float
    peak_fp8_tflops: float
    peak_int8_tops: float
    peak_fp4_tflops: float
    tdp_w: float
    interconnect_bw_gbs: float
    source: str

    def peak_flops(self, precision: str) -> float:
        """Dense tensor peak for ``precision`` in FLOP/s (or OP/s for integers).

        Falls back when the GPU lacks the format: fp16 <-> bf16; fp8 -> bf16; int8 -> fp8 -> bf16;
        int4 -> fp4 -> int8 -> fp8 -> bf16; mxfp4 -> fp4 -> fp8 -> int8 -> bf16; fp32 -> fp32.

        Raises:
            ValueError: unknown precision.
        """
        key = normalize_precision(precision)
        for column in _PEAK_PREFERENCE[key]:
            value = getattr(self, column)
            if not math.isnan(value):
                return value * 1e12
        raise ValueError(f"GPU {self.name} has no peak for {precision!r} or any fallback")  # pragma: no cover

    def bytes_per_param(self, precision: str) -> float:
        """Same as the module function :func:`bytes_per_param` (GPU-independent)."""
        return bytes_per_param(precision)


@dataclass(frozen=True)
class ModelSpec:
    """One row of the model table (or an estimate).

    Attributes:
        name: Hugging Face id, e.g. ``"meta-llama/Meta-Llama-3.1-70B-Instruct"``.
        aliases: other spellings.
        family: e.g. ``"llama-3.1"``.
        architecture: ``"dense"``, ``"moe"`` or ``"hybrid"``.
        params_b: total parameters of the checkpoint (incl. any vision encoder), billions.
        active_params_b: parameters the language model uses per generated token (top-k experts only
            for MoE; the vision encoder, which runs once per image, excluded), billions.
        n_layers, d_model, n_heads, n_kv_heads, head_dim: from ``config.json``.
        n_experts, experts_per_token: 1 for dense models.
        image_tokens_per_image: LLM prompt tokens one image becomes (NaN for text-only models).
        vision_params_b: vision encoder + projector, billions (NaN if none).
        source: URL of the config.json (or ``"estimated"``).
        estimated: True when the row came from :func:`estimate_architecture`.
    """

    name: str
    aliases: tuple[str, ...]
    family: str
    architecture: str
    params_b: float
    active_params_b: float
    n_layers: int
    d_model: int
    n_heads: int
    n_kv_heads: int
    head_dim: int
    n_experts: int
    experts_per_token: int
    image_tokens_per_image: float
    vision_params_b: float
    source: str
    estimated: bool = False


# --------------------------------------------------------------------------------------------------
# Normalisation and loading
# --------------------------------------------------------------------------------------------------

_PUNCT = re.compile(r"[\s\-_.]+")
# Tokens that name a variant of a checkpoint, not a different architecture; dropped for the
# second-chance model lookup (``Qwen/Qwen3-8B-FP8`` -> ``Qwen3-8B``).
_VARIANT_TOKENS = frozenset({
    "instruct", "it", "chat", "hf", "base", "pt", "fp8", "fp16", "bf16", "awq", "gptq", "int4", "int8",
    "w4a16", "w8a8", "w8a16", "bnb", "4bit", "8bit", "dynamic", "gguf", "mlx",
})


def normalize_name(name: str) -> str:
    """Normalise a GPU or model name for lookup.

    Lower-cases, drops an ``org/`` prefix (everything up to the last ``/``), drops ``nvidia``, and
    removes spaces, ``-``, ``_`` and ``.``: ``"NVIDIA H100 80GB HBM3"`` -> ``"h10080gbhbm3"``,
    ``"meta-llama/Meta-Llama-3.1-8B-Instruct"`` -> ``"metallama318binstruct"``.
    """
    s = str(name).strip().lower()
    s = s.rsplit("/", 1)[-1]
    s = s.replace("nvidia", "")
    return _PUNCT.sub("", s)


def _variant_key(name: str) -> str:
    s = str(name).strip().lower().rsplit("/", 1)[-1].replace("nvidia", "")
    tokens = [t for t in _PUNCT.split(s) if t and t not in _VARIANT_TOKENS]
    return "".join(tokens)


def normalize_precision(precision: str) -> str:
    """Canonical precision name (``"bfloat16"`` -> ``"bf16"``); ValueError for an unknown one."""
    key = str(precision).strip().lower().replace("-", "").replace("_", "")
    key = _PRECISION_ALIASES.get(key, key)
    if key not in PRECISION_BYTES:
        raise ValueError(
            f"unknown precision {precision!r}; expected one of {', '.join(PRECISION_BYTES)}")
    return key


#: Bytes per KV-cache element for each explicit ``kv_cache_dtype`` (``auto`` follows the activations).
KV_CACHE_DTYPE_BYTES: dict[str, float] = {"fp32": 4.0, "fp16": 2.0, "bf16": 2.0, "fp8": 1.0}


def normalize_kv_cache_dtype(dtype: str) -> str:
    """Canonical KV-cache dtype (vLLM ``--kv-cache-dtype`` spellings: ``auto``, ``fp8``, ``fp8_e4m3``,
    ``fp8_e5m2``, ``float16``, ``bfloat16`` ...); ValueError for an unknown one."""
    key = str(dtype).strip().lower()
    if key == "auto":
        return key
    try:
        key = normalize_precision(key)
    except ValueError:
        pass  # reported below, with the KV-cache choices rather than the weight precisions
    if key not in KV_CACHE_DTYPE_BYTES:
        raise ValueError(f"unknown kv_cache_dtype {dtype!r}; expected auto or one of {', '.join(KV_CACHE_DTYPE_BYTES)}")
    return key


def bytes_per_param(precision: str) -> float:
    """Bytes per weight: fp32 4, fp16/bf16 2, fp8/int8 1, int4/mxfp4 0.5.

    The 4-bit value excludes block-scale overhead (see :data:`PRECISION_BYTES`).

    Raises:
        ValueError: unknown precision.
    """
    return PRECISION_BYTES[normalize_precision(precision)]


def _read_csv(filename: str) -> pd.DataFrame:
    ref = resources.files("energylens").joinpath("data", filename)
    with ref.open("r", encoding="utf-8") as fh:
        return pd.read_csv(fh, keep_default_na=True, dtype={"name": str, "aliases": str, "source": str})


@functools.cache
def _gpu_frame() -> pd.DataFrame:
    df = _read_csv("gpus.csv")
    df["aliases"] = df["aliases"].fillna("")
    return df


@functools.cache
def _model_frame() -> pd.DataFrame:
    df = _read_csv("models.csv")
    df["aliases"] = df["aliases"].fillna("")
    return df


def gpus() -> pd.DataFrame:
    """The GPU table (a copy), one row per GPU, columns as in ``data/gpus.csv``."""
    return _gpu_frame().copy()


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
def _gpu_index() -> dict[str, int]:
    return _index(_gpu_frame(), normalize_name)


@functools.cache
def _model_index() -> dict[str, int]:
    return _index(_model_frame(), normalize_name)


@functools.cache
def _model_variant_index() -> dict[str, int]:
    return _index(_model_frame(), _variant_key)


def _close_matches(query: str, frame: pd.DataFrame, n: int = 5) -> list[str]:
    """Up to ``n`` canonical names whose name or alias resembles ``query`` (difflib)."""
    key = normalize_name(query)
    candidates: dict[str, str] = {}
    for row in frame.itertuples(index=False):
        for alias in [row.name] + [a for a in str(row.aliases).split(";") if a.strip()]:
            candidates.setdefault(normalize_name(alias), row.name)
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


def _gpu_from_row(row: pd.Series) -> GpuSpec:
    kwargs = {}
    for f in fields(GpuSpec):
        v = row[f.name]
        if f.name == "aliases":
            kwargs[f.name] = tuple(a for a in str(v).split(";") if a)
        elif f.name in ("name", "vendor", "source"):
            kwargs[f.name] = str(v)
        else:
            kwargs[f.name] = _float(v)
    return GpuSpec(**kwargs)


_MODEL_INT_FIELDS = ("n_layers", "d_model", "n_heads", "n_kv_heads", "head_dim", "n_experts", "experts_per_token")


def _model_from_row(row: pd.Series) -> ModelSpec:
    kwargs = {}
    for f in fields(ModelSpec):
        if f.name == "estimated":
            continue
        v = row[f.name]
        if f.name == "aliases":
            kwargs[f.name] = tuple(a for a in str(v).split(";") if a)
        elif f.name in ("name", "family", "architecture", "source"):
            kwargs[f.name] = str(v)
        elif f.name in _MODEL_INT_FIELDS:
            kwargs[f.name] = int(v)
        else:
            kwargs[f.name] = _float(v)
    return ModelSpec(**kwargs, estimated=False)


# --------------------------------------------------------------------------------------------------
# Public lookups
# --------------------------------------------------------------------------------------------------

def gpu_spec(name: str) -> GpuSpec:
    """Look up a GPU by name or alias (case/punctuation tolerant; ``"NVIDIA "`` ignored).

    Raises:
        UnknownGpuError: no match; the message lists up to 5 close matches.
    """
    i = _gpu_index().get(normalize_name(name))
    if i is None:
        close = _close_matches(name, _gpu_frame())
        hint = f" Close matches: {', '.join(close)}." if close else ""
        raise UnknownGpuError(
            f"unknown GPU {name!r}.{hint} Known GPUs: {', '.join(_gpu_frame()['name'])}. "
            "Add a row to energylens/data/gpus.csv (docs/reference-tables.md) to support it.")
    return _gpu_from_row(_gpu_frame().iloc[i])


def find_model(name: str) -> ModelSpec | None:
    """The table row for ``name`` (name, alias, or a variant such as ``-FP8``/``-AWQ``), else None."""
    i = _model_index().get(normalize_name(name))
    if i is None:
        i = _model_variant_index().get(_variant_key(name))
    if i is None:
        return None
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
            f"unknown model {name!r}.{hint} Pass params_b to estimate its architecture, or add a row "
            "to energylens/data/models.csv.")
    est = estimate_architecture(float(params_b))
    est = ModelSpec(**{**est.__dict__, "name": str(name)})
    if warn:
        warnings.warn(
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


def estimate_architecture(params_b: float) -> ModelSpec:
    """A plausible dense decoder for ``params_b`` billion parameters (``estimated=True``).

    Rule (docs/reference-tables.md), fitted to the dense text models of the table:
    ``d_model = 128 * round(1633 * P^0.406 / 128)`` and ``n_layers = round(20.3 * P^0.280)``
    (P in billions; e.g. 8B -> 32 x 3840, 70B -> 66 x 9216); ``head_dim = 128``,
    ``n_heads = d_model / 128`` and GQA with ``n_kv_heads = min(8, n_heads)``. Median error on the
    table's dense models is ~11 % for both d_model and n_layers; outliers (up to ~45 %) are models with
    unusually wide MLPs or large vocabularies (Gemma, sub-1B models).

    Raises:
        ValueError: ``params_b`` not a positive finite number.
    """
    p = _float(params_b)
    if not (p > 0) or math.isinf(p):
        raise ValueError(f"params_b must be a positive number of billions, got {params_b!r}")
    d = max(ESTIMATE_HEAD_DIM,
            ESTIMATE_HEAD_DIM * round(ESTIMATE_D_COEF * p ** ESTIMATE_D_EXP / ESTIMATE_HEAD_DIM))
    n_layers = max(1, round(ESTIMATE_L_COEF * p ** ESTIMATE_L_EXP))
    n_heads = max(1, d // ESTIMATE_HEAD_DIM)
    return ModelSpec(
        name=f"estimated-{p:g}b",
        aliases=(),
        family="estimated",
        architecture="dense",
        params_b=p,
        active_params_b=p,
        n_layers=int(n_layers),
        d_model=int(d),
        n_heads=int(n_heads),
        n_kv_heads=int(min(ESTIMATE_KV_HEADS, n_heads)),
        head_dim=ESTIMATE_HEAD_DIM,
        n_experts=1,
        experts_per_token=1,
        image_tokens_per_image=math.nan,
        vision_params_b=math.nan,
        source="estimated",
        estimated=True,
    )
