"""Errors of the export readers in the export's own column names.

The ML.ENERGY v2 and v3 readers rename an export's columns to schema v1 and validate through
:func:`energylens.profiles.schema.load_profiles`; a user looking at the file sees ``energy_per_request_joules``,
not ``energy_j``. The row checks name a renamed column as the file spells it (the readers pass their rename
map as ``column_names``); for any other error about a schema column the export names differently (or
derives: v3's ``tp`` from ``num_gpus / data_parallel``), :func:`in_export_columns` re-raises it with the file's
name for the column added; rows map one to one, so the rows stay as they are.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping

from energylens.errors import ProfileSchemaError
from energylens.profiles.problems import column_label

__all__ = ["in_export_columns"]


@contextlib.contextmanager
def in_export_columns(schema_to_export: Mapping[str, str]) -> Iterator[None]:
    """Inside the block, a :class:`ProfileSchemaError` about a schema column that the export names
    differently says the export's name too (same source, column and rows), unless its message names it already
    (``load_profiles(..., column_names=...)`` row errors: ``column 'TP' (schema column 'tp')``)."""
    try:
        yield
    except ProfileSchemaError as exc:
        original = schema_to_export.get(exc.column or "")
        if original is None or column_label(exc.column or "", schema_to_export) in str(exc):
            raise
        raise ProfileSchemaError(f"{exc}\n(schema column {exc.column!r} is read from this file's column "
                                 f"{original!r})", source=exc.source, column=exc.column, rows=exc.rows) from None
