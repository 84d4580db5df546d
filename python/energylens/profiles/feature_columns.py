"""Schema v1 rules on the columns the schema keeps untouched but the features read (docs/profile-schema.md):
``video_frames`` (>= 0, <= 10,000,000), ``scale_up_domain_gpus`` (a whole number >= 1, <= 2**20), ``compute_precision`` (a weight
format's name), ``mamba_ssm_cache_dtype`` (a KV-cache dtype's) and ``weight_layout`` (``all`` / ``experts``,
``group<N>``: :func:`energylens.profiles.checkpoints.canonical_layout`). Used
by :func:`energylens.profiles.load_profiles`; every violation is reported by column and row through its
problem collector, as the schema's own columns are."""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from energylens.profiles import cells, precision
from energylens.profiles.checkpoints import LAYOUT_COLUMN, canonical_layout
from energylens.profiles.limits import MAX_GPU_COUNT, MAX_TOKENS
from energylens.profiles.number_cells import non_numeric_problems

__all__ = ["check_feature_columns"]

#: Numeric columns the schema keeps untouched but the features read: (the rule they must meet, its text).
_FEATURE_NUMBERS = {
    "video_frames": (lambda v: v >= 0, "must be >= 0 (frames per video prompt)"),
    "scale_up_domain_gpus": (lambda v: (v >= 1) & (v == np.round(v)), "must be a whole number of GPUs >= 1"),
}
#: Their plausibility limits (profiles/limits.py), checked where the rule above holds.
_FEATURE_LIMITS = {
    "video_frames": (MAX_TOKENS, f"must be <= {MAX_TOKENS:,} (frames per video prompt: each frame is a prompt token "
                                 "at least, and a prompt has 10,000,000 at most)"),
    "scale_up_domain_gpus": (MAX_GPU_COUNT, f"must be <= {MAX_GPU_COUNT} (2**20; a count of GPUs)"),
}


def check_feature_columns(columns: Mapping[str, object], problems) -> None:
    """The numeric columns the features read that the schema otherwise keeps untouched: a number that breaks
    its rule (a negative video_frames lowered the prediction) is a problem named by column and row.
    ``columns``: column name -> the values the frame holds (:func:`energylens.profiles.cells.column_arrays`)."""
    for col, (ok, reason) in _FEATURE_NUMBERS.items():
        if col not in columns:
            continue
        v, non_numeric = cells.to_float(columns[col])
        for mask, reason in non_numeric_problems(columns[col], non_numeric, col):
            problems.add(mask, col, reason)
        high, too_high = _FEATURE_LIMITS[col]
        with np.errstate(invalid="ignore"):
            problems.add(~np.isnan(v) & ~(np.isfinite(v) & ok(v)), col, reason)
            problems.add(np.isfinite(v) & (v > high), col, too_high)
    for col, canon in _FEATURE_CHOICES.items():
        if col in columns:
            problems.add(_unknown(pd.Series(columns[col], copy=False), canon), col,
                         f"unknown {col} ({_CHOICE_TEXT[col]})")


#: Text columns the features read: the canonicaliser a cell must pass (blank: the default).
_FEATURE_CHOICES = {"compute_precision": precision.normalize_compute_precision,
                    "mamba_ssm_cache_dtype": precision.normalize_kv_cache_dtype, LAYOUT_COLUMN: canonical_layout}
_CHOICE_TEXT = {"compute_precision": "a precision such as bf16, fp8 or fp4",
                "mamba_ssm_cache_dtype": "auto or a dtype such as float32, bfloat16 or fp8",
                LAYOUT_COLUMN: "'all' or 'experts' and / or 'group<N>', e.g. 'experts group32'; blank: the model "
                               "table's"}


def _unknown(column: pd.Series, canon) -> np.ndarray:
    """Cells that are not blank and that ``canon`` refuses."""
    def bad(v: object) -> bool:
        if str(v).strip() == "":
            return False
        try:
            canon(str(v))
        except ValueError:
            return True
        return False

    return cells.per_value(column, bad, missing=False).astype(bool)
