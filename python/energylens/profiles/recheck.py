"""A quick re-check of a frame that :func:`energylens.profiles.schema.load_profiles` validated earlier.

A validated frame carries ``attrs["schema_version"]`` and is trusted as it is (validating a large table
again costs most of a prediction); but pandas keeps ``attrs`` through edits, so a user who loads a table
and then sets ``tp`` to 0, ``precision`` to ``"BF16"`` or ``modality`` to ``"Image"`` would have the edit
trusted too. :func:`still_valid` re-checks what the template reads, and when anything fails the frame goes
through the full validation again, whose error names the column and rows (or which rewrites a spelling
it accepts, ``BF16`` -> ``bf16``, as it does on a first read):

* numbers: one native pass per column (``_core.numbers_ok``, about 1 % of a prediction's time on 1e7 rows);
* text: each distinct value of the text columns (one ``pd.unique`` per column: a few microseconds) must be
  what validation writes, a canonical choice (``precision``, ``kv_cache_dtype``, ``modality``,
  ``architecture``), a non-blank stripped name (``model``, ``gpu``), a ``task`` string. Before 2026-12-05
  the text was not re-checked: ``modality="Image"`` predicted as a text row, ``gpu=" H100 "`` missed the
  GPU's own spec, and ``precision="fp7"`` failed deep in the features without a row;
* the cross-column rules: ``n_gpus = tp * pp * dp`` (an edit of ``tp`` alone left a stale ``n_gpus``), ``ep``
  divides ``n_gpus``, ``ep > 1`` only on a MoE row, ``active_params_b <= params_b``.

What it does not see: the columns validation filled from the model table (architecture, active_params_b,
n_layers, ...) stay as they are when ``model`` or ``params_b`` is edited to another valid value, and then
act as the row's own values (an 8B row renamed to a 70B model keeps the 8B layers and predicts the 8B
energy). Telling such an edit apart from a row selection (``data.sample(50)``, which must stay on this fast
path) needs a per-row fingerprint in every validated frame; docs/profile-schema.md says to build a fresh
frame, or drop the filled columns, instead. (The native row pass takes a validated chunk only where every filled
cell still holds the table's value, row by row: :mod:`energylens.profiles.validated_light`; so such an edit keeps
features.py's reading of the row's own cells.)
"""

from __future__ import annotations

import weakref

import numpy as np
import pandas as pd

from energylens import _core
from energylens.profiles import precision
from energylens.profiles.cells import column_values

__all__ = ["still_valid", "CHOICES"]

# column -> (lower bound, bound allowed, whole number, NaN allowed); counts also have an upper bound
_CHECKS = {"tp": (1.0, True, True, False), "pp": (1.0, True, True, False), "dp": (1.0, True, True, False),
           "ep": (1.0, True, True, False), "n_gpus": (1.0, True, True, False),
           "params_b": (0.0, False, False, False), "active_params_b": (0.0, False, False, True),
           "batch_size": (0.0, False, False, False),
           "input_tokens": (0.0, False, False, False), "output_tokens": (0.0, False, False, False),
           "energy_j": (0.0, False, False, True), "tpot_s": (0.0, False, False, True),
           "ttft_s": (0.0, False, False, True)}

#: The values validation writes in the enumerated text columns: schema.PRECISIONS, KV_CACHE_DTYPES, MODALITIES
#: and ARCHITECTURES (schema imports this module, so they are restated here; a test checks they agree).
CHOICES = {"precision": frozenset(precision.WEIGHT_FORMATS),
           "kv_cache_dtype": frozenset(("auto", *precision.KV_CACHE_DTYPE_BYTES)),
           "modality": frozenset(("text", "image", "video")),
           "architecture": frozenset(("dense", "moe", "hybrid"))}
#: Text column -> whether a cell is one validation writes: a choice of :data:`CHOICES`, a non-blank stripped name
#: (``model``, ``gpu``), a ``task`` string (a blank one written empty).
_TEXT_RULES = {**{col: (lambda v, allowed=allowed: isinstance(v, str) and v in allowed)
                  for col, allowed in CHOICES.items()},
               "model": lambda v: isinstance(v, str) and v != "" and v.strip() == v,
               "gpu": lambda v: isinstance(v, str) and v != "" and v.strip() == v,
               "task": lambda v: isinstance(v, str) and (v == "" or v.strip() != "")}
#: Arrow text columns found as validation writes them: (column, id of its Arrow array) -> a weak reference to that
#: array. Arrow arrays are immutable (pandas gives an edited column a new one; a copied frame shares it), so the
#: same array holds the same cells: the second re-check of one prediction (``as_profiles`` runs for the model's
#: columns and again for the features) and every further prediction on the frame skip its text. A reference
#: dropped with its array; the whole map cleared at :data:`_CANONICAL_SIZE` entries.
_CANONICAL: dict[tuple[str, int], weakref.ref] = {}
_CANONICAL_SIZE = 4096
#: The relative slack of the schema's ``active_params_b <= params_b`` rule (one column stored as float32).
_ACTIVE_SLACK = 1e-6
#: Up to this many rows a text column's cells are listed as they are rather than made unique (cheaper).
_FEW_ROWS = 32


