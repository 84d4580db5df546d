"""Where a row of a DataFrame came from, for the messages that name it.

:func:`energylens.profiles.load_profiles` reading a *file* keeps the file's zero-based data row as the frame's
index and remembers a hash of each row's schema values (:func:`remember`, a bounded registry keyed by
``attrs["read_id"]``). A frame the user then filters, re-sorts, re-indexes or edits still carries the file's name
in ``attrs["source"]``, so the name alone no longer says which row of the file a row is. A message about rows
asks :class:`RowNames`: a row whose index label is a data row of the file and whose values are still the ones read
there is named as that file row (``FILE: data row 7 (1-based, header not counted)``); any other row is named as
a position in the frame with its index label, and the frame as ``<DataFrame edited after it was read from FILE>``
(``<DataFrame read from FILE>`` where nothing shows an edit, e.g. a frame read before this registry knew it).
A frame built by hand (no file) names its rows as positions, with their index labels where the index is not
the default ``0 .. n-1``, and, where a row's values are a row of a file read here (``pd.concat`` of frames read
from two files keeps no ``attrs``), that file and data row (:func:`origin_text`).
"""
from __future__ import annotations

import itertools
import threading
from collections import OrderedDict
from collections.abc import Callable

import numpy as np
import pandas as pd

from energylens.profiles.problems import Requests, frame_source, rows_text

__all__ = ["RowNames", "remember", "as_read", "origin_text", "default_index", "by_label", "READ_ID"]

#: attrs key of the registry entry of a frame read from a file.
READ_ID = "read_id"
#: The schema columns whose values identify a row as read (a validated frame has them all).
_KEY_COLUMNS = ("model", "params_b", "gpu", "tp", "pp", "dp", "ep", "n_gpus", "batch_size", "input_tokens",
                "output_tokens", "energy_j", "precision")
#: Tables and rows remembered (the oldest forgotten first, the newest kept); a forgotten table's rows are named
#: by position and label. 8 bytes a row.
_MAX_TABLES = 64
_MAX_ROWS = 4_000_000
_HASHES: OrderedDict[int, np.ndarray] = OrderedDict()
_SOURCES: dict[int, str] = {}  # READ_ID -> the file's name, for a frame that lost its attrs (pd.concat)
_IDS = itertools.count(1)
_LOCK = threading.Lock()  # remember() from several threads reading files: one eviction at a time


def _row_hashes(frame: pd.DataFrame, at: np.ndarray | None = None) -> np.ndarray | None:
    """uint64 hash of each row's key columns (rows ``at`` only, positions); None when a key column is gone or a
    cell cannot be hashed (a list)."""
    if not all(c in frame.columns for c in _KEY_COLUMNS):
        return None
    part = frame[list(_KEY_COLUMNS)]
    if at is not None:
        part = part.iloc[at]
    try:
        return pd.util.hash_pandas_object(part, index=False).to_numpy(dtype=np.uint64)
    except TypeError:  # a list or dict in a key cell (unhashable): no row a file held
        return None


def remember(frame: pd.DataFrame) -> None:
    """Record ``frame`` (just read from a file, or converted from one by a reader that names it: index = the
    file's zero-based data rows) as read."""
    hashes = _row_hashes(frame)
    index = frame.index
    if hashes is None or not pd.api.types.is_integer_dtype(index.dtype) or not index.is_unique or (
            len(index) and (index.min() < 0 or index.max() > 2 * len(index) + 1000)):  # no file's row numbers
        return
    table = np.zeros(int(index.max()) + 1 if len(index) else 0, dtype=np.uint64)  # 0: no row (dropped as invalid)
    table[index.to_numpy()] = hashes
    with _LOCK:
        token = next(_IDS)
        _HASHES[token] = table
        _SOURCES[token] = str(frame.attrs.get("source", ""))
        while len(_HASHES) > 1 and (len(_HASHES) > _MAX_TABLES or sum(map(len, _HASHES.values())) > _MAX_ROWS):
            _SOURCES.pop(_HASHES.popitem(last=False)[0], None)
    frame.attrs[READ_ID] = token


def _file_rows(frame: pd.DataFrame, at: np.ndarray) -> np.ndarray | None:
    """The file's zero-based data rows of the frame's rows ``at`` (positions), where every one of them is a row
    read there, with the values read: found by its index label (a filtered or re-sorted frame keeps the reader's
    index) or else, the index reset, by its values where no other row of the file holds the same; None when
    one is not (an edited cell, a row added), or when nothing is known of the file."""
    table = _HASHES.get(frame.attrs.get(READ_ID, 0))
    hashes = None if table is None else _row_hashes(frame, at)
    if hashes is None:
        return None
    out = np.full(len(at), -1, dtype=np.int64)
    index = frame.index
    if pd.api.types.is_integer_dtype(index.dtype):
        labels = index.to_numpy()[at].astype(np.int64)
        inside = (labels >= 0) & (labels < len(table))
        same = np.zeros(len(at), dtype=bool)
        same[inside] = table[labels[inside]] == hashes[inside]
        out[same] = labels[same]
    if (out < 0).any():  # by value: a row read once there (the table's 0 marks no row)
        order = np.argsort(table, kind="stable")
        ranked = table[order]
        todo = np.flatnonzero(out < 0)
        lo = np.searchsorted(ranked, hashes[todo], side="left")
        hi = np.searchsorted(ranked, hashes[todo], side="right")
        once = (hi - lo == 1) & (hashes[todo] != 0)
        out[todo[once]] = order[lo[once]]
    return None if (out < 0).any() else out


