"""``energylens discover --quiet``: its help read "no progress lines" and a user passing it still saw the full
scores table and wondered whether the option worked. Quiet turns off the progress lines (stderr) only; the
table is the command's result (stdout) and stays. The help now says so, and a run proves both halves."""

from __future__ import annotations

import sympy as sp

from energylens.cli.main import build_parser, main
from energylens.discover import search as ds


def _quiet_help() -> str:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    return next(a.help for a in sub.choices["discover"]._actions if "--quiet" in a.option_strings)


def test_quiet_help_says_the_table_still_prints():
    text = _quiet_help()
    assert "progress" in text and "stderr" in text, text
    assert "table" in text and "stdout" in text, text


def test_quiet_run_prints_the_table_and_no_progress(tmp_path, capsys):
    out = tmp_path / "d.json"
    assert main(["discover", "bundled", "-o", str(out), "--quiet", "--generations", "10", "--seed", "1"]) == 0
    captured = capsys.readouterr()
    assert captured.err == "", captured.err
    assert "expression" in captured.out and "template (12 parameters)" in captured.out, captured.out
    assert out.exists()


def test_evaluates_spelling_no_progress_is_taken_too(tmp_path, capsys, monkeypatch):
    """``energylens evaluate`` turns its progress lines off with ``--no-progress``; the same option on discover was a
    usage error ("unrecognized arguments: --no-progress"), exit 2, though it means what --quiet means."""
    e_mem = sp.Symbol("E_mem")
    monkeypatch.setattr(ds, "run_backend", lambda *a, **k: [(5, 2.0 * e_mem + 1.0)])
    out = tmp_path / "d.json"
    assert main(["discover", "bundled", "-o", str(out), "--no-progress"]) == 0
    captured = capsys.readouterr()
    assert captured.err == "", captured.err
    assert "template (12 parameters)" in captured.out and out.exists()
