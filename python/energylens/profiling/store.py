"""The crash-safe sweep store: one Parquet part file per finished unit of work, written atomically.

Layout of a store directory::

    DIR/energylens-store.json     marker + manifest (spec source, config ids), written at start
    DIR/parts/<config_id>.parquet one row per finished configuration-repetition, status ok or failed

Every write goes to a temporary file in the same directory, is fsync'd, renamed over the final name
and the directory is fsync'd: a SIGKILL at any instant leaves either no part or a whole part, never a
half one. ``--resume`` reads the part names; temporary files left by a killed run are removed.
``energylens.profiles.load_profiles(DIR)`` reads the ``status == "ok"`` rows of a store directly.
A :class:`Store` keeps the rows it has read and reads a part again only when its file changed (an active
sweep reads the store after every unit: each part is read once, not once per later unit).

One sweep writes a store at a time: :meth:`Store.lock` holds an exclusive ``flock`` on
``DIR/.energylens-store.lock`` for the run (the kernel drops it when the process dies, so a killed run
leaves no stale lock), and a second run on the same directory is refused naming the first's process.

A part that cannot be written (a full disk, a read-only store) does not lose the unit just measured: its
part file is written instead to ``DIR/rescued/`` or, where that fails too, to a folder of this store in the
system's temporary directory (:meth:`Store.rescue_dirs`), and the error names that file. ``--resume`` takes
rescued parts into ``parts/`` before it runs anything (:meth:`Store.take_in_rescued`); copying the file
into ``DIR/parts/`` by hand does the same.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import platform
import re
import tempfile
import time
import warnings
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from energylens.errors import user_stacklevel
from energylens.outputs import current_umask
from energylens.profiles.store_dir import STORE_MARKER, read_part
from energylens.profiling.store_diff import grid_of_rows, grid_value, settings_differ, units_differ

try:
    import fcntl
except ImportError:  # not POSIX: no advisory locks (the store is still crash-safe, not guarded)
    fcntl = None  # type: ignore[assignment]

__all__ = ["Store", "STORE_MARKER", "LOCK_NAME", "RESCUE_NAME", "SUPERSEDED_NAME", "PartNotWrittenError",
           "atomic_write_bytes", "grid_value"]

#: The lock file a running sweep holds in its store directory.
LOCK_NAME = ".energylens-store.lock"

#: The folder (in the store, else in the temporary directory) that keeps a row whose part could not be written.
RESCUE_NAME = "rescued"
#: Files an OS or version control leaves in a folder the user sees as empty; -o DIR takes a folder holding only these
#: (Store.check_not_foreign), and leaves them where they are.
PLACEHOLDER_NAMES = frozenset({".DS_Store", ".localized", "Thumbs.db", "desktop.ini", ".gitkeep", ".keep"})

#: The folder of the store that keeps the earlier rows of units measured again (``--changed-engine-args remeasure``).
SUPERSEDED_NAME = "superseded"


class PartNotWrittenError(OSError):
    """A finished unit's part could not be written; ``rescued`` is where its row is kept (``None``: nowhere,
    the message then carries the row as JSON, ``row_json``). Its text is the whole explanation (no ``[Errno N]``
    prefix). ``config_id``: the unit."""

    def __init__(self, errno_: int | None, message: str, rescued: Path | None, *, config_id: str = "",
                 row_json: str = "") -> None:
        super().__init__(errno_, message)
        self.message, self.rescued, self.config_id, self.row_json = message, rescued, config_id, row_json

    def __str__(self) -> str:
        return self.message


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temp file in the same dir, fsync, rename, fsync dir). An
    OSError (a full disk, a read-only folder) names ``path``. A ``path`` that is a symbolic link (a part shared
    with another store) is written through, as the CLI's outputs are (``outputs.atomic_file``): its target is
    replaced, beside it, and the link stays a link (renamed over, it became a regular file)."""
    path = Path(path)
    target = Path(os.path.realpath(path)) if path.is_symlink() else path
    try:
        _write_replace(target, data)
        _fsync_dir(target.parent)
    except OSError as exc:  # (mkstemp's and os.replace's name the temporary file, not the one being written)
        if exc.errno is None:
            raise OSError(f"{path}: {exc}") from exc
        raise OSError(exc.errno, exc.strerror or os.strerror(exc.errno), str(path)) from exc