def origin_text(frame: pd.DataFrame, at) -> str:
    """For a frame without a file's name (``pd.concat`` of frames read from two files drops ``attrs``): ", which
    is data row 6 of b.csv" (or "which are ... and ...") where each of the rows ``at`` (positions) is, by its
    values, a row of a file read here that no other row of the files holds; "" where one is not."""
    at = np.asarray(at, dtype=np.int64)[:20]
    hashes = _row_hashes(frame, at) if _HASHES else None
    if hashes is None or not len(at):
        return ""
    where: list[tuple[str, int]] = []
    tables = list(_HASHES.items())  # a copy: another thread may read a file meanwhile
    for h in hashes.tolist():
        hits = [(_SOURCES.get(t, "?"), int(i)) for t, table in tables for i in np.flatnonzero(table == h)[:2]]
        if len(hits) != 1 or h == 0:
            return ""
        where.append(hits[0])
    by_file: dict[str, list[int]] = {}
    for name, row in where:
        by_file.setdefault(name, []).append(row)
    parts = [f"{rows_text(np.array(rows))[:-len(' (1-based, header not counted)')]} of {name}"
             for name, rows in by_file.items()]
    verb = "is" if len(where) == 1 else "are"
    return f", which {verb} {' and '.join(parts)} (1-based, header not counted)"


def as_read(frame: pd.DataFrame) -> bool | None:
    """Whether every row of ``frame`` is a row of the file it was read from, as read there (True), or some
    row is not (False: an edited cell, a reset index); None when the frame is not known as read from a file."""
    if _HASHES.get(frame.attrs.get(READ_ID, 0)) is None:
        return None
    return _file_rows(frame, np.arange(len(frame))) is not None


def default_index(index: pd.Index) -> bool:
    """Whether ``index`` is a frame's default ``0 .. n-1`` (its labels say nothing a position does not)."""
    if isinstance(index, pd.RangeIndex):
        return index.start == 0 and index.step == 1
    return pd.api.types.is_integer_dtype(index.dtype) and bool((index.to_numpy() == np.arange(len(index))).all())


def by_label(source: str, index: pd.Index) -> bool:
    """Whether the rows of a DataFrame named ``source`` are named by position and index label (what ``df.loc``
    takes), a default ``0 .. n-1`` index's too; not where a caller named the frame after a file (``source=``, a
    reader's frame) and its index is the default one: the file's data rows."""
    return source[:1] == "<" or not default_index(index)


def _trusted_rows(index: pd.Index) -> np.ndarray | None:
    """A frame named after a file that the reader did not record (a caller's ``source=``, a reader of its own):
    its integer index is the file's zero-based data rows, as the caller says; None for any other index."""
    if pd.api.types.is_integer_dtype(index.dtype) and index.is_unique and (len(index) == 0 or index.min() >= 0):
        return index.to_numpy(dtype=np.int64)
    return None


class RowNames(str):
    """A frame's name for messages (its ``attrs["source"]``, or ``<DataFrame>``) that also names its rows:
    :meth:`where` gives "NAME: ROWS" for zero-based positions, as the module doc says."""

    def __new__(cls, frame: pd.DataFrame, source: str | None = None) -> RowNames:
        self = super().__new__(cls, str(source or frame.attrs.get("source") or "<DataFrame>"))
        self.frame = frame
        self.file_form = False  # the last naming: the file's rows (True) or the frame's positions
        return self

    def where(self, rows, column: str | None = None) -> str:
        """"NAME: data rows ..., column 'c'" for the zero-based positions ``rows``."""
        name, phrase = self.parts(rows)
        return f"{name}: {phrase(rows)}" + (f", column {column!r}" if column else "")

    def parts(self, rows) -> tuple[str, Callable[[object], str]]:
        """(how to name the frame, how to name positions among ``rows``), decided on ``rows`` together (so the
        rows of one message are named one way); :attr:`file_form` says which way."""
        at = np.asarray(rows, dtype=np.int64)
        text, index = str(self), self.frame.index
        if (requests := Requests.of(text, len(index))) is not None:  # a model call's mapping(s): "request 3 of 8"
            self.file_form = False
            return text, lambda r: rows_text(np.asarray(r, dtype=np.int64), requests)
        if text.startswith("<"):  # no file, or a name that says what the frame is
            self.file_form = False  # positions with index labels (what df.loc takes), under a default index too
            return text, lambda r: rows_text(np.asarray(r, dtype=np.int64), index) + (
                origin_text(self.frame, r) if text == "<DataFrame>" else "")
        if self.frame.attrs.get(READ_ID) is None:  # named after a file by a caller: its index, as before
            trusted = _trusted_rows(index)
            self.file_form = trusted is not None
            if trusted is not None:
                return text, lambda r: rows_text(trusted[np.asarray(r, dtype=np.int64)])
        elif (found := _file_rows(self.frame, at)) is not None:
            self.file_form = True
            of = dict(zip(at.tolist(), found.tolist(), strict=True))
            return text, lambda r: rows_text(np.array([of[int(p)] for p in r], dtype=np.int64))
        self.file_form = False
        # read by the reader, yet these rows are not the file's as read (or it forgot the file: no claim)
        edited = _HASHES.get(self.frame.attrs.get(READ_ID, 0)) is not None
        return frame_source(text, edited=edited), lambda r: rows_text(np.asarray(r, dtype=np.int64), index)
