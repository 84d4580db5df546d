"""The trace file (format version :data:`FORMAT_VERSION`; the format is described in
:mod:`energylens.measure.trace`): one Parquet file holding the three tables of a
:class:`~energylens.measure.trace.Trace` told apart by a ``table`` column, and its ``meta`` in the Arrow schema
metadata. :func:`write_tables` writes one atomically; :func:`read_tables` reads one back, refusing (EnergyLensError
naming the file and the problem) what is not a trace of a version this reads."""

from __future__ import annotations

import json
import os
import zlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from energylens.errors import EnergyLensError
from energylens.measure.trace_checks import check_meta
from energylens.measure.trace_tables import SCHEMA, SOURCES
from energylens.outputs import atomic_file

if TYPE_CHECKING:  # pandas only for the hint: `energylens monitor` samples before it loads
    import pandas as pd

__all__ = ["FORMAT_VERSION", "write_tables", "read_tables"]

#: Version of the on-disk format written by :meth:`~energylens.measure.trace.Trace.save`; readers accept this and
#: older.
FORMAT_VERSION = 1
# The file format's name: a stable identifier, not the module path (files written before the measure
# subpackage existed carry it too).
_FORMAT_NAME = "energylens.trace"
_META_KEY = b"energylens.trace"


def _meta_crc32(meta: dict[str, Any]) -> int:
    """CRC-32 of ``meta`` as canonical JSON: the header's ``meta_crc32``, which the Parquet page checksums (data
    pages only) leave uncovered; a flipped digit in it (update_period_s 0.1 -> 0.3) was read without a word."""
    return zlib.crc32(json.dumps(meta, sort_keys=True, allow_nan=True).encode())


def write_tables(path: str | os.PathLike[str], tables: Mapping[str, pd.DataFrame], meta: dict[str, Any]) -> None:
    """Write ``tables`` (``samples``, ``marks``, ``kernels``, each in :data:`SCHEMA`) and ``meta`` as one Parquet
    file at ``path``, whole or not at all (even if killed mid-write)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    parts = []
    for table in ("samples", "marks", "kernels"):
        df: pd.DataFrame = tables[table]
        arrays = {"table": pa.array([table] * len(df), pa.string())}
        for name, (kind, dtype) in SCHEMA[table].items():
            if kind == "c":
                arrays[name] = pa.array(df[name].astype(object).to_numpy(), pa.string())
            elif kind == "s":
                arrays[name] = pa.array(df[name].to_numpy(), pa.string())
            else:
                arrays[name] = pa.array(df[name].to_numpy(), pa.from_numpy_dtype(np.dtype(dtype)))
        parts.append(pa.table(arrays))
    combined = pa.concat_tables(parts, promote_options="default")
    meta = json.loads(json.dumps(meta))  # as the reader will see it: integer keys become text, tuples lists (the
    # checksum of the caller's dict refused a trace saved with meta {0: .., 10: ..}, whose keys re-sort as text)
    header = {"format": _FORMAT_NAME, "version": FORMAT_VERSION, "meta": meta, "meta_crc32": _meta_crc32(meta),
              "rows": {t: len(tables[t]) for t in ("samples", "marks", "kernels")}}  # (a footer flip lost rows)
    combined = combined.replace_schema_metadata({_META_KEY: json.dumps(header).encode()})
    with atomic_file(path) as tmp:  # whole or absent, even if killed mid-write
        # page checksums: without them a flipped bit in a data page read back as another value (1 of 4 flips)
        pq.write_table(combined, os.fspath(tmp), write_page_checksum=True)


def read_tables(where: str) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """The tables (column name -> array, per table) and ``meta`` of the trace file ``where``; EnergyLensError names
    the file and what is wrong (not Parquet, not a trace, a newer version, a column missing, mistyped or null)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    table = _read_parquet(where)
    raw = (table.schema.metadata or {}).get(_META_KEY)
    if raw is None:
        raise EnergyLensError(f"{where}: not an energylens trace (schema metadata key "
                              f"'{_META_KEY.decode()}' is missing)")
    try:
        header = json.loads(raw)
    except ValueError as exc:
        raise EnergyLensError(f"{where}: trace header is not valid JSON ({exc})") from exc
    if not isinstance(header, dict) or header.get("format") != _FORMAT_NAME:
        raise EnergyLensError(f"{where}: header format is {header.get('format')!r} "
                              f"(expected {_FORMAT_NAME!r})" if isinstance(header, dict)
                              else f"{where}: trace header is not a JSON object")
    version = header.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise EnergyLensError(f"{where}: trace format version {version!r} is not an integer")
    if version > FORMAT_VERSION:
        raise EnergyLensError(f"{where}: trace format version {version} is newer than this "
                              f"energylens reads ({FORMAT_VERSION}); upgrade energylens")
    if version < 1:
        raise EnergyLensError(f"{where}: trace format version {version} is invalid")
    meta = header.get("meta")
    if not isinstance(meta, dict):
        raise EnergyLensError(f"{where}: trace header has no 'meta' object")
    check_meta(meta, where, SOURCES)  # what replay, the monitor and update_period_s read (a list failed there)
    if "meta_crc32" in header and header["meta_crc32"] != _meta_crc32(meta):  # (files before 2026-12-07 have none)
        raise EnergyLensError(f"{where}: the file is corrupt: the trace header's meta does not match its checksum "
                              "(meta_crc32); write it again from its source, or restore a copy (a header edited by "
                              "hand: drop its meta_crc32)")
    if "table" not in table.column_names:
        raise EnergyLensError(f"{where}: column 'table' is missing")
    extra = sorted(set(table.column_names) - {"table"} - {c for cols in SCHEMA.values() for c in cols})
    if extra:  # (they were dropped without a word; Trace() refuses them too)
        raise EnergyLensError(f"{where}: column(s) {extra} are not part of trace format version {version}")
    tables: dict[str, dict[str, Any]] = {}
    labels = table.column("table")
    known = {"samples", "marks", "kernels"}
    present = set(pc.unique(labels).to_pylist())
    if present - known:
        raise EnergyLensError(f"{where}: unknown 'table' value(s) {sorted(map(str, present - known))}")
    for name, schema in SCHEMA.items():
        sub = table.filter(pc.equal(labels, name))
        cols: dict[str, Any] = {}
        for col, (kind, dtype) in schema.items():
            if col not in table.column_names:
                raise EnergyLensError(f"{where}: column '{col}' of table '{name}' is missing")
            arr = sub.column(col)
            if arr.null_count:
                rows = np.flatnonzero(pc.is_null(arr).to_numpy(zero_copy_only=False))[:10].tolist()
                raise EnergyLensError(f"{where}: table '{name}' column '{col}' has {arr.null_count} null "
                                      f"value(s), at rows {rows} of that table")
            try:
                if kind in ("s", "c"):
                    if not pa.types.is_string(arr.type) and not pa.types.is_large_string(arr.type):
                        raise TypeError(f"type {arr.type}, expected string")
                    cols[col] = np.asarray(arr.to_pylist(), dtype=object)
                else:
                    expected = pa.from_numpy_dtype(np.dtype(dtype))
                    if arr.type != expected:
                        raise TypeError(f"type {arr.type}, expected {expected}")
                    cols[col] = arr.to_numpy()
            except TypeError as exc:
                raise EnergyLensError(f"{where}: table '{name}' column '{col}' has {exc}") from exc
            except UnicodeDecodeError as exc:  # (it escaped as a bare UnicodeDecodeError)
                raise EnergyLensError(f"{where}: table '{name}' column '{col}' holds bytes that are not UTF-8 text "
                                      f"({exc.reason} at byte {exc.start} of a value): the file is corrupt") from exc
        tables[name] = cols
        rows = header.get("rows", {}).get(name) if isinstance(header.get("rows"), dict) else None
        if rows is not None and rows != sub.num_rows:  # (files before 2026-12-07 have no counts)
            raise EnergyLensError(f"{where}: the file is corrupt: table '{name}' has {sub.num_rows} rows where the "
                                  f"trace header says {rows}; write it again from its source, or restore a copy")
    return tables, meta


