"""Findings of a new user's walk through the documented commands (2026-12-05): each test failed before its fix.

Run in-process through ``energylens.cli.main.main``, as the bad-input harness does.
"""

from __future__ import annotations

import pytest

from energylens.cli.main import main as cli_main


def test_monitor_duration_that_is_not_a_number_names_the_expectation(capsys):
    """`--duration abc` said "invalid _positive value: 'abc'": the name of a private function."""
    with pytest.raises(SystemExit) as exc:  # argparse's usage error
        cli_main(["monitor", "--source", "synthetic", "--duration", "abc"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "argument --duration: expected a number of seconds, got 'abc'" in err
    assert "_positive" not in err


def test_monitor_force_without_output_is_an_error(tmp_path, capsys, monkeypatch):
    """`--force` without `-o` sampled and exited 0: the option did nothing (no trace is saved without -o)."""
    monkeypatch.chdir(tmp_path)
    assert cli_main(["monitor", "--source", "synthetic", "--duration", "0.1", "--force"]) == 2
    captured = capsys.readouterr()
    assert "--force replaces an earlier trace at -o FILE" in captured.err
    assert "sampled" not in captured.out  # refused before sampling
    assert list(tmp_path.iterdir()) == []


def test_demo_repeats_with_no_compare_is_an_error(tmp_path, capsys, monkeypatch):
    """`demo --no-compare --repeats 3` ran and ignored --repeats (the repeats of the comparison it skipped), while
    `--no-compare --report DIR` was already refused."""
    monkeypatch.chdir(tmp_path)
    assert cli_main(["demo", "--no-compare", "--repeats", "3"]) == 2
    captured = capsys.readouterr()
    assert "--repeats is an option of the closing comparison, which --no-compare skips" in captured.err
    assert captured.out == ""  # refused before the fit
