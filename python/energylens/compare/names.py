"""Which spellings of a GPU or a model are one: the names the splits hold out and the groups gather by.

``H100`` and ``NVIDIA H100 80GB HBM3`` are one GPU, ``meta-llama/Llama-3.1-70B-Instruct`` and
``meta-llama/Meta-Llama-3.1-70B-Instruct`` one model: holding out one spelling while training on the other
leaked the "unseen" GPU or model into training, and a group split in two had two "cheapest" choices.

A GPU resolves as the loader resolves it (:func:`energylens.profiles.tables.gpu_spec`: registered user GPUs,
then the bundled table, tolerant of case, punctuation and ``NVIDIA``); a model by its name or an alias in the
model table (case and punctuation tolerant, ``org/`` optional). A quantised or otherwise renamed variant
(``-AWQ``, ``-FP8``) stays a model of its own (it is served at another precision). A name in neither table
(a GPU described by spec columns, an unknown model) is its own, stripped of surrounding blanks.

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

from energylens.errors import UnknownGpuError
from energylens.profiles.tables import gpu_spec, models, normalize_name

__all__ = ["NAME_COLUMNS", "resolved_name", "name_labels", "canonical_names"]

#: The columns whose spellings are resolved.
NAME_COLUMNS = ("model", "gpu")


@functools.cache
def _model_names() -> dict[str, str]:
    """Normalised name or alias -> the model table's name (a key two rows share names neither)."""
    out: dict[str, str] = {}
    shared: set[str] = set()
    for row in models().itertuples(index=False):
        for n in [row.name, *(a for a in str(row.aliases).split(";") if a.strip())]:
            k = normalize_name(n)
            if k and out.setdefault(k, str(row.name)) != row.name:
                shared.add(k)
    for k in shared:
        del out[k]
    return out


def resolved_name(name: str, column: str) -> str:
    """The table's name of ``name`` (``column``: ``"gpu"`` or ``"model"``), else ``name`` stripped: equal for
    every spelling of one table entry, whatever else a frame holds."""
    raw = str(name).strip()
    if column == "gpu":
        try:
            return str(gpu_spec(raw).name)
        except UnknownGpuError:
            return raw
    return _model_names().get(normalize_name(raw), raw)


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
    label = {u: (r if len(spellings[r]) > 1 else u) for u, r in resolved.items()}
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
