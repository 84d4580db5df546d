"""The report folder's CSV files carry figures without units in their column names: ``summary.csv``'s ``mape``
reads 15.45 (per cent: the report's "MAPE %" 15.5) beside ``top1`` 0.93 (a fraction), ``results.csv``'s ``ape_sum``
is a sum of per-cent errors, while ``energylens fit`` prints its training MAPE as a fraction (0.108); report.md's
"Files" paragraph named the files but no unit. It now says which columns are per cent, which fractions, which
joules, and the figures it describes are those of the headline table."""
from __future__ import annotations

import pandas as pd

from energylens.cli import main


def test_the_files_paragraph_gives_the_csv_units_the_tables_use(tmp_path, capsys):
    report = tmp_path / "rep"
    assert main(["evaluate", "bundled", "--splits", "random", "--repeats", "2", "--methods", "energylens",
                 "--no-progress", "--report", str(report)]) == 0
    capsys.readouterr()
    page = (report / "report.md").read_text()
    files = page.split("## Files")[1]
    for said in ("`mape`, `regret_pct` and `ape_sum` (a sum over a group's held-out rows) are per cent",
                 "`top1`, `top1_tpot`, `parallelism`, `pairwise` and `spearman` are fractions",
                 "`energy_j` and `predicted_energy_j` are joules per request"):
        assert said in files, files
    summary = pd.read_csv(report / "summary.csv").set_index("method").loc["energylens"]
    row = next(line for line in page.splitlines() if line.startswith("| energylens |")).split(" | ")
    assert row[5].split(" ")[0] == f"{summary['mape']:.1f}" and row[1].split(" ")[0] == f"{summary['top1']:.3f}"
    results = pd.read_csv(report / "results.csv")
    ours = results[results["method"] == "energylens"]
    per_repeat = ours.groupby("repeat")["ape_sum"].sum() / ours.groupby("repeat")["n_rows"].sum()
    assert abs(per_repeat.mean() - summary["mape"]) < 1e-9
    predictions = pd.read_csv(report / "predictions.csv")
    p = predictions[predictions["method"] == "energylens"]
    ape = 100 * (p["predicted_energy_j"] - p["energy_j"]).abs() / p["energy_j"]
    assert abs(ape.groupby(p["repeat"]).mean().mean() - summary["mape"]) < 1e-9
