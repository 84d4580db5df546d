"""What the baselines read from a profile frame: columns with schema defaults, GPU specs per row, bytes per
weight, and the ensemble learners' design matrix (:func:`baseline_features`).

GPU specifications come from ``energylens.profiles.tables.gpu_specs_for_profiles`` (the GPU table, a
registered user GPU table, or the profile's ``gpu_*`` spec columns) unless a ``gpu_spec`` callable is
passed (tests pass a small table); bytes per weight from :mod:`energylens.profiles.precision`. A spec needs
``hbm_bw_gbs``, ``tdp_w`` and ``peak_flops(precision)`` (FLOP/s). Imports numpy, pandas and
:mod:`energylens.profiles`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from energylens.profiles import precision as _precision
from energylens.profiles import tables as _tables
from energylens.profiles.architecture import kv_cache_per_layer, mla_rows

__all__ = ["GpuSpecFn", "GpuSpecs", "BASELINE_FEATURES", "baseline_features", "precision_bytes", "column",
           "require_columns", "n_gpus", "active_params_b", "precisions", "measured_energy", "kv_elements_per_layer",
           "kv_element_bytes", "kv_bytes_per_token"]

GpuSpecFn = Callable[[str], Any]

def kv_elements_per_layer(df: pd.DataFrame) -> np.ndarray:
    """KV-cache elements per token and layer of every row, as the template counts them
    (:func:`energylens.profiles.architecture.kv_cache_per_layer`): ``2 x n_kv_heads x head_dim`` for ordinary
    attention, ``kv_lora_rank + qk_rope_head_dim`` for a multi-head latent attention model (DeepSeek-V3,
    Kimi K2; from the model table when the frame lacks the columns); NaN where unknown. Not multiplied by
    the TP replication of KV heads, which the baselines never modelled."""
    return kv_cache_per_layer(df)[1]


def kv_element_bytes(df: pd.DataFrame) -> np.ndarray:
    """Bytes per KV-cache element of every row, by the template's rule
    (:func:`energylens.profiles.precision.kv_element_bytes`): the row's ``kv_cache_dtype`` when explicit (fp8
    1, fp16/bf16 2, fp32 4); ``auto`` (or no column) the activation dtype: 4 where the GEMM precision
    (``compute_precision`` where given, else ``precision``) is fp32, else 2. ``ValueError`` naming the
    column for an unknown dtype or precision."""
    compute = precisions(df)
    if "compute_precision" in df.columns:
        given = df["compute_precision"].fillna("").astype(str).str.strip().to_numpy(dtype=object)
        compute = np.where(given != "", given, compute)
    try:
        wide = np.array([_precision.bytes_per_param(p) >= 4.0 for p in compute], dtype=bool)
    except ValueError as exc:
        raise ValueError(f"profile column 'precision' / 'compute_precision': {exc}") from None
    kv_dtype = df["kv_cache_dtype"].fillna("auto").astype(str).to_numpy(dtype=object) \
        if "kv_cache_dtype" in df.columns else None
    return _precision.kv_element_bytes(np.where(wide, 4.0, 2.0), kv_dtype)


def kv_bytes_per_token(df: pd.DataFrame) -> np.ndarray:
    """KV-cache bytes per token of every row summed over its GPUs' copies, as the baselines stream them:
    ``n_layers`` x :func:`kv_elements_per_layer` x :func:`kv_element_bytes`, times ``tp`` for a multi-head
    latent attention row (vLLM holds the one latent whole on every TP rank, as the template's
    ``kv_bytes_per_token`` does; ordinary KV heads are split over the ranks); 0 where the architecture is
    unknown. Every ordinary row at a 16-bit cache keeps the old ``n_layers x elements x 2``."""
    tp = np.maximum(np.nan_to_num(column(df, "tp", 1.0), nan=1.0), 1.0)
    per_rank = np.where(mla_rows(df), tp, 1.0)
    kv = column(df, "n_layers", np.nan) * kv_elements_per_layer(df) * kv_element_bytes(df)
    return np.nan_to_num(kv * per_rank)

def precision_bytes(precision: str) -> float:
    """Bytes per weight of a precision name, block scales included (``"bf16"`` -> 2.0, ``"mxfp4"`` ->
    0.53125): :func:`energylens.profiles.precision.bytes_per_param`, the one precision table; ``ValueError`` if
    unknown."""
    return _precision.bytes_per_param(precision)


def column(df: pd.DataFrame, name: str, default: float | None = None) -> np.ndarray:
    """Column ``name`` as floats; ``default`` everywhere when absent (``ValueError`` without a default)."""
    if name in df.columns:
        return df[name].to_numpy(dtype=float)
    if default is None:
        raise ValueError(f"profiles lack column {name!r} (schema v1)")
    return np.full(len(df), float(default))


def require_columns(df: pd.DataFrame, cols: list[str], who: str) -> None:
    """``ValueError`` naming the columns of ``cols`` that ``df`` lacks (``who`` needs them)."""
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise ValueError(f"{who} needs columns {missing}, absent from the profiles")


def n_gpus(df: pd.DataFrame) -> np.ndarray:
    """GPUs per row: ``n_gpus`` where complete, else ``tp x pp x ep``."""
    if "n_gpus" in df.columns:
        n = df["n_gpus"].to_numpy(dtype=float)
        if not np.isnan(n).any():
            return n
    return column(df, "tp", 1.0) * column(df, "pp", 1.0) * column(df, "ep", 1.0)


def active_params_b(df: pd.DataFrame) -> np.ndarray:
    """Active parameters (billions) per row; the total where ``active_params_b`` is absent or NaN."""
    total = column(df, "params_b")
    if "active_params_b" not in df.columns:
        return total
    act = df["active_params_b"].to_numpy(dtype=float)
    return np.where(np.isnan(act), total, act)


def precisions(df: pd.DataFrame) -> np.ndarray:
    """Precision name per row (``"bf16"`` where absent)."""
    if "precision" not in df.columns:
        return np.full(len(df), "bf16", dtype=object)
    return df["precision"].fillna("bf16").astype(str).to_numpy(dtype=object)


class GpuSpecs:
    """Per-row GPU specs, each GPU name looked up once."""

    def __init__(self, gpu_spec: GpuSpecFn | None) -> None:
        self._fn = gpu_spec
        self._cache: dict[tuple[str, str], tuple[float, float, float]] = {}

    def arrays(self, df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(hbm_bw bytes/s, peak FLOP/s, TDP W) per row of ``df``."""
        require_columns(df, ["gpu"], "GPU specs")
        # default: the GPU table, a user GPU table, or the profile's gpu_* spec columns
        table = _tables.gpu_specs_for_profiles(df) if self._fn is None else None
        gpus = df["gpu"].astype(str).to_numpy(dtype=object)
        precs = precisions(df)
        out = np.empty((len(df), 3))
        for i, key in enumerate(zip(gpus, precs, strict=False)):
            if key not in self._cache:
                spec = table[str(key[0]).strip()] if table is not None else self._fn(key[0])
                self._cache[key] = (float(spec.hbm_bw_gbs) * 1e9,
                                    float(spec.peak_flops(key[1])),
                                    float(spec.tdp_w))
            out[i] = self._cache[key]
        return out[:, 0], out[:, 1], out[:, 2]


