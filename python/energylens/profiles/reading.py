"""Reading a profile table: a DataFrame (copied), a sweep's store folder, or a CSV / Parquet file, as
:func:`energylens.profiles.load_profiles` takes it before any schema rule runs (moved out of schema.py, which
it kept at its size limit). Every unreadable file is a :class:`~energylens.errors.ProfileSchemaError` naming it."""

from __future__ import annotations

import os
from pathlib import Path

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
from energylens.profiles.header import check_unique_csv_header
from energylens.profiles.store_dir import STORE_MARKER, read_store_dir

__all__ = ["read_table", "DATAFRAME_SOURCE"]

#: How messages name a DataFrame given without a ``source``.
DATAFRAME_SOURCE = "<DataFrame>"


def read_table(path_or_frame, source: str | None, text_columns: tuple[str, ...]) -> tuple[pd.DataFrame, str]:
    """(the table, its name for messages): a copy of a DataFrame, a store folder's finished rows, or the file
    (``text_columns`` of a CSV read as str). A repeated CSV header is an error naming the column."""
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
            frame = check_row_lengths(read_csv_file(path, src, dtype={c: str for c in text_columns}), src)
        else:
            frame = read_parquet_table(path, src)
    except ProfileSchemaError:
        raise
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError, ValueError, TypeError) as exc:
        raise ProfileSchemaError(f"{src}: could not read the {kind.upper()} file: {exc}", source=src) from exc
    if kind == "csv":  # pandas renames a repeated header (energy_j.1): read the header row as written
        check_unique_csv_header(path, src)
    return frame, src
