"""What a profile file is before it is parsed: a readable CSV text file, or a clear error naming the file
and what it is instead (a folder, empty, binary, UTF-16, separated by ';' or tabs).

Owns the checks every reader runs first (``schema._read`` and the dataset sniffers), so each bad file
gets the same message whichever format it was meant to be, and the read of a CSV (:func:`read_csv_file`: a large
one stops on Ctrl-C and tells :data:`READ_PROGRESS` how far it has got). Imports pandas, the standard library
and :mod:`energylens.errors`.
"""

from __future__ import annotations

import lzma
import os
import shlex
import zipfile
from collections.abc import Callable, Iterable, Sequence
from contextvars import ContextVar
from pathlib import Path

import numpy as np
import pandas as pd

from energylens.errors import ProfileSchemaError
from energylens.profiles.header import (
    check_unique_columns,
    check_unique_csv_header,
    csv_header,
    drop_empty_unnamed_columns,
    missing_said,
)
from energylens.profiles.unreadable import (
    COMMENT_RULE,
    READ_ERRORS,
    comment_text,
    data_row_line,
    not_utf8_error,
    open_bytes,
    open_zst,
    ragged_row_error,
    short_lines,
    unreadable_csv_error,
    zstandard_module,
)

__all__ = ["check_csv_file", "check_input_file", "table_kind", "suffix_kind", "read_export_csv", "read_parquet_table",
           "read_csv_file", "read_user_table", "read_export", "READ_PROGRESS", "LARGE_CSV_BYTES", "LARGE_COMPRESSED_BYTES", "ANNOUNCE_CSV_BYTES",
           "ANNOUNCE_COMPRESSED_BYTES"]

_SNIFF_BYTES = 65536
_BOMS = {b"\xff\xfe\x00\x00": "UTF-32", b"\x00\x00\xfe\xff": "UTF-32", b"\xff\xfe": "UTF-16", b"\xfe\xff": "UTF-16"}


def suffix_kind(path: Path) -> str | None:
    """"csv" (compressed ones included), "parquet" or None, by the name of ``path``."""
    name = path.name.lower()
    if name.endswith((".csv", ".csv.gz", ".csv.bz2", ".csv.zip", ".csv.xz", ".csv.zst")):
        return "csv"
    return "parquet" if name.endswith((".parquet", ".pq")) else None


def table_kind(path: Path, src: str, store_marker: str) -> str:
    """"csv" (compressed ones included) or "parquet" by the name of ``path``; ProfileSchemaError naming
    ``src`` for another suffix, and for a folder that is not a sweep store (no ``store_marker``), with the
    profile tables it holds."""
    if path.is_dir():
        tables = sorted(p.name for p in path.iterdir() if p.is_file() and suffix_kind(p) is not None)
        held = f"; it holds {', '.join(tables[:5])}{' ...' * (len(tables) > 5)}: pass one of them" if tables else ""
        raise ProfileSchemaError(f"{src}: a directory, but not a sweep store (no {store_marker}){held}; profiles "
                                 "are a .csv (optionally compressed) or .parquet table, or a store written by "
                                 "`energylens profile`", source=src)
    kind = suffix_kind(path)
    if kind is None:
        raise ProfileSchemaError(
            f"{src}: unsupported file type {''.join(path.suffixes) or '(no suffix)'!r}; "
            f"a profile table is a .csv (optionally compressed: .csv.gz, ...) or .parquet file{_json_said(path)}",
            source=src)
    return kind


#: What a JSON file energylens wrote is (its ``"format"``) and which command or option takes it, for a profile
#: reader given one: "unsupported file type '.json'" alone did not say that ``energylens discover -o d.json``'s
#: result goes to ``--expression``.
_JSON_KINDS = {
    b'"energylens.model"': "; it is an energylens model file (`energylens fit -o`'s output): give it to predict or "
                           "search (`energylens predict MODEL.json CONFIGS`, `--model-file`), not as profiles",
    b'"energylens.discovery"': "; it is an energylens discovery result (`energylens discover -o`'s output): give it "
                               "to `energylens fit PROFILES --expression {path} -o model.json` (or `energylens "
                               "evaluate PROFILES --expression {path}`), not as profiles",
}


