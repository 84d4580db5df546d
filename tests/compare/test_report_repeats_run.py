"""report.md's first line and the terminal legend said "20 repeats" / "Each a mean over repeats" for a run of a
leave-one-out split alone (`energylens evaluate bundled --splits unseen_model`), which runs its folds once. They
now say what ran, counted from the result's table."""

from __future__ import annotations

from energylens.cli.main import main


def _first_line(report_dir) -> str:
    return (report_dir / "report.md").read_text().splitlines()[2]


def test_a_leave_one_out_run_says_one_pass(tmp_path, capsys):
    out = tmp_path / "rep"
    assert main(["evaluate", "bundled", "--splits", "unseen_model", "--methods", "energylens", "--no-progress",
                 "--report", str(out)]) == 0
    line = _first_line(out)
    assert "20 repeats" not in line and "one pass (unseen_model: each fold once; --repeats 20" in line, line
    printed = capsys.readouterr().out
    assert "Each a mean over repeats" not in printed and "Each over one pass of the folds" in printed, printed


def test_a_mixed_run_names_the_split_that_ran_fewer(tmp_path):
    out = tmp_path / "rep"
    assert main(["evaluate", "bundled", "--splits", "random,unseen_model", "--repeats", "2", "--methods",
                 "energylens", "--no-progress", "--report", str(out)]) == 0
    assert "; 2 repeats (unseen_model: 1 repeat);" in _first_line(out)


def test_a_random_run_keeps_its_repeats(tmp_path):
    out = tmp_path / "rep"
    assert main(["evaluate", "bundled", "--splits", "random", "--repeats", "2", "--methods", "energylens",
                 "--no-progress", "--report", str(out)]) == 0
    assert "; 2 repeats; seed" in _first_line(out)
