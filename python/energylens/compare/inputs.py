"""What the baselines read from a profile frame: the template's own per-row inputs
(:func:`template_inputs`, i.e. :func:`energylens.profiles.features.features_of`, plus the GPU count and the
total parameters), columns with schema defaults, bytes per weight, and the ensemble learners' design
matrix (:func:`baseline_features`).

Every physical quantity a baseline reads -- GPUs per row, active parameters, weight bytes streamed per decode
step, KV-cache bytes per token of context, a hybrid's per-sequence state traffic, vision-encoder FLOPs, and
the GPU's peak FLOP/s, HBM bandwidth and TDP -- is the template's value of that quantity for that row,
computed by the template's code, never a second formula: the baselines differ from the template in their
functional form only (docs/evaluation.md, "Inputs of the baselines").

GPU specifications come from the GPU table, a registered user GPU table, or the profile's ``gpu_*`` spec
columns (``energylens.profiles.tables.gpu_specs_for_profiles``) unless a ``gpu_spec`` callable is passed
(name -> :class:`energylens.profiles.tables.GpuSpec`); bytes per weight from
:mod:`energylens.profiles.precision`. Within :func:`shared_template_inputs` (the runner's evaluation) the
inputs of the evaluated frame's rows are computed once and sliced (:mod:`energylens.compare.shared_inputs`).
Imports numpy, pandas, :mod:`energylens.profiles` and :mod:`energylens.compare.shared_inputs`.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import numpy as np
import pandas as pd

from energylens.compare import shared_inputs as _shared
from energylens.profiles import precision as _precision
from energylens.profiles.features import FEATURE_NAMES, features_of
from energylens.profiles.schema import as_profiles

__all__ = ["GpuSpecFn", "template_inputs", "shared_template_inputs", "BASELINE_FEATURES", "baseline_features", "precision_bytes", "column",
           "require_columns", "precisions", "measured_energy", "kv_bytes_per_token"]

GpuSpecFn = Callable[[str], Any]


def template_inputs(df: pd.DataFrame, gpu_spec: GpuSpecFn | None = None) -> dict[str, np.ndarray]:
    """The template's per-row inputs of ``df`` (every name of
    :data:`energylens.profiles.features.FEATURE_NAMES`, computed by
    :func:`energylens.profiles.features.features_of` on the validated rows, in ``df``'s order), plus
    ``n_gpus`` (``tp x pp x dp``, every GPU that draws power) and ``params`` (total parameters, a count).

    Among them: ``active_params`` (MoE active parameters, from the row or the model table, less the input
    embedding, a lookup: the parameters a token multiplies; accuracy round 10's follow-up),
    ``weight_bytes_per_step`` (weight bytes all GPUs stream per decode step: the weight format's bytes per
    parameter, not the input embedding, the lm_head at 16 bits, no vision encoder (accuracy round 10),
    an ``mxfp4`` checkpoint's non-expert weights at the compute dtype, every data-parallel
    replica's copy, the experts a step's batch touches), ``kv_bytes_per_token`` (KV-cache bytes per token of
    context summed over the GPUs' copies: attention layers only for a hybrid, sliding-window layers' share
    at the mean context, KV heads replicated when ``tp`` exceeds them, an MLA latent on every TP rank, the
    ``kv_cache_dtype``), ``state_bytes_per_seq`` (a hybrid's Mamba state moved per decode step),
    ``prefill_extra_flops`` (vision-encoder FLOPs per request), ``peak_flops_per_s`` (at the compute
    precision the weight format runs at on that GPU), ``hbm_bytes_per_s`` and ``tdp_w``.

    ``gpu_spec``: name -> GPU spec (a :class:`~energylens.profiles.tables.GpuSpec`) instead of the tables.
    ``ValueError`` naming the column for rows the template cannot read.

    Inside :func:`shared_template_inputs` (the runner's evaluation), rows of its frame are sliced from the
    whole frame's inputs, computed once, wherever that is exactly what this computation gives
    (:mod:`energylens.compare.shared_inputs`); the arrays returned are the caller's own either way."""
    shared = _shared.lookup(df, gpu_spec)
    if shared is not None:
        return shared
    return _template_inputs(df, gpu_spec)


def shared_template_inputs(frame: pd.DataFrame, gpu_spec: GpuSpecFn | None = None
                           ) -> AbstractContextManager[_shared.SharedInputs]:
    """A block within which :func:`template_inputs` of rows of ``frame`` (a frame whose index gives their
    positions in ``frame``, e.g. ``frame.iloc[rows].copy()``) under ``gpu_spec`` is sliced from the whole frame's
    inputs, computed once (:class:`energylens.compare.shared_inputs.SharedInputs`, which it yields)."""
    return _shared.sharing(frame, gpu_spec, _template_inputs)


def _template_inputs(df: pd.DataFrame, gpu_spec: GpuSpecFn | None) -> dict[str, np.ndarray]:
    """:func:`template_inputs`, computed."""
    rows = as_profiles(df, require_energy=False).reset_index(drop=True)
    specs = None
    if gpu_spec is not None:
        specs = {str(g).strip(): gpu_spec(str(g).strip()) for g in pd.unique(rows["gpu"].astype(str))}
    out = dict(features_of(rows, gpu_specs=specs))
    out["n_gpus"] = rows["n_gpus"].to_numpy(dtype=float)
    out["params"] = rows["params_b"].to_numpy(dtype=float) * 1e9
    return out


def kv_bytes_per_token(df: pd.DataFrame, gpu_spec: GpuSpecFn | None = None) -> np.ndarray:
    """KV-cache bytes per token of context of every row, summed over its GPUs' copies: the template's
    ``kv_bytes_per_token`` (:func:`template_inputs`), so a sliding-window model (Gemma 3, gpt-oss) counts its
    windowed layers' share, a hybrid (Nemotron Nano v2) its attention layers only, and ``tp`` above the KV
    heads replicates them as vLLM does."""
    return template_inputs(df, gpu_spec)["kv_bytes_per_token"]


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


def precisions(df: pd.DataFrame) -> np.ndarray:
    """Precision name per row (``"bf16"`` where absent)."""
    if "precision" not in df.columns:
        return np.full(len(df), "bf16", dtype=object)
    return df["precision"].fillna("bf16").astype(str).to_numpy(dtype=object)


#: The ensemble learners' columns: the template's inputs (:data:`energylens.profiles.features.FEATURE_NAMES`,
#: in their order), then the GPU count, the total parameters (billions) and the weight format's bytes per
#: parameter, which the template reads inside its weight bytes.
BASELINE_FEATURES: tuple[str, ...] = (*FEATURE_NAMES, "n_gpus", "params_b", "precision_bytes")


def baseline_features(df: pd.DataFrame, gpu_spec: GpuSpecFn | None = None) -> np.ndarray:
    """The ensemble learners' design matrix, columns in :data:`BASELINE_FEATURES` order: every per-row
    input the closed form gets (:func:`template_inputs`: parallelism including dp and ep, batch, token
    counts, active parameters, weight and KV bytes, attention and vision-encoder FLOPs, a hybrid's state,
    the GPU's peak FLOP/s at the compute precision, bandwidths and TDP), plus ``n_gpus``, ``params_b`` and
    bytes per weight."""
    require_columns(df, ["tp", "batch_size", "input_tokens", "output_tokens", "params_b"], "baseline_features")
    f = template_inputs(df, gpu_spec)
    pbytes = np.array([precision_bytes(p) for p in precisions(df)])
    return np.column_stack([*(f[name] for name in FEATURE_NAMES), f["n_gpus"], f["params"] / 1e9, pbytes])


def measured_energy(df: pd.DataFrame) -> np.ndarray:
    """The training target ``energy_j``; ``ValueError`` unless finite and positive everywhere."""
    require_columns(df, ["energy_j"], "fitting")
    y = df["energy_j"].to_numpy(dtype=float)
    if not np.all(np.isfinite(y) & (y > 0)):
        raise ValueError("energy_j must be finite and positive in the training rows")
    return y
