"""Schema v1 rules on the numeric columns the schema keeps untouched but the features read
(docs/profile-schema.md): ``video_frames`` (>= 0) and ``scale_up_domain_gpus`` (a whole number >= 1). Used
by :func:`energylens.profiles.load_profiles`; every violation is reported by column and row through its
problem collector, as the schema's own columns are."""
from __future__ import annotations

import numpy as np
import pandas as pd

from energylens.profiles import cells

__all__ = ["check_feature_columns"]

#: Numeric columns the schema keeps untouched but the features read: (the rule they must meet, its text).
_FEATURE_NUMBERS = {
    "video_frames": (lambda v: v >= 0, "must be >= 0 (frames per video prompt)"),
    "scale_up_domain_gpus": (lambda v: (v >= 1) & (v == np.round(v)), "must be a whole number of GPUs >= 1"),
}


def check_feature_columns(frame: pd.DataFrame, problems) -> None:
    """The numeric columns the features read that the schema otherwise keeps untouched: a number that breaks
    its rule (a negative video_frames lowered the prediction) is a problem named by column and row."""
    for col, (ok, reason) in _FEATURE_NUMBERS.items():
        if col not in frame.columns:
            continue
        values, non_numeric = cells.to_numeric(frame[col])
        problems.add(non_numeric, col, "non-numeric value", frame[col])
        v = values.to_numpy()
        with np.errstate(invalid="ignore"):
            problems.add(~np.isnan(v) & ~(np.isfinite(v) & ok(v)), col, reason, frame[col])
