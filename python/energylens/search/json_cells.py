"""A search result's values as JSON writes them (:meth:`SearchResult.to_json`): table cells with NaN as null and
NumPy's scalars as Python's, a candidate label of any index type a table may carry as its text, and the numbers
``json`` does not know. One place, so the tables and the settings are written alike."""

from __future__ import annotations

import datetime
import decimal
import fractions
import math
import uuid

import numpy as np
import pandas as pd

__all__ = ["json_cell", "json_default"]


def json_cell(value):
    """A table cell as JSON takes it: NaN and infinities as null, NumPy scalars and arrays as Python's."""
    if isinstance(value, np.ndarray):
        return [json_cell(v) for v in value.tolist()]
    if isinstance(value, (list, tuple)):
        return [json_cell(v) for v in value]
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer, int)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, (datetime.date, np.datetime64, pd.Timedelta, datetime.timedelta)):  # a candidate's label
        return pd.Timestamp(value).isoformat() if not isinstance(value, (pd.Timedelta, datetime.timedelta)) \
            else pd.Timedelta(value).isoformat()
    return value


def json_default(value):
    """What ``json`` cannot write itself: NumPy numbers; a Decimal or Fraction the search took as a number (a limit,
    a price) as a float; a candidate label that names a period or an id (a PeriodIndex, a UUID) as its text. Those
    made ``to_json`` fail at the end of a search that had accepted them ("not JSON serialisable: Period")."""
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, decimal.Decimal, fractions.Fraction)):
        return float(value)
    if isinstance(value, (pd.Period, uuid.UUID)):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
