"""Column-wise parsing of profile cells: every per-cell rule runs once per distinct value.

A profile column of 1e7 rows holds a handful of distinct texts (model and GPU names, precisions, a
number written as text), so :mod:`energylens.profiles.schema` and the table lookups of
:mod:`energylens.profiles.architecture` and :mod:`energylens.profiles.features` factorise a column
(``pandas.factorize``, C speed), apply the Python rule to the distinct values and take the results
back by code. A column of mixed Python objects (``1``, ``1.0`` and ``True`` hash alike, yet parse
differently) is the one case handled cell by cell, so the results never depend on which cell of an
equal-hashing group came first. tests/profiles/test_vectorised_schema.py checks every helper here
against the per-row rules it replaced.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa

from energylens import _core

__all__ = ["codes", "text_codes", "text_codes_of", "per_value", "is_blank", "is_missing", "to_numeric", "normalise_choice", "text",
           "key_groups", "key_codes", "Coded", "column_values", "column_arrays", "to_float", "coded_cells",
           "string_like", "per_code", "blank_codes", "choice_codes", "str_array"]


class Coded(NamedTuple):
    """A text column as a code per row (>= 0) and its distinct values (an object array of str): what the
    light path hands build_features instead of a column of names (no pandas object per call)."""

    codes: np.ndarray
    values: np.ndarray


# infer_dtype kinds whose cells are all of one type, so equal hashes mean equal cells.
_ONE_TYPE = ("string", "empty", "floating", "integer", "boolean")


def codes(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(code per cell, distinct values) with code -1 for a missing cell: one code per distinct value for
    a column of one type (strings, or numbers), one per cell for a column of mixed objects. A
    :class:`Coded` column (the light path's text, :mod:`energylens.profiles.light`) gives its own codes."""
    if isinstance(series, Coded):
        return series.codes, series.values
    if pd.api.types.infer_dtype(series, skipna=True) in _ONE_TYPE:
        c, uniques = pd.factorize(series, use_na_sentinel=True)
        return c.astype(np.intp, copy=False), np.asarray(uniques, dtype=object)
    missing = series.isna().to_numpy(dtype=bool)
    c = np.full(len(series), -1, dtype=np.intp)
    c[~missing] = np.arange(int((~missing).sum()), dtype=np.intp)
    return c, series.astype(object).to_numpy()[~missing]


def text_codes(series: pd.Series) -> tuple[np.ndarray, list[str]] | None:
    """(code per cell, distinct values) of a text column whose every cell is a str, in order of first
    appearance (what ``pandas.factorize`` gives), coded natively: an Arrow-backed column from its string
    buffers (``_core.code_arrow_columns``), an object column by walking its str objects
    (``_core.TextCoder``; a repeated object is not decoded again). None where the column is neither, or
    has a missing or non-str cell: the caller factorises it with pandas, which handles those."""
    return text_codes_of([series])[0]


def text_codes_of(columns: list) -> list[tuple[np.ndarray, list[str]] | None]:
    """:func:`text_codes` of several columns (Series, or their values: a NumPy array or a pandas extension
    array, as ``DataFrame._get_column_array`` hands them out); the Arrow ones are coded in parallel, one
    per thread. No fixed cost beyond a few microseconds a column, so a 50-row table is coded here too."""
    out: list[tuple[np.ndarray, list[str]] | None] = [None] * len(columns)
    arrow = {k: _arrow_chunks(s) for k, s in enumerate(columns)}
    arrow = {k: chunks for k, chunks in arrow.items() if chunks is not None}
    if arrow:
        for k, coded in zip(arrow, _core.code_arrow_columns(list(arrow.values())), strict=True):
            out[k] = coded
    for k, column in enumerate(columns):
        dtype = column.dtype
        if k not in arrow and ((isinstance(dtype, np.dtype) and dtype.kind == "O") or isinstance(dtype, pd.StringDtype)):
            values = column if isinstance(column, np.ndarray) else column.to_numpy(dtype=object)
            if values.ndim != 1:
                continue
            coder = _core.TextCoder()
            codes_ = coder.code_objects(values)
            out[k] = None if codes_ is None else (codes_, coder.values)
    return out