BASELINE_FEATURES = (
    "tp", "pp", "n_gpus", "batch_size", "input_tokens", "output_tokens", "params_b",
    "active_params_b", "hbm_bw_gbs", "peak_tflops", "tdp_w", "precision_bytes", "n_layers",
    "d_model", "kv_dim",
)


def baseline_features(df: pd.DataFrame, gpu_spec: GpuSpecFn | None = None,
                      _specs: GpuSpecs | None = None) -> np.ndarray:
    """The ensemble learners' design matrix, columns in :data:`BASELINE_FEATURES` order.

    The same information the closed form gets: parallelism, batch, token counts, model size and the
    GPU's bandwidth, peak FLOP/s and TDP at the row's precision, bytes per weight, and the
    architecture (layers, model width, KV width: half of :func:`kv_elements_per_layer`, i.e. ``n_kv_heads x
    head_dim`` for ordinary attention and ``(kv_lora_rank + qk_rope_head_dim) / 2`` for an MLA latent; 0
    where unknown).
    """
    require_columns(df, ["tp", "batch_size", "input_tokens", "output_tokens", "params_b"],
             "baseline_features")
    specs = _specs or GpuSpecs(gpu_spec)
    bw, flops, tdp = specs.arrays(df)
    pbytes = np.array([precision_bytes(p) for p in precisions(df)])
    cols = [
        column(df, "tp"), column(df, "pp", 1.0), n_gpus(df), column(df, "batch_size"),
        column(df, "input_tokens"), column(df, "output_tokens"), column(df, "params_b"),
        active_params_b(df), bw / 1e9, flops / 1e12, tdp, pbytes,
        np.nan_to_num(column(df, "n_layers", 0.0)), np.nan_to_num(column(df, "d_model", 0.0)),
        np.nan_to_num(0.5 * kv_elements_per_layer(df)),
    ]
    return np.column_stack(cols)


def measured_energy(df: pd.DataFrame) -> np.ndarray:
    """The training target ``energy_j``; ``ValueError`` unless finite and positive everywhere."""
    require_columns(df, ["energy_j"], "fitting")
    y = df["energy_j"].to_numpy(dtype=float)
    if not np.all(np.isfinite(y) & (y > 0)):
        raise ValueError("energy_j must be finite and positive in the training rows")
    return y