def _read_parquet(where: str) -> Any:
    """The Parquet file ``where`` as an Arrow table; EnergyLensError naming it where it is none."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not where:  # (an unset shell variable: it read ': no such trace file')
        raise EnergyLensError("Trace.load: the path is empty; give the trace file's path")
    if os.path.isdir(where):  # (pyarrow reads a folder as a dataset: 'not an energylens trace')
        raise EnergyLensError(f"{where}: is a folder, not a trace file")
    try:  # (pages written without a checksum, before 2026-12-07, are read unchecked)
        return pq.read_table(where, page_checksum_verification=True)
    except FileNotFoundError as exc:
        raise EnergyLensError(f"{where}: no such trace file") from exc
    except (pa.ArrowException, OSError) as exc:
        if "checksum" in str(exc).lower():
            raise EnergyLensError(f"{where}: the file is corrupt: a data page does not match its checksum ({exc}); "
                                  "write it again from its source, or restore a copy") from exc
        raise EnergyLensError(f"{where}: not a readable Parquet trace file ({exc}){_what_it_is(where)}") from exc


def _what_it_is(where: str) -> str:
    """What a file that Parquet cannot open looks like: text (another tool's CSV of polls, which said only 'magic
    bytes not found'), or a Parquet file cut short (its start there, its footer not)."""
    try:
        with open(where, "rb") as f:
            head = f.read(512)
            f.seek(max(0, os.path.getsize(where) - 4))
            tail = f.read(4)
    except OSError:
        return ""
    if head.startswith(b"PAR1") and tail != b"PAR1":
        return "; it begins as Parquet but its end is missing: a write or copy cut short (write it again)"
    try:
        text = head.decode()
    except UnicodeDecodeError:
        return ""
    if head and ("," in text or "\t" in text) and "\x00" not in text:
        return ("; it is text (a CSV?): another tool's NVML polls become a Trace through its constructor "
                "(docs/measuring.md section 3, 'A trace recorded by another tool'), then Trace.save")
    return ""
