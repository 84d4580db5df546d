"""The evaluation report read as an ML-infrastructure engineer reads it (audit of 2026-12-06): every sentence
about a method follows the run (a method whose fit failed everywhere read "in n/a of groups, with a mean regret
of nan %"), the ensembles' inputs are named from the columns they are given (the note listed "layers, width, KV
width", the 15 columns of before 370304c), every figure says what it is over (the break-downs named no split, the
extrapolation tables no repeats or folds, the predicted-vs-measured plot no repeat), the headline's "Mean ±
standard deviation" holds for its MAPE and regret columns too (they showed the mean alone: wilkins2024's MAPE of
620 % came from repeats of 92 % and 1500 %), and the plots label what they draw."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_methods import fake_gpu_spec, synthetic_profiles

from energylens.compare import findings, registry, report_tables
from energylens.compare import runner as ev
from energylens.compare.inputs import BASELINE_FEATURES
from energylens.compare.methods import MethodBase
from energylens.compare.report import write_report
from energylens.compare.result import EvaluationResult

pytest.importorskip("matplotlib")
pytest.importorskip("sklearn")


class Broken(MethodBase):
    """A method whose fit fails in every repeat."""

    name = "broken"

    def fit(self, train_df):
        raise ValueError("singular design matrix")

    def predict_energy(self, df):
        return df["energy_j"].to_numpy(dtype=float)


@pytest.fixture(scope="module")
def res():
    frame = synthetic_profiles()
    return ev.run_evaluation(
        frame, train_size=30, repeats=3, progress=False, splits=("random", "curve", "unseen_gpu"),
        curve_sizes=(12, 25),
        methods=lambda seed: registry.default_methods(
            seed=seed, gpu_spec=fake_gpu_spec, include=("energylens", "wilkins2024", "llmcarbon", "random_forest"))
        + [Broken()])


@pytest.fixture(scope="module")
def folder(res, tmp_path_factory):
    """The report folder of ``res``, written once for the tests that read it."""
    out = tmp_path_factory.mktemp("rep") / "r"
    write_report(res, out)
    return out


@pytest.fixture(scope="module")
def text(folder):
    return (folder / "report.md").read_text()


def _section(text: str, title: str) -> str:
    return text.split(f"## {title}")[1].split("\n## ")[0]


def test_the_ensemble_note_names_the_columns_the_learners_read(res):
    note = [n for n in findings.method_notes(res) if n.startswith("- **random_forest")][0]
    for name in BASELINE_FEATURES:
        assert f"`{name}`" in note, name
    assert "KV width" not in note and "layers, width" not in note
    assert f"{len(BASELINE_FEATURES)} columns" in note


def test_a_method_without_figures_has_no_nan_sentence(res, text):
    notes = "\n".join(findings.method_notes(res))
    assert "nan" not in notes
    assert "nan" not in text.replace("`nan`", "")
    failed = [line for line in text.splitlines() if line.startswith("- Failed fits")][0]
    assert "broken:" in failed and "ValueError: singular design matrix" in failed
    headline = _section(text, "Headline")
    assert "broken's fit failed in every repeat" in headline


def test_failed_baseline_notes_say_so_instead_of_quoting_nan():
    s = pd.DataFrame({"top1": [0.8, np.nan], "regret_pct": [1.0, np.nan], "n_repeats": [3, 0],
                      "n_failed_repeats": [0, 3]}, index=["energylens", "latency_proxy"])
    note = findings._latency_proxy(s)
    assert "nan" not in note and "n/a of groups" not in note
    assert "fit failed in every repeat" in note


def test_the_headline_gives_the_spread_of_mape_regret_and_spearman(res, text):
    h = report_tables.headline(res).set_index("method")
    assert h.loc["wilkins2024", "mape_std"] > 0
    row = [line for line in _section(text, "Headline").splitlines() if line.startswith("| wilkins2024 |")][0]
    cells = [c.strip() for c in row.strip("|").split("|")]
    header = [c.strip() for c in _section(text, "Headline").splitlines()[2].strip("|").split("|")]
    for col, metric in (("MAPE %", "mape"), ("regret %", "regret_pct"), ("Spearman", "spearman")):
        assert cells[header.index(col)] == report_tables.fmt(
            h.loc["wilkins2024", metric], h.loc["wilkins2024", f"{metric}_std"], pct=metric != "spearman"), col
        assert "±" in cells[header.index(col)] or h.loc["wilkins2024", f"{metric}_std"] == 0


def test_the_paper_table_does_not_head_a_baselines_figure_as_ours(text):
    paper = _section(text, "The paper's claims side by side")
    assert "energylens, this data" not in paper
    assert "| metric | paper | this run |" in paper


def test_each_table_says_what_it_averages(res, text):
    n = res.info["train_size"]
    for title in ("By modality", "By task"):
        sec = _section(text, title)
        assert f"random split ({n} training rows, the rest held out)" in sec, title
        assert "mean over the 3 repeats" in sec, title
    gpu = _section(text, "Unseen GPU")
    units = res.table[(res.table.split == "unseen_gpu") & (res.table.method == "energylens")]
    for variant, g in units.groupby("variant"):
        reps, folds = g["repeat"].nunique(), g[["repeat", "detail"]].drop_duplicates().groupby("repeat").size()
        each = ", each" if reps > 1 else ""
        assert f"{variant}: {reps} repeat{'s' if reps > 1 else ''}{each} pooling {int(folds.iloc[0])} directions" \
            in gpu, variant
    eff = _section(text, "Sample efficiency")
    held = res.table[(res.table.split == "curve") & (res.table.method == "energylens")]
    per = held.groupby(["repeat", "train_size"])["n_rows"].sum().groupby("repeat").first()
    assert f"{int(per.iloc[0])} held-out rows per repeat" in eff
    assert "3 repeats" in eff


def test_the_plots_section_says_what_each_plot_shows(res, text):
    plots = _section(text, "Plots")
    first = int(res.predictions["repeat"].min())
    assert f"random split, repeat {first}" in plots
    assert "wilkins2024" in plots or "every method" in plots


def test_the_report_keeps_the_rows_its_figures_come_from(res, text, folder):
    """The per-row predictions behind MAPE, Top-1 and the predicted-vs-measured plot were not written, so no figure
    of the report could be recomputed from its folder; predictions.csv now holds them (1-based data rows)."""
    import pandas as pd

    from energylens.cli.evaluate import REPORT_FILES

    p = pd.read_csv(folder / "predictions.csv")
    assert {"repeat", "method", "data_row", "group", "energy_j", "predicted_energy_j"} <= set(p.columns)
    assert p["data_row"].min() >= 1
    ours = p[p["method"] == "energylens"]
    ape = (ours["predicted_energy_j"] - ours["energy_j"]).abs() / ours["energy_j"] * 100
    per_repeat = ape.groupby(ours["repeat"]).mean()
    assert report_tables.headline(res).set_index("method").loc["energylens", "mape"] == pytest.approx(per_repeat.mean())
    assert "predictions.csv" in REPORT_FILES and "predictions.csv" in text


def test_a_tie_is_not_read_as_a_lead(monkeypatch):
    """Under a loose TPOT SLO on the v3 rows ours and llmcarbon both read Top-1 1.000 and regret 0.0 %, and the
    report said "ranks first by Top-1 (1.000; best other: llmcarbon 1.000) ... first by regret (0.0 %; best other:
    llmcarbon 0.0 %)": a tie read as a lead, and a regret order hidden by rounding."""
    s = pd.DataFrame({"top1": [1.0, 1.0, 0.2], "pairwise": [0.98, 0.97, 0.5], "regret_pct": [0.04, 0.01, 70.0],
                      "n_repeats": [2, 2, 2], "n_failed_repeats": [0, 0, 0]},
                     index=["energylens", "llmcarbon", "wilkins2024"])
    monkeypatch.setattr(findings, "random_summary", lambda result: s)
    text = findings.standing(EvaluationResult(pd.DataFrame(), pd.DataFrame(), {"train_size": 50}))
    assert "first by Top-1 (1.000, tied with llmcarbon)" in text
    assert "second by regret (0.04 %; best other: llmcarbon 0.01 %)" in text
    assert "first by pairwise accuracy (0.980; best other: llmcarbon 0.970)" in text


