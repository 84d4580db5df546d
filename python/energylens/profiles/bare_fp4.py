"""A bare ``fp4`` in a profile table's ``precision`` column, read per row from the checkpoint the row names.

``fp4`` names two weight formats that vLLM runs differently: NVIDIA's NVFP4 (``nvidia/*-FP4`` checkpoints: W4A4
at the fp4 peak on Blackwell) and the OCP MXFP4 of gpt-oss (W4A16 at the 16-bit rate;
energylens.profiles.precision). The precision alias alone maps it to ``mxfp4``, so a user's row
``nvidia/Llama-3.3-70B-Instruct-FP4, fp4, B200`` was priced as W4A16, while the ML.ENERGY v3 reader already
resolved the same cell by checkpoint (its own copy of this rule until 2026-12-06). The schema now does the same for every
table: the choice pass records the rows of a bare ``fp4`` cell (:func:`mark_bare`; they read the alias's mxfp4
until then), and the assembly, after invalid rows are dropped (:func:`resolve_bare`), gives them the format of
the row's checkpoint (:func:`energylens.profiles.checkpoints.checkpoint_precision`) where that is an fp4 format
(nvfp4, the weight-only nvfp4a16, mxfp4), else the alias's mxfp4, with one :class:`AmbiguousPrecisionWarning`
naming those models. Both run once per distinct value (cell spelling, model), never per row, and a table
without a bare ``fp4`` costs no pass over its rows. A spelled-out ``nvfp4`` / ``mxfp4`` is never changed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from energylens import warning_sink
from energylens.profiles.checkpoints import checkpoint_precision
from energylens.profiles.precision import normalize_precision

__all__ = ["BARE_ROWS", "FP4_FORMATS", "AmbiguousPrecisionWarning", "is_bare_fp4", "mark_bare", "resolve_bare",
           "axis_format", "formats_per_checkpoint"]

#: The precision cell this module resolves (as :func:`is_bare_fp4` compares it).
BARE = "fp4"
#: The key of ``out`` (the schema's parsed columns) under which :func:`mark_bare` leaves the bare-``fp4`` rows.
BARE_ROWS = "precision:bare_fp4"
#: Checkpoint formats a bare ``fp4`` may stand for.
FP4_FORMATS = frozenset({"nvfp4", "nvfp4a16", "mxfp4"})
#: The format a bare ``fp4`` keeps where the checkpoint does not say (the precision alias's).
DEFAULT = "mxfp4"


class AmbiguousPrecisionWarning(UserWarning):
    """A bare ``fp4`` precision whose row's checkpoint does not say NVFP4 or MXFP4 was taken as mxfp4."""


def is_bare_fp4(value: object) -> bool:
    """``fp4`` as the precision parser reads it (case, surrounding space, ``-`` and ``_`` aside: ``FP-4``)."""
    return isinstance(value, str) and value.strip().lower().replace("-", "").replace("_", "") == BARE


def mark_bare(out: dict[str, np.ndarray], column: str, codes: np.ndarray, uniques: np.ndarray) -> None:
    """Record in ``out`` (the schema's parsed columns, sliced with them when rows are dropped) under
    :data:`BARE_ROWS` the rows whose ``precision`` cell (coded as ``codes`` into the distinct cells ``uniques``;
    -1 = NA) is a bare ``fp4``; nothing where there is none, or for another ``column``. Per distinct cell."""
    if column != "precision":
        return
    bare = np.array([is_bare_fp4(u) for u in uniques] + [False], dtype=bool)  # code -1 picks the last slot
    if bare.any():
        out[BARE_ROWS] = bare[codes]


def resolve_bare(precision: np.ndarray, out: dict[str, np.ndarray], models: np.ndarray, source: str) -> np.ndarray:
    """``precision`` (object array; the alias's mxfp4 in the rows :func:`mark_bare` recorded in ``out``) with those
    rows given the fp4 format of their model's checkpoint (``models``: stripped names), one look-up per distinct
    model; where a checkpoint gives no fp4 format, mxfp4 stays and one :class:`AmbiguousPrecisionWarning` names
    ``source`` and those models. ``precision`` itself where no row was recorded (no pass over the rows)."""
    rows = out.get(BARE_ROWS)
    if rows is None or not rows.any():
        return precision
    rows = np.flatnonzero(rows)
    codes, names = pd.factorize(np.asarray(models, dtype=object)[rows])
    precision = precision.copy()
    precision[rows] = np.array(_fp4_formats(names, source, "their rows were", "the precision column"),
                               dtype=object)[codes]
    return precision


def _fp4_formats(checkpoints, source: str, taken: str, where: str) -> list[str]:
    """The fp4 format a bare ``fp4`` stands for with each of ``checkpoints``: the checkpoint's own where it is one
    (nvfp4, nvfp4a16, mxfp4), else :data:`DEFAULT`, with one AmbiguousPrecisionWarning naming ``source`` and those
    checkpoints (``taken``: what was taken as mxfp4, ``where``: where to spell the format out)."""
    own = [checkpoint_precision(str(c)) for c in checkpoints]
    guessed = sorted({str(c) for c, f in zip(checkpoints, own, strict=True) if f not in FP4_FORMATS})
    if guessed:
        warning_sink.warn(
            f"{source}: precision 'fp4' names two formats, NVIDIA's NVFP4 (W4A4 on Blackwell) and the OCP MXFP4 of "
            f"gpt-oss (W4A16), and the checkpoint name does not say which for {len(guessed)} model(s): "
            f"{', '.join(repr(m) for m in guessed)}; {taken} taken as mxfp4 (the alias): write nvfp4 or mxfp4 in "
            f"{where} (docs/profile-schema.md)", AmbiguousPrecisionWarning, stacklevel=6)
    return [f if f in FP4_FORMATS else DEFAULT for f in own]


def axis_format(value: str) -> str:
    """An item of a precision axis (the search's ``precision``): a bare ``fp4`` kept as :data:`BARE` (each model
    reads it as its checkpoint's fp4 format: :func:`formats_per_checkpoint`), anything else its canonical format."""
    return BARE if is_bare_fp4(value) else normalize_precision(value)


def formats_per_checkpoint(precisions: list[str] | None, checkpoints: list[str], source: str,
                           where: str) -> list[list[str]]:
    """The weight formats searched per checkpoint: ``precisions`` (:func:`axis_format` items) with :data:`BARE`
    read as the checkpoint's fp4 format as :func:`resolve_bare` reads a cell (one AmbiguousPrecisionWarning
    naming ``source``, the checkpoints that do not say, and ``where`` to spell it out), or without an axis
    (None) the checkpoint's own format."""
    if precisions is None:
        return [[checkpoint_precision(c)] for c in checkpoints]
    if BARE not in precisions:
        return [list(precisions) for _ in checkpoints]
    fp4 = _fp4_formats(checkpoints, source, "they were", where)
    return [list(dict.fromkeys(f if p == BARE else p for p in precisions)) for f in fp4]
