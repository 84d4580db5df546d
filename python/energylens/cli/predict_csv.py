"""The CSV text of ``energylens predict``'s output, the bytes ``DataFrame.to_csv(index=False)`` writes, built column
by column: pandas formats every float through numpy's ``astype(str)`` and hands each row to the csv module, most of a
large predict's time (42,000 rows x 50 columns: 1.1 of 1.8 s on 2 cores). Here each column's distinct values are
formatted once (Python's float repr, which is numpy's shortest round-trip text, two times faster; a string quoted by
the csv module with pandas' settings) and the rows are joined in C loops. A column of a dtype not handled here
(datetimes, categoricals, float32, mixed objects) makes :func:`csv_rows` return None: the caller writes with
``to_csv``."""

from __future__ import annotations

import csv
import io
import os

import numpy as np
import pandas as pd

__all__ = ["csv_header", "csv_rows"]

#: pandas' to_csv defaults: the line terminator and csv.writer's settings (QUOTE_MINIMAL, '"' doubled).
_LINE = os.linesep
_DIALECT = {"delimiter": ",", "quotechar": '"', "doublequote": True, "quoting": csv.QUOTE_MINIMAL,
            "lineterminator": _LINE}


def _quoted(texts: list[str]) -> list[str]:
    """Each text as one field among others of a csv row (quoted where it holds a comma, quote or line break):
    written as the first of two fields, as a lone empty field is written '""' but an empty one among others not."""
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, **_DIALECT)
    out = []
    for text in texts:
        buf.seek(0)
        buf.truncate()
        writer.writerow([text, "x"])
        out.append(buf.getvalue()[:-len(",x" + _LINE)])
    return out


def _texts(uniques, dtype) -> list[str] | None:
    """How to_csv writes each of a column's distinct non-missing values, or None for a dtype not handled."""
    if isinstance(dtype, np.dtype):
        if dtype.kind == "f" and dtype.itemsize == 8:
            return list(map(repr, np.asarray(uniques, dtype=float).tolist()))  # numpy's astype(str), faster
        if dtype.kind in "iub":
            return list(map(str, np.asarray(uniques).tolist()))
        if dtype.kind != "O":
            return None
    elif not (isinstance(dtype, (pd.StringDtype, pd.BooleanDtype)) or dtype.kind in "iu"):
        return None  # (a nullable Int64 column's kind is 'i'; its values print as ints)
    values = list(uniques)
    if isinstance(dtype, pd.BooleanDtype) or (isinstance(dtype, pd.api.extensions.ExtensionDtype)
                                              and dtype.kind in "iu"):
        return [str(v) for v in values]
    if not all(type(v) is str for v in values):  # an object column of mixed values: pandas' own formatting
        return None
    return _quoted(values)


def _fields(column: pd.Series) -> np.ndarray | None:
    """The column's CSV fields (missing values empty, to_csv's na_rep), or None for a dtype not handled."""
    if column.dtype == np.float64:  # by bit pattern: factorize takes -0.0 for 0.0, which to_csv writes '-0.0'
        values = column.to_numpy()
        codes, bits = pd.factorize(values.view(np.int64))
        codes[np.isnan(values)] = -1
        uniques = bits.view(np.float64)
    else:
        codes, uniques = pd.factorize(column, use_na_sentinel=True)
    texts = _texts(uniques, column.dtype)
    if texts is None:
        return None
    table = np.empty(len(texts) + 1, dtype=object)
    table[:-1] = texts
    table[-1] = ""  # code -1: missing
    return table[codes]


def csv_header(frame: pd.DataFrame) -> str | None:
    """The header line to_csv writes for ``frame`` (string column names), or None where it is not a plain one."""
    names = list(frame.columns)
    if len(names) < 2 or not all(type(n) is str for n in names) or isinstance(frame.columns, pd.MultiIndex):
        return None
    return ",".join(_quoted(names)) + _LINE


def csv_rows(frame: pd.DataFrame) -> str | None:
    """The data lines to_csv(index=False, header=False) writes for ``frame``, or None for a frame with a column
    of a dtype not handled here (or fewer than two columns)."""
    if frame.shape[1] < 2:
        return None
    columns = []
    for k in range(frame.shape[1]):
        fields = _fields(frame.iloc[:, k])
        if fields is None:
            return None
        columns.append(fields)
    if not len(frame):
        return ""
    return _LINE.join(map(",".join, zip(*columns, strict=True))) + _LINE
