"""``energylens monitor [options] -- CMD``: a number where the command goes (``monitor 5``, meaning 5 seconds)
(python/energylens/cli/monitor.py, monitor_command.py). Real subprocesses on ``--source synthetic``."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from energylens.cli.main import main

PY = sys.executable
CLI = [PY, "-c", "import sys; from energylens.cli.main import main; sys.exit(main())", "monitor", "--source",
       "synthetic"]


@pytest.mark.parametrize("number", ["5", "0.5", "30"])
def test_a_number_as_the_command_says_it_is_not_one_and_names_duration(capsys, number):
    """``energylens monitor 5`` ran a command named 5: '5: command not found (not on PATH)', exit 127."""
    assert main(["monitor", "--source", "synthetic", number]) == 2
    err = capsys.readouterr().err
    assert f"{number}: no such command (not on PATH)" in err, err
    assert f"--duration {number}" in err and "energylens monitor [options] -- COMMAND" in err, err
    assert "sampling" not in err


def test_a_number_after_double_dash_is_a_command_not_found_with_the_hint(capsys):
    assert main(["monitor", "--source", "synthetic", "--", "5"]) == 127
    err = capsys.readouterr().err
    assert "5: command not found (not on PATH)" in err and "--duration 5" in err, err


def test_a_number_with_duration_given_is_named_as_a_number_first(capsys):
    assert main(["monitor", "--source", "synthetic", "--duration", "2", "5"]) == 2
    err = capsys.readouterr().err
    assert "5: no such command" in err and "timeout" not in err, err


def test_a_number_that_is_a_program_on_path_is_run(tmp_path, monkeypatch, capsys):
    (tmp_path / "5").write_text("#!/bin/sh\necho five\n")
    (tmp_path / "5").chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    res = subprocess.run([*CLI, "5"], capture_output=True, timeout=30)
    assert res.returncode == 0, res.stderr.decode()
    assert res.stdout == b"five\n"
