"""Findings of a user's audit of ``energylens discover`` (2026-12-06); each test failed before its fix."""
from __future__ import annotations

import json

import pytest
import sympy as sp

from energylens.cli import main
from energylens.discover import search as ds
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