def _json_said(path: Path) -> str:
    """What :data:`_JSON_KINDS` says of ``path``, a JSON file energylens wrote (its ``"format"`` key within the first
    KiB); "" for any other file, and for a read error (the caller's message stands)."""
    try:
        with open(path, "rb") as f:
            head = f.read(1024)
    except OSError:
        return ""
    said = next((said.format(path=path) for key, said in _JSON_KINDS.items() if key in head), "")
    if said or not path.name.lower().endswith((".json", ".jsonl", ".ndjson")):
        return said
    return ("; JSON (one object a line, as benchmark scripts write results) is read with pandas.read_json(path, "
            "lines=True) (an array: pandas.read_json(path)): rename its columns to schema v1 (docs/profile-schema.md) "
            "and pass the frame to load_profiles, or write it with to_csv('runs.csv', index=False) for the command line")


def check_input_file(path: str | os.PathLike, what: str = "profile table") -> Path:
    """``path`` as a Path; FileNotFoundError / ProfileSchemaError naming it when it is not a file."""
    p = Path(path)
    if p.is_dir():
        raise ProfileSchemaError(f"{p}: is a folder; a {what} is a file (CSV or Parquet)", source=str(p))
    if not p.exists():
        raise FileNotFoundError(f"{what} not found: {p}")
    if not os.access(p, os.R_OK):
        raise ProfileSchemaError(f"{p}: is not readable (permission denied)", source=str(p))
    return p


def check_csv_file(path: str | os.PathLike, what: str = "profile table", error: type = ProfileSchemaError) -> Path:
    """Check that a ``.csv`` file (gzip / bz2 / xz / zip compressed too) is comma-separated UTF-8 text with a
    header line.

    Raises ``error`` (a ProfileSchemaError; GpuTableError for a GPU table) naming the file: empty, binary,
    UTF-16/32, not UTF-8, or a header that is separated by ';', tabs or '|' instead of commas (with the fix).
    """
    p = check_input_file(path, what)
    src = str(p)
    if p.name.lower().endswith(".csv.zst") and zstandard_module() is None:  # (was pandas' ImportError traceback)
        raise error(f"{src}: a .csv.zst file is read with the zstandard package, which is not installed: pip install "
                    f"zstandard, or decompress the file (zstd -d {shlex.quote(src)}) and pass the .csv", source=src)
    head = _head_bytes(p)
    if head is None:
        return p  # a zip of several members: pandas reports its own errors
    if not head.strip():
        raise error(f"{src}: the file is empty; a {what} has a header line and data rows", source=src)
    for bom, name in _BOMS.items():
        if head.startswith(bom):
            raise error(f"{src}: the file is {name} text; save it as UTF-8 (comma-separated CSV)", source=src)
    if b"\x00" in head:
        parquet = " or a Parquet file (.parquet)" if what == "profile table" else ""
        raise error(f"{src}: not a text file (it contains NUL bytes); a {what} is a comma-separated CSV text "
                    f"file{parquet}", source=src)
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if len(head) == _SNIFF_BYTES and exc.start >= _SNIFF_BYTES - 4:
            text = head[:exc.start].decode("utf-8")  # a character cut at the sniff boundary
        else:
            raise (not_utf8_error(p, src, error)
                   or error(f"{src}: not UTF-8 text ({exc.reason}); save it as UTF-8", source=src)) from None
    _check_no_comment_lines(text, src, what, error)
    header = text.lstrip("\ufeff").splitlines()[0] if text.strip() else ""
    if header.strip().lower().startswith("sep="):  # pandas read it as a 2-column header, and row 1 as too long
        raise error(f"{src}: the first line {header.strip()[:10]!r} is Excel's separator hint, not the header; delete "
                    "that line (the header is the next one)", source=src, rows=[])
    if "," not in header:
        for sep, name in ((";", "semicolons"), ("\t", "tabs"), ("|", "'|'")):
            if header.count(sep) >= 2:
                raise error(
                    f"{src}: the header is separated by {name}, not commas ({header[:80]!r}); energylens reads "
                    "comma-separated CSV: re-save the file with ',' as the separator", source=src)
    return p


def _check_no_comment_lines(text: str, src: str, what: str, error: type) -> None:
    """``error`` naming the leading lines of ``text`` (the file's first bytes) that start with '#': a note
    written above the header. Schema v1 has no comment lines; read as the header, such a line made every data
    row "longer than the header's 1 columns"."""
    lines = text.lstrip("\ufeff").splitlines()
    n = next((i for i, line in enumerate(lines) if not line.lstrip().startswith("#")), len(lines))
    if n:
        said = "line 1 is a comment" if n == 1 else f"lines 1-{n} are comments"
        raise error(f"{src}: {said} ({lines[0].strip()[:60]!r}); comment lines are not supported in a {what}: "
                    "delete them (the header must be the first line; notes can go in a column of their own)",
                    source=src, rows=[])


