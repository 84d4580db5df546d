"""doctor's `expression kernels` row said 'yes, c++ ...; cache DIR' for a cache the kernels cannot be written to
(ENERGYLENS_CACHE_DIR under a file, or on a read-only file system): the first compile then fails ('cannot write the
kernel cache') and the interpreter is used, which the row had ruled out. It now says 'no (interpreter only)',
naming the folder and the variable that moves it."""
from __future__ import annotations

import pytest

from energylens.cli.main import main
from energylens.model import kernel_build


def _row(capsys) -> str:
    assert main(["doctor"]) == 0
    return next(x for x in capsys.readouterr().out.splitlines() if x.startswith("expression kernels"))


@pytest.fixture
def compiler():
    cmd, _ = kernel_build.find_compiler()
    if cmd is None:
        pytest.skip("no C++ compiler here")


def test_a_cache_under_a_file_is_a_no(tmp_path, monkeypatch, capsys, compiler):
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    monkeypatch.setenv("ENERGYLENS_CACHE_DIR", str(blocker / "kernels"))
    row = _row(capsys)
    assert "no (interpreter only)" in row and str(blocker) in row and "ENERGYLENS_CACHE_DIR" in row
    assert not (blocker / "kernels").exists()


def test_a_writable_cache_is_a_yes_and_is_not_created(tmp_path, monkeypatch, capsys, compiler):
    monkeypatch.setenv("ENERGYLENS_CACHE_DIR", str(tmp_path / "new" / "kernels"))
    row = _row(capsys)
    assert ": yes, " in row and str(tmp_path / "new" / "kernels") in row
    assert not (tmp_path / "new").exists()  # doctor looks; the first compile creates it
