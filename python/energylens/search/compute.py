"""The GEMM precision each combination of a search space is priced at: the result's ``compute_precision`` column.

A row's weight format does not say it: a weight-only 8-bit checkpoint (``...quantized.w8a16``, ``-GPTQ-Int8``)
keeps int8 weights and runs its matrix multiplies in 16 bits
(:func:`energylens.profiles.checkpoints.weight_only_compute`), fp8 weights run in fp8 on a GPU with FP8 tensor
cores and in bf16 on one without, mxfp4 in bf16. The rule is the features' (``energylens.profiles.features``):
the combo's ``compute_precision`` where its profile row gives one (a candidate table's column, or the 16-bit
compute a weight-only checkpoint's name says), else the precision table's for its GPU
(:func:`energylens.profiles.precision.compute_precision`), an fp8 checkpoint with block scales taken as
``fp8_block``. tests/search/test_search_compute_precision.py checks it against the peak the features priced.
"""

from __future__ import annotations

import math

import numpy as np

from energylens.profiles import features, precision, tables
from energylens.profiles.checkpoints import weight_only_compute

__all__ = ["combo_compute_precisions"]


def _fp8_block(spec) -> bool:
    """Whether a model's fp8 checkpoint is block-scaled (the model table's ``fp8_weight_block``)."""
    try:
        block = float(getattr(spec, "fp8_weight_block", None))
    except (TypeError, ValueError):
        return False
    return math.isfinite(block) and block > 0


def _compute(row: dict, spec) -> str:
    given = row.get("compute_precision")
    if isinstance(given, str) and given.strip():
        return precision.normalize_compute_precision(given)
    fmt = tables.normalize_precision(str(row.get("precision") or "bf16"))
    filled = weight_only_compute(str(row["model"]), fmt)  # the features fill it where the row gives none
    if filled:
        return filled
    if features.FP8_BLOCK_SCALED and fmt == "fp8" and _fp8_block(spec):
        fmt = "fp8_block"
    return precision.compute_precision(fmt, tables.gpu_spec(str(row["gpu"])))


def combo_compute_precisions(profile_rows: list[dict], model_specs: dict) -> np.ndarray:
    """Per combination (its profile row; ``model_specs``: the space's, a None spec looked up in the model table
    as the features look it up), the GEMM precision its features priced: an object array of names."""
    out = []
    for row in profile_rows:
        spec = model_specs.get(row["model"])
        out.append(_compute(row, spec if spec is not None else tables.find_model(str(row["model"]))))
    return np.array(out, dtype=object)