def _head_bytes(p: Path) -> bytes | None:
    """The first bytes of the text of ``p``, decompressed for .csv.gz / .bz2 / .xz / .zip (a compressed CSV saved
    from Excel has the same ';' header as a plain one); None for another suffix, or a file that does not
    decompress (pandas then names the error, and the caller the file)."""
    try:
        fh = open_bytes(p)
        if fh is None:
            return None
        with fh:
            return fh.read(_SNIFF_BYTES)
    except (OSError, EOFError, lzma.LZMAError, zipfile.BadZipFile):
        if p.name.lower().endswith(".csv"):
            raise
        return None


def check_row_lengths(frame: pd.DataFrame, src: str, path: Path | None = None) -> pd.DataFrame:
    """``frame`` as read from the CSV ``src``, or ProfileSchemaError for a data row whose fields are not one per
    header column. pandas takes the leading columns as an index where the data rows hold more fields than the
    header (it shifts every column right: a model name read as the index, its GPU as params_b), named as a comment
    where the first data line of the file ``path`` is one; a later row with more fields is pandas' error, which
    :func:`unreadable_csv_error` locates. A row with fewer fields pandas pads with blanks (until 2026-12-06 read
    so: a value left out moved the later ones a column left); only rows blank in the last named column can be
    one, so the file ``path`` is looked at only where that column has a blank: its commas counted
    (:func:`short_lines`), and where that finds a short line or cannot tell (quoted cells), its records read
    (:func:`ragged_row_error`) up to the last such row."""
    if not isinstance(frame.index, pd.RangeIndex):
        found = data_row_line(path, 0) if path is not None else None
        if found is not None and comment_text(found[1]):
            raise ProfileSchemaError(f"{src}: line {found[0]} (data row 1) is a comment ({found[1][:60]!r}); "
                                     f"{COMMENT_RULE}", source=src, rows=[0])
        raise ProfileSchemaError(
            f"{src}: data row 1 has more fields than the header's {frame.shape[1]} columns (a stray ',' or a "
            "missing header name); every row must have one field per header column", source=src, rows=[0])
    named = [i for i, c in enumerate(csv_header(path)) if c.strip()] if path is not None and len(frame) else []
    if named and named[-1] < frame.shape[1]:
        blank = np.flatnonzero(frame.iloc[:, named[-1]].isna().to_numpy())
        if len(blank) and short_lines(path, named[-1] + 1) is not False:
            short = ragged_row_error(path, src, "CSV file", rows=blank.tolist())
            if short is not None:
                raise short
    return frame


#: A CSV file of at least this many bytes on disk (about 400,000 rows of the profile schema) is read from a
#: counting handle. Given its path, pandas parses a file of 5 MB or more on worker threads and waits for all of
#: them, deaf to Ctrl-C and SIGTERM (1e6 rows, 337 MB: 1.6 s on 2 cores, and the KeyboardInterrupt 1.6 s after
#: the signal), saying nothing; from a handle it parses on the calling thread and calls the handle's read every
#: 256 KiB, where Python runs the signal handlers (a KeyboardInterrupt 0.01 s after the signal) and the bytes
#: are counted for :data:`READ_PROGRESS`. The same C parser with the same options: the same frame and errors.
#: Smaller ones keep pandas' parallel read (the faster on many cores), whose wait is then under ~0.7 s.
LARGE_CSV_BYTES = 128 * 2**20
#: The same for a compressed CSV (.gz, .bz2, .xz, .zip, .zst), which holds 5-10 times its size in text (1e6 rows:
#: 40-75 MB gzip, 7 s to read on 2 cores). pandas reads one serially by path too (a signal stops it), so the
#: handle costs nothing but brings the progress reports.
LARGE_COMPRESSED_BYTES = 16 * 2**20

#: A CSV file below the counting handle's size (:data:`LARGE_CSV_BYTES`) but of at least this many bytes, about 1 s
#: to read and check on 2 cores (88 MB, 600,000 rows: 1.1 s to read, 5.5 s with the checks; silent until 2026-12-07),
#: tells :data:`READ_PROGRESS` as its read starts and ends (pandas reads it by path, on its threads); compressed:
#: :data:`ANNOUNCE_COMPRESSED_BYTES`.
ANNOUNCE_CSV_BYTES = 16 * 2**20
ANNOUNCE_COMPRESSED_BYTES = 2 * 2**20