def test_the_headline_defines_every_column_it_shows(text):
    """The caption defined Top-1, regret, pairwise and MAPE; Top-1 @TPOT, parallelism and Spearman, three of the
    headline's columns, were defined nowhere in the report."""
    caption = _section(text, "Headline").split("Mean ± standard deviation")[1].split("\n\n")[0]
    assert "`Top-1 @TPOT`" in caption and "median measured TPOT" in caption
    assert "`parallelism`" in caption and "GPU counts" in caption
    assert "`Spearman`" in caption and "three or more" in caption
    assert "population standard deviation (ddof 0)" in caption  # summarize's std: with 3 repeats 18 % below ddof 1


def test_the_paper_table_says_its_top1_is_under_the_slo(tmp_path):
    """With --tpot-slo the run's Top-1 is taken among the candidates meeting the SLO, and the paper table set it
    beside the paper's Top-1 as "Top-1 selection accuracy" without a word."""
    frame = synthetic_profiles()
    slo = float(frame["tpot_s"].median())
    res = ev.run_evaluation(frame, train_size=30, repeats=2, progress=False, splits=("random",), tpot_slo_s=slo,
                            methods=lambda seed: registry.default_methods(
                                seed=seed, gpu_spec=fake_gpu_spec, include=("energylens", "llmcarbon")))
    paper = _section(write_report(res, tmp_path / "r").read_text(), "The paper's claims side by side")
    top1_rows = [line for line in paper.splitlines() if line.startswith("| Top-1")]
    assert len(top1_rows) == 2 and all(f"TPOT SLO {slo:g} s" in line for line in top1_rows)
    assert not [line for line in paper.splitlines() if line.startswith("| Pairwise") and "SLO" in line]


