"""The shared libraries an extra's compiled files need that the dynamic loader would not find, read without
importing anything (``energylens doctor``; torch's import takes seconds, scikit-learn's up to nine on a loaded box).

An installed package whose files are all there still fails to import where one of its compiled files needs a
system library that is missing (xgboost's ``libxgboost.so`` needs ``libgomp.so.1``): doctor read ``yes`` there.
Each compiled file its install record (RECORD) lists under the module is read as ELF (Linux): its ``DT_NEEDED``
names are looked up where the loader looks (its RPATH / RUNPATH with ``$ORIGIN``, ``LD_LIBRARY_PATH``, the
loader cache ``/etc/ld.so.cache``, the default folders), and where this process has one loaded already or the
distribution ships one of that name (a vendored library the package loads itself); a name found nowhere is
reported. Leniency errs towards "found": a false "missing" would send a user to fix what works.
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import struct
import sys
import sysconfig
from functools import lru_cache

from energylens.extras import _compiled_files, installed_name

__all__ = ["elf_needed", "unresolved_libraries"]

_DEFAULT_DIRS = ("/lib", "/usr/lib", "/lib64", "/usr/lib64")


def elf_needed(path: str) -> tuple[list[str], list[str]] | None:
    """(``DT_NEEDED`` names, RPATH and RUNPATH folders) of the ELF file ``path``; ``None`` where it is no ELF."""
    with open(path, "rb") as f:
        ident = f.read(16)
        if len(ident) < 16 or ident[:4] != b"\x7fELF":
            return None
        wide, end = ident[4] == 2, "<" if ident[5] == 1 else ">"
        head = f.read(48 if wide else 36)
        phoff = struct.unpack_from(end + ("Q" if wide else "I"), head, 16 if wide else 12)[0]
        entsize, count = struct.unpack_from(end + "HH", head, 38 if wide else 26)
        f.seek(phoff)
        table = f.read(entsize * count)
        loads, dynamic = [], None
        for i in range(count):
            if wide:
                kind, _, offset, vaddr, _, size = struct.unpack_from(end + "IIQQQQ", table, i * entsize)
            else:
                kind, offset, vaddr, _, size = struct.unpack_from(end + "IIIII", table, i * entsize)
            if kind == 1:  # PT_LOAD: maps addresses to file offsets
                loads.append((vaddr, offset, size))
            elif kind == 2:  # PT_DYNAMIC
                dynamic = (offset, size)
        if dynamic is None:
            return [], []
        f.seek(dynamic[0])
        data = f.read(dynamic[1])
        fmt = end + ("qQ" if wide else "iI")
        step = struct.calcsize(fmt)
        entries = [struct.unpack_from(fmt, data, o) for o in range(0, len(data) - step + 1, step)]
        entries = entries[:next((i for i, (tag, _) in enumerate(entries) if tag == 0), len(entries))]
        strtab = next((v for tag, v in entries if tag == 5), None)  # DT_STRTAB (an address)
        base = next((strtab - va + off for va, off, size in loads if strtab is not None and va <= strtab < va + size),
                    None)
        if base is None:
            return [], []

        def text(at: int) -> str:
            f.seek(base + at)
            raw = f.read(4096)
            return raw.split(b"\0", 1)[0].decode("utf-8", "replace")

        needed = [text(v) for tag, v in entries if tag == 1]  # DT_NEEDED
        paths = [p for tag, v in entries if tag in (15, 29) for p in text(v).split(":") if p]  # DT_RPATH, DT_RUNPATH
        return needed, paths


@lru_cache(maxsize=1)
def _known_names() -> frozenset[str]:
    """Library names the loader cache lists and those this process has loaded (read once)."""
    names: set[str] = set()
    try:
        with open("/etc/ld.so.cache", "rb") as f:
            names |= {m.decode() for m in re.findall(rb"(?<=[\0/])([^\0/]+\.so[^\0/]*)\0", f.read())}
    except OSError:
        pass
    try:
        with open("/proc/self/maps") as f:
            names |= {os.path.basename(line.split()[-1]) for line in f if ".so" in line}
    except OSError:
        pass
    return frozenset(names)


def _folders(path: str, rpaths: list[str]) -> list[str]:
    origin = os.path.dirname(path)
    own = [p.replace("${ORIGIN}", origin).replace("$ORIGIN", origin) for p in rpaths]
    env = [p for p in os.environ.get("LD_LIBRARY_PATH", "").split(":") if p]
    arch = sysconfig.get_config_var("MULTIARCH") or ""
    system = [*_DEFAULT_DIRS, *(f"{d}/{arch}" for d in _DEFAULT_DIRS if arch), sysconfig.get_config_var("LIBDIR") or ""]
    return [d for d in (*own, *env, *system) if d]


def unresolved_libraries(module: str, dist: str) -> list[tuple[str, str]]:
    """(compiled file, library) for each library a compiled file of ``module`` (of ``dist``, or the distribution
    that installed it) needs and the loader would find nowhere; ``[]`` off Linux or without an install record."""
    if not sys.platform.startswith("linux"):
        return []
    found = installed_name(module, dist)
    if found is None:
        return []
    try:
        record = importlib.metadata.distribution(found[0])
    except importlib.metadata.PackageNotFoundError:
        return []
    text = "\n" + (record.read_text("RECORD") or "")
    compiled = _compiled_files(text)
    out = []
    for rel in compiled:
        if not rel.startswith((f"{module}/", f"{module}.")):
            continue
        path = str(record.locate_file(rel))
        try:
            needs = elf_needed(path)
        except (OSError, struct.error):  # a file gone is files_probe's "broken"; a truncated one: not checked
            continue
        for lib in (needs or ([], []))[0]:
            if lib in _known_names():
                continue
            if not (os.path.exists(lib) if "/" in lib else  # (a path: the loader opens it as given)
                    any(os.path.exists(os.path.join(d, lib)) for d in _folders(path, needs[1]))):
                out.append((rel, lib))
    return [(f, lib) for f, lib in out if lib not in _shipped(text)] if out else out


def _shipped(record: str) -> set[str]:
    """The library names a RECORD's text lists (a vendored ``libgomp-ab12.so.1.0.0`` the package loads itself)."""
    return {name for line in record.splitlines() if ".so" in line
            for name in (line.split(",", 1)[0].rpartition("/")[2],) if re.search(r"\.so(\.|$)", name)}
