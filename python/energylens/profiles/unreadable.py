"""Why a CSV file could not be read, said where it happened: the errors of :mod:`energylens.profiles.files`
for a file pandas (or the UTF-8 sniff) gave up on.

pandas' own words name no file and count in its own way ("EOF inside string starting at row 1"; a
UnicodeDecodeError's "position 1242" is an offset into a buffer); a compressed file cut short was a bare
EOFError. Here each becomes one error naming the file and the 1-based line (the header is line 1), the data
row and column where known: an unterminated quote (:func:`open_quote_at`), the first byte that is not UTF-8
(:func:`bad_utf8_at`, with the ``iconv`` command where the line reads as Windows-1252), a compressed file
that ends early; a row with more or fewer fields than the header (:func:`ragged_row_error`). The file is
scanned again only on these error paths, and where a profile table's last named column has a blank (a padded
short row is one: :func:`short_lines` counts the commas). Imports pandas, NumPy, the standard library
and :mod:`energylens.errors`.
"""

from __future__ import annotations

import bz2
import csv
import gzip
import io
import lzma
import re
import shlex
import zipfile
import zlib
from collections.abc import Iterable
from itertools import takewhile
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd

from energylens.errors import ProfileSchemaError

__all__ = ["READ_ERRORS", "open_bytes", "zstandard_module", "open_zst", "unreadable_csv_error", "not_utf8_error", "bad_utf8_at", "open_quote_at", "short_lines",
           "records", "data_row_line", "ragged_row_error", "comment_text", "COMMENT_RULE", "SPREADSHEET_ERROR"]

#: Where a profile table's comment lines may go: nowhere (docs/profile-schema.md, "Comment lines").
COMMENT_RULE = ("comment lines are not supported in a profile table, above the header or below it: delete the line "
                "(to leave a measurement out, delete its row; notes can go in a column of their own)")

#: What reading a CSV file (compressed ones included) raises on a file it cannot read to its end.
READ_ERRORS = (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError, EOFError, zlib.error,
               lzma.LZMAError, zipfile.BadZipFile)


def zstandard_module():
    """The zstandard package, pandas' reader of .zst files (not an energylens dependency), None where it is not
    installed (imported on first use: 14 ms)."""
    try:
        import zstandard
    except ImportError:
        return None
    return zstandard


class _ZstdRaw(io.RawIOBase):
    """The text of a .zst file read from the binary handle ``fh`` as a raw stream (a BufferedReader gives it lines),
    frame after frame. A file that ends inside a frame is an EOFError, as a .gz file cut short is: zstandard's
    own reader (pandas') ends there without a word, and pandas read the rows before the cut (6,322 of 16,200 at a
    cut half-way) as the whole table. A damaged frame is an OSError (:data:`READ_ERRORS`)."""

    def __init__(self, fh: IO[bytes], zstd) -> None:
        self._fh, self._zstd = fh, zstd
        self._frame = zstd.ZstdDecompressor().decompressobj()
        self._inside = False  # bytes of the current frame read, its end not yet
        self._out, self._at = b"", 0

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        while self._at >= len(self._out):
            data = self._fh.read(_ZSTD_CHUNK)
            if not data:
                if self._inside:
                    raise EOFError("Compressed file ended before the end-of-stream marker was reached")
                return 0
            self._out, self._at = self._decompress(data), 0
        n = min(len(b), len(self._out) - self._at)
        b[:n] = self._out[self._at:self._at + n]
        self._at += n
        return n

    def _decompress(self, data: bytes) -> bytes:
        parts = []
        while data:
            if self._frame.eof:  # the next frame of a multi-frame file (cat a.zst b.zst)
                self._frame = self._zstd.ZstdDecompressor().decompressobj()
            try:
                parts.append(self._frame.decompress(data))
            except self._zstd.ZstdError as exc:
                raise OSError(f"zstd: {exc}") from exc
            self._inside = not self._frame.eof
            data = self._frame.unused_data if self._frame.eof else b""
        return b"".join(parts)

    def close(self) -> None:
        self._fh.close()
        super().close()


#: The compressed bytes :class:`_ZstdRaw` reads at a time.
_ZSTD_CHUNK = 2**18


