"""A validated frame's columns as NumPy arrays, each converted once: what the feature builder reads.

:func:`energylens.profiles.features.features_of` reads about fifty columns of a validated frame, most of
them several times, and on a pandas DataFrame each read builds a Series (``DataFrame.__getitem__``, tens
of microseconds) and each conversion goes through ``pandas.to_numeric``. For a one-row prediction from a
validated 37-column frame that was ~30x the light path's whole prediction (3 ms against 0.1 ms).
:class:`FrameColumns` stands in for the frame the way :class:`energylens.profiles.light.LightProfiles`
does for a raw table: numeric columns as float64 arrays (converted once, then shared: the feature
builder copies what it changes), ``model`` / ``gpu`` / ``precision`` as
:class:`~energylens.profiles.cells.Coded` where every cell is text, the other columns as the frame's own
Series. Only for frames the schema validated: their numbers are checked already.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from energylens.errors import UnknownGpuError
from energylens.profiles import cells
from energylens.profiles.gpu_table import INLINE_COLUMNS, gpu_spec, gpu_specs_for_profiles

__all__ = ["FrameColumns", "checked_columns"]

#: Text columns handed on coded (the ones the light path codes, and every reader of them takes Coded).
_CODED = ("model", "gpu", "precision")


class FrameColumns:
    """Read-only column access to a validated DataFrame (``frame``), each column converted at its first
    read; ``columns``, ``attrs``, ``in`` and ``len()`` as the frame's. ``labelled``: the same rows with the
    index they had before a ``reset_index`` (messages name rows by it; default ``frame``)."""

    def __init__(self, frame: pd.DataFrame, labelled: pd.DataFrame | None = None) -> None:
        self.frame = frame
        self.labelled = frame if labelled is None else labelled  # its index names rows in messages
        self.columns = frame.columns
        self.attrs = frame.attrs
        self._read: dict[str, object] = {}

    def __contains__(self, name: object) -> bool:
        return name in self.columns

    def __len__(self) -> int:
        return len(self.frame)

    def __getitem__(self, name: str):
        if name not in self._read:
            self._read[name] = self._convert(name)
        return self._read[name]

    def gpu_specs(self) -> dict:
        """GPU name -> spec, as :func:`~energylens.profiles.gpu_table.gpu_specs_for_profiles` gives them:
        where every GPU is a table's (bundled or user) and the frame has no GPU spec columns, one look-up
        per distinct name, as the light path does, instead of that function's pass over the frame; else
        that pass, which decides and names what is wrong (spec columns, a GPU no table knows)."""
        gpus = self["gpu"]
        if isinstance(gpus, cells.Coded) and not any(c in self.columns for c in INLINE_COLUMNS):
            try:
                return {name: gpu_spec(name) for name in (str(g).strip() for g in gpus.values)}
            except UnknownGpuError:
                pass
        return gpu_specs_for_profiles(self.labelled)

    def _convert(self, name: str):
        values = cells.column_values(self.frame, name)
        dtype = values.dtype
        if isinstance(values, np.ndarray) and values.ndim == 1 and dtype.kind in "iuf":
            return np.asarray(values, dtype=np.float64)
        if name in _CODED:
            coded = cells.text_codes_of([values])[0]
            if coded is not None:
                codes, values = coded
                return cells.Coded(np.asarray(codes, dtype=np.intp), np.asarray(values, dtype=object))
        return self.frame[name]



def checked_columns(part: pd.DataFrame) -> FrameColumns:
    """A chunk of a validated frame that was re-checked whole (``as_profiles``) as :class:`FrameColumns`, which
    :func:`energylens.profiles.features.build_features` reads without re-checking it again (one re-check per
    predict, not one more per chunk); messages name its rows by the frame's index."""
    return FrameColumns(part.reset_index(drop=True), labelled=part)
