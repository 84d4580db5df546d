"""``energylens evaluate`` as a new user meets it (audit of 2026-12-07): a variant of ours named in --methods without
the option that adds it, a run time of "0 s" for a run that took a few tenths, and a report ranking ours "first ...
among 1 methods" with an empty section. Each test failed before its fix."""
from __future__ import annotations

import json

import pytest

from energylens.cli.main import main
from energylens.compare import findings
from energylens.compare.report import write_report
from energylens.compare.report_tables import count
from energylens.compare.runner import run_evaluation
from energylens.profiles.datasets import mlenergy_v2

FAST = ["--repeats", "1", "--splits", "random", "--no-progress"]


@pytest.fixture(scope="module")
def ours_alone(tmp_path_factory):
    """energylens alone on the bundled rows (50 training rows, one repeat, random split) and its report.md text,
    built once for the tests that read them."""
    res = run_evaluation(mlenergy_v2(), train_size=50, repeats=1, splits=["random"], method_names=["energylens"],
                         progress=False)
    return res, write_report(res, tmp_path_factory.mktemp("ours")).read_text()


@pytest.mark.parametrize(("asked", "options", "needs"), [
    ("energylens+prior", [], "--prior bundled|MODEL.json"),
    ("energylens+model", [], "--calibrate model"),
    ("energylens+family", ["--calibrate", "model"], "--calibrate family"),
    ("energylens+model+prior", ["--calibrate", "model"], "--calibrate model and --prior bundled|MODEL.json"),
])
def test_a_variant_named_without_its_option_says_which_option_adds_it(asked, options, needs, capsys):
    """It read "unknown method(s) ['energylens+prior']; known: ['energylens', ...]", naming no option."""
    assert main(["evaluate", "bundled", "--methods", asked, *options, *FAST]) == 2
    err = capsys.readouterr().err
    assert f"--methods {asked}: a variant of energylens added by {needs}" in err, err
    assert "unknown method" not in err


def test_a_misspelt_variant_is_still_an_unknown_method(capsys):
    assert main(["evaluate", "bundled", "--methods", "energylens+prio", *FAST]) == 2
    assert "unknown method(s) ['energylens+prio']" in capsys.readouterr().err


def test_a_short_run_time_is_not_printed_as_zero(tmp_path, capsys):
    """'run time 0 s' for a run of 0.3 s (and the same in report.md)."""
    assert main(["evaluate", "bundled", "--methods", "llmcarbon", *FAST, "--report", str(tmp_path / "r")]) == 0
    out = capsys.readouterr().out
    line = [x for x in out.splitlines() if x.startswith("run time ")][0]
    assert line != "run time 0 s" and not line.startswith("run time 0 s;")
    seconds = float(line.split()[2])
    assert 0 < seconds < 60
    assert "run time 0 s." not in (tmp_path / "r" / "report.md").read_text()


def test_one_method_is_not_ranked_among_itself(ours_alone):
    res, md = ours_alone
    text = findings.standing(res)
    assert "among 1 methods" not in text and "ranks first" not in text
    assert text.startswith("On the random split (50 training rows), energylens is the only method with results: "
                           "Top-1 ")
    notes = md.split("## Notes on the methods")[1].split("## ")[0]
    assert notes.strip(), "an empty section"


def test_the_terminal_table_says_what_its_figures_are_over(capsys):
    """The terminal table named the repeats and training rows but not what Top-1 or MAPE are over: how many held-out
    groups (with two candidates or more) and rows, nor what each column measures (the report says it)."""
    assert main(["evaluate", "bundled", "--methods", "energylens,llmcarbon", "--repeats", "2", "--splits", "random",
                 "--no-progress", "--json"]) == 0
    groups = json.loads(capsys.readouterr().out)["summary"][0]["n_groups"]
    assert main(["evaluate", "bundled", "--methods", "energylens,llmcarbon", "--repeats", "2", "--splits", "random",
                 "--no-progress"]) == 0
    out = capsys.readouterr().out
    table = out.split("\n\n")[0]
    assert (f"Top-1: the predicted cheapest configuration is a measured cheapest, over the {count(groups)} held-out "
            "(task, model, gpu) groups with two or more rows per repeat") in " ".join(table.split())
    assert "MAPE: mean |predicted - measured| / measured energy per request over the 306 held-out rows" \
        in " ".join(table.split())
    for column in ("@TPOT:", "parallel:", "pairwise:", "regret:"):
        assert column in table


def test_the_units_warning_gives_the_mape_in_percent_as_the_table_does(tmp_path, capsys):
    """energy_j in Wh: the warning read 'training MAPE 52.8 is above 0.5' (a fraction) above a table whose
    'MAPE %' column read 5326.5, so the two looked a hundredfold apart."""
    data = mlenergy_v2()
    data["energy_j"] = data["energy_j"] / 3600
    path = tmp_path / "wh.csv"
    data.to_csv(path, index=False)
    assert main(["evaluate", str(path), "--methods", "energylens", *FAST]) == 0
    err = capsys.readouterr().err
    warning = [x for x in err.splitlines() if "training MAPE" in x][0]
    assert "is above 50 %" in warning and "is above 0.5" not in warning
    mape = float(warning.split("training MAPE ")[1].split(" %")[0])
    assert mape > 1000  # joules read as Wh: thousands of percent


def test_the_reports_by_task_table_names_rows_without_a_task(tmp_path):
    """Rows that leave task blank: the terminal's worst-task list names them '(no task)', the report's By task table
    had an empty first cell."""
    data = mlenergy_v2()
    data.loc[data.index[::4], "task"] = ""
    res = run_evaluation(data, train_size=50, repeats=1, splits=["random"], method_names=["energylens"],
                         progress=False)
    md = write_report(res, tmp_path).read_text()
    by_task = md.split("## By task")[1].split("## ")[0]
    assert "| (no task) | energylens |" in by_task
    assert "\n|  | energylens |" not in by_task and "\n| nan | energylens |" not in by_task