def still_valid(frame: pd.DataFrame, max_count: float) -> bool:
    """Whether a once-validated ``frame`` still passes the schema's rules on what the template reads: its numeric
    columns' ranges (counts whole, >= 1 and <= ``max_count``; sizes and ``input_tokens`` > 0; energy and latencies
    > 0 or NaN), its text cells as validation writes them, and the rules between columns (n_gpus = tp * pp * dp,
    ep divides n_gpus and is > 1 only on a MoE row, active_params_b <= params_b). A column absent is not checked.
    A frame with a repeated column name (a column concatenated again) is not: validating it again names the
    column(s), as a CSV file's repeated header (it was AttributeError: 'DataFrame' object has no attribute 'dtype')."""
    if not frame.columns.is_unique:
        return False
    numbers, ep_max = _numbers(frame, max_count)
    return (numbers is not None and _texts_ok(frame) and _parallelism_ok(frame, numbers, ep_max)
            and _active_ok(numbers))


def _numbers(frame: pd.DataFrame, max_count: float) -> tuple[dict[str, np.ndarray] | None, float]:
    """The :data:`_CHECKS` columns present, as float64, when every one passes its range rule (else None), and
    the largest ``ep`` (1 where absent or empty)."""
    numbers, ep_max = {}, 1.0
    for col, (lower, inclusive, whole, allow_nan) in _CHECKS.items():
        if col not in frame.columns:
            continue
        values = column_values(frame, col)
        if not isinstance(values, np.ndarray):  # an extension array (nullable, Arrow): not a plain number column
            return None, ep_max
        if values.dtype.kind not in "iuf":
            return None, ep_max
        values = np.asarray(values, dtype=np.float64)
        if not _core.numbers_ok(values, lower, inclusive, whole, allow_nan):
            return None, ep_max
        if whole and values.size:
            largest = float(np.max(values))
            if largest > max_count:
                return None, ep_max
            ep_max = largest if col == "ep" else ep_max
        numbers[col] = values
    return numbers, ep_max


def _texts_ok(frame: pd.DataFrame) -> bool:
    """Every distinct text cell is one validation writes (:data:`_TEXT_RULES`); NaN, a number or another
    spelling is not."""
    columns = frame.columns
    return all(col not in columns or _column_ok(frame, col, ok) for col, ok in _TEXT_RULES.items())


def _column_ok(frame: pd.DataFrame, col: str, ok) -> bool:
    """Whether ``ok`` holds for every distinct cell of a text column, read without a Series. An Arrow-backed
    column (pandas' ``str`` dtype, what validation writes) is checked once per Arrow array (:data:`_CANONICAL`),
    its distinct cells through Arrow's own ``unique`` (half the time of ``pd.unique``), or for a few rows its
    cells as they are (Arrow's per-call cost, ~5 us, was most of a one-row re-check)."""
    values = column_values(frame, col)
    if not isinstance(values.dtype, pd.StringDtype) or not hasattr(values, "__arrow_array__"):
        try:
            return all(ok(v) for v in _distinct(values))
        except TypeError:  # a list or dict in a cell (unhashable): not a cell validation writes
            return False
    arrow = values.__arrow_array__()
    key = (col, id(arrow))
    ref = _CANONICAL.get(key)
    if ref is not None and ref() is arrow:
        return True
    cells = arrow.to_pylist() if len(arrow) <= _FEW_ROWS else arrow.unique().to_pylist()
    if not all(ok(v) for v in cells):
        return False
    if len(_CANONICAL) >= _CANONICAL_SIZE:
        _CANONICAL.clear()
    _CANONICAL[key] = weakref.ref(arrow, lambda _, k=key: _CANONICAL.pop(k, None))
    return True


def _distinct(values) -> list:
    """The distinct values of a column that is not Arrow-backed (NaN among them where a cell is missing)."""
    if isinstance(values, pd.Categorical):  # the categories its cells use, and NaN where a cell is missing
        codes = values.codes
        return [*values.categories.take(pd.unique(codes[codes >= 0])).tolist(), *([np.nan] if (codes < 0).any() else [])]
    return pd.unique(np.asarray(values, dtype=object)).tolist()


def _parallelism_ok(frame: pd.DataFrame, numbers: dict[str, np.ndarray], ep_max: float) -> bool:
    """The schema's rules between the GPU counts (energylens.profiles.parallelism), as it checks them on a table
    that gives every count: n_gpus = tp * pp * dp, ep divides n_gpus, and ep > 1 only where the row is a MoE
    (architecture moe and n_experts not 1). ``numbers``, ``ep_max``: :func:`_numbers`' (with every ep 1, the
    usual frame, the ep rules hold)."""
    if not all(c in numbers for c in ("tp", "pp", "dp", "n_gpus", "ep")):
        return True
    n_gpus, ep = numbers["n_gpus"], numbers["ep"]
    if not (n_gpus == numbers["tp"] * numbers["pp"] * numbers["dp"]).all():
        return False
    if ep_max <= 1:
        return True
    if np.fmod(n_gpus, ep).any():  # whole numbers below 2**53: exact, as the schema's n_gpus / ep == round(...)
        return False
    multi = ep > 1
    columns = frame.columns
    if "architecture" in columns:
        kinds = np.asarray(column_values(frame, "architecture"), dtype=object)[multi]
        if any(k != "moe" for k in kinds):
            return False
    if "n_experts" not in columns:
        return True
    experts = np.asarray(column_values(frame, "n_experts"), dtype=object)[multi]  # (object: an edit may be text)
    return not (experts == 1).any()


def _active_ok(numbers: dict[str, np.ndarray]) -> bool:
    """The schema's ``active_params_b <= params_b`` (to its float32 slack; NaN passes)."""
    if "active_params_b" not in numbers or "params_b" not in numbers:
        return True
    with np.errstate(invalid="ignore"):
        return not (numbers["active_params_b"] > numbers["params_b"] * (1 + _ACTIVE_SLACK)).any()