def test_an_empty_paper_row_and_a_single_draw_say_why(res, text):
    """The synthetic rows (like the bundled v2 data) hold no video rows: the paper table read "Pairwise, video+text
    | 0.833 | n/a" with no reason; and a split scored once read "then mean ± standard deviation over repeats"."""
    paper = _section(text, "The paper's claims side by side")
    assert "video" not in set(res.table["modality"])
    assert "- Pairwise, video+text: n/a, no video rows in this run's held-out rows" in paper
    assert "Pairwise, text: n/a" not in paper
    gpu = _section(text, "Unseen GPU")
    assert "k=0: 1 repeat pooling" in gpu and "mean ± standard deviation over repeats" in gpu  # k=5, k=10: repeats
    from energylens.compare.report import _passes

    once = pd.DataFrame({"method": "m", "repeat": 0, "detail": ["a", "b"]})
    assert _passes(once, (), "folds") == "Scored in 1 repeat pooling 2 folds (figures pooled over its held-out rows; one draw, no ±)."


def test_a_metric_ours_lacks_does_not_stop_the_standing_sentence(monkeypatch):
    """Groups whose held-out rows all measure the same energy give a Top-1 but no pairwise (no pair to order):
    the sentence looked ours up among the methods with a value and raised KeyError, stopping the report."""
    s = pd.DataFrame({"top1": [1.0, 0.5], "pairwise": [np.nan, 0.5], "regret_pct": [0.0, 3.0],
                      "n_repeats": [2, 2], "n_failed_repeats": [0, 0]}, index=["energylens", "llmcarbon"])
    monkeypatch.setattr(findings, "random_summary", lambda result: s)
    text = findings.standing(EvaluationResult(pd.DataFrame(), pd.DataFrame(), {"train_size": 50}))
    assert "pairwise accuracy n/a" in text and "first by Top-1 (1.000; best other: llmcarbon 0.500)" in text


def test_without_ours_a_shared_best_top1_names_every_method_that_reached_it(monkeypatch):
    """Without energylens the sentence named the first of the methods at the best Top-1 ("Best Top-1: llmcarbon
    (1.000)") when wilkins2024 read 1.000 too."""
    s = pd.DataFrame({"top1": [1.0, 1.0, 0.5]}, index=["llmcarbon", "wilkins2024", "xgboost"])
    monkeypatch.setattr(findings, "random_summary", lambda result: s)
    text = findings.standing(EvaluationResult(pd.DataFrame(), pd.DataFrame(), {"train_size": 3}))
    assert text == "Best Top-1 on the random split (3 training rows): llmcarbon and wilkins2024 (1.000, tied)."
