"""Findings of a new user's walk through ``energylens discover`` (2026-12-07): bundled data, the ML.ENERGY v3
H100 export, bad input, reloading the chosen expression. Each test failed before its fix, except the thread test,
which pins a documented property (docs/discover.md: "the thread count does not change it")."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import sympy as sp

from energylens.cli import main
from energylens.discover import search as ds
from energylens.discover.variables import energy_variables
from energylens.errors import ModelFileError
from energylens.model import load_model
from energylens.profiles.datasets import mlenergy_v2


def _one_expression(monkeypatch) -> None:
    """A backend stand-in returning one expression (the search itself is not what these tests check)."""
    e_mem = sp.Symbol(next(iter(energy_variables())))
    monkeypatch.setattr(ds, "run_backend", lambda *a, **k: [(5, 2.0 * e_mem + 1.0)])


def test_one_blank_max_num_seqs_leaves_the_other_rows_tp_x_pp_choices():
    """One blank max_num_seqs cell in the ML.ENERGY v3 export (121 held-out rows, 9 TP x PP choices) made discover
    group every row by its measured mean batch size, which no two rows share: 0 choices and n/a, unsaid. evaluate
    leaves out the row that lacks the setting and scores the others' choices."""
    df = pd.DataFrame({"task": ["chat"] * 5, "model": ["m"] * 5, "gpu": ["H100"] * 5,
                       "batch_size": [7.98, 7.99, 15.9, 15.97, 15.5], "max_num_seqs": [8, 8, 16, 16, np.nan],
                       "tp": [1, 2, 1, 2, 4], "pp": [1] * 5})
    meas = np.array([10.0, 12.0, 20.0, 18.0, 30.0])
    s = ds._scores(df, meas, np.array([9.0, 13.0, 21.0, 17.0, 29.0]), ["task", "model", "gpu"])
    assert s["parallelism_choices"] == 2 and s["parallelism_top1"] == 1.0
    s = ds._scores(df, meas, np.array([13.0, 9.0, 21.0, 17.0, 29.0]), ["task", "model", "gpu"])
    assert s["parallelism_choices"] == 2 and s["parallelism_top1"] == 0.5


def test_a_blank_max_num_seqs_cell_in_the_file_keeps_the_held_out_choices(monkeypatch, tmp_path):
    """End to end: the bundled rows with one held-out row's max_num_seqs blanked still score the held-out TP x PP
    choices (4 without the blank; the blanked row can take at most its own out): it read 0 choices, n/a."""
    _one_expression(monkeypatch)
    v2 = mlenergy_v2().reset_index(drop=True)
    _, test = ds._split(len(v2), None, 0)
    v2 = v2.drop(columns=["max_batch_size"])  # as an ML.ENERGY v3 file: max_num_seqs alone
    v2.loc[test[0], "max_num_seqs"] = np.nan
    path = tmp_path / "one_blank.csv"
    v2.to_csv(path, index=False)
    out = tmp_path / "d.json"
    assert main(["discover", str(path), "-o", str(out), "--quiet"]) == 0
    t = json.loads(out.read_text())["template"]
    assert t["parallelism_choices"] >= 3 and t["parallelism_top1"] is not None


@pytest.mark.parametrize("value", ["-1", "1", "4"])
def test_max_complexity_below_five_names_the_real_bound(value, capsys):
    """--max-complexity -1 said 'must be >= 1'; a user who then gave 1 was told 'must be an integer >= 5'."""
    with pytest.raises(SystemExit) as exc:
        main(["discover", "bundled", "--max-complexity", value, "-o", "/dev/null", "--quiet"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert ">= 5" in err and f"got {value}" in err and ">= 1," not in err


def test_a_discovery_result_given_as_a_model_file_says_how_to_make_one(monkeypatch, tmp_path, capsys):
    """`energylens predict discovered.json CONFIGS` (what a user tries first) said only "not an energylens model file
    (format 'energylens.discovery')": nothing on how the discovered expression becomes a model."""
    _one_expression(monkeypatch)
    result = tmp_path / "discovered.json"
    assert main(["discover", "bundled", "-o", str(result), "--quiet"]) == 0
    with pytest.raises(ModelFileError, match=r"discovery result .*expression_model\(load_discovery"):
        load_model(result)
    capsys.readouterr()
    assert main(["predict", str(result), "bundled", "-o", str(tmp_path / "p.csv")]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "expression_model(load_discovery" in err and ".save(" in err


def test_the_native_thread_count_does_not_change_the_result():
    """The search runs operon on one thread and the refits' native loops give the same bits on any thread count
    (the template fit's starts included): a run capped at one thread and one at two give the same front, scores and
    choice. A change that hands operon the native thread count, say, fails here."""
    from energylens.discover import discover
    from energylens.parallel import threads

    runs = []
    for n in (1, 2):
        with threads(n):
            r = discover("bundled", generations=10, population=60, seed=5, progress=False)
        runs.append(([(e.expression, e.heldout, e.cv_error) for e in r.front], r.template, r.chosen))
    assert runs[0] == runs[1]


def test_a_julia_variable_that_names_no_executable_is_named(monkeypatch, tmp_path, capsys):
    """PySR installed, JULIA_EXE set to a Julia that is not there (a typo, a moved install): the error listed the
    variables it reads but not that the one the user set names no executable, so it read as if JULIA_EXE was
    not looked at."""
    from energylens.discover import select as sel

    monkeypatch.setattr(sel, "_has", lambda module: module == "pysr")
    monkeypatch.setenv("PATH", str(tmp_path))  # no julia on PATH
    for var in sel.JULIA_VARIABLES:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("JULIA_EXE", str(tmp_path / "julia-1.10" / "bin" / "julia"))
    with pytest.raises(sel.BackendUnavailable, match=r"JULIA_EXE = '.*julia-1\.10/bin/julia' is not an executable"):
        sel.select_backend("pysr")
    assert main(["discover", "bundled", "--backend", "pysr", "-o", str(tmp_path / "d.json"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "JULIA_EXE" in err and "is not an executable" in err and "Traceback" not in err


def test_the_help_says_what_reads_the_result_file(capsys):
    """`energylens discover --help` named the result file but not what reads it: a user with discovered.json had
    only predict to try, which refuses it (a discovery result is not a model file)."""
    with pytest.raises(SystemExit):
        main(["discover", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "load_discovery" in out and "expression_model" in out


def test_an_expression_model_takes_the_template_fit_call():
    """A user who fits the template as the docs do, `.fit(profiles, latency=False)`, and then the discovered
    expression's model the same way got "TypeError: fit() got an unexpected keyword argument 'latency'"; latency=True
    (the template's default) is refused with why: an expression model predicts energy only."""
    from energylens.model import EnergyModel

    v2 = mlenergy_v2().iloc[:60]
    m = EnergyModel.from_expression("2.0*E_mem + 130.0*E_seq + 1.0", bootstrap=0)
    assert m.fit(v2, latency=False) is m and m.is_fitted
    with pytest.raises(ValueError, match=r"fit\(latency=True\): .*energy only.*EnergyModel"):
        m.fit(v2, latency=True)
