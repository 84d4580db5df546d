"""A report of a run without the random split (`--splits unseen_model,unseen_gpu` on one GPU's rows) had an empty
"## Plots" heading, a "Files" paragraph describing predictions.csv as the random split's held-out rows (the file
held a blank line, not even its header), and no word of the asked split that could not be drawn (unseen_gpu: stderr alone said so,
so a report read later did not). Now the report says why there is no plot, that predictions.csv is empty (its
columns, as a run with the random split writes them) and why,
and names each asked split that gave nothing, with the reason (``info.empty_splits`` in ``--json`` too)."""

from __future__ import annotations

import json

from energylens.cli.main import main
from energylens.profiles.datasets import mlenergy_v2


def _one_gpu(tmp_path):
    df = mlenergy_v2()
    df[df["gpu"].str.contains("A100")].to_csv(tmp_path / "a100.csv", index=False)


def test_the_report_says_what_a_run_without_the_random_split_lacks(tmp_path, monkeypatch, capsys):
    _one_gpu(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert main(["evaluate", "a100.csv", "--splits", "unseen_model,unseen_gpu", "--methods", "llmcarbon",
                 "--no-progress", "--report", "r"]) == 0
    text = (tmp_path / "r" / "report.md").read_text()
    assert ("Note: asked for, but nothing to evaluate on this data: unseen_gpu (it holds out one GPU and needs rows "
            "of two GPUs or more).") in text, text[:1500]
    plots = text.split("## Plots")[1].split("## Files")[0].strip()
    assert plots == ("None: the predicted-against-measured and per-group plots show the random split, which this run "
                     "did not include (--splits)."), plots
    assert "`predictions.csv`: empty (its header only): it holds the random split's held-out rows" in text
    assert (tmp_path / "r" / "predictions.csv").read_text() == ("repeat,method,data_row,group,modality,energy_j,"
                                                                "predicted_energy_j,energy_scale\n")  # (was "\n")
    assert main(["evaluate", "a100.csv", "--splits", "random", "--repeats", "1", "--methods", "llmcarbon",
                 "--no-progress", "--report", "r2"]) == 0
    assert (tmp_path / "r2" / "predictions.csv").read_text().split("\n")[0] == ("repeat,method,data_row,group,"
                                                                              "modality,energy_j,predicted_energy_j,"
                                                                              "energy_scale")


def test_the_json_info_names_the_empty_splits(tmp_path, monkeypatch, capsys):
    _one_gpu(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert main(["evaluate", "a100.csv", "--splits", "unseen_model,unseen_gpu", "--methods", "llmcarbon",
                 "--no-progress", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)["info"]
    assert info["empty_splits"] == {"unseen_gpu": "it holds out one GPU and needs rows of two GPUs or more"}
