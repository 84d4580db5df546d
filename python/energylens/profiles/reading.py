"""Reading a profile table: a DataFrame (copied), a sweep's store folder, or a CSV / Parquet file, as
:func:`energylens.profiles.load_profiles` takes it before any schema rule runs (moved out of schema.py, which
it kept at its size limit). Every unreadable file is a :class:`~energylens.errors.ProfileSchemaError` naming it."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from energylens.errors import ProfileSchemaError
from energylens.profiles.files import (
    check_csv_file,
    check_input_file,
    check_row_lengths,
    read_csv_file,
    read_parquet_table,
    table_kind,
)
from energylens.profiles.header import check_unique_columns, csv_header, drop_empty_unnamed_columns
from energylens.profiles.store_dir import STORE_MARKER, read_store_dir
from energylens.profiles.unreadable import (
    COMMENT_RULE,
    READ_ERRORS,
    comment_text,
    data_row_line,
    unreadable_csv_error,
)

__all__ = ["read_table", "check_stray_rows", "comment_rows", "integer_columns", "COMMENT_REASON", "DATAFRAME_SOURCE",
           "INTEGER_COLUMNS"]

#: The problem of a data row that is a '#' comment line (its first cell starts with '#').
COMMENT_REASON = "a comment line ('#' first): schema v1 has no comment lines; delete the line"

#: How messages name a DataFrame given without a ``source``.
DATAFRAME_SOURCE = "<DataFrame>"

#: attrs key of a frame read from a file: the columns the file held as integers (the schema reads counts such as
#: batch_size as float64; ``energylens predict`` writes these back as integers, the user's file round-tripped).
INTEGER_COLUMNS = "integer_columns"


def integer_columns(headers: list[str], arrays: list[object]) -> tuple[str, ...]:
    """The names among ``headers`` whose column (``arrays``, as read from the file) is of an integer dtype."""
    return tuple(h for h, a in zip(headers, arrays, strict=True)
                 if getattr(getattr(a, "dtype", None), "kind", "") in ("i", "u"))


def read_table(path_or_frame, source: str | None, text_columns: tuple[str, ...]) -> tuple[pd.DataFrame, str]:
    """(the table, its name for messages): a copy of a DataFrame, a store folder's finished rows, or the file
    (``text_columns`` of a CSV read as str). A repeated CSV header is an error naming the column. A file's
    repeated header line or summary row is named by :func:`check_stray_rows`, which the schema runs only once
    the rows have problems (their cells fail the column checks), so a valid table does not pay for it."""
    if isinstance(path_or_frame, pd.DataFrame):
        return path_or_frame.copy(), source or DATAFRAME_SOURCE
    if not isinstance(path_or_frame, (str, os.PathLike)):
        raise TypeError(
            f"load_profiles takes a path (str or os.PathLike) or a pandas.DataFrame, "
            f"not {type(path_or_frame).__name__}")
    path = Path(path_or_frame)
    src = source or str(path)
    if path.is_dir() and (path / STORE_MARKER).is_file():
        frame = read_store_dir(path, warn_failed=True)
        if frame.empty:
            raise ProfileSchemaError(f"{src}: the sweep store has no finished (status ok) rows yet", source=src)
        return frame, src
    kind = table_kind(path, src, STORE_MARKER)
    check_csv_file(path) if kind == "csv" else check_input_file(path)
    try:
        if kind == "csv":
            frame = check_row_lengths(read_csv_file(path, src, dtype={c: str for c in text_columns}), src, path)
        else:
            frame = read_parquet_table(path, src)
    except ProfileSchemaError:
        raise
    except (*READ_ERRORS, ValueError, TypeError) as exc:  # a compressed file cut short: EOFError
        if kind == "csv":
            raise unreadable_csv_error(path, src, exc) from exc
        raise ProfileSchemaError(f"{src}: could not read the {kind.upper()} file: {exc}", source=src) from exc
    if kind == "csv":  # pandas renames a repeated header (energy_j.1): read the header row as written
        header = csv_header(path)
        check_unique_columns(header, src)
        # a column without a header name: Excel's empty ones dropped, one holding values (to_csv's index) refused
        frame = drop_empty_unnamed_columns(frame, header, src, "profile table")
    return frame, src


#: A first cell that marks a spreadsheet's summary row (any case, with or without a trailing ':').
_SUMMARY = frozenset(v for w in ("total", "totals", "grand total", "subtotal", "sum", "average", "avg", "mean",
                                 "median") for c in (w, w.title(), w.upper(), w.capitalize()) for v in (c, c + ":"))


def comment_rows(values: object) -> np.ndarray:
    """Mask of the cells of a file's first column (its values) that make their line a comment (:func:`comment_text`):
    a text column only, and one vectorised test for a '#' anywhere before the rows that hold one are looked at (a
    million rows: ~5 ms), so a valid table pays little."""
    series = pd.Series(values, copy=False)
    out = np.zeros(len(series), dtype=bool)
    if pd.api.types.is_numeric_dtype(series.dtype) or not len(series):
        return out
    hits = np.flatnonzero(series.astype(str).str.contains("#", regex=False).to_numpy(dtype=bool, na_value=False))
    for pos in hits.tolist():
        out[pos] = comment_text(series.iat[pos])
    return out


def check_stray_rows(frame: pd.DataFrame, src: str, path: Path | None = None) -> None:
    """ProfileSchemaError naming the first data row of a file's ``frame`` that is not a measurement: the header line
    again (two CSV files joined with ``cat``; its cells were each a "non-numeric value 'tp'" problem) or a
    spreadsheet's summary row (``Total,,,``: each blank a "missing value" problem). Looks at the first column's
    text cells and ``model`` only (``isin``: no string pass over a large table)."""
    if frame.empty:
        return
    first = frame.columns[0]
    comments = np.flatnonzero(comment_rows(frame[first].array))
    if len(comments):
        pos = int(comments[0])
        found = data_row_line(path, pos) if path is not None else None
        at = f"line {found[0]} (data row {pos + 1})" if found else f"data row {pos + 1} (1-based, header not counted)"
        said = found[1] if found else str(frame[first].iat[pos])
        more = f" (and {len(comments) - 1} more such line(s), data rows {', '.join(str(r + 1) for r in comments[1:6])}" \
               f"{' ...' * (len(comments) > 6)})" if len(comments) > 1 else ""
        raise ProfileSchemaError(f"{src}: {at} is a comment ({said.strip()[:60]!r}){more}; "
                                 f"{COMMENT_RULE}", source=src, column=str(first), rows=comments.tolist())
    if not pd.api.types.is_numeric_dtype(frame[first].dtype):
        for pos in np.flatnonzero(frame[first].to_numpy() == first)[:5].tolist():
            cells = [str(frame.iat[pos, j]).strip() for j in range(frame.shape[1])]
            if all(v == str(c) for v, c in zip(cells, frame.columns, strict=True) if not str(c).startswith("Unnamed:")):
                raise ProfileSchemaError(
                    f"{src}: data row {pos + 1} (1-based, header not counted) repeats the header line (column "
                    f"{str(first)!r} holds {str(first)!r}, and so on): two CSV files joined together? Delete that line "
                    "(append a file without its header: tail -n +2 b.csv >> a.csv)", source=src, column=str(first),
                    rows=[pos])
    for column in dict.fromkeys((first, "model")):
        if column in frame.columns and not pd.api.types.is_numeric_dtype(frame[column].dtype):
            hits = np.flatnonzero(frame[column].isin(_SUMMARY).to_numpy())
            if len(hits):
                pos = int(hits[0])
                raise ProfileSchemaError(
                    f"{src}: data row {pos + 1} (1-based, header not counted) looks like a summary row (column "
                    f"{str(column)!r} holds {frame[column].iat[pos]!r}), not a measurement: delete it (a spreadsheet's "
                    "totals or averages do not belong in a profile table)", source=src, column=str(column), rows=[pos])
