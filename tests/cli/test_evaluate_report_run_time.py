"""``energylens evaluate --report DIR`` wrote "run time 0.18 s" in report.md and ``--json`` gave
``info.runtime_s`` 0.15 alone (the comparison's fits and scoring) where the command's last line read "run time
3.8 s (of which the comparison's fits and scoring 0.18 s)". The report, the JSON and the last line now give the
same figures, each labelled: the command's time and the comparison's share."""

from __future__ import annotations

import json
import re

from energylens.cli.main import main
from energylens.compare.report_tables import run_time

FAST = ["--repeats", "1", "--splits", "random", "--no-progress", "--methods", "llmcarbon"]
PHRASE = r"run time ([0-9.]+ s) \(of which the comparison's fits and scoring ([0-9.]+ s)\)"


def _report_phrase(folder) -> tuple[str, str]:
    text = (folder / "report.md").read_text(encoding="utf-8")
    match = re.search(PHRASE, text)
    assert match, text.splitlines()[2]
    return match.groups()


def test_report_and_last_line_give_the_same_times(tmp_path, capsys):
    assert main(["evaluate", "bundled", *FAST, "--report", str(tmp_path / "r")]) == 0
    line = [x for x in capsys.readouterr().out.splitlines() if x.startswith("run time ")][0]
    printed = re.match(PHRASE, line)
    assert printed, line
    assert printed.groups() == _report_phrase(tmp_path / "r")


def test_json_gives_the_reports_times_each_labelled(tmp_path, capsys):
    assert main(["evaluate", "bundled", *FAST, "--json", "--report", str(tmp_path / "r")]) == 0
    info = json.loads(capsys.readouterr().out)["info"]
    whole, comparison = info["command_runtime_s"], info["runtime_s"]
    assert whole > comparison > 0  # the command reads the profiles and writes the report too

    assert _report_phrase(tmp_path / "r") == (run_time(whole), run_time(comparison))
