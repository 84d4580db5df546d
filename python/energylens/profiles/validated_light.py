"""The light path's columns for rows :func:`energylens.profiles.load_profiles` validated: so that a validated frame
(and every slice of it) is priced by the native row pass, as the same rows in a raw table are.

A validated frame holds what the schema filled in: ``active_params_b`` from the model table and the architecture
columns (``n_layers`` ... ``image_tokens_per_image``). The feature builder reads those as the row's own values
(an override of the model table), while the native pass (:mod:`energylens.profiles.native_rows`) reads the model
table. So the two give the same prices exactly where every filled cell still holds what the table gives that row's
model; an edit (a row renamed to another model, a column set by hand) need not. :func:`validated_light` checks that
per row (one gather and one comparison per filled column, NaN read as "the table's", as the builder reads it)
and returns the light path's columns (:class:`~energylens.profiles.light.LightProfiles`), or None where any
cell differs, where a column the builder reads is not one it handles (image or video rows, a hybrid's own SSM
cache dtype, ``compute_precision``, GPU spec columns, ...), or where the light path declines the rows (an unknown
or estimated model, a GPU without a table entry): the caller then runs the feature builder on the frame, as before.

It vouches for nothing: the caller re-checks the marked frame first (:func:`energylens.profiles.schema.as_profiles`),
whose error names an edited-to-invalid cell. tests/profiles/test_validated_light.py checks that every column the
builder reads is handled here or declines, and that predictions equal the builder's bit for bit.
"""
from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from energylens.profiles import cells
from energylens.profiles.architecture import spec_column
from energylens.profiles.cells import Coded
from energylens.profiles.features import ARCH_LOOKUP
from energylens.profiles.gpu_table import INLINE_COLUMNS
from energylens.profiles.light import LightProfiles, _canonical_kv, _column_names, _filled, _text_column
from energylens.profiles.schema import SCHEMA_VERSION

__all__ = ["validated_light"]

_TEXT = ("model", "gpu", "precision", "kv_cache_dtype")
#: The numbers the native pass and the light path's features read (measured columns are not read by a prediction);
#: dp and ep are handed on as they are (the native pass only asks whether each is 1; features.py converts them).
_NUMBERS = ("tp", "pp", "batch_size", "input_tokens", "output_tokens", "params_b")
# Not looked at: the columns the feature builder does not read for rows of known models (``architecture`` only
# estimates an unknown model's; ``n_gpus`` is tp x pp x dp, re-checked; ``task``; measured columns), and
# ``video_frames``, which it reads for video rows only (every row here is text: ``modality`` is checked).
# tests/profiles/test_validated_light.py sets every column the builder reads and compares the prices.
#: Text columns the builder reads that must hold, in every row, the value it takes for an absent column.
_NEUTRAL = {"modality": "text", "mamba_ssm_cache_dtype": "auto"}
#: Columns the builder reads that the light path does not take: any of them present sends the frame to the builder.
_DECLINED = frozenset({"compute_precision", "scale_up_domain_gpus", "weight_layout", "layer_pattern",
                       *INLINE_COLUMNS})
# the builder's normalisation of the expert counts (features._architecture): NaN or < 1 reads as 1, k at most E
_EXPERTS = ("n_experts", "experts_per_token")
#: Up to this many rows a text column's cells are compared in Python rather than by Arrow (cheaper).
_FEW_ROWS = 256


def validated_light(frame: pd.DataFrame) -> LightProfiles | None:
    """The light path's columns of a marked (``attrs["schema_version"]``), re-checked ``frame`` whose filled cells
    all hold the model table's values (see the module docstring), else None."""
    if not isinstance(frame, pd.DataFrame) or frame.attrs.get("schema_version") != SCHEMA_VERSION or not len(frame):
        return None
    names = _column_names(frame.columns)
    if not frame.columns.is_unique or not all(isinstance(c, str) for c in names):
        return None
    if any(c in _DECLINED or c.startswith("gpu_") for c in names) or any(c not in names for c in _TEXT[:2]):
        return None
    if not all(_constant(cells.column_values(frame, c)) == v for c, v in _NEUTRAL.items() if c in names):
        return None
    columns = _light_columns(frame, names)
    if columns is None:
        return None
    light = _filled(columns, len(frame))
    if light is None or not _active_matches(frame, light):
        return None
    arch = [c for c in ARCH_LOOKUP if c in names]
    return light if not arch or _architecture_matches(frame, light, arch) else None


