"""Findings of a user's audit of ``energylens discover`` (2026-12-06); each test failed before its fix."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import sympy as sp

from energylens.cli import main
from energylens.compare.splits import DuplicateRowsWarning
from energylens.discover import search as ds
from energylens.discover import select as sel
from energylens.discover.variables import energy_variables
from energylens.profiles.datasets import mlenergy_v2


def _one_expression(monkeypatch) -> None:
    """A backend stand-in returning one expression (the search itself is not what these tests check)."""
    e_mem = sp.Symbol(next(iter(energy_variables())))
    monkeypatch.setattr(ds, "run_backend", lambda *a, **k: [(5, 2.0 * e_mem + 1.0)])


def test_the_tp_x_pp_choice_reads_max_batch_size_as_evaluate_does(monkeypatch, tmp_path):
    """A schema-v1 file of ML.ENERGY v2 rows carries the batch setting as max_batch_size (the converter's name):
    evaluate scored its parallelism choice, discover fell back to the measured batch size, which no two rows
    share, and printed n/a over 0 TP x PP choices (4 on the same rows with max_num_seqs)."""
    _one_expression(monkeypatch)
    path = tmp_path / "v2_rows.csv"
    mlenergy_v2().drop(columns=["max_num_seqs"]).to_csv(path, index=False)
    out = tmp_path / "d.json"
    assert main(["discover", str(path), "-o", str(out), "--quiet"]) == 0
    t = json.loads(out.read_text())["template"]
    assert t["parallelism_choices"] == 4 and t["parallelism_top1"] is not None


def test_a_group_column_named_twice_is_named_before_the_search(monkeypatch):
    """group_by=("task", "model", "model", "gpu") ran the whole search, then ended in pandas' "Grouper for 'model'
    not 1-dimensional"."""
    monkeypatch.setattr(ds, "run_backend", lambda *a, **k: pytest.fail("the search ran"))
    with pytest.raises(ValueError, match=r"group column\(s\) \['model'\] named more than once"):
        ds.discover("bundled", group_by=("task", "model", "model", "gpu"), progress=False)


def test_copies_of_a_row_stay_on_its_side_of_the_split_and_are_named(monkeypatch, tmp_path):
    """A table with exact copies of rows (here the first 100 bundled rows twice): 36 of the 137 held-out rows had
    their copy among the training rows, so the front and the template were scored partly on their own training
    data, unsaid (energylens evaluate keeps copies together and warns)."""
    _one_expression(monkeypatch)
    v2 = mlenergy_v2().reset_index(drop=True)
    path = tmp_path / "with_copies.csv"
    pd.concat([v2, v2.iloc[:100]], ignore_index=True).to_csv(path, index=False)
    seen: dict[str, np.ndarray] = {}
    split = ds._split

    def spy(n, train_size, seed, units=None):
        seen["train"], seen["test"] = split(n, train_size, seed, units)
        return seen["train"], seen["test"]

    monkeypatch.setattr(ds, "_split", spy)
    with pytest.warns(DuplicateRowsWarning, match=r"100 data row\(s\) copy an earlier row exactly"):
        assert main(["discover", str(path), "-o", str(tmp_path / "d.json"), "--quiet"]) == 0
    original = lambda rows: np.where(rows >= len(v2), rows - len(v2), rows)  # noqa: E731
    assert not np.intersect1d(original(seen["train"]), original(seen["test"])).size
    assert ds._split(len(v2), None, 0)[0].size == round(0.7 * len(v2))  # without copies: the split as before


def test_cross_validation_keeps_a_rows_copies_in_its_fold():
    """The 5-fold cross-validation that chooses the expression split copies across folds (a fold scored on rows
    whose copies it was fitted on); without copies the folds are unchanged."""
    rng = np.random.default_rng(3)
    train = np.sort(rng.choice(200, size=120, replace=False))
    units = np.arange(200) // 3  # rows 0-2, 3-5, ... copy one another
    order, fold = ds._cv_folds(train, 0, 5, units)
    for u in np.unique(units[order]):
        assert np.unique(fold[units[order] == u]).size == 1
    plain_order, plain = ds._cv_folds(train, 0, 5, None)
    assert np.array_equal(plain_order, np.random.default_rng(0).permutation(train))
    assert all(np.array_equal(plain_order[plain == k], plain_order[k::5]) for k in range(5))
    assert np.bincount(fold).min() > 0  # every fold has rows


def test_pysr_asked_for_by_name_and_absent_says_operon_would_run(monkeypatch):
    """--backend pysr without PySR named PySR's install only, not that the default backend (installed) runs
    without the option."""
    monkeypatch.setattr(sel, "_has", lambda module: module == "pyoperon")
    with pytest.raises(sel.BackendUnavailable, match=r"PySR is not installed: .*the default backend, operon "
                                                     r"\(pyoperon\), is installed: leave out --backend pysr"):
        sel.select_backend("pysr")
    monkeypatch.setattr(sel, "_has", lambda module: False)  # neither: no such hint
    with pytest.raises(sel.BackendUnavailable) as err:
        sel.select_backend("pysr")
    assert "is installed: leave out" not in str(err.value)


def test_a_residual_term_is_not_adopted_on_checks_that_could_not_be_made(monkeypatch, tmp_path, capsys):
    """With 4 held-out rows no group offers a choice (Top-1 and pairwise n/a), yet the residual test reported
    "top1_not_lower": true, "pairwise_not_lower": true and adopted the term on its MAPE cut alone."""
    tp = sp.Symbol("tp", positive=True)
    monkeypatch.setattr(ds, "run_backend", lambda *a, **k: [(7, 0.1 - 0.02 * tp)])
    out = tmp_path / "r.json"
    assert main(["discover", "bundled", "--target", "residual", "--train-size", "352", "-o", str(out), "--quiet",
                 "--report", str(tmp_path / "rep")]) == 0
    r = json.loads(out.read_text())["residual_test"]
    assert (r["top1_not_lower"], r["pairwise_not_lower"], r["adopt"]) == (None, None, False)
    assert "adopt: False (Top-1 and pairwise n/a on the held-out rows" in capsys.readouterr().out
    assert "Top-1 not lower: n/a (no held-out choice)" in (tmp_path / "rep" / "discovery.md").read_text()
    t = {"mape": 10.0, "top1": 0.9, "pairwise": 0.95}  # with choices to compare, the checks decide as before
    term = {"mape": 7.0, "top1": 0.9, "pairwise": 0.94}
    res = ds.DiscoveryResult("residual", "operon", "", 0, 1, 1, {}, [ds.FrontEntry(5, "x", "x", "x", 0.1, term)],
                             t, 0, 0.0)
    assert ds.residual_test(res)["adopt"] is False and ds.residual_test(res)["top1_not_lower"] is True
    term["pairwise"] = 0.95
    assert ds.residual_test(res)["adopt"] is True