def open_zst(fh: IO[bytes]) -> IO[bytes]:
    """The text of the .zst file open as ``fh`` (binary): a file cut short an EOFError (zstandard must be installed)."""
    return io.BufferedReader(_ZstdRaw(fh, zstandard_module()))


def open_bytes(p: Path) -> IO[bytes] | None:
    """``p`` opened for reading its text as bytes, decompressed for .csv.gz / .bz2 / .xz / .zip (one member) and
    .csv.zst (where zstandard is installed, as pandas needs it for one; until 2026-12-07 a .zst file's text was never
    opened here, so none of these checks ran on it); None for another suffix or a zip of several members. Raises
    what the opener raises."""
    name = p.name.lower()
    if name.endswith(".csv.zst"):
        zstd = zstandard_module()
        return None if zstd is None else open_zst(open(p, "rb"))
    if name.endswith(".csv.zip"):
        zf = zipfile.ZipFile(p)
        members = zf.namelist()
        if len(members) != 1:
            zf.close()
            return None
        return zf.open(members[0])
    openers = {".csv": open, ".csv.gz": gzip.open, ".csv.bz2": bz2.open, ".csv.xz": lzma.open}
    opener = next((o for suffix, o in openers.items() if name.endswith(suffix)), None)
    return None if opener is None else opener(p, "rb")


def _opened(p: Path):
    """:func:`open_bytes` of ``p``, None where it cannot be opened (or has a suffix no opener reads)."""
    try:
        return open_bytes(p)
    except READ_ERRORS:
        return None


def _lines(p: Path):
    """(1-based line number, the line's bytes) of the text of ``p``; nothing where it cannot be opened, and up
    to where a damaged compressed file stops."""
    fh = _opened(p)
    if fh is None:
        return
    with fh:
        try:
            yield from enumerate(fh, 1)
        except READ_ERRORS:
            return


def records(p: Path):
    """(first 1-based line, fields) of each record of ``p``'s text (the header's too), as pandas' C parser splits
    them: a quoted field may span lines, and a blank or whitespace-only line is no record. Stops where the file
    cannot be read further."""
    fh = _opened(p)
    if fh is None:
        return
    with fh, io.TextIOWrapper(fh, encoding="utf-8", errors="replace", newline="") as text:
        reader, last = csv.reader(text), 0
        try:
            for fields in reader:
                first, last = last + 1, reader.line_num
                if len(fields) > 1 or (fields and fields[0].strip()):
                    yield first, fields
        except (csv.Error, *READ_ERRORS):
            return


def data_row_line(p: Path, row: int) -> tuple[int, str] | None:
    """(the 1-based line of ``p`` where data row ``row`` (zero-based; the header not counted) starts, its text),
    else None."""
    for i, (line, fields) in enumerate(records(p)):
        if i == row + 1:
            return line, ",".join(fields)
    return None


#: Excel's error values (``#N/A`` is read as a blank already): a formula that failed, never a comment line.
SPREADSHEET_ERROR = re.compile(r"\s*#(?:DIV/0!|VALUE!|REF!|NAME\?|NUM!|NULL!|SPILL!|CALC!|FIELD!|GETTING_DATA|N/A)\s*")


def comment_text(cell: object) -> bool:
    """Whether a record's first cell makes its line a comment: it starts with '#' (spaces before it aside), and is
    not a spreadsheet's error value (``#DIV/0!``: a failed formula, said as such by the number checks)."""
    return isinstance(cell, str) and cell.lstrip().startswith("#") and not SPREADSHEET_ERROR.fullmatch(cell)


