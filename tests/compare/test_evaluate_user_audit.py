"""Findings of a user's audit of ``energylens evaluate`` (2026-12-06): report sentences whose numbers did not say
what was computed, and input that ended in a pandas message or in advice no input can follow. Each test failed
before its fix."""
from __future__ import annotations

import pandas as pd
import pytest
from stand_ins import MeasuredEnergy, bundled_v2

from energylens.cli.main import main as cli_main
from energylens.compare import findings
from energylens.compare.baselines import LLMCarbonRoofline
from energylens.compare.report import write_report
from energylens.compare.runner import run_evaluation


@pytest.fixture(scope="module")
def v2() -> pd.DataFrame:
    return bundled_v2()


class _FailsOnOddSeeds(LLMCarbonRoofline):
    """The roofline, whose fit fails in every other repeat (a method scored in only some repeats)."""

    def __init__(self, seed: int) -> None:
        super().__init__()
        self.name, self.seed = "flaky", seed

    def fit(self, train_df):
        if self.seed % 2:
            raise ValueError("fails on odd repeats")
        return super().fit(train_df)


def test_paired_wins_say_each_methods_own_repeat_count(v2, tmp_path):
    """The sentence named the first method's count ("of the 4 repeats") for every row: a method scored in 2 of the
    4 repeats and beaten in both read "2", as if ours won half of them."""
    with pytest.warns(RuntimeWarning, match="flaky failed"):
        res = run_evaluation(v2, repeats=4, splits=["random"], progress=False,
                             methods=lambda s: [MeasuredEnergy(), LLMCarbonRoofline(), _FailsOnOddSeeds(s)])
    text = write_report(res, tmp_path / "r").read_text()
    assert "of the 4 repeats" not in text
    assert "| vs | Top-1 | pairwise | regret | repeats |" in text
    assert "| llmcarbon | 4 | 4 | 4 | 4 |" in text
    assert "| flaky | 2 | 2 | 2 | 2 |" in text


def test_a_small_top1_share_is_not_written_as_0_percent():
    """latency_proxy's Top-1 of 0.005 on the bundled data read "picks the measured cheapest configuration in 0% of
    groups" (docs/evaluation.md: 0.5 %)."""
    s = pd.DataFrame({"top1": [0.789, 0.005], "regret_pct": [0.9, 86.6]}, index=["energylens", "latency_proxy"])
    note = findings._latency_proxy(s)
    assert "in 0.5 % of groups, with a mean regret of 86.6 %" in note
    assert "(energylens: 78.9 % of groups" in note
    assert " 0% " not in note


def test_a_group_column_named_twice_is_named(v2, capsys):
    """--group-by task,task,model,gpu ended in pandas' "Grouper for 'task' not 1-dimensional"."""
    with pytest.raises(ValueError, match=r"group column\(s\) \['task'\] named more than once"):
        run_evaluation(v2, group_by=("task", "task", "model", "gpu"), repeats=1, splits=["random"],
                       methods=lambda s: [MeasuredEnergy()], progress=False)
    assert cli_main(["evaluate", "bundled", "--group-by", "task,task,model,gpu", "--splits", "random",
                     "--repeats", "1", "--methods", "energylens", "--no-progress"]) == 2
    assert "named more than once (--group-by)" in capsys.readouterr().err


def test_one_data_row_is_not_told_to_choose_a_train_size_below_1(v2, tmp_path, capsys):
    """One data row: "the profiles have 1 rows; choose a train size below 1" (no train size is); the curve split
    said "1 rows are too few"."""
    path = tmp_path / "one.csv"
    v2.iloc[[0]].to_csv(path, index=False)
    for splits in ("random", "curve"):
        assert cli_main(["evaluate", str(path), "--splits", splits, "--methods", "llmcarbon", "--no-progress"]) == 2
        (err,) = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]
        assert "below 1" not in err and "1 rows" not in err, err
        assert f"{path} has 1 row" in err  # (the file named since 2026-12-07: "the profiles have 1 row" before)
