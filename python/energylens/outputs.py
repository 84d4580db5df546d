"""Writing outputs without losing anything: every file or folder energylens writes appears whole or not
at all, never replaces one of the command's own inputs, and an OS error names the path.

- :func:`check_output_path` validates an output path *before* the work that produces it: not one of the
  inputs (same file after resolving links), not an existing folder when a file is wanted, its folder
  exists and is writable.
- :func:`atomic_file` yields a temporary path in the target's folder; on success the file is fsync'd and
  renamed over the target (``os.replace``, atomic on POSIX), the folder fsync'd; on any exception,
  interrupts included, the temporary file is removed and the target is left as it was. A target that is
  a symbolic link is written through (its target replaced, the link kept).
- :func:`atomic_dir` does the same for a folder of files (a report): it is built under a temporary name
  and renamed into place at the end, with a marker file (:data:`REPORT_MARKER`) listing what it wrote; an
  existing folder of the same name is replaced only then, and only when replacing it loses nothing.
- :func:`check_report_dir` validates a report folder before the work: an existing folder is replaced only
  when it is empty or holds nothing but a previous energylens report (its marker lists every entry, or,
  for a report written before the marker, every entry is a report file and its page is energylens's);
  never the current folder, nor one holding an input or another output of the command.
- :func:`announce_written` says "wrote PATH", and on stderr that an existing file was replaced.
- :func:`plural` writes a count and its noun ("1 repeat", "2 repeats") for the text every command prints
  and writes (search and evaluate summaries, reports, the demo).

A foundation module like :mod:`energylens.errors`: every layer may import it; it imports only the
standard library and :mod:`energylens.errors`.
"""

from __future__ import annotations

import bz2
import contextlib
import gzip
import io
import json
import lzma
import os
import re
import shutil
import sys
import tempfile
import threading
import zipfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from energylens.errors import OutputError

__all__ = ["current_umask", "check_output_path", "check_report_dir", "atomic_file", "atomic_dir", "same_file",
           "announce_written", "plural", "existing_file", "energylens_json", "table_with_column", "parquet_trace", "image_file", "REPORT_MARKER",
           "csv_compression", "refuse_folder_name"]

#: The file every report folder energylens writes holds: its first line says what it is, the others name
#: the folder's entries; a folder is replaced only when its entries are all named there (or it is empty).
REPORT_MARKER = ".energylens-report"
_MARKER_HEADER = "energylens report folder: energylens may replace it with a new report. Entries it wrote:"


