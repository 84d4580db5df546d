"""The legend under the terminal table read "over the 1 held-out (task, model, gpu) groups with two or more rows per
repeat" for a file of one group; it now reads "group" where the count is one."""

from __future__ import annotations

from energylens.compare.report_tables import format_summary
from energylens.compare.runner import run_evaluation
from energylens.profiles.datasets import mlenergy_v2


def test_one_group_is_one_group():
    df = mlenergy_v2()
    one = df[(df["task"] == "chat") & df["model"].str.contains("Mixtral-8x22B") & df["gpu"].str.contains("A100")]
    res = run_evaluation(one, train_size=5, repeats=2, splits=["random"], method_names=["llmcarbon"], progress=False)
    text = " ".join(format_summary(res, explain=True).split())
    assert "over the 1 held-out (task, model, gpu) group with two or more rows per repeat;" in text, text
    two = run_evaluation(df[df["model"].str.contains("Mixtral-8x22B") & (df["task"] == "chat")], train_size=5,
                         repeats=1, splits=["random"], method_names=["llmcarbon"], progress=False)
    assert "over the 2 held-out (task, model, gpu) groups with two" in " ".join(format_summary(two, explain=True).split())
