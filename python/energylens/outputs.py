"""Writing outputs without losing anything: every file or folder energylens writes appears whole or not
at all, never replaces one of the command's own inputs, and an OS error names the path.

- :func:`check_output_path` validates an output path *before* the work that produces it: not one of the
  inputs (same file after resolving links), not an existing folder when a file is wanted, its folder
  exists and is writable.
- :func:`atomic_file` yields a temporary path in the target's folder; on success the file is fsync'd and
  renamed over the target (``os.replace``, atomic on POSIX), the folder fsync'd; on any exception,
  interrupts included, the temporary file is removed and the target is left as it was.
- :func:`atomic_dir` does the same for a folder of files (a report): it is built under a temporary name
  and renamed into place at the end; an existing folder of the same name is replaced only then.

A foundation module like :mod:`energylens.errors`: every layer may import it; it imports only the
standard library and :mod:`energylens.errors`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from energylens.errors import OutputError

__all__ = ["check_output_path", "atomic_file", "atomic_dir", "same_file"]


def same_file(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """Whether two paths name the same file (after links); False when either does not exist."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def check_output_path(path: str | os.PathLike, *, inputs: Iterable[str | os.PathLike] = (),
                      kind: str = "file", option: str = "-o/--output") -> Path:
    """Validate ``path`` as an output before any work; returns it as a :class:`Path`.

    ``kind`` is ``"file"`` or ``"dir"``. Raises :class:`OutputError` naming the path and the option when
    the path is one of ``inputs``, is a folder where a file is wanted (or a file where a folder is), or
    its parent folder is missing or not writable.
    """
    p = Path(path)
    for src in inputs:
        if src is not None and Path(src).exists() and same_file(p, src):
            raise OutputError(f"{option} {p}: this is also an input of the command; refusing to overwrite "
                              "it (write the output to another path)")
    if kind == "file" and p.is_dir():
        raise OutputError(f"{option} {p}: is a folder; give a file path")
    if kind == "dir" and p.exists() and not p.is_dir():
        raise OutputError(f"{option} {p}: exists and is not a folder; give a folder path")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise OutputError(f"{option} {p}: folder {parent} does not exist; create it first")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"{option} {p}: folder {parent} is not writable")
    if p.exists() and kind == "file" and not os.access(p, os.W_OK):
        raise OutputError(f"{option} {p}: exists and is not writable")
    return p


def _umask() -> int:
    mask = os.umask(0)
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
    file such as /dev/full) become :class:`OutputError` naming ``path``.
    """
    target = Path(path)
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
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; the output gets a plain file's mode
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


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary folder next to ``path``; it becomes ``path`` when the block succeeds.

    An existing folder ``path`` is replaced only after the new one is complete (its old content is kept
    until then); on failure or interrupt the temporary folder is removed.
    """
    target = Path(path)
    parent = target.parent if str(target.parent) else Path(".")
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial", dir=parent))
    except OSError as exc:
        raise OutputError(f"{target}: cannot create a folder here ({exc.strerror or exc})") from None
    old: Path | None = None
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes 0700; the output gets a plain folder's mode
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
