"""``energylens evaluate`` on a user's own small tables (audit of 2026-12-06): a column of n/a with no reason, advice
that cannot help, a default run that failed for a file without the optional tpot_s, and an error naming no option.
Each test failed before its fix."""
from __future__ import annotations

import pandas as pd
import pytest

from energylens.cli.main import main
from energylens.compare.baselines import LLMCarbonRoofline
from energylens.compare.report import write_report
from energylens.compare.report_tables import format_summary
from energylens.compare.runner import run_evaluation
from energylens.profiles.datasets import mlenergy_v2


@pytest.fixture(scope="module")
def v2() -> pd.DataFrame:
    return mlenergy_v2().reset_index(drop=True)


def _h100(v2: pd.DataFrame, n: int) -> pd.DataFrame:
    return v2[v2["gpu"].str.contains("H100")].head(n).reset_index(drop=True)


def _fast(seed):
    return [LLMCarbonRoofline()]


def test_every_row_its_own_group_says_why_and_does_not_advise_train_size(v2, tmp_path):
    """One row per (task, model, GPU): Top-1 read n/a in the terminal with no reason, and the report advised
    "train on fewer rows (--train-size) to hold out more", which no train size can change."""
    one_each = v2.groupby(["task", "model", "gpu"]).head(1).reset_index(drop=True)
    res = run_evaluation(one_each, train_size=40, repeats=2, splits=["random"], progress=False, methods=_fast)
    text = format_summary(res)
    assert "note: Top-1, regret, pairwise, Top-1 @TPOT are n/a: no (task, model, gpu) group of the 57 profile " \
           "rows holds two rows" in text
    assert "--group-by, e.g. model,gpu" in text
    write_report(res, tmp_path)
    md = (tmp_path / "report.md").read_text()
    assert "No method has a Top-1 on the random split (40 training rows): no (task, model, gpu) group" in md
    assert "--train-size" not in md.split("## The paper")[0]


def test_a_held_out_shortage_still_advises_train_size(v2):
    """Groups of several rows, but a train size that leaves too few held out: the advice stays --train-size."""
    rows = _h100(v2, 80)
    res = run_evaluation(rows, train_size=78, repeats=1, splits=["random"], progress=False, methods=_fast)
    assert "train on fewer rows (--train-size) to hold out more" in format_summary(res)


def test_columns_the_profiles_lack_are_named_under_the_table(v2):
    """No max_num_seqs / max_batch_size and no tpot_s: the @TPOT and parallelism columns read n/a, unexplained."""
    rows = _h100(v2, 80).drop(columns=["max_num_seqs", "max_batch_size", "tpot_s"])
    res = run_evaluation(rows, train_size=40, repeats=2, splits=["random"], progress=False, methods=_fast)
    text = format_summary(res)
    assert "note: Top-1 @TPOT is n/a: no row has a measured TPOT (tpot_s)" in text
    assert "note: parallelism is n/a: the profiles give no max_num_seqs (or max_batch_size) on any row" in text
    assert "Top-1, " not in text.split("note:", 1)[1]  # Top-1 itself was scored