#: When set (the CLI sets it), ``callable(source, bytes_read, total_bytes)``: how far the read of a CSV file of
#: :data:`LARGE_CSV_BYTES` (compressed: :data:`LARGE_COMPRESSED_BYTES`) or more has got (compressed bytes for a
#: compressed one), called as it starts (0 bytes), after each block and once ``bytes_read == total_bytes``; an
#: exception it raises stops the read.
READ_PROGRESS: ContextVar[Callable[[str, int, int], None] | None] = ContextVar("energylens_read_progress",
                                                                              default=None)

#: pandas' compression by name ending; a handle carries no name to infer it from.
_COMPRESSION = {".gz": "gzip", ".bz2": "bz2", ".xz": "xz", ".zip": "zip", ".zst": "zstd"}


class _CountingReader:
    """A binary file whose ``read`` counts the bytes it hands out and tells ``report``; the rest is the file's."""

    def __init__(self, fh, report: Callable[[str, int, int], None] | None, src: str, total: int) -> None:
        self._fh, self._report, self._src, self._total = fh, report, src, total
        self.done = 0

    def read(self, size: int = -1) -> bytes:
        data = self._fh.read(size)
        self.done += len(data)
        if self._report is not None:
            self._report(self._src, min(self.done, self._total), self._total)
        return data

    def __iter__(self):
        return iter(self._fh)

    def __getattr__(self, name: str):
        return getattr(self._fh, name)


def read_csv_file(path: str | os.PathLike, src: str | None = None, **kwargs) -> pd.DataFrame:
    """``pandas.read_csv(path, **kwargs)``; a file of :data:`LARGE_CSV_BYTES` (compressed:
    :data:`LARGE_COMPRESSED_BYTES`) or more read from a counting handle on this thread, so Ctrl-C and SIGTERM stop
    it within a block, with :data:`READ_PROGRESS` told how far it has got; one of :data:`ANNOUNCE_CSV_BYTES`
    (compressed: :data:`ANNOUNCE_COMPRESSED_BYTES`) or more tells it as the read starts and ends. ``src``: the file's
    name in progress reports (``path``)."""
    size = os.path.getsize(path)
    compression = _COMPRESSION.get(Path(path).suffix.lower())
    zst = compression == "zstd" and zstandard_module() is not None  # (where it is not: pandas' ImportError)
    src = str(path) if src is None else src
    report = READ_PROGRESS.get()
    small = size < (LARGE_CSV_BYTES if compression is None else LARGE_COMPRESSED_BYTES)
    if small and size < (ANNOUNCE_CSV_BYTES if compression is None else ANNOUNCE_COMPRESSED_BYTES):
        report = None  # too small to announce
    if report is not None:
        report(src, 0, size)
    if small and not zst:
        frame = pd.read_csv(path, **kwargs)
    else:
        with open(path, "rb") as fh:  # .zst through open_zst: pandas' own .zst read ends at a cut without a word
            counted = fh if small else _CountingReader(fh, report, src, size)
            frame = (pd.read_csv(open_zst(counted), **kwargs) if zst
                     else pd.read_csv(counted, compression=compression, **kwargs))
    if report is not None:
        report(src, size, size)
    return frame


def read_export_csv(path: str | os.PathLike, what: str) -> pd.DataFrame:
    """``pandas.read_csv(path)`` of a leaderboard / Splitwise export (``pandas.read_parquet`` of a Parquet copy
    of one, by its name), a file it cannot parse (a row with an extra field, a bad compression, not Parquet
    after all) an error naming the file: pandas' own message does not ("Error tokenizing data. C error:
    Expected 23 fields in line 4, saw 24")."""
    parquet = suffix_kind(Path(path)) == "parquet"
    try:
        frame = pd.read_parquet(path) if parquet else read_csv_file(path)
    except (*READ_ERRORS, ValueError) as exc:
        if parquet:
            raise ProfileSchemaError(f"{path}: could not read the {what}: {exc}", source=str(path)) from exc
        raise unreadable_csv_error(Path(path), str(path), exc, what) from exc
    return frame if parquet else check_row_lengths(frame, str(path), Path(path))