def same_file(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """Whether two paths name the same file (after links); False when either does not exist."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def energylens_json(fmt: str) -> Callable[[Path], bool]:
    """A JSON file energylens wrote in format ``fmt`` (``"format": "energylens.model"`` at its top; a
    discovery result is ``energylens.discovery``): each command replaces only its own kind of file, so
    ``fit -o`` never replaces a discovery result, nor ``discover -o`` a fitted model."""
    pattern = re.compile(r'\s*\{\s*"format"\s*:\s*"' + re.escape(fmt) + '"')

    def check(path: Path) -> bool:
        try:
            with open(path, "rb") as fh:
                head = fh.read(4096).decode("utf-8-sig", errors="replace")  # (a byte-order mark: an editor's)
                if pattern.match(head) is not None:
                    return True
                fh.seek(0)  # a file whose keys were reordered (jq -S): "format" is not first, but is at the top
                doc = json.loads(fh.read(_JSON_CHECK_BYTES + 1).decode("utf-8-sig"))
        except (OSError, ValueError, RecursionError):  # unreadable, not JSON (or cut at the limit): not ours
            return False
        return isinstance(doc, dict) and doc.get("format") == fmt
    return check


#: Bytes of a JSON file :func:`energylens_json` parses when ``"format"`` is not its first key.
_JSON_CHECK_BYTES = 64 << 20


#: A CSV name's last ending (lower-cased) -> the compression pandas writes it with (``compression=``).
CSV_COMPRESSION = {".gz": "gzip", ".bz2": "bz2", ".xz": "xz", ".zip": "zip"}


def csv_compression(path: str | os.PathLike) -> str | None:
    """The compression a CSV named ``path`` is written with (``p.csv.gz``, ``P.CSV.GZ``: gzip), None for a
    plain one. Writers pass it explicitly: :func:`atomic_file` writes to a ``.partial`` name, which hides the
    suffix from pandas' inference."""
    return CSV_COMPRESSION.get(Path(path).suffix.lower())


@contextlib.contextmanager
def _open_csv(path: Path, method: str | None) -> Iterator:
    """A binary stream of the CSV at ``path``, decompressed by ``method`` (:func:`csv_compression`'s names)."""
    if method == "zip":
        with zipfile.ZipFile(path) as zf, zf.open(zf.namelist()[0]) as fh:
            yield fh
        return
    with {"gzip": gzip.open, "bz2": bz2.open, "xz": lzma.open}.get(method, open)(path, "rb") as fh:
        yield fh


@contextlib.contextmanager
def csv_writer(path: str | os.PathLike, method: str | None, archive_name: str = "data.csv") -> Iterator:
    """A text stream (UTF-8, newlines as written) to the CSV at ``path``, compressed by ``method``
    (:func:`csv_compression`'s names; a zip holds one member, ``archive_name``), as pandas' ``to_csv`` would
    write it in one call, so that a large table can be written in blocks."""
    if method == "zip":
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf, \
                zf.open(archive_name, "w", force_zip64=True) as raw, \
                io.TextIOWrapper(raw, encoding="utf-8", newline="") as fh:
            yield fh
        return
    opener = {"gzip": gzip.open, "bz2": bz2.open, "xz": lzma.open}.get(method, open)
    with opener(path, "wt", encoding="utf-8", newline="") as fh:
        yield fh


def _header(path: Path, how: str | None) -> list[str]:
    """The column names of the table at ``path`` read as ``how``: ``"parquet"``, a compression, or None (CSV)."""
    if how == "parquet":
        import pyarrow.parquet as pq

        return pq.read_schema(path).names
    with _open_csv(path, how) as fh:
        return fh.readline(1 << 16).decode("utf-8", errors="replace").rstrip("\r\n").split(",")


def table_with_column(*columns: str) -> Callable[[Path], bool]:
    """A table whose header has one of ``columns`` (what ``energylens predict`` writes: energy_j_pred, or
    tpot_s_pred from a latency model file): read as its name says (Parquet, a compressed CSV), then as plain
    CSV, which earlier versions wrote under any name."""
    def check(path: Path) -> bool:
        first = "parquet" if path.suffix.lower() in (".parquet", ".pq") else csv_compression(path)
        for how in dict.fromkeys((first, None)):
            try:
                if set(columns) & set(_header(path, how)):
                    return True
            except Exception:  # noqa: BLE001, S112 - unreadable this way: try the next, else not ours
                continue
        return False
    return check


def parquet_trace(path: Path) -> bool:
    """A Parquet file with an energylens trace's metadata (what ``energylens monitor -o`` writes)."""
    try:
        import pyarrow.parquet as pq

        meta = pq.read_schema(path).metadata or {}
    except Exception:  # noqa: BLE001 - unreadable: not ours
        return False
    return any(k.startswith(b"energylens") for k in meta)


def image_file(path: Path) -> bool:
    """A PNG, PDF, SVG, JPEG, (E)PS, TIFF, WebP or GIF file (what ``--plot`` writes), by its first bytes."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(1024)
    except OSError:
        return False
    magic = (b"\x89PNG", b"%PDF", b"\xff\xd8", b"%!PS", b"II*\x00", b"MM\x00*", b"GIF87a", b"GIF89a")
    return head.startswith(magic) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP") or b"<svg" in head


def check_output_path(path: str | os.PathLike, *, inputs: Iterable[str | os.PathLike] = (),
                      kind: str = "file", option: str = "-o/--output",
                      formats: tuple[str, tuple[str, ...]] | None = None,
                      replaces: tuple[str, Callable[[Path], bool]] | None = None) -> Path:
    """Validate ``path`` as an output before any work; returns it as a :class:`Path`.

    ``kind`` is ``"file"`` or ``"dir"``. Raises :class:`OutputError` naming the path and the option when
    the path is one of ``inputs``, is a folder where a file is wanted (or a file where a folder is), or
    its parent folder is missing or not writable. ``formats``: (what is written, the name endings that
    fit it), e.g. ``("JSON", (".json",))``: a name with another extension (``model.csv`` for a JSON model)
    is refused; a name without one is taken as given. ``replaces``: (what the command writes, a test of an
    existing file): an existing file that fails the test (the user's measurements, a README) is refused
    rather than replaced; one the command wrote before is replaced, and :func:`announce_written` says so.
    """
    p = Path(path)
    if os.fspath(path) == "-":  # the shell's "standard output" wrote a file named '-' in the current folder
        noun = "folder" if kind == "dir" else "file"
        raise OutputError(f"{option} -: this writes a {noun}, not to standard output; give a {noun} name")
    for src in inputs:
        if src is not None and Path(src).exists() and same_file(p, src):
            raise OutputError(f"{option} {p}: this is also an input of the command; refusing to overwrite "
                              "it (write the output to another path)")
    if kind == "file" and p.is_dir():
        raise OutputError(f"{option} {p}: is a folder; give a file path")
    if formats is not None and p.suffix and not p.name.lower().endswith(formats[1]):
        raise OutputError(f"{option} {p}: this writes {formats[0]}, which a {p.suffix} name would hide; end the "
                          f"name in {' or '.join(formats[1])}")
    if kind == "dir" and p.exists() and not p.is_dir():
        raise OutputError(f"{option} {p}: exists and is not a folder; give a folder path")
    parent = p.parent if str(p.parent) else Path(".")
    if parent.exists() and not parent.is_dir():  # (p.csv/m.json: "folder p.csv does not exist" beside p.csv)
        raise OutputError(f"{option} {p}: {parent} is a file, not a folder; give a path in a folder")
    if not parent.is_dir():
        raise OutputError(f"{option} {p}: folder {parent} does not exist; create it first")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"{option} {p}: folder {parent} is not writable")
    if kind == "file" and p.is_symlink():  # written through (atomic_file): its target's folder must take it
        real = Path(os.path.realpath(p))
        if not real.parent.is_dir() or not os.access(real.parent, os.W_OK | os.X_OK):
            raise OutputError(f"{option} {p}: links to {real}, whose folder {real.parent} "
                              f"{'is not writable' if real.parent.is_dir() else 'does not exist'}")
    if p.exists() and kind == "file" and not os.access(p, os.W_OK):
        raise OutputError(f"{option} {p}: exists and is not writable")
    _trial_entry(p, Path(os.path.realpath(p)).parent if kind == "file" and p.is_symlink() else parent, kind, option)
    if replaces is not None and kind == "file" and p.is_file() and not replaces[1](p):
        raise OutputError(f"{option} {p}: exists and is not {replaces[0]}; refusing to replace it (delete it "
                          "first, or write to another path)")
    return p


def _trial_entry(p: Path, folder: Path, kind: str, option: str) -> None:
    """Create and remove a hidden file or folder in ``folder``, where the output's temporary will go: os.access
    answers from the mode bits, so a folder that refuses new entries anyway (/proc for root, a read-only mount, an
    SELinux or quota refusal) passed it and the run's output failed only after all its work."""
    try:
        if kind == "dir":
            os.rmdir(tempfile.mkdtemp(prefix=f".{p.name[:100]}.", suffix=".check", dir=folder))
        else:
            fd, trial = tempfile.mkstemp(prefix=f".{p.name[:100]}.", suffix=".check", dir=folder)
            os.close(fd)
            os.unlink(trial)
    except OSError as exc:
        raise OutputError(f"{option} {p}: cannot create a {'folder' if kind == 'dir' else 'file'} in {folder}: "
                          f"{exc.strerror or exc}") from exc


_UMASK_LOCK = threading.Lock()


def current_umask() -> int:
    """The process's umask, read without changing it where the kernel says it (Linux >= 4.7:
    /proc/self/status): ``os.umask`` can only read it by setting it, so two threads doing that at once
    could leave it at 0 for the whole process (files every user can write). Elsewhere the set-and-restore
    runs under a lock (which orders energylens's own reads, not other code's)."""
    with contextlib.suppress(OSError, ValueError):
        with open("/proc/self/status", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    with _UMASK_LOCK:
        mask = os.umask(0o022)
        os.umask(mask)
        return mask


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not every file system lets a folder be opened for fsync
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it over ``path`` when the block succeeds.

    The writer writes the whole file to the yielded path. OS errors (full disk, permissions, a special
    file such as /dev/full) become :class:`OutputError` naming ``path``. A ``path`` that is a symbolic link
    (``models/current.json -> v7.json``) is written through: the temporary file goes beside the link's
    target and is renamed over the target, so the link stays a link (it was replaced by a regular file).
    """
    target = Path(os.path.realpath(path)) if Path(path).is_symlink() else Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=folder)
        os.close(fd)
    except OSError as exc:
        raise OutputError(f"{target}: cannot write here ({exc.strerror or exc})") from None
    tmp = Path(tmp_name)
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~current_umask())  # mkstemp makes 0600; the output gets a plain file's mode
        if target.exists() and not target.is_file():  # /dev/full, a fifo: write through, no rename
            shutil.copyfile(tmp, target)
        else:
            os.replace(tmp, target)
            _fsync_dir(folder)
    except OSError as exc:
        raise OutputError(f"{target}: could not write ({exc.strerror or exc})") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def refuse_folder_name(path: str, option: str = "-o/--output") -> None:
    """OutputError for a file output named like a folder (``-o runs/``): the name's trailing separator was dropped
    and a file written at ``runs``, reported as "wrote runs/" (a model, a prediction table, a trace)."""
    if os.fspath(path).endswith(("/", os.sep)):
        raise OutputError(f"{option} {path}: ends in '/', which names a folder, but this writes a file; give a "
                          "file path")


def replaceable_file(path: str | os.PathLike, what: str, ours: Callable[[Path], bool], option: str = "path") -> Path:
    """A Python writer's output path checked before the work (:func:`refuse_folder_name`, :func:`check_output_path`:
    not a folder, its folder there and writable), and an existing non-empty file there that ``ours`` does not
    recognise (the user's measurements) refused, not replaced: OutputError naming it and ``what`` is written."""
    refuse_folder_name(path, option)
    p = check_output_path(path, option=option)
    if p.is_file() and p.stat().st_size and not ours(p):
        raise OutputError(f"{option} {p}: exists and is not {what}; refusing to replace it (remove it first, or "
                          "write to another path)")
    return p


def existing_file(path: str | os.PathLike) -> bool:
    """Whether ``path`` is an existing regular file (one an output would replace; not /dev/null)."""
    return Path(path).is_file()


def announce_written(path: str | os.PathLike, replaced: bool, *, command: str, what: str = "") -> None:
    """Print ``wrote PATH`` (``what`` after "wrote ", default the path) and, when ``replaced`` (the path
    was an existing file before the command ran: :func:`existing_file`), say so on stderr."""
    print(f"wrote {what or path}")
    if replaced:
        print(f"energylens {command}: replaced existing {path}", file=sys.stderr)


def plural(n: int, word: str) -> str:
    """``1 candidate``, ``2 candidates``, ``0 repeats`` (thousands separated: ``1,000 repeats``)."""
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def _within(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _plain_file(path: Path) -> bool:
    return path.is_file() and not path.is_symlink()


def _listing(folder: Path) -> list[str]:
    try:
        return sorted(e.name for e in folder.iterdir())
    except OSError as exc:
        raise OutputError(f"{folder}: cannot list the folder ({exc.strerror or exc})") from None


def _marker_names(folder: Path) -> set[str] | None:
    """The entries a report's marker lists, or None when the folder has no (readable, valid) marker."""
    marker = folder / REPORT_MARKER
    try:
        if marker.is_symlink() or not marker.is_file():
            return None
        lines = marker.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    if not lines or lines[0] != _MARKER_HEADER:
        return None
    return {line for line in lines[1:] if line and "/" not in line}


def _legacy_report(folder: Path, entries: list[str], known: dict[str, str]) -> bool:
    """A report written before the marker: every entry a file a report writes, and the page one of ours
    (``known`` maps file names to how that page's first line starts, "" for the other files)."""
    if not known or not all(e in known and _plain_file(folder / e) for e in entries):
        return False
    pages = {e: head for e, head in known.items() if head}
    for name, head in pages.items():
        if name in entries:
            with contextlib.suppress(OSError, UnicodeDecodeError):
                with open(folder / name, encoding="utf-8") as fh:
                    if fh.readline().startswith(head):
                        return True
    return False


def _replace_problem(target: Path, inputs: Iterable, outputs: Iterable, known: dict[str, str]) -> str | None:
    """Why replacing folder ``target`` would lose something (or fail), or None when it is safe."""
    if target.is_symlink():
        return "is a symbolic link; give a new folder (or the real folder's path)"
    here, real = Path.cwd().resolve(), target.resolve()
    if _within(here, real):
        return ("is the current folder or holds it, which a report cannot replace; give a new or empty folder "
                "instead (e.g. --report report)")
    paths = [(p, True) for p in inputs if p is not None] + [(p, False) for p in outputs if p is not None]
    for p, is_input in paths:
        if is_input and not Path(p).exists():
            continue  # a bundled data set's name, not a file
        if _within(Path(p).resolve(), real) or _within(Path(os.path.abspath(p)), Path(os.path.abspath(target))):
            role = "an input" if is_input else "another output"
            return (f"holds {p}, {role} of this command; replacing the folder would delete it. Choose an empty "
                    "or new folder for the report")
    if not target.exists():
        return None
    entries = _listing(target)
    listed = _marker_names(target)
    if not entries or (listed is None and _legacy_report(target, entries, known)):
        return None
    foreign = [e for e in entries if e != REPORT_MARKER and not (e in (listed or ()) and _plain_file(target / e))]
    if listed is not None and not foreign:
        return _other_command(entries, known)
    shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
    what = ("an energylens report with files energylens did not write" if listed is not None
            else "neither empty nor an energylens report")
    return (f"folder is {what} (it holds {shown}); replacing it would delete them. Choose an empty or new "
            "folder for the report")


def _other_command(entries: list[str], known: dict[str, str]) -> str | None:
    """Why an energylens report that is not this command's (its page, ``known``'s file with a first line, is not
    there: evaluate's report.md where discover writes discovery.md) is kept, or None. Before 2026-12-07 one
    command's --report replaced the other's report (a run of minutes to hours), saying only "replaced"."""
    pages = [name for name, head in known.items() if head]
    if not pages or any(p in entries for p in pages):
        return None
    held = sorted((e for e in entries if e != REPORT_MARKER), key=lambda e: (not e.endswith(".md"), e))  # page 1st
    shown = ", ".join(held[:4]) + (", ..." if len(held) > 4 else "")
    return (f"holds a report of another energylens command ({shown}); replacing it would delete it. Choose a new "
            "or empty folder for this report (or remove that one first)")


def check_report_dir(path: str | os.PathLike, *, inputs: Iterable[str | os.PathLike | None] = (),
                     outputs: Iterable[str | os.PathLike | None] = (), known: dict[str, str] | None = None,
                     option: str = "--report") -> Path:
    """Validate ``path`` as a report folder before any work (:func:`check_output_path` with
    ``kind="dir"``, then: an existing folder must be one a new report may replace, see the module's
    notes); ``outputs`` are the command's other outputs (none may lie inside the folder), ``known`` the
    report's file names (see :func:`atomic_dir`). Raises :class:`OutputError` naming the folder."""
    inputs, outputs = list(inputs), list(outputs)
    p = check_output_path(path, inputs=[i for i in inputs if i is not None], kind="dir", option=option)
    problem = _replace_problem(p, inputs, outputs, known or {})
    if problem is not None:
        raise OutputError(f"{option} {p}: {problem}")
    return p


def _write_marker(folder: Path) -> None:
    names = sorted(e.name for e in folder.iterdir() if e.name != REPORT_MARKER)
    (folder / REPORT_MARKER).write_text("\n".join([_MARKER_HEADER, *names]) + "\n", encoding="utf-8")


def _set_aside(tmp: Path, target: Path) -> Path:
    """Rename the finished folder ``tmp`` to a free name next to ``target`` (``NAME.new``, ``NAME.new-2``...)."""
    for k in range(1, 1000):
        aside = target.with_name(f"{target.name}.new" + (f"-{k}" if k > 1 else ""))
        if not aside.exists() and not aside.is_symlink():
            os.rename(tmp, aside)
            return aside
    raise OutputError(f"{target}: no free name to keep the new report next to it")


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike, *, inputs: Iterable[str | os.PathLike | None] = (),
               outputs: Iterable[str | os.PathLike | None] = (),
               known: dict[str, str] | None = None) -> Iterator[Path]:
    """Yield a temporary folder next to ``path``; it becomes ``path`` when the block succeeds.

    The finished folder gets the :data:`REPORT_MARKER` file listing its entries. An existing folder
    ``path`` is replaced only after the new one is complete (its old content is kept until then), and
    only when :func:`check_report_dir`'s rules allow it at that moment (arguments as there); otherwise
    the new report is kept next to it as ``NAME.new`` and :class:`OutputError` says so. On failure or
    interrupt the temporary folder is removed.
    """
    target, inputs, outputs = Path(path), list(inputs), list(outputs)
    parent = target.parent if str(target.parent) else Path(".")
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial", dir=parent))
    except OSError as exc:
        raise OutputError(f"{target}: cannot create a folder here ({exc.strerror or exc})") from None
    old: Path | None = None
    try:
        yield tmp
        _write_marker(tmp)
        os.chmod(tmp, 0o777 & ~current_umask())  # mkdtemp makes 0700; the output gets a plain folder's mode
        problem = _replace_problem(target, inputs, outputs, known or {})
        if problem is not None:  # the folder changed during the work: keep both, lose nothing
            raise OutputError(f"{target}: {problem}; the new report was kept in {_set_aside(tmp, target)}")
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=parent))
            os.replace(target, old / "content")
        os.replace(tmp, target)
        _fsync_dir(parent)
    except OSError as exc:
        raise OutputError(f"{target}: could not write the folder ({exc.strerror or exc})") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
