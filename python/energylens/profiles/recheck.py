"""A quick re-check of a frame that :func:`energylens.profiles.schema.load_profiles` validated earlier.

A validated frame carries ``attrs["schema_version"]`` and is trusted as it is (validating a large table
again costs most of a prediction); but pandas keeps ``attrs`` through edits, so a user who loads a table
and then sets ``tp`` to 0 or ``batch_size`` to -1 would have the edit trusted too. :func:`still_valid`
re-checks the numbers the template reads in one native pass per column (``_core.numbers_ok``, about 1 %
of a prediction's time on 1e7 rows); when it fails the frame goes through the full validation again,
whose error names the column and rows.

What it does not see: the columns validation filled from the model table (architecture, active_params_b,
n_layers, ...) stay as they are when ``model`` or ``params_b`` is edited afterwards, and then act as the
row's own values (an 8B row renamed to a 70B model keeps the 8B layers and predicts the 8B energy); nor
the text and cross-column rules (modality, ep on a dense model). Telling such an edit apart from a row
selection (``data.sample(50)``, which must stay on this fast path) needs a per-row fingerprint in every
validated frame; docs/profile-schema.md says to build a fresh frame, or drop the filled columns, instead.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from energylens import _core
from energylens.profiles.cells import column_values

__all__ = ["still_valid"]

# column -> (lower bound, bound allowed, whole number, NaN allowed); counts also have an upper bound
_CHECKS = {"tp": (1.0, True, True, False), "pp": (1.0, True, True, False), "dp": (1.0, True, True, False),
           "ep": (1.0, True, True, False), "n_gpus": (1.0, True, True, False),
           "params_b": (0.0, False, False, False), "active_params_b": (0.0, False, False, True),
           "batch_size": (0.0, False, False, False),
           "input_tokens": (0.0, False, False, False), "output_tokens": (0.0, False, False, False),
           "energy_j": (0.0, False, False, True), "tpot_s": (0.0, False, False, True),
           "ttft_s": (0.0, False, False, True)}


def still_valid(frame: pd.DataFrame, max_count: float) -> bool:
    """Whether the template's numeric columns of a once-validated ``frame`` still pass the schema's range
    rules (counts whole, >= 1 and <= ``max_count``; sizes and ``input_tokens`` > 0, as the schema since 2026-12-05; energy and latencies > 0
    or NaN)."""
    for col, (lower, inclusive, whole, allow_nan) in _CHECKS.items():
        if col not in frame.columns:
            continue
        values = column_values(frame, col)
        if not isinstance(values, np.ndarray):  # an extension array (nullable, Arrow): not a plain number column
            return False
        if values.dtype.kind not in "iuf":
            return False
        values = np.asarray(values, dtype=np.float64)
        if not _core.numbers_ok(values, lower, inclusive, whole, allow_nan):
            return False
        if whole and values.size and float(np.max(values)) > max_count:
            return False
    return True