def read_export(path: str | os.PathLike, name: str, what: str, required: Sequence[str],
                known: Iterable[str] = ()) -> pd.DataFrame:
    """The export ``path`` of ``name`` (``"ML.ENERGY v3"``, a FileNotFoundError ``"ML.ENERGY v3 table not found"``
    where it is not a file) read by :func:`read_export_csv` as ``what`` (``"an ML.ENERGY v3 export"``), its header
    checked for a repeated name, and a ProfileSchemaError naming the file and the ``required`` columns it lacks, each
    with the column spelled closest to it that is not one of ``known`` (the export's columns under their own meaning)."""
    p = Path(path)
    src = str(p)
    if not p.is_file():
        raise FileNotFoundError(f"{name} table not found: {src}")
    bare = what.split(" ", 1)[1]  # without its article
    raw = read_export_csv(p, bare)
    check_unique_csv_header(p, src, bare)
    missing = [c for c in required if c not in raw.columns]
    if missing:
        raise ProfileSchemaError(f"{src}: not {what}: missing column(s) {missing_said(missing, raw.columns, known)}",
                                 source=src, column=missing[0])
    return raw


def read_user_table(path: str | os.PathLike, what: str, error: type, bundled: str) -> pd.DataFrame:
    """Every cell of the user ``what`` (``"GPU table"``, ``"model table"``; the columns of energylens/data/``bundled``)
    CSV ``path`` as text (a folder is an ``error``, a missing file a FileNotFoundError), after the checks of
    :func:`check_csv_file` and :func:`ragged_row_error`, without a spreadsheet's empty unnamed columns; a repeated
    column, or a file pandas cannot read, raises ``error`` naming the file. A .csv.zst is read through
    :func:`open_zst` (as :func:`read_csv_file` reads a profile table), so one cut short is refused, also where the
    cut falls between two rows (pandas' own .zst read then ended there without a word, a shorter table)."""
    p = Path(path)
    src = str(p)
    if p.is_dir():
        raise error(f"{p}: is a folder, not a file; a {what} is a CSV file with the columns of "
                    f"energylens/data/{bundled}", source=src)
    if not p.is_file():
        raise FileNotFoundError(f"{what} not found: {p}")
    check_csv_file(p, what, error)  # ';' / tab separated (Excel), UTF-16, empty, binary: named
    ragged = ragged_row_error(p, src, what, error)  # a row with too many or too few fields
    if ragged is not None:
        raise ragged
    try:
        frame = read_csv_file(p, dtype=str, keep_default_na=False, comment=None, index_col=False)  # a cut first
        header = csv_header(p)  # (pandas' own .zst read: a cut inside the first block is "No columns to parse")
    except READ_ERRORS as exc:
        raise unreadable_csv_error(p, src, exc, f"{what} CSV", error) from exc
    frame = drop_empty_unnamed_columns(frame, header, src, what, error)
    check_unique_columns([c.strip() for c in header], src, what)  # pandas renames repeats
    return frame


def read_parquet_table(path: Path, src: str) -> pd.DataFrame:
    """``pandas.read_parquet(path)`` with its Parquet ``binary`` columns (text written without the UTF-8 annotation,
    which pandas hands out as ``bytes``: a model read as ``"b'meta-llama/...'"``) decoded as UTF-8, and a named index
    level (``frame.set_index('model').to_parquet(...)``) as a column; a repeated column name, or a binary cell that is
    not UTF-8, is a ProfileSchemaError naming the file and column."""
    import pyarrow as pa  # pandas' Parquet engine, needed only for Parquet files
    import pyarrow.parquet as pq

    schema = pq.read_schema(path)
    check_unique_columns(schema.names, src)  # pyarrow allows a repeated name; pandas' error would not say so
    frame = pd.read_parquet(path)
    named = [n for n in frame.index.names if n is not None]
    if named:  # set_index('model').to_parquet(): the column pandas stored as the index (until 2026-12-06 left there,
        # 'missing required column model', or a named index silently not written by predict)
        check_unique_columns([*named, *frame.columns], src)
        frame = frame.reset_index(level=named)
    for field in schema:
        if not (pa.types.is_binary(field.type) or pa.types.is_large_binary(field.type)) or field.name not in frame:
            continue
        cells = frame[field.name]
        try:
            frame[field.name] = cells.map(lambda v: v.decode("utf-8") if isinstance(v, bytes) else v)
        except UnicodeDecodeError as exc:
            raise ProfileSchemaError(f"{src}: column {field.name!r} is binary and not UTF-8 text ({exc.reason}); "
                                     "write it as a string column", source=src, column=field.name) from None
    return frame