def test_the_reports_command_is_the_run_and_quoted(tmp_path, capsys):
    """report.md's 'Command:' joined sys.argv unquoted: a path with a space ('my data.csv') split into two words,
    and main([...]) called from Python (a script, a notebook, this test) recorded its caller's argv instead."""
    import shlex

    from energylens.cli.main import build_parser

    path = tmp_path / "my data.csv"
    mlenergy_v2().to_csv(path, index=False)
    argv = ["evaluate", str(path), "--methods", "energylens", "--tpot-slo", "0.1", *FAST, "--report",
            str(tmp_path / "rep")]
    assert main(argv) == 0
    md = (tmp_path / "rep" / "report.md").read_text()
    cmd = md.split("Command: `")[1].split("`")[0]
    words = shlex.split(cmd)
    assert words[:2] == ["energylens", "evaluate"] and words[2] == str(path)
    ran, again = vars(build_parser().parse_args(argv)), vars(build_parser().parse_args(words[1:]))
    assert {k: v for k, v in again.items() if k != "func"} == {k: v for k, v in ran.items() if k != "func"}


def test_the_worst_lists_say_how_many_they_are_of(capsys):
    """'energylens: worst groups (random split, by MAPE; ...)' listed 5 groups without saying of how many: the 5
    worst of 57, or every group?"""
    assert main(["evaluate", "bundled", "--methods", "energylens", "--repeats", "2", "--splits", "random",
                 "--no-progress", "--json"]) == 0
    worst = json.loads(capsys.readouterr().out)["worst"]
    res = run_evaluation(mlenergy_v2(), train_size=50, repeats=2, splits=["random"], method_names=["energylens"],
                         progress=False)
    t = res.table
    n_groups, n_tasks = t["group"].nunique(), t["task"].nunique()
    assert len(worst["group"]) == 5 and len(worst["task"]) == n_tasks == 3
    assert main(["evaluate", "bundled", "--methods", "energylens", "--repeats", "2", "--splits", "random",
                 "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert f"energylens: worst groups (5 of {n_groups} held out; random split, by MAPE;" in out
    assert f"energylens: worst tasks ({n_tasks} of {n_tasks} held out; random split, by MAPE;" in out


def test_the_held_out_hint_does_not_ask_for_a_prior_already_given(tmp_path, capsys):
    """With --prior given and energylens+prior scored, a run holding out one row said 'give --train-size 3 or less
    (... or add --prior to score energylens+prior)'."""
    path = tmp_path / "five.csv"
    data = mlenergy_v2()
    data["energy_j"] *= 1.3  # not the bundled rows (--prior bundled refuses those)
    data.head(5).to_csv(path, index=False)
    args = ["evaluate", str(path), "--train-size", "4", "--methods", "energylens+prior,llmcarbon", "--repeats", "2",
            "--splits", "random", "--no-progress"]
    assert main([*args, "--prior", "bundled"]) == 0
    out = capsys.readouterr().out
    assert "give --train-size 3 or less" in out and "add --prior" not in out
    assert main([*args[:5], "llmcarbon", *args[6:]]) == 0  # without a prior the hint names it
    assert "add --prior to score energylens+prior" in capsys.readouterr().out


def test_under_a_tpot_slo_the_legend_says_top1_is_over_each_methods_groups(capsys):
    assert main(["evaluate", "bundled", "--methods", "energylens", "--repeats", "1", "--splits", "random",
                 "--tpot-slo", "0.1", "--no-progress"]) == 0
    table = " ".join(capsys.readouterr().out.split("\n\n")[0].split())
    assert ("Top-1: the predicted cheapest configuration is a measured cheapest, among the rows meeting the 0.1 s "
            "TPOT SLO (predicted and measured), over each method's `groups` (task, model, gpu) per repeat") in table


def test_without_a_random_split_the_table_says_what_its_figures_are_over(capsys):
    """--splits unseen_model: the table had Top-1, pairwise, MAPE and regret per split with no count of groups
    and no word on what each measures."""
    assert main(["evaluate", "bundled", "--splits", "unseen_model,unseen_batch", "--methods", "energylens",
                 "--no-progress", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)["summary"]
    assert main(["evaluate", "bundled", "--splits", "unseen_model,unseen_batch", "--methods", "energylens",
                 "--no-progress"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[-1] == "groups"
    for r in summary:
        row = next(x for x in lines if x.startswith(r["split"]))
        assert row.split()[-1] == count(r["n_groups"])
    text = " ".join(" ".join(lines).split())
    assert ("groups: held-out (task, model, gpu) groups with two or more rows per repeat (unseen_*: every fold of "
            "the repeat together)") in text
    assert "MAPE: mean |predicted - measured| / measured energy per request over the held-out rows" in text


def test_the_paper_table_says_why_the_analytical_baseline_row_is_na(ours_alone, tmp_path):
    """'Top-1, best analytical baseline (n/a) | 0.609 | n/a' with no reason when neither wilkins2024 nor llmcarbon
    was run (every other n/a row of that table has one)."""
    text = ours_alone[1]
    assert ("- Top-1, best analytical baseline: n/a, no analytical baseline (wilkins2024, llmcarbon) was run "
            "(--methods)") in text
    res = run_evaluation(mlenergy_v2(), train_size=50, repeats=1, splits=["random"],
                         method_names=["energylens", "llmcarbon"], progress=False)
    assert "best analytical baseline: n/a" not in write_report(res, tmp_path / "b").read_text()
