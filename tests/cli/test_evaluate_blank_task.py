"""evaluate on a table where some rows leave ``task`` blank: those rows form groups of their own (no row is
dropped), which the run says at the start, and the worst-task list names them '(no task)' (it printed an empty
label)."""
from __future__ import annotations

import numpy as np

from energylens.cli.main import main as cli_main
from energylens.profiles.datasets import mlenergy_v2


def test_rows_without_a_task_among_rows_with_one_are_noted_and_labelled(tmp_path, capsys):
    data = mlenergy_v2()
    data.loc[data.index[[5, 9]], "task"] = np.nan
    path = tmp_path / "p.csv"
    data.to_csv(path, index=False)
    assert cli_main(["evaluate", str(path), "--repeats", "1", "--splits", "random", "--methods", "energylens",
                     "--no-progress"]) == 0
    captured = capsys.readouterr()
    assert (f"2 of {len(data)} rows of {path} leave task blank (rows, 1-based: [6, 10]): they are ranked only "
            "among themselves, as '(no task)'") in captured.err
    tasks = captured.out.split("worst tasks")[1].split("\n\n")[0].splitlines()[1:]
    assert any(line.strip().startswith("(no task)") for line in tasks), tasks
    assert all(line.strip() and not line.strip().startswith("MAPE") for line in tasks), tasks


def test_a_table_with_every_task_given_prints_no_such_note(tmp_path, capsys):
    path = tmp_path / "p.csv"
    mlenergy_v2().to_csv(path, index=False)
    assert cli_main(["evaluate", str(path), "--repeats", "1", "--splits", "random", "--methods", "energylens",
                     "--no-progress"]) == 0
    assert "leave task blank" not in capsys.readouterr().err
