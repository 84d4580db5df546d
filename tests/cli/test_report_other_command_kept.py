"""A report folder of one energylens command given to another's ``--report``: ``energylens discover --report R``
where R held an ``energylens evaluate`` report (report.md, summary.csv, results.csv, predictions.csv, the plots:
a run of minutes to hours) deleted it and said only "replaced the earlier report in R", and evaluate replaced a
discovery report the same way; the same commands' ``-o`` files never replace each other's (a model file and a
discovery result). Such a folder is now refused before any work, naming the report it holds; a report of the
same command is replaced as before."""
from __future__ import annotations

import pytest

sp = pytest.importorskip("sympy")
pytest.importorskip("matplotlib")

from energylens.cli import main  # noqa: E402
from energylens.discover import search as ds  # noqa: E402

EVALUATE = ["evaluate", "bundled", "--splits", "random", "--repeats", "1", "--methods", "energylens", "--no-progress"]


@pytest.fixture
def quick_search(monkeypatch):
    e_mem = sp.Symbol("E_mem")
    monkeypatch.setattr(ds, "run_backend", lambda *a, **k: [(5, 2.0 * e_mem + 1.0)])


def _discover(tmp_path, report) -> list[str]:
    return ["discover", "bundled", "--quiet", "-o", str(tmp_path / "d.json"), "--report", str(report)]


def test_discover_keeps_an_evaluation_report(tmp_path, capsys, quick_search):
    report = tmp_path / "rep"
    assert main([*EVALUATE, "--report", str(report)]) == 0
    before = sorted(p.name for p in report.iterdir())
    capsys.readouterr()
    assert main(_discover(tmp_path, report)) == 2
    err = capsys.readouterr().err
    assert f"--report {report}: holds a report of another energylens command (report.md" in err, err
    assert sorted(p.name for p in report.iterdir()) == before
    assert not (tmp_path / "d.json").exists()  # refused before any work


def test_evaluate_keeps_a_discovery_report_and_each_replaces_its_own(tmp_path, capsys, quick_search):
    report = tmp_path / "rep"
    assert main(_discover(tmp_path, report)) == 0
    assert main(_discover(tmp_path, report)) == 0  # its own: replaced, as before
    capsys.readouterr()
    assert main([*EVALUATE, "--report", str(report)]) == 2
    err = capsys.readouterr().err
    assert "holds a report of another energylens command (discovery.md" in err, err
    assert (report / "discovery.md").is_file() and not (report / "report.md").exists()
    other = tmp_path / "rep2"
    assert main([*EVALUATE, "--report", str(other)]) == 0
    assert main([*EVALUATE, "--report", str(other)]) == 0
