"""``energylens evaluate`` printed "run time 193 s" for a 218 s run (``time``: the bundled rows, every split, 2-core
box): the figure was the comparison's (info.runtime_s: its fits and scoring), not the reading of the input, the
baselines' checks, the tables and the report; and the demo's "full comparison (125 s; ...)" read as the demo's time.
evaluate's line now times the command, with the comparison's share named; the demo's names what it times."""

from __future__ import annotations

import re
import time

from energylens.cli import demo
from energylens.cli import evaluate as evaluate_cli
from energylens.cli.main import main
from energylens.profiles.datasets import mlenergy_v2

FAST = ["--repeats", "1", "--splits", "random", "--no-progress", "--methods", "llmcarbon"]


def test_evaluates_run_time_counts_the_report_too(tmp_path, capsys, monkeypatch):
    write = evaluate_cli.write_report_folder

    def slow(*args, **kwargs):  # a report written on a slow disk: part of the command's time
        time.sleep(1.0)
        return write(*args, **kwargs)

    monkeypatch.setattr(evaluate_cli, "write_report_folder", slow)
    assert main(["evaluate", "bundled", *FAST, "--report", str(tmp_path / "r")]) == 0
    line = [x for x in capsys.readouterr().out.splitlines() if x.startswith("run time ")][0]
    match = re.match(r"run time ([0-9.]+) s \(of which the comparison's fits and scoring ([0-9.]+) s\)", line)
    assert match, line
    whole, comparison = map(float, match.groups())
    assert whole >= comparison + 0.9, line


def test_the_demos_comparison_line_says_what_it_times(tmp_path):
    text = demo.demo_comparison(tmp_path / "r", repeats=1, seed=0, train_size=30, profiles=mlenergy_v2(),
                                progress=False)
    last = text.splitlines()[-1]
    assert re.match(r"full comparison \(its fits and scoring [0-9]+ s; each column", last), last