def ragged_row_error(p: Path, src: str, what: str = "CSV file", error: type = ProfileSchemaError,
                     rows: Iterable[int] | None = None) -> Exception | None:
    """The error for the first data record of ``p`` whose fields are not one per header column, else None: more
    fields (pandas: "Expected 9 fields in line 5, saw 12", without the file or the data row) or fewer than the
    header's named columns (pandas pads such a row with blanks without a word, so after a value left out,
    ``a,b,d`` for ``a,b,,d``, the later values sit in the wrong columns; missing fields of trailing columns whose
    header cell is blank, a spreadsheet's empty columns, are not counted). A comment line is named as one.
    ``rows``: the zero-based data rows that can be short (a reader's blanks in its last named column); the scan
    stops after the last of them where no row is too long (every row is compared until then)."""
    last = None if rows is None else max(rows, default=-1)
    width = need = 0
    for i, (line, fields) in enumerate(records(p)):
        if i == 0:
            width, need = len(fields), len(fields) - len(list(takewhile(lambda f: not f.strip(), fields[::-1])))
            continue
        if last is not None and i - 1 > last:
            return None
        if need <= len(fields) <= width:
            continue
        where = f"line {line} (data row {i})"
        if comment_text(fields[0]):
            return error(f"{src}: {where} is a comment ({','.join(fields).strip()[:60]!r}); {COMMENT_RULE}", source=src,
                         rows=[i - 1])
        if len(fields) > width:
            return error(f"{src}: could not read the {what}: {where} has {len(fields)} fields where the header has "
                         f"{width}: a ',' inside a cell that is not quoted (a number with a thousands separator, "
                         "1,234, or text with commas?); write the number without it, or quote the cell "
                         "(\"a, b\")", source=src, rows=[i - 1])
        return error(f"{src}: {where} has {len(fields)} field(s) where the header has {need}: a value left out? "
                     "Each row needs one field per header column, else the values after the gap land in the wrong "
                     "columns; write a blank value as an empty cell ('a,b,,d', not 'a,b,d'; a spreadsheet that left "
                     "out an empty last column's commas: fill or delete that column)", source=src, rows=[i - 1])
    return None


#: The bytes :func:`short_lines` reads at a time (its arrays hold a few times this).
_BLOCK_BYTES = 4 * 2**20


def short_lines(p: Path, need: int) -> bool | None:
    """Whether a line of ``p``'s text holds fewer than ``need`` comma-separated fields (the header's named ones),
    a blank or whitespace-only line not counted (pandas skips those), by counting the commas of each line with
    NumPy, a block at a time (100,000 rows of 10 fields, 8.7 MB: 17 ms, :func:`records` 75 ms); None where
    that count cannot tell, the text holding a '"' (a quoted cell may hold ',' or a line break: :func:`records`
    reads those) or not opening. Where it says True, :func:`ragged_row_error` finds and names the row."""
    fh = _opened(p)
    if fh is None:
        return None
    with fh:
        rest = b""
        while True:
            try:
                block = fh.read(_BLOCK_BYTES)
            except READ_ERRORS:
                return None
            text, rest = (rest + block, b"") if not block else (rest + block).rpartition(b"\n")[::2]
            if not block and not text:
                return False
            if b'"' in text:
                return None
            data = np.frombuffer(text, dtype=np.uint8)
            ends = np.append(np.flatnonzero(data == 10), len(data))  # each line's end: its '\n', or the text's
            counts = np.diff(np.searchsorted(np.flatnonzero(data == 44), ends), prepend=0)  # its commas
            starts = np.append(0, ends[:-1] + 1)
            for at in np.flatnonzero(counts < need - 1).tolist():
                if counts[at] or text[starts[at]:ends[at]].strip():  # a line without a ',': a row unless blank
                    return True
            if not block:
                return False


def _line_rows(line: int, row: int | None) -> str:
    return f"line {line}" + (f" (data row {row})" if row else " (the header)" if line == 1 else "")


def open_quote_at(p: Path) -> tuple[int, int] | None:
    """(1-based line, 1-based data row: blank lines not counted) where a quoted field opens that the file never
    closes, as pandas' C parser reads quotes (a '"' opens a field only at its start; '""' inside is one quote);
    None when every quote closes."""
    inside, start, record = False, None, 0
    for lineno, raw in _lines(p):
        if not inside:
            if not raw.strip():
                continue
            record += 1
        if b'"' not in raw:
            continue
        text, i, field_start = raw.decode("utf-8", "replace"), 0, not inside
        while i < len(text):
            c = text[i]
            if inside:
                if c == '"' and text[i + 1:i + 2] == '"':
                    i += 1
                elif c == '"':
                    inside = False
            elif c == '"' and field_start:
                inside, start = True, (lineno, record - 1)
            field_start = not inside and c == ","
            i += 1
    return start if inside else None


