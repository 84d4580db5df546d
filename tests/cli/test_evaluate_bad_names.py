"""What `energylens evaluate` says about a bad name, as a new user met it.

* `--methods energylens,foo` was refused only after the profiles were read and energylens fitted on every row
  for the unit checks, as "unknown method(s) ['foo']", naming no option; now an error naming `--methods`
  before the profiles are read.
* `--group-by nonexistent` read "unknown group column(s) ['nonexistent']; the profiles have columns [...]",
  naming neither the option nor the file; now both.
* Where a split trained our model on fewer rows than its parameters, the note advised leaving that split out
  with `--splits` naming every other split asked for, those that could not be drawn on the data included
  (`--splits unseen_gpu` on one GPU's rows, which the next run refused: "nothing to evaluate"); it now names
  only splits that ran, or none; and it advised `--prior bundled` on rows of the bundled data, which the run
  refuses: there it now advises a model file.
* `--methods energylens,energylens` was refused only after the profiles were read; now before.
* A file of one row read "the profiles have 1 row: a split needs at least 2 ...", naming no file; now it names it.
"""

from __future__ import annotations

import pytest

from energylens.cli.main import main
from energylens.profiles.datasets import mlenergy_v2


@pytest.mark.parametrize("methods", ["energylens,foo", "foo", "llmcarbon,energylens+bogus"])
def test_an_unknown_method_is_refused_naming_the_option_before_reading(methods, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    code = main(["evaluate", "bundled", "--no-progress", "--splits", "random", "--repeats", "1",
                 "--methods", methods])
    assert code == 2
    out = capsys.readouterr()
    assert out.out == ""
    bad = [m for m in methods.split(",") if m not in ("energylens", "llmcarbon")]
    assert f"--methods {methods}: unknown method(s) {bad}" in out.err, out.err
    assert "known: energylens, latency_proxy" in out.err, out.err
    assert "note:" not in out.err  # the profiles were not read (their assumed-inputs note)


def test_a_method_named_twice_is_refused_before_reading(tmp_path, monkeypatch, capsys):
    """`--methods energylens,energylens` was refused by the registry only after the profiles were read."""
    monkeypatch.chdir(tmp_path)
    code = main(["evaluate", "bundled", "--no-progress", "--splits", "random", "--repeats", "1",
                 "--methods", "energylens,llmcarbon,energylens"])
    assert code == 2
    out = capsys.readouterr()
    assert "--methods energylens,llmcarbon,energylens: energylens named more than once" in out.err, out.err
    assert "note:" not in out.err  # the profiles were not read


def test_a_variant_added_by_its_option_is_known(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    code = main(["evaluate", "bundled", "--no-progress", "--splits", "random", "--repeats", "1",
                 "--methods", "energylens+family,llmcarbon", "--calibrate", "family", "--json"])
    assert code == 0, capsys.readouterr().err


def test_an_unknown_group_column_names_the_option_and_the_file(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    code = main(["evaluate", "bundled", "--no-progress", "--splits", "random", "--repeats", "1",
                 "--methods", "llmcarbon", "--group-by", "task,nonexistent"])
    assert code == 2
    err = capsys.readouterr().err
    assert "--group-by task,nonexistent: bundled has no column 'nonexistent'" in err, err
    assert "'max_num_seqs'" in err  # the columns it has


def test_the_leave_out_hint_names_only_splits_that_ran(tmp_path, monkeypatch, capsys):
    df = mlenergy_v2()
    one = df[(df["task"] == "chat") & df["model"].str.contains("Mixtral-8x22B") & df["gpu"].str.contains("A100")]
    assert len(one) == 13  # one GPU: unseen_gpu cannot be drawn; unseen_batch trains on 6 rows
    one.to_csv(tmp_path / "one_group.csv", index=False)
    monkeypatch.chdir(tmp_path)
    code = main(["evaluate", "one_group.csv", "--no-progress", "--splits", "unseen_gpu,unseen_batch",
                 "--methods", "energylens,llmcarbon"])
    assert code == 2
    err = capsys.readouterr().err
    assert "nothing to evaluate on this data for unseen_gpu" in err
    assert "fewer than the 12 parameters" in err
    assert "--splits unseen_gpu" not in err, err
    assert "or run other splits (--splits)" in err, err
    assert "--prior bundled" not in err  # refused on rows of the bundled data
    assert "add --prior MODEL.json (a model fitted on other data) to also score energylens+prior" in err, err


def test_other_rows_are_advised_the_bundled_prior(tmp_path, monkeypatch, capsys):
    df = mlenergy_v2()
    one = df[(df["task"] == "chat") & df["model"].str.contains("Mixtral-8x22B") & df["gpu"].str.contains("A100")].copy()
    one["energy_j"] *= 1.5  # no longer the bundled measurements: --prior bundled may be scored on them
    one.to_csv(tmp_path / "other.csv", index=False)
    monkeypatch.chdir(tmp_path)
    assert main(["evaluate", "other.csv", "--no-progress", "--splits", "unseen_batch", "--methods", "energylens"]) == 2
    assert "add --prior bundled|MODEL.json to also score energylens+prior" in capsys.readouterr().err


@pytest.mark.parametrize("splits", ["random", "curve", "unseen_model"])
def test_a_one_row_file_is_named(splits, tmp_path, monkeypatch, capsys):
    mlenergy_v2().head(1).to_csv(tmp_path / "one_row.csv", index=False)
    monkeypatch.chdir(tmp_path)
    assert main(["evaluate", "one_row.csv", "--no-progress", "--splits", splits, "--methods", "llmcarbon"]) == 2
    err = capsys.readouterr().err
    assert "error: one_row.csv has 1 row: every split needs at least 2, one to train on and one to hold out" in err, err
