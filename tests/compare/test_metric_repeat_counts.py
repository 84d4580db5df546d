"""A metric that a scored repeat has nothing of (no held-out group with two candidates: no Top-1, pairwise or
regret) is averaged over fewer repeats than ``n_repeats``: with 5 held-out rows, Top-1 existed in 1 of 6 repeats
yet read as the mean of 6, and the paired table counted one win in that repeat as "1" beside "6 repeats". Each
summary now carries ``<metric>_repeats``; text, report and JSON say how many repeats each figure is over."""
from __future__ import annotations

import json

import pandas as pd
import pytest
from stand_ins import sparse_evaluation

from energylens.cli.main import main as cli_main
from energylens.compare.report import write_report
from energylens.compare.report_tables import format_summary, paired_wins


@pytest.fixture(scope="module")
def sparse():
    """Six repeats of 5 held-out rows: only repeat 0's rows hold a group with two candidates."""
    return sparse_evaluation()


def test_the_summary_counts_the_repeats_each_metric_is_averaged_over(sparse):
    s = sparse.summary().set_index("method")
    assert (s["n_repeats"] == 6).all()
    assert (s["top1_repeats"] == 1).all() and (s["pairwise_repeats"] == 1).all()
    assert (s["regret_pct_repeats"] == 1).all() and (s["mape_repeats"] == 6).all()
    assert (s["top1_tpot_repeats"] == 0).all()  # n/a: no repeat had it
    per_repeat = sparse.summary(by=("repeat", "method"))
    assert per_repeat["top1_repeats"].tolist() == [1, 1] + [0] * 10


def test_the_terminal_table_notes_a_metric_over_fewer_repeats(sparse):
    text = format_summary(sparse)
    assert "note: every method: Top-1, pairwise, regret over 1 of 6 repeats" in text  # (energylens and llmcarbon)
    assert "MAPE over" not in text and "@TPOT over" not in text  # all 6, and none (n/a)


def test_the_paired_table_cells_say_what_they_are_out_of(sparse, tmp_path):
    pw = paired_wins(sparse).set_index("method")
    assert pw.loc["llmcarbon", "repeats"] == 6
    assert pw.loc["llmcarbon", ["top1_repeats", "pairwise_repeats", "regret_pct_repeats"]].tolist() == [1, 1, 1]
    text = write_report(sparse, tmp_path / "r").read_text()
    assert "| llmcarbon | 1 of 1 | 1 of 1 | 1 of 1 | 6 |" in text
    assert "- every method: Top-1, pairwise, regret over 1 of 6 repeats" in text.split("## Headline")[1]


def test_the_json_summary_and_paired_table_carry_the_counts(capsys):
    args = ["evaluate", "bundled", "--splits", "random", "--repeats", "3", "--train-size", "351", "--methods",
            "energylens,llmcarbon", "--json", "--no-progress"]
    assert cli_main(args) == 0
    out = json.loads(capsys.readouterr().out)
    s = pd.DataFrame(out["summary"]).set_index("method")
    assert (s["n_repeats"] == 3).all() and (s["top1_repeats"] == 1).all() and (s["mape_repeats"] == 3).all()
    assert out["paired"] == [{"method": "llmcarbon", "repeats": 3, "top1": 0.5, "top1_repeats": 1, "pairwise": 0.5,
                              "pairwise_repeats": 1, "regret_pct": 0.5, "regret_pct_repeats": 1}]
