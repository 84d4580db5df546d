"""A break-down cell (one modality, task or group of a method) is averaged over the repeats that held out a row of
it and had something of it to score, which can be fewer than the repeats its method was scored in: with 5 held-out
rows of the bundled data, image rows were held out in 2 of 6 repeats and the only Top-1 of the text rows came from
one, yet the report's by-modality and by-task tables, the paper table's per-modality rows and the worst-task and
worst-group lists (terminal and --json) read as means of 6. Each now says its count the way the headline does
(test_metric_repeat_counts): a note "over k of n repeats", and ``<metric>_repeats`` with ``run_repeats`` in JSON."""
from __future__ import annotations

import json

import pandas as pd
import pytest
from stand_ins import MeasuredEnergy, bundled_v2, sparse_evaluation

from energylens.cli import evaluate as evaluate_cli
from energylens.cli.main import main as cli_main
from energylens.compare.report import write_report
from energylens.compare.report_tables import breakdown, paper_comparison
from energylens.compare.result import worst
from energylens.compare.runner import run_evaluation


@pytest.fixture(scope="module")
def sparse():
    """Six repeats of 5 held-out rows: image rows held out in 2, the only two-candidate group (code) in 1."""
    return sparse_evaluation()


def test_the_modality_and_task_tables_note_cells_over_fewer_repeats(sparse):
    by_modality = breakdown(sparse, "modality")
    assert "- image energylens, image llmcarbon: MAPE over 2 of 6 repeats" in by_modality
    assert "- text energylens, text llmcarbon: Top-1, pairwise, regret over 1 of 6 repeats" in by_modality
    by_task = breakdown(sparse, "task")
    assert ("- code energylens, code llmcarbon: Top-1, pairwise, regret over 1 of 6 repeats; MAPE over 5 of 6 repeats"
            in by_task)
    assert "- image-chat energylens, image-chat llmcarbon: MAPE over 2 of 6 repeats" in by_task
    assert "chat energylens:" not in by_task.replace("image-chat", "")  # MAPE in all 6, Top-1 in none (n/a)


def test_the_report_carries_the_notes_under_each_breakdown_and_the_paper_table(sparse, tmp_path):
    text = write_report(sparse, tmp_path / "r").read_text()
    modality = text.split("## By modality")[1].split("## By task")[0]
    assert "Averaged over fewer repeats:" in modality and "- image energylens, image llmcarbon: MAPE over 2 of 6 repeats" in modality
    task = text.split("## By task")[1].split("## ")[0]
    assert "- image-chat energylens, image-chat llmcarbon: MAPE over 2 of 6 repeats" in task
    paper = text.split("## The paper's claims side by side")[1].split("## ")[0]
    assert "- Pairwise, text: over 1 of 6 repeats" in paper
    assert "image+text: over" not in paper  # no image pairwise in any repeat: n/a, no note
    pc = paper_comparison(sparse).set_index("metric")
    assert pc.loc["Pairwise, text", ["repeats", "of"]].tolist() == [1, 6]
    assert pc.loc["Pairwise, image+text", ["repeats", "of"]].tolist() == [0, 6]


def test_a_breakdown_cell_over_every_repeat_has_no_note():
    v2 = bundled_v2()
    full = run_evaluation(v2, repeats=3, train_size=200, splits=["random"], progress=False,
                          methods=lambda s: [MeasuredEnergy()])
    assert "fewer repeats" not in breakdown(full, "modality")


def test_the_worst_lists_carry_and_print_the_counts(sparse, capsys):
    w = worst(sparse.table, "energylens", "task").set_index("task")
    assert (w["run_repeats"] == 6).all()
    assert w.loc["image-chat", ["n_repeats", "mape_repeats", "top1_repeats"]].tolist() == [2, 2, 0]
    assert w.loc["code", ["mape_repeats", "top1_repeats", "pairwise_repeats"]].tolist() == [5, 1, 1]
    evaluate_cli._print_worst(sparse.table)
    out = capsys.readouterr().out
    tasks = out.split("worst tasks")[1].split("worst groups")[0]
    assert "  note: code: Top-1, pairwise over 1 of 6 repeats; MAPE over 5 of 6 repeats\n" in tasks
    assert "  note: image-chat: MAPE over 2 of 6 repeats\n" in tasks
    assert "  note: chat:" not in tasks
    groups = out.split("worst groups")[1]
    assert ": Top-1, pairwise, MAPE over 1 of 6 repeats\n" in groups and "held out no row of it" in groups


def test_the_json_worst_lists_carry_the_counts(capsys):
    args = ["evaluate", "bundled", "--splits", "random", "--repeats", "3", "--train-size", "351", "--methods",
            "energylens,llmcarbon", "--json", "--no-progress"]
    assert cli_main(args) == 0
    out = json.loads(capsys.readouterr().out)
    for by in ("task", "group"):
        w = pd.DataFrame(out["worst"][by])
        assert (w["run_repeats"] == 3).all()
        for m in ("mape", "top1", "top1_tpot", "parallelism", "pairwise"):
            assert (w[f"{m}_repeats"] <= w["n_repeats"]).all()
        assert (w["mape_repeats"] < 3).any()  # 5 held-out rows: some task and group missed a repeat


def test_the_breakdown_groups_column_keeps_a_fraction_of_a_group(sparse):
    # n_groups is a mean over repeats: code's one two-candidate group in 1 of 6 repeats is 0.2 per repeat, which
    # the by-task table printed as "0" (the overview table prints one decimal)
    code = [line for line in breakdown(sparse, "task").splitlines() if line.startswith("| code | energylens ")]
    assert len(code) == 1 and code[0].rstrip(" |").endswith("| 0.2"), code
