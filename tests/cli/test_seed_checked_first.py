"""'energylens evaluate --seed 9223372036854775000' was refused only after the profile table was read (and
its notes printed): the largest usable seed depends on --repeats, so the parser's seed type cannot bound it,
and the check was the runner's private _check_seed. 'energylens demo --seed 9223372036854775000' fitted and
printed its tables before its closing comparison failed the same way. Both now call
compare.runner.check_seed right after parsing, before any data is read (exit 2, the runner's message); the
runner keeps the check for API callers."""

from __future__ import annotations

import pytest

from energylens.cli import demo as demo_cli
from energylens.cli import evaluate as evaluate_cli
from energylens.cli.main import main as cli_main
from energylens.compare import runner

BIG = 9223372036854775000


def _no_reading(*_args, **_kwargs):
    raise AssertionError("the profile table was read before the seed was checked")


def _message(seed: int, repeats: int) -> str:
    with pytest.raises(ValueError) as exc:
        runner.check_seed(seed, repeats)
    return str(exc.value)


def test_evaluate_refuses_the_seed_before_reading_the_table(monkeypatch, capsys):
    monkeypatch.setattr(evaluate_cli, "read_profiles_with_rows", _no_reading)
    code = cli_main(["evaluate", "bundled", "--seed", str(BIG), "--repeats", "3", "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.strip() == f"energylens evaluate: error: {_message(BIG, 3)}"
    assert f"with 3 repeats the seed must be at most {(2**63 - 3) // 1000}" in err


def test_evaluate_checks_the_seed_before_the_report_folder(monkeypatch, capsys, tmp_path):
    (tmp_path / "notes.txt").write_text("mine")  # a folder --report refuses: the seed is named first
    monkeypatch.setattr(evaluate_cli, "read_profiles_with_rows", _no_reading)
    code = cli_main(["evaluate", "bundled", "--seed", str(BIG), "--report", str(tmp_path), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and f"seed {BIG} is too large" in err and "with 20 repeats" in err


def test_demo_refuses_the_seed_before_any_output(monkeypatch, capsys):
    monkeypatch.setattr(demo_cli, "mlenergy_v2", _no_reading)
    code = cli_main(["demo", "--seed", str(BIG)])
    out, err = capsys.readouterr()
    assert code == 2 and out == "", out
    assert err.strip() == f"energylens demo: error: {_message(BIG, demo_cli.DEMO_REPEATS)}"
    with pytest.raises(ValueError, match=f"seed {BIG} is too large"):
        demo_cli.run_demo(seed=BIG, repeats=2)


def test_demo_without_its_comparison_takes_any_seed_the_fit_does(monkeypatch):
    """--no-compare seeds only the training draw: the method seeds' bound does not apply."""
    seen = []
    monkeypatch.setattr(demo_cli, "run_demo", lambda **kw: seen.append(kw) or 0)
    assert cli_main(["demo", "--seed", str(BIG), "--no-compare"]) == 0
    assert seen[0]["seed"] == BIG and seen[0]["compare"] is False


def test_largest_seed_passes_and_the_runner_keeps_its_check():
    top = (2**63 - 3) // 1000
    runner.check_seed(top, 3)
    with pytest.raises(ValueError, match=f"seed {top + 1} is too large"):
        runner.run_evaluation("bundled", seed=top + 1, repeats=3, progress=False)
