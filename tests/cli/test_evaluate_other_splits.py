"""`energylens evaluate` runs every split by default but its terminal table is the random split alone.

A user waited for curve, unseen_batch and unseen_model (most of the fits: 1764 of them on the bundled rows
against 609 for random alone) and the printout never said they had been run nor where their figures are.
The printout now names the splits it leaves out and where they are (the report, or --report / --json).
"""

from __future__ import annotations

import pytest

from energylens.cli.main import main
from energylens.profiles.datasets import mlenergy_v2

ARGS = ["--no-progress", "--repeats", "1", "--methods", "energylens", "--train-size", "20"]


@pytest.fixture(scope="module")
def profiles(tmp_path_factory):
    path = tmp_path_factory.mktemp("prof") / "p.csv"
    mlenergy_v2().head(120).to_csv(path, index=False)
    return path


def test_the_printout_names_the_splits_it_does_not_show(profiles, capsys):
    assert main(["evaluate", str(profiles), *ARGS, "--splits", "random,unseen_batch"]) == 0
    out = capsys.readouterr().out
    assert "unseen_batch" in out and "--report DIR or --json" in out, out


def test_the_printout_points_at_the_report_for_them(profiles, tmp_path, capsys):
    report = tmp_path / "rep"
    assert main(["evaluate", str(profiles), *ARGS, "--splits", "random,unseen_batch", "--report", str(report)]) == 0
    out = capsys.readouterr().out
    assert f"also ran: unseen_batch: their figures are in {report / 'report.md'})" in out, out


def test_random_alone_says_nothing_more(profiles, capsys):
    assert main(["evaluate", str(profiles), *ARGS, "--splits", "random"]) == 0
    assert "also ran" not in capsys.readouterr().out
