"""``energylens doctor`` read ``yes`` of an extra whose files are all there but whose import fails for another
reason than "not installed": a compiled file needing a system library the loader does not find (xgboost's
``libxgboost.so`` and ``libgomp.so.1``). Without importing (torch's import takes seconds), each compiled file the
install record lists is now read as ELF and its needed libraries looked up where the loader looks; one found
nowhere reads ``broken``, naming the file and the library. The stand-in: a copy of one of numpy's own extension
modules whose needed ``libm.so.6`` is renamed in place to a library that exists nowhere."""

from __future__ import annotations

import glob
import importlib
import importlib.machinery
import os
import subprocess
import sys

import numpy
import pytest

from energylens import extras
from energylens.cli import doctor
from energylens.cli.doctor_libs import elf_needed, unresolved_libraries

SO = importlib.machinery.EXTENSION_SUFFIXES[0]
linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ELF shared objects: Linux")


def _elf_needing_libm() -> bytes:
    """The bytes of a numpy extension module that needs libm.so.6 (every Linux numpy wheel has some)."""
    for path in sorted(glob.glob(os.path.join(os.path.dirname(numpy.__file__), "**", f"*{SO}"), recursive=True)):
        needs = elf_needed(path)
        if needs and "libm.so.6" in needs[0]:
            with open(path, "rb") as f:
                return f.read()
    raise AssertionError("no numpy extension module needs libm.so.6")


def _dist(root, name: str, data: bytes, vendored: bool = False) -> None:
    (root / name).mkdir()
    (root / name / "__init__.py").write_text("")
    (root / name / f"_native{SO}").write_bytes(data)
    listed = [f"{name}/__init__.py", f"{name}/_native{SO}"]
    if vendored:  # the distribution ships the library itself (as auditwheel's .libs folders)
        (root / f"{name}.libs").mkdir()
        (root / f"{name}.libs" / "libQ.so.9").write_bytes(b"")
        listed.append(f"{name}.libs/libQ.so.9")
    info = root / f"{name}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (info / "RECORD").write_text("".join(f"{p},,\n" for p in listed))


@pytest.fixture
def dists(tmp_path, monkeypatch):
    data = _elf_needing_libm()
    missing = data.replace(b"libm.so.6\0", b"libQ.so.9\0")  # (same length: the ELF stays valid)
    assert missing != data
    _dist(tmp_path, "needsmissing", missing)
    _dist(tmp_path, "needsfound", data)
    _dist(tmp_path, "needsvendored", missing, vendored=True)
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    for extra, name in (("ray", "needsmissing"), ("symbolic", "needsfound"), ("sr", "needsvendored")):
        monkeypatch.setitem(extras.EXTRAS, extra, ((name, name),))
    return tmp_path


@linux
def test_a_library_found_nowhere_is_broken_naming_it(dists):
    assert unresolved_libraries("needsmissing", "needsmissing") == [(f"needsmissing/_native{SO}", "libQ.so.9")]
    row = dict(doctor._extra_rows())["extra [ray]"]
    assert row.startswith(f"broken  <- needsmissing 1.0: needsmissing/_native{SO} needs libQ.so.9, which the loader "
                          "finds nowhere"), row
    assert "install the system package that provides it" in row
    # what the row stands for: the import does fail (in a child: a failed dlopen is no harm, but keep it apart)
    run = subprocess.run([sys.executable, "-c", "import needsmissing._native"], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(dists)})
    assert run.returncode != 0 and "libQ.so.9" in run.stderr, run.stderr


@linux
def test_libraries_the_loader_finds_read_yes(dists):
    assert unresolved_libraries("needsfound", "needsfound") == []
    assert dict(doctor._extra_rows())["extra [symbolic]"] == "yes (needsfound 1.0)"


@linux
def test_a_library_the_distribution_ships_counts_as_found(dists):
    assert dict(doctor._extra_rows())["extra [sr]"] == "yes (needsvendored 1.0)"


@linux
def test_the_installed_extras_read_as_before():
    """No false 'broken' on this machine's own extras: each importable module's libraries are all found."""
    for module, dist in {p for extra, pairs in extras.EXTRAS.items() for p in pairs}:
        if importlib.util.find_spec(module) is not None:
            assert unresolved_libraries(module, dist) == [], module