_ARROW_OFFSETS = {"string": np.int32, "large_string": np.int64, "utf8": np.int32, "large_utf8": np.int64}


def _arrow_chunks(column) -> list[tuple[np.ndarray, np.ndarray]] | None:
    """(offsets, data) of each chunk of an Arrow-backed str column (a Series or its extension array)
    without nulls (no copy), else None."""
    dtype = column.dtype
    if not (isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow"):
        return None
    values = column.array if isinstance(column, pd.Series) else column
    chunks = values.__arrow_array__().chunks  # the Arrow interchange protocol: no copy
    if any(c.null_count or str(c.type) not in _ARROW_OFFSETS for c in chunks):
        return None
    out = []
    for chunk in chunks:
        _validity, offsets, data = chunk.buffers()
        kind = _ARROW_OFFSETS[str(chunk.type)]
        offsets = np.frombuffer(offsets, dtype=kind, count=chunk.offset + len(chunk) + 1)[chunk.offset:]
        out.append((offsets, np.zeros(0, dtype=np.uint8) if data is None else np.frombuffer(data, dtype=np.uint8)))
    return out


def per_value(series: pd.Series, fn: Callable[[object], object], missing: object = None) -> np.ndarray:
    """Object array of ``fn(cell)`` for every cell (``missing`` where the cell is NA), ``fn`` called once
    per distinct value."""
    return per_code(*codes(series), fn, missing)


def text_of(value: object) -> str:
    """A text cell as str: bytes (a NumPy 'S' array, an HDF5 or Arrow binary column made a frame) decoded as UTF-8,
    as the Parquet reader decodes a binary column (undecodable bytes: their repr, which no table knows)."""
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return str(value)
    return str(value)


def per_code(c: np.ndarray, uniques: np.ndarray, fn: Callable[[object], object], missing: object = None) -> np.ndarray:
    """:func:`per_value` of a column already coded (:func:`codes`: code per cell, -1 for NA, and its distinct values)."""
    mapped = np.empty(len(uniques) + 1, dtype=object)
    for j, u in enumerate(uniques):
        mapped[j] = fn(u)
    mapped[-1] = missing
    return mapped[c]  # code -1 picks the last slot


def is_blank(series: pd.Series) -> np.ndarray:
    """NA cells, and text cells that are empty or whitespace."""
    blank = np.array(series.isna().to_numpy(), dtype=bool)
    if string_like(series):
        blank |= per_value(series, lambda v: str(v).strip() == "", missing=True).astype(bool)
    return blank


def blank_codes(values: object, c: np.ndarray, uniques: np.ndarray) -> np.ndarray:
    """:func:`is_blank` of a column already coded (``c``, ``uniques`` from :func:`coded_cells` of ``values``): NA is
    code -1, and text is read only in an object or string column, as :func:`is_blank` reads it."""
    blank = c < 0
    if string_like(values):
        blank |= per_code(c, uniques, lambda v: str(v).strip() == "", missing=True).astype(bool)
    return blank


def is_missing(values: np.ndarray) -> np.ndarray:
    """``None`` or NaN cells of an object array of texts (the blanks :mod:`schema` leaves)."""
    return np.asarray(pd.isna(values), dtype=bool)


def _number_cell(v: object) -> object:
    if isinstance(v, np.ndarray) and v.ndim == 0:  # a 0-d array (np.asarray(2)) is the scalar it holds
        v = v.item()
    if isinstance(v, bool):
        return np.nan  # True/False are not counts
    return v.strip() if isinstance(v, str) else v


def to_numeric(series: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """float64 values and a mask of cells that held something that is not a number (blank cells: NaN,
    not flagged)."""
    if pd.api.types.is_bool_dtype(series.dtype):  # True / False are not counts (ep = True is not ep 1)
        bad = ~np.asarray(series.isna().to_numpy(), dtype=bool)
        return pd.Series(np.nan, index=series.index, dtype="float64"), bad
    if pd.api.types.is_complex_dtype(series.dtype):  # (astype warned, naming nothing, and dropped the imaginary part)
        values = series.to_numpy()
        bad = values.imag != 0
        return pd.Series(np.where(bad, np.nan, values.real), index=series.index, dtype="float64"), bad
    if pd.api.types.is_numeric_dtype(series.dtype):
        return series.astype("float64"), np.zeros(len(series), dtype=bool)
    blank = is_blank(series)
    c, uniques = codes(series)
    cleaned = pd.Series([_number_cell(u) for u in uniques], dtype=object)
    parsed = pd.to_numeric(cleaned, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    num = np.append(parsed, np.nan)[c]
    num[blank] = np.nan
    bad = ~blank & np.isnan(num)
    return pd.Series(num, index=series.index, dtype="float64"), bad


def to_float(values: object) -> tuple[np.ndarray, np.ndarray]:
    """:func:`to_numeric` of a column's values (a NumPy or pandas extension array, or a Series) as a float64
    array: a NumPy int or float column (what a small table a user built mostly holds) without building a Series."""
    if isinstance(values, np.ndarray) and values.dtype.kind in "iuf":
        return values.astype(np.float64), np.zeros(len(values), dtype=bool)
    parsed, bad = to_numeric(values if isinstance(values, pd.Series) else pd.Series(values, copy=False))
    return parsed.to_numpy(dtype=np.float64, na_value=np.nan), bad


def string_like(values: object) -> bool:
    """Whether :func:`is_blank` reads a column of this dtype's text: object, a string dtype, or a categorical whose
    categories are text (a categorical '' model or gpu passed as a value until 2026-12-08, and predict's re-check
    of the frame refused it)."""
    dtype = values.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        dtype = dtype.categories.dtype
    return dtype == object or pd.api.types.is_string_dtype(dtype)  # noqa: E721


def coded_cells(values: object, native: tuple[np.ndarray, list[str]] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """:func:`codes` of a column's values (an array or Series), or ``native``, the column's :func:`text_codes`
    (every cell a str, coded without pandas; several columns at once with :func:`text_codes_of`)."""
    if native is not None:
        return np.asarray(native[0], dtype=np.intp), np.asarray(native[1], dtype=object)
    return codes(values if isinstance(values, pd.Series) else pd.Series(values, copy=False))


def normalise_choice(series: pd.Series, allowed: tuple[str, ...],
                     canon: Callable[[str], str] | None = None) -> tuple[pd.Series, np.ndarray]:
    """Canonical lower-case choice per cell (``canon`` maps aliases) and a mask of cells not in
    ``allowed`` (NA cells included); a bad cell keeps its original value."""
    values, bad = choice_codes(*codes(series), allowed, canon)
    return pd.Series(values, index=series.index, dtype=object), bad


def choice_codes(c: np.ndarray, uniques: np.ndarray, allowed: tuple[str, ...],
                 canon: Callable[[str], str] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """:func:`normalise_choice` of a column already coded (:func:`codes`), as an object array and the mask."""
    def one(v: object) -> tuple[object, bool]:
        key = text_of(v).strip().lower()
        if canon is not None:
            try:
                key = canon(key)
            except ValueError:
                pass
        return (key, False) if key in allowed else (v, True)

    pairs = [one(u) for u in uniques]
    values = np.empty(len(pairs) + 1, dtype=object)
    for j, (v, _) in enumerate(pairs):
        values[j] = v
    values[-1] = np.nan
    bad = np.array([b for _, b in pairs] + [True], dtype=bool)
    return values[c], bad[c]


def text(series: pd.Series, blank: np.ndarray, fn: Callable[[object], str] = str) -> pd.Series:
    """``fn(cell)`` (default ``str``) per cell, ``""`` where ``blank``."""
    out = per_value(series, fn, missing="")
    out[blank] = ""
    return pd.Series(out, index=series.index, dtype=object)


def key_groups(*columns, rows: np.ndarray | None = None) -> list[tuple[tuple, np.ndarray]]:
    """``(key, rows)`` for each distinct key (one value per column: arrays or Series, e.g. a frame's
    str columns, factorised without leaving Arrow) among ``rows`` (default: all), in order of first
    appearance; each group's rows ascending. The one Python step per group of a table lookup."""
    n = len(columns[0])
    rows = np.arange(n) if rows is None else np.asarray(rows)
    if len(rows) == 0:
        return []
    combined = np.zeros(len(rows), dtype=np.int64)
    uniques = []
    for col in columns:
        part = col if len(rows) == n else (col.iloc[rows] if isinstance(col, pd.Series) else np.asarray(col)[rows])
        c, u = pd.factorize(part, use_na_sentinel=False)
        combined = combined * max(len(u), 1) + c
        uniques.append((c, np.asarray(u, dtype=object)))
    group, _ = pd.factorize(combined)
    order = np.argsort(group, kind="stable")
    split = np.flatnonzero(np.diff(group[order])) + 1
    out = []
    for pos in np.split(order, split):
        out.append((tuple(u[c[pos[0]]] for c, u in uniques), rows[pos]))
    return out


def key_codes(*columns) -> tuple[np.ndarray, list[tuple]]:
    """(group code per row, the distinct keys) of the rows' combined key (one value per column: arrays,
    Series or :class:`Coded`, factorised where they are, e.g. without leaving Arrow). A value looked up per
    key goes back to the rows as ``table[codes]``: the one Python step per key of a table lookup, and one
    ``take`` per looked-up column. No order of the keys is promised (callers sort what they report)."""
    first_column = columns[0]
    n = len(first_column.codes if isinstance(first_column, Coded) else first_column)
    if n and all(isinstance(col, Coded) for col in columns):
        shortcut = _one_varying(columns, n)
        if shortcut is not None:
            return shortcut
    parts = []
    for col in columns:
        c, u = (col.codes, col.values) if isinstance(col, Coded) else pd.factorize(col, use_na_sentinel=False)
        parts.append((c.astype(np.int64, copy=False), np.asarray(u, dtype=object)))
    if len(parts) == 1 and not isinstance(columns[0], Coded):  # factorised: every value is used
        group, n_groups = parts[0][0], len(parts[0][1])
    else:
        group, n_groups = _combined(parts, n)
    first = np.empty(n_groups, dtype=np.intp)
    first[group[::-1]] = np.arange(n - 1, -1, -1, dtype=np.intp)  # the last write is the first row
    keys = [tuple(u[c[i]] for c, u in parts) for i in first]
    return group.astype(np.intp, copy=False), keys


def _one_varying(columns: tuple[Coded, ...], n: int) -> tuple[np.ndarray, list[tuple]] | None:
    """key_codes of coded columns of which at most one has more than one value (the light path's names
    beside a constant precision), when that one uses every value: its codes are the groups. Else None."""
    varying = [col for col in columns if len(col.values) > 1]
    if len(varying) > 1:
        return None
    fixed = [None if len(col.values) > 1 else col.values[0] for col in columns]
    if not varying:
        return np.zeros(n, dtype=np.intp), [tuple(fixed)]
    col = varying[0]
    used = np.bincount(col.codes, minlength=len(col.values))
    if len(col.values) > n or len(used) != len(col.values) or not used.all():
        return None
    at = next(j for j, c in enumerate(columns) if c is col)
    return col.codes.astype(np.intp, copy=False), [(*fixed[:at], v, *fixed[at + 1:]) for v in col.values.tolist()]


def _combined(parts: list[tuple[np.ndarray, np.ndarray]], n: int) -> tuple[np.ndarray, int]:
    """Dense codes of the mixed-radix combination of per-column codes: a bincount over the key space
    when it is small (a few model x GPU x precision names), else a hash factorisation."""
    combined = np.zeros(n, dtype=np.int64)
    span = 1
    for c, u in parts:
        if span * max(len(u), 1) >= 2**62:  # keep the mixed-radix key in int64
            combined, distinct = pd.factorize(combined)
            span = max(len(distinct), 1)
        combined = combined * max(len(u), 1) + c
        span *= max(len(u), 1)
    if span <= max(4 * n, 1 << 16):
        present = np.bincount(combined, minlength=span) > 0
        relabel = np.cumsum(present) - 1
        return relabel.take(combined), int(present.sum())
    group, distinct = pd.factorize(combined)
    return group, len(distinct)


def column_values(frame: pd.DataFrame, name: str) -> object:
    """A column's values without a Series (``DataFrame._get_column_array``, pandas' private accessor that
    :func:`column_arrays` uses too: a Series costs ~40 us on a validated frame,
    whose ``attrs`` pandas deep-copies into it), else the Series' values."""
    get = getattr(frame, "_get_column_array", None)
    if get is not None:
        try:
            return get(frame.columns.get_loc(name))
        except (AttributeError, IndexError, TypeError):  # a pandas whose private method changed
            pass
    series = frame[name]
    return series.to_numpy() if isinstance(series.dtype, np.dtype) else series.array


def column_arrays(frame: pd.DataFrame) -> list[object]:
    """Every column's values, by position (a NumPy array, or the pandas extension array of a ``str`` or
    categorical column), without a Series per column: ``frame[c]`` costs ~10-20 us a column, more than the
    rest of a small table's validation. ``DataFrame._get_column_array`` as in :func:`column_values`."""
    get = getattr(frame, "_get_column_array", None)
    if get is not None:
        try:
            return [get(i) for i in range(frame.shape[1])]
        except (AttributeError, IndexError, TypeError):  # a pandas whose private method changed
            pass
    series = [frame.iloc[:, i] for i in range(frame.shape[1])]
    return [s.to_numpy() if isinstance(s.dtype, np.dtype) else s.array for s in series]


def str_array(values: np.ndarray) -> object:
    """``Series(values).astype(str).array`` of an object array of text: where every cell is a str and pandas' ``str``
    is Arrow-backed (pandas 3), the Arrow array is built directly, a quarter of the cost (astype's per-call overhead
    was a tenth of a one-row load_profiles, seven text columns)."""
    fast = _arrow_str()
    if fast is not None and pd.api.types.infer_dtype(values, skipna=False) == "string":
        dtype, arrow_type = fast
        return pd.arrays.ArrowStringArray(pa.array(values, type=arrow_type), dtype=dtype)
    return pd.Series(values, dtype=object, copy=False).astype(str).array


@functools.cache
def _arrow_str() -> tuple[object, object] | None:
    """(dtype, Arrow type) of what ``astype(str)`` builds, where building it directly gives the same array type and
    dtype (pandas 3's Arrow-backed ``str``); else None (pandas 2: ``astype(str)`` gives objects)."""
    cells = np.array(["x", "yz"], dtype=object)
    ref = pd.Series(cells, dtype=object).astype(str).array
    if not (isinstance(ref.dtype, pd.StringDtype) and ref.dtype.storage == "pyarrow"):
        return None
    try:
        arrow_type = ref.__arrow_array__().type
        built = pd.arrays.ArrowStringArray(pa.array(cells, type=arrow_type), dtype=ref.dtype)
    except (TypeError, ValueError, AttributeError):  # a pandas whose constructor differs
        return None
    same = type(built) is type(ref) and built.dtype == ref.dtype and built.__arrow_array__().equals(ref.__arrow_array__())
    return (ref.dtype, arrow_type) if same else None
