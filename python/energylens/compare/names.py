"""Which spellings of a GPU or a model are one: the names the splits hold out and the groups gather by.

``H100`` and ``NVIDIA H100 80GB HBM3`` are one GPU, ``meta-llama/Llama-3.1-70B-Instruct`` and
``meta-llama/Meta-Llama-3.1-70B-Instruct`` one model: holding out one spelling while training on the other
leaked the "unseen" GPU or model into training, and a group split in two had two "cheapest" choices.

A GPU resolves as the loader resolves it (:func:`energylens.profiles.tables.gpu_spec`: registered user GPUs,
then the bundled table, tolerant of case, punctuation and ``NVIDIA``); a model by its name alone, tolerant of
case, punctuation, the ``org/`` prefix and Meta's ``Meta-`` before ``Llama``. The model table's aliases are not
used: they gather other checkpoints of one architecture (``-Instruct-2507`` and ``-Thinking-2507``, ``-FP8``),
each its own model with its own outputs and precision, which ML.ENERGY v3 measures side by side (29 models;
resolved by alias they were 23). A name in neither table (a GPU described by spec columns, an unknown model) is
its own, stripped of surrounding blanks.

Where one table entry is spelled only one way in a frame, its label is that spelling (results and group names
read as before); where it is spelled several ways, every spelling is labelled with the table's name.

Owns :func:`resolved_name`, :func:`name_labels` and :func:`canonical_names`. Imports pandas, numpy and
:mod:`energylens.profiles.tables`.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

import numpy as np
import pandas as pd

from energylens.profiles.gpu_table import gpu_table_name
from energylens.profiles.tables import models, normalize_name

__all__ = ["NAME_COLUMNS", "resolved_name", "name_labels", "canonical_names"]

#: The columns whose spellings are resolved.
NAME_COLUMNS = ("model", "gpu")


def _model_key(name: str) -> str:
    """Equal for the spellings of one checkpoint: normalised (case, punctuation, ``org/``), ``Meta-Llama`` as
    ``Llama`` (meta-llama/Meta-Llama-3.1-70B-Instruct was renamed meta-llama/Llama-3.1-70B-Instruct)."""
    k = normalize_name(name)
    return k[len("meta"):] if k.startswith("metallama") else k


@functools.cache
def _model_names() -> dict[str, str]:
    """Model key -> the model table's name for it (its rows' names, not their aliases)."""
    out: dict[str, str] = {}
    for name in models()["name"]:
        out.setdefault(_model_key(str(name)), str(name))
    return out


def resolved_name(name: str, column: str) -> str:
    """The table's name of ``name`` (``column``: ``"gpu"`` or ``"model"``), else ``name`` stripped: equal for
    every spelling of one table entry, whatever else a frame holds."""
    raw = str(name).strip()
    if column == "gpu":
        return gpu_table_name(raw)
    key = _model_key(raw)
    return _model_names().get(key, key)


def name_labels(values: Iterable, column: str) -> np.ndarray:
    """One label per value of a ``model`` or ``gpu`` column (object array): equal labels for the spellings
    of one table entry; a value's own stripped spelling where it is the only spelling of its entry."""
    raw = pd.Series(list(values) if not isinstance(values, pd.Series) else values, dtype=object)
    text = raw.astype(str).str.strip()
    uniques = pd.unique(text)
    resolved = {u: resolved_name(u, column) for u in uniques}
    spellings: dict[str, set[str]] = {}
    for u, r in resolved.items():
        spellings.setdefault(r, set()).add(u)
    tabled = set(_model_names().values()) if column == "model" else None
    label = {u: (u if len(spellings[r]) == 1 else r if tabled is None or r in tabled else min(spellings[r]))
             for u, r in resolved.items()}  # (several spellings of an unknown model: the first in order)
    return text.map(label).to_numpy(dtype=object)


def canonical_names(df: pd.DataFrame, columns: Iterable[str] = NAME_COLUMNS) -> pd.DataFrame:
    """``df`` with each of ``columns`` it has replaced by :func:`name_labels` (a copy; ``df`` itself when it
    has none of them). Idempotent: labels of labels are the labels."""
    present = [c for c in columns if c in df.columns]
    if not present:
        return df
    out = df.copy()
    for c in present:
        out[c] = name_labels(df[c], c)
    return out