def bad_utf8_at(p: Path) -> dict | None:
    """Where the first byte of ``p``'s text that is not UTF-8 lies: ``line`` (1-based), ``row`` (data row, or
    None), ``char`` (1-based character of the line), ``column`` (the header's name of its field, or None inside a
    quoted field that spans lines), ``byte``, ``cp1252`` (the character it is in Windows-1252 where the whole line
    reads so, else None) and ``utf8_before`` (an earlier line held UTF-8 beyond ASCII); None when all is UTF-8."""
    header: list[str] = []
    inside, utf8_before, record = False, False, 0
    for lineno, raw in _lines(p):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            prefix = raw[:exc.start].decode("utf-8")
            column = None
            if not inside and lineno > 1:
                at = max(len(next(csv.reader([prefix]), [])) - 1, 0)
                column = header[at] if at < len(header) else f"field {at + 1}"
            try:  # one byte a character: the bad byte's own
                cp1252 = raw.decode("cp1252")[exc.start]
            except UnicodeDecodeError:
                cp1252 = None
            return {"line": lineno, "row": None if lineno == 1 else record if inside else record + 1,
                    "char": len(prefix) + 1, "column": column, "byte": raw[exc.start], "cp1252": cp1252,
                    "utf8_before": utf8_before or any(b > 0x7F for b in raw[:exc.start])}
        utf8_before = utf8_before or not text.isascii()
        if lineno == 1:
            header = next(csv.reader([text.lstrip("\ufeff").rstrip("\r\n")]), [])
        elif not inside and text.strip():
            record += 1
        if text.count('"') % 2:
            inside = not inside
    return None


def not_utf8_error(p: Path, src: str, error: type = ProfileSchemaError) -> Exception | None:
    """The error for a file that is not UTF-8, naming the line, data row, column and byte of the first bad byte,
    and ``iconv -f cp1252 -t utf-8`` where that line reads as Windows-1252 and no earlier line is UTF-8 beyond
    ASCII (a mixed file is fixed by hand); None when the scan finds every byte UTF-8."""
    at = bad_utf8_at(p)
    if at is None:
        return None
    where = _line_rows(at["line"], at["row"]) + (f", column {at['column']!r}" if at["column"] else "")
    text = f"{src}: not UTF-8 text: {where}, character {at['char']}: byte 0x{at['byte']:02X}"
    if at["cp1252"] is not None and not at["utf8_before"]:
        convert = (f"iconv -f cp1252 -t utf-8 {shlex.quote(src)} > OUT.csv" if p.name.lower().endswith(".csv")
                   else "iconv -f cp1252 -t utf-8 on the decompressed text")
        text += (f", {at['cp1252']!r} in Windows-1252 (cp1252, which extends Latin-1): the file was likely saved in "
                 f"that encoding; convert it to UTF-8 (e.g. `{convert}`) or save it as UTF-8 from the program")
    elif at["cp1252"] is not None:
        text += (f" ({at['cp1252']!r} in Windows-1252); other lines are already UTF-8, so converting the whole "
                 "file would garble them: fix this character in an editor that saves UTF-8")
    else:
        text += "; save the file as UTF-8"
    row = at["row"]
    return error(text, source=src, column=at["column"], rows=[row - 1] if row else [])


def unreadable_csv_error(p: Path, src: str, exc: BaseException, what: str = "CSV file",
                         error: type = ProfileSchemaError) -> Exception:
    """The error for the CSV file ``p`` (named ``src``) that reading raised ``exc`` on (one of
    :data:`READ_ERRORS`): located where the file says where (see the module doc), else pandas' words after
    "SRC: could not read the WHAT"."""
    if isinstance(exc, UnicodeDecodeError):
        located = not_utf8_error(p, src, error)
        if located is not None:
            return located
    if isinstance(exc, EOFError):
        return error(f"{src}: could not read the {what}: the compressed file ends early ({exc}): it was cut short, "
                     "e.g. by an interrupted copy or download; copy it again", source=src)
    if isinstance(exc, pd.errors.ParserError) and "Expected" in str(exc) and "fields in line" in str(exc):
        located = ragged_row_error(p, src, what, error)
        if located is not None:
            return located
    if isinstance(exc, pd.errors.ParserError) and "EOF inside string" in str(exc):
        opened = open_quote_at(p)
        if opened is not None:
            line, row = opened
            return error(f"{src}: could not read the {what}: {_line_rows(line, row)} opens a quoted field (\") that "
                         "is never closed, so the rest of the file would be that one cell; close the quote or remove it", source=src,
                         rows=[row - 1] if row else [])
    return error(f"{src}: could not read the {what}: {exc}", source=src)