def _write_replace(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~current_umask())  # as open() would create it: mkstemp's 0600 kept colleagues out
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _statuses(parts: list[tuple[str, pd.DataFrame]]) -> dict[str, str]:
    """config_id -> status of :meth:`Store._parts`' parts."""
    return {config_id: str(frame["status"].iloc[0]) for config_id, frame in parts}


def _joined(parts: list[tuple[str, pd.DataFrame]], include_failed: bool) -> pd.DataFrame:
    """The rows of :meth:`Store._parts`' parts as one table, ``status == 'ok'`` only unless ``include_failed``."""
    frame = pd.concat([f for _, f in parts], ignore_index=True) if parts else pd.DataFrame()
    if not include_failed and len(frame):
        frame = frame[(frame["status"] == "ok").to_numpy()].reset_index(drop=True)
    return frame


def _flock_exclusive(fd: int, tries: int = 5) -> None:
    """``flock(LOCK_EX | LOCK_NB)``, tried again for 0.2 s: a ``--dry-run``'s look (:meth:`Store.writer`) holds a
    shared lock for a moment, which must not pass for a sweep writing the store."""
    for k in range(tries):
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if k == tries - 1:
                raise
            time.sleep(0.05)


class Store:
    """A sweep's output directory (created if needed)."""

    def __init__(self, directory: str | os.PathLike) -> None:
        self.dir = Path(directory)
        self.parts = self.dir / "parts"
        if self.dir.exists() and not self.dir.is_dir():
            raise ValueError(f"{self.dir} is a file; the sweep store is a directory (-o DIR): choose a new or "
                             "existing directory")
        real = Path(os.path.realpath(self.dir))  # -o results, results -> /scratch/results: made there (link kept)
        above = next((p for p in real.parents if p.exists()), None)  # mkdir said only "[Errno 20] Not a directory"
        if above is not None and not above.is_dir():
            raise ValueError(f"{self.dir}: {above} is a file, so no store directory can be made under it (-o DIR): "
                             "choose a new or existing directory")
        self._read: dict[str, tuple[tuple | None, pd.DataFrame]] = {}  # part name -> (its stat key, its row)

    def check_writable(self) -> None:
        """ValueError where a sweep cannot write this store: its directory (or, not made yet, the nearest folder
        above it that exists) or its parts/ on a read-only file system or without write permission here; before,
        the run said ``[Errno 30] Read-only file system: 'DIR/.energylens-store.lock'`` and --dry-run nothing."""
        real = Path(os.path.realpath(self.dir))
        where = [next((p for p in (real, *real.parents) if p.exists()), real)] + [self.parts] * self.parts.is_dir()
        bad = next((p for p in where if not os.access(p, os.W_OK | os.X_OK)), None)
        if bad is None:
            return
        try:
            read_only = bool(os.statvfs(bad).f_flag & os.ST_RDONLY)
        except (OSError, AttributeError):  # (no statvfs: Windows)
            read_only = False
        why = f"{bad} is on a read-only file system" if read_only else f"no write permission in {bad} for this user"
        raise ValueError(f"{self.dir}: the sweep store cannot be written here ({why}); choose a directory you can "
                         "write (-o DIR)")

    def check_not_foreign(self) -> None:
        """ValueError where the directory holds no store but other files (``-o .`` in a project folder): the store's
        marker, lock and parts/ would go in among them. What a sweep of this store leaves before its marker (its
        lock, an empty parts/, rescued rows, temporary files) is not foreign, nor are the placeholder files an OS or
        version control leaves in an empty folder (.DS_Store, .gitkeep, Thumbs.db: ``PLACEHOLDER_NAMES``); until
        2026-12-07 such a folder was taken, then until later that day one holding only a .DS_Store was refused."""
        if self.exists() or not self.dir.is_dir():
            return
        ours = {LOCK_NAME, RESCUE_NAME, "parts", *PLACEHOLDER_NAMES}
        other = sorted(p.name + "/" * p.is_dir() for p in self.dir.iterdir() if p.name not in ours and not (
            p.name.startswith(f".{STORE_MARKER}.") and p.name.endswith(".tmp")))
        if other:
            shown = ", ".join(other[:5]) + (f", and {len(other) - 5} more" if len(other) > 5 else "")
            raise ValueError(f"{self.dir} holds {len(other)} {'entry' if len(other) == 1 else 'entries'} and no sweep "
                             f"store ({shown}): the store's marker, lock and parts/ would go in among them; choose a "
                             "new or empty directory (-o DIR), or the directory of a store to --resume it")

    @property
    def manifest_path(self) -> Path:
        return self.dir / STORE_MARKER

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the store for one sweep (creating the directory): another process holding it is an error
        naming that process."""
        Path(os.path.realpath(self.dir)).mkdir(parents=True, exist_ok=True)  # (a link to a folder not made yet)
        fd = os.open(self.dir / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            if fcntl is not None:
                try:
                    _flock_exclusive(fd)
                except BlockingIOError:
                    holder = os.read(fd, 200).decode(errors="replace").strip() or "unknown process"
                    raise ValueError(f"{self.dir}: another sweep is writing this store ({holder}); wait for it to "
                                     "finish (or stop it), then --resume, or choose another directory") from None
                except OSError as exc:  # a file system without locks (some network mounts): say so, go on
                    warnings.warn(f"{self.dir}: cannot lock the store ({exc.strerror}); nothing stops a second "
                                  "sweep on this directory from running at the same time", stacklevel=user_stacklevel())
            os.ftruncate(fd, 0)
            os.write(fd, f"pid {os.getpid()} on {platform.node()}".encode())
            yield
        finally:
            os.close(fd)  # releases the lock

    def _rows_grid(self) -> dict[str, list[Any]] | None:
        return grid_of_rows(self.rows(include_failed=True)) if self.parts.is_dir() else None

    def writer(self) -> str:
        """``"pid N on HOST"`` of the sweep holding :meth:`lock` now (another process), else ``""``; takes nothing
        (``--dry-run`` says its states may move)."""
        if fcntl is None or not (self.dir / LOCK_NAME).is_file():
            return ""
        try:
            fd = os.open(self.dir / LOCK_NAME, os.O_RDONLY)
        except OSError:
            return ""
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return os.read(fd, 200).decode(errors="replace").strip() or "unknown process"
        except OSError:  # (a file system without locks)
            return ""
        finally:
            os.close(fd)  # (releases the shared lock, if taken)
        return ""

    def exists(self) -> bool:
        return self.manifest_path.is_file()

    def manifest(self) -> dict[str, Any]:
        try:
            out = json.loads(self.manifest_path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"{self.manifest_path}: the store's marker is damaged ({exc}); it is written once "
                             "when a sweep starts: restore it from a copy, or start the sweep in another "
                             "directory (the measured rows stay in parts/, one Parquet file per unit)") from None
        if not isinstance(out, dict):
            raise ValueError(f"{self.manifest_path}: the store's marker is not a JSON object (damaged or edited)")
        return out

    def init(self, manifest: Mapping[str, Any], *, resume: bool) -> None:
        """Create the store, or (``resume``) check it was made by the same sweep.

        Without ``resume`` a directory that already holds a store is refused (nothing is clobbered).
        """
        self.check(manifest, resume=resume)
        self.parts.mkdir(parents=True, exist_ok=True)
        self.clean_temporaries()
        if not self.exists():
            atomic_write_bytes(self.manifest_path, json.dumps(dict(manifest), indent=1).encode())

    def check(self, manifest: Mapping[str, Any], *, resume: bool) -> None:
        """The refusals of :meth:`init` (ValueError), writing nothing: what ``--dry-run`` checks."""
        if self.parts.is_symlink() and not self.parts.exists() or self.parts.exists() and not self.parts.is_dir():
            what = "a file" if self.parts.exists() else f"a link to {os.readlink(self.parts)}, which does not exist"
            raise ValueError(f"{self.parts} is not a folder but {what}: a sweep store keeps its rows in a folder "
                             "parts/ (one Parquet file per finished unit); put that folder back or move this away")
        if self.exists():
            if not resume:
                raise ValueError(f"{self.dir} already holds a sweep store; pass --resume to continue it "
                                      "or choose another directory")
            old = self.manifest()
            key = "units_hash" if "units_hash" in old else "spec_hash"  # (stores before units_hash: in order)
            if old.get(key) != manifest.get(key):
                raise ValueError(f"{self.dir}: the store was made by another spec ({old.get('source')}, "
                                 f"hash {old.get('spec_hash')}); --resume needs the same spec "
                                 f"(this one: hash {manifest.get('spec_hash')}{units_differ(old, manifest)})"
                                 f"{settings_differ(old, manifest, self._rows_grid)}; write the changed grid as another spec with its "
                                 "own -o DIR")
            before, now = old.get("power_source"), manifest.get("power_source")
            if before is not None and now is not None and before != now:
                raise ValueError(f"{self.dir}: the store's rows were measured with --power-source {before}; resume "
                                 f"with the same source (not {now}), so that one fit never mixes two ways of "
                                 "measuring energy, or start another store")
        elif self.parts.is_dir() and any(self.parts.glob("*.parquet")):
            raise ValueError(f"{self.dir}: parts/ holds part files but there is no {STORE_MARKER} (a store whose "
                             "marker was deleted, or files copied in): they would be taken as measured units of this "
                             "sweep; choose an empty directory, or move parts/ away")

    def clean_temporaries(self) -> int:
        """Remove temporary files a killed writer of this store left (the marker's, the parts'; nothing
        else: -o may name a folder that holds other files); returns how many."""
        n = 0
        for d, pattern in ((self.dir, f".{STORE_MARKER}.*.tmp"), (self.dir, ".active-stop.json.*.tmp"),
                           (self.dir, ".active-known.json.*.tmp"),
                           (self.parts, ".*.parquet.*.tmp"),
                           *((r, ".*.parquet.*.tmp") for r in self.rescue_dirs())):
            if d.is_dir():
                for p in d.glob(pattern):
                    p.unlink(missing_ok=True)
                    n += 1
        return n

    def part_path(self, config_id: str) -> Path:
        return self.parts / f"{config_id}.parquet"

    def write(self, config_id: str, row: Mapping[str, Any]) -> Path:
        """Write one finished unit's row atomically (replacing an earlier part of the same id). Where that
        fails (OSError) the part is written to the first rescue folder that takes it and
        :class:`PartNotWrittenError` names it: the measured row is never lost with the failed write."""
        frame = pd.DataFrame([dict(row)])
        path = self.part_path(config_id)
        buf = io.BytesIO()
        frame.to_parquet(buf, index=False)
        self._read.pop(path.name, None)  # (read again from the file: what the next rows() returns)
        try:
            atomic_write_bytes(path, buf.getvalue())
        except OSError as exc:
            raise self._rescue(config_id, dict(row), buf.getvalue(), f"{path}: {exc.strerror or exc}", exc) from exc
        return path

    def rescue_dirs(self) -> list[Path]:
        """Where a row whose part could not be written is kept, in the order tried: ``DIR/rescued/`` (a store
        whose parts/ alone is read-only), then ``energylens-rescued/<store>`` in the temporary directory (a full
        disk, a read-only store), named after the store's absolute path so that ``--resume`` finds it."""
        absolute = str(self.dir.resolve())
        slug = re.sub(r"[^A-Za-z0-9._-]+", "_", absolute).strip("_")[-60:]
        key = f"{slug}-{hashlib.sha1(absolute.encode()).hexdigest()[:10]}"
        return [self.dir / RESCUE_NAME, Path(tempfile.gettempdir()) / "energylens-rescued" / key]

    def _rescue(self, config_id: str, row: dict[str, Any], data: bytes, failure: str,
                exc: OSError) -> PartNotWrittenError:
        what = f"{failure}; unit {config_id} was measured (status {row.get('status')}) but its part was not written"
        tried, folders = [], self.rescue_dirs()
        if not self.dir.is_dir():  # moved or deleted mid-sweep: DIR/rescued would make DIR again
            folders = folders[1:]
            what += f" (the store folder {self.dir} is gone: moved or deleted while the sweep ran)"
        for folder in folders:
            made = [p for p in (folder, *folder.parents) if not p.exists()]  # (deepest first)
            try:
                folder.mkdir(parents=True, exist_ok=True)
                atomic_write_bytes(folder / f"{config_id}.parquet", data)
            except OSError as again:
                tried.append(f"{folder} ({again.strerror or again})")
                for empty in made:  # a folder made here that took no row is not left behind
                    with contextlib.suppress(OSError):
                        empty.rmdir()
                continue
            kept = folder / f"{config_id}.parquet"
            fix = (f"put the store back at {self.dir}" if folders[0] != self.dir / RESCUE_NAME else
                   f"make room in (or make writable) {self.parts}")
            return PartNotWrittenError(exc.errno, f"{what}: its row is kept in {kept}; {fix}, "
                                       "then rerun with --resume, which takes the row into "
                                       "the store without measuring the unit again (or copy that file into "
                                       f"{self.parts}/)", kept, config_id=config_id)
        as_json = json.dumps(row, default=str)
        return PartNotWrittenError(exc.errno, f"{what}, nor could it be kept in {' or '.join(tried)}: the row, "
                                   f"as JSON: {as_json}", None, config_id=config_id, row_json=as_json)

    def rescued(self) -> dict[str, Path]:
        """config_id -> rescued part file of this store (``DIR/rescued/`` over the temporary directory's)."""
        out: dict[str, Path] = {}
        for folder in reversed(self.rescue_dirs()):
            if folder.is_dir():
                out.update({p.stem: p for p in sorted(folder.glob("*.parquet"))})
        return out

    def take_in_rescued(self, config_ids: Iterable[str]) -> tuple[list[str], list[Path]]:
        """Move the rescued parts of ``config_ids`` into ``parts/`` (each written atomically, then its rescued
        file removed; a rescued row replaces a part of the same unit, which can only be older); returns (the
        ids taken in, the rescued files of other units, left where they are). Rescue folders left empty are removed."""
        wanted, taken, other = set(config_ids), [], []
        for config_id, path in self.rescued().items():
            if config_id not in wanted:
                other.append(path)
                continue
            read_part(path)  # a damaged rescued file is an error naming it, before it would replace anything
            self._read.pop(path.name, None)
            atomic_write_bytes(self.part_path(config_id), path.read_bytes())
            for folder in self.rescue_dirs():
                (folder / path.name).unlink(missing_ok=True)
            taken.append(config_id)
        for folder in self.rescue_dirs():  # an emptied rescue folder goes too (one per store in the temp dir)
            with contextlib.suppress(OSError):
                folder.rmdir()  # (only when empty: other units' rows stay)
        return taken, other

    def supersede(self, config_ids: Iterable[str]) -> list[Path]:
        """Move the parts of ``config_ids`` out of ``parts/`` into ``DIR/superseded/`` (a unit to be measured again:
        its earlier row is kept, not read; an earlier superseded file of the unit is kept beside it as
        ``<id>.1.parquet`` ...); returns where they went."""
        folder = self.dir / SUPERSEDED_NAME
        moved = []
        for config_id in config_ids:
            part = self.part_path(config_id)
            if not part.is_file():
                continue
            folder.mkdir(exist_ok=True)
            target, n = folder / part.name, 0
            while target.exists():
                n += 1
                target = folder / f"{config_id}.{n}.parquet"
            os.replace(part, target)
            moved.append(target)
        if moved:
            _fsync_dir(folder)
            _fsync_dir(self.parts)
        return moved

    def statuses(self) -> dict[str, str]:
        """config_id -> status ('ok' / 'failed') of every part on disk."""
        return _statuses(self._parts())

    def snapshot(self) -> tuple[dict[str, str], pd.DataFrame]:
        """:meth:`statuses` and :meth:`rows` from one listing of the parts (an active sweep reads both per unit)."""
        parts = self._parts()
        return _statuses(parts), _joined(parts, include_failed=False)

    def done(self, *, retry_failed: bool = False) -> set[str]:
        """Ids that a resumed sweep skips (failed ones too, unless ``retry_failed``)."""
        return {k for k, s in self.statuses().items() if s == "ok" or not retry_failed}

    def rows(self, *, include_failed: bool = False) -> pd.DataFrame:
        """Every row (raw, unvalidated), in part-name order, ``status == 'ok'`` only unless ``include_failed``
        (``energylens.profiles.store_dir.read_store_dir``'s rows; parts read before are taken from memory)."""
        return _joined(self._parts(), include_failed)

    def _parts(self) -> list[tuple[str, pd.DataFrame]]:
        """(config_id, row) of every part on disk, in part-name order. A part read before by this object is
        taken from memory while its file is unchanged (the same inode, size, mtime and ctime): an active sweep
        reads the store after every unit, and reading every part each time made a sweep of n units read
        O(n^2) files. A part added or replaced since (by this sweep, by hand, by another process) is read;
        a part gone is forgotten; a part that cannot be read is the error naming it, as before."""
        seen: dict[str, tuple[tuple | None, pd.DataFrame]] = {}
        for p in sorted(self.parts.glob("*.parquet")) if self.parts.is_dir() else ():
            try:
                st = p.stat()
                key: tuple | None = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
            except OSError:  # (a dangling link, a part removed after the listing: read_part names it)
                key = None
            before = self._read.get(p.name)
            seen[p.name] = before if key is not None and before is not None and before[0] == key else (key, read_part(p))
        self._read = {name: got for name, got in seen.items() if got[0] is not None}
        return [(name[:-len(".parquet")], frame) for name, (_, frame) in seen.items()]