def test_no_tpot_leaves_latency_proxy_out_of_the_default_methods(v2, tmp_path, capsys):
    """A file without the optional tpot_s: the default run ended in 'error: method latency_proxy produced no
    score', exit 2; named in --methods it failed after the whole run."""
    path = tmp_path / "no_tpot.csv"
    _h100(v2, 60).drop(columns=["tpot_s"]).to_csv(path, index=False)
    assert main(["evaluate", str(path), "--repeats", "1", "--splits", "random", "--no-progress"]) == 0
    out, err = capsys.readouterr()
    assert "latency_proxy" not in out and "produced no score" not in err
    assert "latency_proxy, which ranks by it, is left out" in err
    assert main(["evaluate", str(path), "--repeats", "1", "--methods", "energylens,latency_proxy",
                 "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "--methods latency_proxy: no row of" in err and "leave latency_proxy out of --methods" in err


@pytest.mark.parametrize("given", [[], ["--train-size", "100"]])
def test_train_size_not_below_the_rows_names_the_option(v2, tmp_path, capsys, given):
    """30 rows and the default --train-size 50 (or a larger one): 'train size 50 leaves no held-out rows ...
    choose a train size below 30', naming no option."""
    path = tmp_path / "thirty.csv"
    _h100(v2, 30).to_csv(path, index=False)
    assert main(["evaluate", str(path), "--repeats", "1", "--no-progress", *given]) == 2
    err = capsys.readouterr().err
    size = given[1] if given else "50 (the default)"
    assert f"--train-size {size} leaves no held-out rows for the random split" in err
    assert "give --train-size below 30 (e.g. 22" in err and "--splits curve,unseen_batch" in err


def test_an_extrapolation_row_averaged_over_fewer_folds_says_so(v2, tmp_path):
    """Two GPUs, one with 3 rows: unseen_gpu trains ours on those 3 (k=0) and fails, and its k=0 row showed the
    other direction's figures (Top-1 1.000 over one group) beside methods pooling both, with no word under the
    table; its k=5 row read n/a unexplained."""
    a100 = v2[v2["gpu"].str.contains("A100")].head(60)
    h100 = v2[v2["gpu"].str.contains("H100")].head(3)
    rows = pd.concat([a100, h100], ignore_index=True)
    with pytest.warns(RuntimeWarning, match="energylens failed"):
        res = run_evaluation(rows, repeats=1, splits=["unseen_gpu"], progress=False,
                             method_names=["energylens", "llmcarbon"])
    md = write_report(res, tmp_path / "rep").read_text()
    section = md.split("## Unseen GPU")[1].split("## ")[0]
    assert ("- energylens at k=0: its fit failed in 1 of 2 folds (H100 80GB HBM3 -> A100-SXM4-40GB); its figures "
            "average the other 1, so they are not comparable with a method scored in all 2 (the error: ValueError: "
            "EnergyModel.fit: 3 measurements for 12 parameters") in section
    assert "- energylens at k=5: its fit failed in 1 of 1 fold (H100 80GB HBM3 -> A100-SXM4-40GB); it has no " \
           "figures there" in section
    assert "llmcarbon at" not in section


def test_some_rows_without_tpot_stop_before_the_run_with_the_remedies(v2, tmp_path, capsys):
    """Two of 60 rows with tpot_s blank: latency_proxy failed in every split holding one out, said after the whole
    run ('failed in 2 of 3 splits of random: ... tpot_s is missing in 1 rows'), exit 2, with no remedy."""
    rows = _h100(v2, 60)
    rows.loc[[3, 17], "tpot_s"] = float("nan")
    path = tmp_path / "some_tpot.csv"
    rows.to_csv(path, index=False)
    assert main(["evaluate", str(path), "--repeats", "3", "--splits", "random", "--no-progress"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "failed in" not in err
    assert "2 of 60 rows leave tpot_s blank (data rows, 1-based: 4, 18)" in err
    assert "leave latency_proxy out (--methods energylens,wilkins2024,llmcarbon," in err
    assert main(["evaluate", str(path), "--repeats", "1", "--splits", "random", "--no-progress",
                 "--methods", "energylens,llmcarbon"]) == 0  # without it: as before


def test_folds_training_on_too_few_rows_for_our_fit_say_which_and_what_to_do(v2, tmp_path, capsys):
    """A GPU with 3 rows: exit 2 with '3 measurements for 12 parameters ... or a prior (EnergyModel(prior=...),
    fit --prior)', naming neither the folds nor an option of evaluate."""
    rows = pd.concat([v2[v2["gpu"].str.contains("A100")].head(60), v2[v2["gpu"].str.contains("H100")].head(3)])
    path = tmp_path / "two_gpus.csv"
    rows.to_csv(path, index=False)
    assert main(["evaluate", str(path), "--repeats", "1", "--splits", "random,unseen_gpu", "--no-progress",
                 "--methods", "energylens,llmcarbon"]) == 2
    err = capsys.readouterr().err
    assert ("note: energylens failed where a split trains on 3-8 rows, fewer than the 12 parameters of the energylens "
            "model (unseen_gpu k=0: H100 80GB HBM3 -> A100-SXM4-40GB; unseen_gpu k=5: H100 80GB HBM3 -> "
            "A100-SXM4-40GB)") in err
    # (rows of the bundled data: --prior bundled would be refused on them, so a model file is advised)
    assert ("add --prior MODEL.json (a model fitted on other data) to also score energylens+prior" in err
            and "(--splits random)" in err)


def test_method_notes_of_a_run_without_any_choice_print_no_nan_and_no_failure(v2, tmp_path):
    """Every row its own group: the notes read 'latency_proxy: its fit failed in every repeat ... (the error: Failed
    fits, below)' where nothing failed, 'its Top-1 on the random split is nan, against nan', 'Top-1 (nan on the
    random split)' and 'A uniformly random pick has Top-1 nan and nan'."""
    one_each = v2.groupby(["task", "model", "gpu"]).head(1).reset_index(drop=True)
    res = run_evaluation(one_each, train_size=40, repeats=2, splits=["random", "curve"], progress=False,
                         method_names=["latency_proxy", "wilkins2024", "llmcarbon"])
    notes = write_report(res, tmp_path / "rep").read_text().split("## Notes on the methods")[1].split("## Plots")[0]
    assert "nan" not in notes and "fit failed" not in notes
    assert ("- **latency_proxy**: nothing of it could be scored on the random split: no held-out group had two "
            "candidates to choose between, and it has no energy scale for MAPE.") in notes
    assert "its Top-1 on the random split is n/a: no held-out group had two candidates." in notes
    assert "its Top-1 is the roofline's alone (on the random split n/a: no held-out group had two candidates)" in notes


def test_paper_table_says_why_a_held_out_modality_has_no_pairwise(v2, tmp_path):
    """Every row its own group: 'Pairwise, text | 0.961 | n/a' and 'Pairwise, image+text | 0.922 | n/a' had no
    reason (only an absent modality had one)."""
    one_each = v2.groupby(["task", "model", "gpu"]).head(1).reset_index(drop=True)
    res = run_evaluation(one_each, train_size=40, repeats=1, splits=["random"], progress=False,
                         method_names=["energylens", "llmcarbon"])
    md = write_report(res, tmp_path / "rep").read_text()
    assert "- Pairwise, text: n/a, no held-out group of text rows had two candidates measured apart" in md
    assert "- Pairwise, image+text: n/a, no held-out group of image rows had two candidates measured apart" in md
    assert "- Pairwise, video+text: n/a, no video rows in this run's held-out rows" in md


def test_a_draw_smaller_than_asked_for_copies_is_labelled_with_what_was_drawn(v2, tmp_path):
    """Every row doubled and --train-size 51: copies are drawn together, each draw held 50 rows, summary.csv said
    train_size 50, and the terminal and report said '51 training rows'."""
    rows = _h100(v2, 45)
    doubled = pd.concat([rows, rows], ignore_index=True)
    with pytest.warns(UserWarning, match="copy an earlier row exactly"):
        res = run_evaluation(doubled, train_size=51, repeats=2, splits=["random"], progress=False, methods=_fast)
    assert set(res.summary()["train_size"]) == {50}
    text = format_summary(res)
    assert "(2 repeats, 50 training rows)" in text
    assert "note: 51 training rows asked, 50 drawn: rows that copy one another are drawn together" in text
    md = write_report(res, tmp_path / "rep").read_text()
    assert "## Headline: 50 random training rows" in md and "- 51 training rows asked, 50 drawn" in md
    assert "51 training rows)" not in md


def test_thirteen_rows_are_not_sent_round_in_a_circle(v2, tmp_path, capsys):
    """13 rows of one group: the default --train-size was refused with 'e.g. 9' (below our 12 parameters: refused
    next), and at --train-size 12 Top-1 read n/a with 'train on fewer rows (--train-size)', which ours refuses."""
    path = tmp_path / "thirteen.csv"
    rows = v2[(v2["model"] == "mistralai/Mixtral-8x22B-Instruct-v0.1") & v2["gpu"].str.contains("A100")].head(13)
    rows.to_csv(path, index=False)
    assert main(["evaluate", str(path), "--no-progress"]) == 2
    assert "give --train-size below 13 (e.g. 12)" in capsys.readouterr().err
    res = run_evaluation(rows, train_size=12, repeats=1, splits=["random"], progress=False, methods=_fast)
    text = format_summary(res)
    assert "each draw holds out only 1 row of the 13, and a choice needs two of one group; give --train-size 11 " \
           "or less" in text and "measure more rows, or add --prior" in text