def _light_columns(frame: pd.DataFrame, names: list[str]) -> dict[str, object] | None:
    """The columns the light path hands on: the numbers as float64 (the re-check passed them), the text coded."""
    columns: dict[str, object] = {}
    for c in _NUMBERS:
        if c in names:
            values = cells.column_values(frame, c)
            if not isinstance(values, np.ndarray) or values.dtype.kind not in "iuf":
                return None
            columns[c] = np.asarray(values, dtype=np.float64)
    for c in ("dp", "ep"):
        if c in names:
            values = cells.column_values(frame, c)
            if not isinstance(values, np.ndarray) or values.dtype.kind not in "iuf":
                return None
            columns[c] = values
    if "pp" not in columns or "params_b" not in columns:
        return None
    text = [c for c in _TEXT if c in names]
    arrays = [cells.column_values(frame, c) for c in text]
    coded = [None if c in _TEXT[:2] else _constant_codes(a) for c, a in zip(text, arrays, strict=True)]
    need = [k for k, done in enumerate(coded) if done is None]  # model, gpu, a precision that varies: coded natively
    for k, codes in zip(need, cells.text_codes_of([arrays[k] for k in need]), strict=True):
        coded[k] = codes
    for c, values, codes in zip(text, arrays, coded, strict=True):
        column = _text_column(values, c == "precision", codes)
        if column is None or (c == "kv_cache_dtype" and not _canonical_kv(column)):
            return None
        columns[c] = column
    return columns


def _constant(values) -> str | None:
    """The one text every cell of an Arrow-backed str column holds (no null), else None (also for other storage)."""
    if not (isinstance(values.dtype, pd.StringDtype) and hasattr(values, "__arrow_array__")):
        return None
    arrow = values.__arrow_array__()
    if not len(arrow) or arrow.null_count:
        return None
    if len(arrow) <= _FEW_ROWS:  # the cells as they are: Arrow's per-call cost (~70 us) was most of a small frame's
        distinct = set(arrow.to_pylist())
        first = distinct.pop() if len(distinct) == 1 else None
        return first if isinstance(first, str) else None
    first = arrow[0].as_py()
    return first if isinstance(first, str) and pc.all(pc.equal(arrow, pa.scalar(first))).as_py() else None


def _constant_codes(values) -> tuple[np.ndarray, list[str]] | None:
    """(codes, names) of a column whose every cell is one text (a validated frame's precision and KV-cache dtype,
    as a rule: one comparison per row instead of hashing each), else None."""
    first = _constant(values)
    return None if first is None else (np.zeros(len(values), dtype=np.intp), [first])


def _active_matches(frame: pd.DataFrame, light: LightProfiles) -> bool:
    """Whether the frame's ``active_params_b`` (absent: the light path fills it) is, bit for bit, the light path's fill."""
    if "active_params_b" not in frame.columns:
        return True
    values = cells.column_values(frame, "active_params_b")
    if not isinstance(values, np.ndarray) or values.dtype != np.float64:
        return False
    return bool(np.array_equal(values, light["active_params_b"]))


def _architecture_matches(frame: pd.DataFrame, light: LightProfiles, arch: list[str]) -> bool:
    """Whether every architecture column ``arch`` of the frame reads, after the builder's fill (NaN: the table's)
    and its normalisation of the expert counts, as the model table's value of each row's model, bit for bit."""
    models = light["model"]
    assert isinstance(models, Coded)
    specs = tuple(light.model_specs[m] for m in models.values)
    table = _table(specs, tuple(arch))
    codes = np.asarray(models.codes, dtype=np.intp)
    read, wanted = {}, {}
    for j, c in enumerate(arch):
        values = cells.column_values(frame, c)
        if not isinstance(values, np.ndarray) or values.dtype.kind not in "iuf":
            return False
        values = np.asarray(values, dtype=np.float64)
        per_row = table[:, j].take(codes)
        if _same_bits(values, per_row):  # (the usual frame: a NaN cell, or a differing one, goes on below)
            continue
        read[c], wanted[c] = np.where(np.isfinite(values), values, per_row), per_row
    if any(c in read for c in _EXPERTS):  # no n_experts column: the builder caps k at the table's E (not at 1)
        own = table[:, arch.index("n_experts")] if "n_experts" in arch else _table(specs, ("n_experts",))[:, 0]
        for found in (read, wanted):
            _normalise_experts(found, found.get("n_experts", own.take(codes)))
    return all(_same_bits(read[c], wanted[c]) for c in read)


@functools.lru_cache(maxsize=256)
def _table(specs: tuple, arch: tuple[str, ...]) -> np.ndarray:
    """The model table's values of ``arch`` for each model spec (frozen, hashable), one row per spec (read-only)."""
    table = np.array([spec_column(spec, arch) for spec in specs])
    table.flags.writeable = False
    return table


def _normalise_experts(found: dict[str, np.ndarray], experts: np.ndarray) -> None:
    """features._architecture's n_experts (NaN or < 1: 1) and experts_per_token (NaN or < 1: 1, at most E), in place."""
    e = np.where(np.isfinite(experts) & (experts >= 1), experts, 1.0)
    if "n_experts" in found:
        found["n_experts"] = e
    k = found.get("experts_per_token")
    if k is not None:
        found["experts_per_token"] = np.where(np.isfinite(k) & (k >= 1), np.minimum(k, e), 1.0)


def _same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal bit for bit (NaN equal to NaN, -0.0 not equal to 0.0)."""
    return bool(np.array_equal(np.ascontiguousarray(a).view(np.int64), np.ascontiguousarray(b).view(np.int64)))
