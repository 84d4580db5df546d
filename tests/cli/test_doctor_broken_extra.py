"""``energylens doctor`` read the extras' versions from their metadata alone: a package whose metadata is there but
whose compiled part is gone (an interrupted or partial install) showed "yes" while importing it fails. The row now
checks, without importing, that the module has a file and that each compiled file its RECORD lists exists;
where the install lists no files of the module (no RECORD), it says "installed (not imported)"."""

from __future__ import annotations

import importlib
import importlib.machinery
import sys

import pytest

from energylens import extras
from energylens.cli import doctor

SO = importlib.machinery.EXTENSION_SUFFIXES[0]


def _dist(root, name: str, files: dict[str, str], record: bool = True) -> None:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    info = root / f"{name}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    if record:
        listed = [*files, f"{name}/_native{SO}"] if name == "brokenpkg" else list(files)
        (info / "RECORD").write_text("".join(f"{p},,\n" for p in [*listed, f"{name}-1.0.dist-info/METADATA"]))


@pytest.fixture
def rows(tmp_path, monkeypatch):
    _dist(tmp_path, "brokenpkg", {"brokenpkg/__init__.py": "from brokenpkg import _native\n"})
    _dist(tmp_path, "finepkg", {"finepkg/__init__.py": "", f"finepkg/_native{SO}": ""})
    _dist(tmp_path, "norecordpkg", {"norecordpkg/__init__.py": ""}, record=False)
    _dist(tmp_path, "ghostpkg", {"ghostpkg/sub/x.txt": ""})  # the package's files gone, a folder left behind
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    for extra, name in (("ray", "brokenpkg"), ("symbolic", "finepkg"), ("profile", "norecordpkg"),
                        ("sr", "ghostpkg")):
        monkeypatch.setitem(extras.EXTRAS, extra, ((name, name),))
    monkeypatch.setitem(extras.EXTRAS, "demo", (("finepkg", "finepkg"), ("norecordpkg", "norecordpkg")))
    out = dict(doctor._extra_rows())
    assert not {"brokenpkg", "finepkg", "norecordpkg", "ghostpkg"} & set(sys.modules)  # nothing imported
    return out


def test_a_missing_compiled_file_is_broken_not_yes(rows):
    row = rows["extra [ray]"]
    assert row.startswith("broken") and f"brokenpkg/_native{SO}" in row and "--force-reinstall" in row, row


def test_a_module_without_its_file_is_broken(rows):
    row = rows["extra [sr]"]
    assert row.startswith("broken") and "ghostpkg" in row, row


def test_files_that_check_out_are_yes(rows):
    assert rows["extra [symbolic]"] == "yes (finepkg 1.0)"


def test_an_install_without_a_file_list_is_said_unchecked(rows):
    assert rows["extra [profile]"] == "installed (not imported) (norecordpkg 1.0)"
    assert rows["extra [demo]"].startswith("installed (not imported)"), rows["extra [demo]"]
