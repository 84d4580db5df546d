"""``energylens discover -o PATH`` where the write fails only once the run has finished (a disk that filled during
the search, /dev/full): the table was printed, the command exited 2, and the result an hour's search found was
gone. The result is now kept in a file of its own (the current folder, else the temporary folder), the error
names it, and the command still exits 2 (the file asked for was not written)."""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

pytest.importorskip("sympy")
pytest.importorskip("pyoperon")

from energylens.cli import discover as cli_discover  # noqa: E402
from energylens.cli.main import main  # noqa: E402
from energylens.discover import load_discovery  # noqa: E402

RUN = ["discover", "bundled", "--generations", "3", "--seed", "0", "--quiet"]


def _kept_path(err: str) -> Path:
    found = re.search(r"the result was kept in (\S+\.json)", err)
    assert found, err
    return Path(found.group(1))


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_a_write_that_fails_after_the_run_keeps_the_result_in_the_current_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main([*RUN, "-o", "/dev/full"]) == 2
    cap = capsys.readouterr()
    assert "search:" in cap.out  # (the table printed, as before)
    assert "/dev/full: could not write (No space left on device)" in cap.err and "Traceback" not in cap.err
    kept = _kept_path(cap.err)
    assert kept.parent == tmp_path and kept.name.startswith("energylens-discovery-")
    assert f"mv {kept} /dev/full" not in cap.err  # (a device: no move to suggest)
    result = load_discovery(kept)
    assert result.front and result.chosen is not None


def test_where_the_current_folder_takes_nothing_either_the_temporary_folder_keeps_it(tmp_path, monkeypatch, capsys):
    out = tmp_path / "out" / "d.json"
    out.parent.mkdir()
    spare, tmp_dir = tmp_path / "full", tmp_path / "tmp"
    spare.mkdir()
    tmp_dir.mkdir()
    monkeypatch.chdir(spare)
    monkeypatch.setattr(cli_discover.tempfile, "gettempdir", lambda: str(tmp_dir))
    real = cli_discover.write_fsynced
    full = (str(out.parent), str(spare))

    def disk_full(path, text):  # both the output's folder and the current one are on a full disk
        if str(Path(path).parent) in full:
            raise OSError(28, "No space left on device")
        real(path, text)
    monkeypatch.setattr(cli_discover, "write_fsynced", disk_full)
    assert main([*RUN, "-o", str(out)]) == 2
    err = capsys.readouterr().err
    kept = _kept_path(err)
    assert kept.parent == tmp_dir and f"mv {kept} {out}" in err
    assert load_discovery(kept).front
    assert not out.exists() and os.listdir(spare) == [] and os.listdir(out.parent) == []  # no partial file left


def test_where_no_folder_takes_it_the_result_is_printed_on_standard_output(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(cli_discover.tempfile, "gettempdir", lambda: str(tmp_path))

    def disk_full(path, text):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(cli_discover, "write_fsynced", disk_full)
    out = tmp_path / "d.json"
    assert main([*RUN, "-o", str(out)]) == 2
    cap = capsys.readouterr()
    assert "no folder took a copy of the result" in cap.err and "printed on standard output above" in cap.err
    printed = cap.out[cap.out.index('{\n "format": "energylens.discovery"'):]
    (tmp_path / "saved.json").write_text(printed)
    assert load_discovery(tmp_path / "saved.json").front
    assert os.listdir(tmp_path) == ["saved.json"]


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_an_interrupted_run_whose_output_fails_names_the_kept_copy(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    real = cli_discover._run
    monkeypatch.setattr(cli_discover, "_run", lambda args: (real(args)[0], KeyboardInterrupt()))
    assert main([*RUN, "-o", "/dev/full"]) == 130
    err = capsys.readouterr().err
    kept = _kept_path(err)
    assert f"scored so far is in {kept}" in err and "/dev/full: could not write" in err, err
    assert load_discovery(kept).front
