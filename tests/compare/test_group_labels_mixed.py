"""A group that spans several tasks or modalities (``--group-by`` without ``task``: ``model,gpu``, ``max_num_seqs``)
was labelled with its first row's task and modality, so the worst-task list and the report's "By task" / "By
modality" tables put every row of the group under that one task: ``energylens evaluate v3.csv --group-by
max_num_seqs`` listed one worst task, "gpqa", with the MAPE of all five tasks' rows."""
from __future__ import annotations

import numpy as np
import pandas as pd

from energylens.cli.main import main as cli_main
from energylens.compare import metrics as M
from energylens.compare.report import write_report
from energylens.compare.runner import run_evaluation
from energylens.profiles.datasets import mlenergy_v2


def _two_tasks() -> pd.DataFrame:
    """The bundled rows of one (task, model, GPU), the later half relabelled as a second task (one model served
    on two workloads, as a user's table has it)."""
    v2 = mlenergy_v2()
    first = v2.iloc[0]
    df = v2[(v2["task"] == first["task"]) & (v2["model"] == first["model"]) & (v2["gpu"] == first["gpu"])]
    df = df.reset_index(drop=True)
    df.loc[len(df) // 2:, "task"] = "summarise"
    return df


def test_a_group_of_several_tasks_is_labelled_with_all_of_them():
    df = _two_tasks()
    tasks = list(dict.fromkeys(df["task"]))
    assert len(tasks) >= 2
    out = M.score_groups(df, df["energy_j"].to_numpy(), ("model", "gpu"))
    assert len(out) == 1
    assert out["task"].iloc[0] == f"mixed ({', '.join(sorted(tasks))})"
    assert out["modality"].iloc[0] == df["modality"].iloc[0]  # one modality: its own name


def test_a_group_of_one_task_keeps_its_name():
    df = _two_tasks()
    out = M.score_groups(df, df["energy_j"].to_numpy(), ("task", "model", "gpu"))
    assert sorted(out["task"]) == sorted(dict.fromkeys(df["task"]))
    one = df[df["task"] == df["task"].iloc[0]]
    assert M.score_groups(one, one["energy_j"].to_numpy(), ("model", "gpu"))["task"].tolist() == [one["task"].iloc[0]]


def test_mixed_modalities_are_labelled_as_such():
    v2 = mlenergy_v2()
    gpu = v2["gpu"].iloc[0]
    df = v2[v2["gpu"] == gpu].reset_index(drop=True)
    assert df["modality"].nunique() >= 2
    out = M.score_groups(df, df["energy_j"].to_numpy(), ("gpu",))
    assert out["modality"].iloc[0].startswith("mixed (") and "text" in out["modality"].iloc[0]


def test_the_worst_task_list_does_not_credit_one_task_with_every_row(tmp_path, capsys):
    path = tmp_path / "p.csv"
    mlenergy_v2().to_csv(path, index=False)
    assert cli_main(["evaluate", str(path), "--repeats", "1", "--splits", "random", "--methods", "energylens",
                     "--group-by", "gpu", "--no-progress"]) == 0
    out = capsys.readouterr().out
    tasks = out.split("worst tasks")[1].split("\n\n")[0].splitlines()[1:]
    assert tasks and all(line.strip().startswith("mixed (") for line in tasks), tasks
    assert not np.any([line.strip().startswith(("chat ", "code ")) for line in tasks])


def test_a_blank_task_in_a_mixed_group_is_named():
    df = _two_tasks()
    df.loc[0, "task"] = ""
    out = M.score_groups(df, df["energy_j"].to_numpy(), ("model", "gpu"))
    assert out["task"].iloc[0] == "mixed ((no task), chat, summarise)"


def test_the_report_says_a_modality_was_held_out_only_in_mixed_groups(tmp_path):
    v2 = mlenergy_v2()
    res = run_evaluation(v2, train_size=50, repeats=1, group_by=("gpu",), splits=["random"],
                         method_names=["energylens"], progress=False)
    assert set(res.table["modality"]) == {"mixed (image, text)"}
    text = write_report(res, tmp_path).read_text()
    assert "- Pairwise, image+text: n/a, the image rows were held out only in groups mixing modalities" in text
    assert "no image rows in this run's held-out rows" not in text


def test_one_set_of_tasks_is_one_label_whatever_the_row_order():
    """'mixed (code, image-chat, chat)' and 'mixed (image-chat, chat, code)' were two keys of the worst-task list
    and the By task table: the tasks were named in their groups' row order."""
    df = _two_tasks()
    flipped = df.iloc[::-1].reset_index(drop=True)
    a = M.score_groups(df, df["energy_j"].to_numpy(), ("model", "gpu"))["task"].iloc[0]
    b = M.score_groups(flipped, flipped["energy_j"].to_numpy(), ("model", "gpu"))["task"].iloc[0]
    assert a == b == "mixed (chat, summarise)"


def test_a_blank_number_in_a_group_column_is_labelled_as_the_note_says():
    """--group-by max_num_seqs with blank cells: the run notes they are ranked among themselves 'as (no
    max_num_seqs)', but the worst-group list read 'nan' (and the others '64.0')."""
    df = mlenergy_v2().head(12).reset_index(drop=True)
    df["max_num_seqs"] = df["max_num_seqs"].astype(float)
    df.loc[[0, 1], "max_num_seqs"] = np.nan
    out = M.score_groups(df, df["energy_j"].to_numpy(), ("max_num_seqs",))
    assert "(no max_num_seqs)" in set(out["group"]) and "nan" not in set(out["group"])
    assert all(g == "(no max_num_seqs)" or g == str(int(float(g))) for g in out["group"]), list(out["group"])
