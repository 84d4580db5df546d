"""Discovery: backend selection and its messages, operon seed determinism, the front's scores, the CLI."""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest

from energylens.cli import main
from energylens.discover import BackendUnavailable, discover, select_backend
from energylens.discover import backends as be
from energylens.discover import select as sel
from energylens.discover.variables import energy_variables, variable_matrix
from energylens.profiles.datasets import load_profiles_or_bundled
from energylens.profiles.features import build_features

HAVE_OPERON = importlib.util.find_spec("pyoperon") is not None  # not sel._has: the code under test
needs_operon = pytest.mark.skipif(not HAVE_OPERON, reason="pyoperon is not installed (pip install pyoperon)")


def _fake(monkeypatch, *, operon: bool, pysr: bool, julia: str | None):
    monkeypatch.setattr(sel, "_has", lambda m: {"pyoperon": operon, "pysr": pysr}.get(m, False))
    monkeypatch.setattr(sel, "julia_executable", lambda: julia)


def test_auto_prefers_operon_and_says_why(monkeypatch):
    _fake(monkeypatch, operon=True, pysr=True, julia="/usr/bin/julia")
    c = select_backend("auto")
    assert c.name == "operon" and "pyoperon is installed" in c.reason


def test_auto_falls_back_to_pysr_only_with_julia(monkeypatch):
    _fake(monkeypatch, operon=False, pysr=True, julia="/opt/julia/bin/julia")
    c = select_backend("auto")
    assert c.name == "pysr" and "/opt/julia/bin/julia" in c.reason
    _fake(monkeypatch, operon=False, pysr=True, julia=None)
    with pytest.raises(BackendUnavailable, match="no Julia runtime"):
        select_backend("auto")


def test_missing_backends_name_the_install(monkeypatch):
    _fake(monkeypatch, operon=False, pysr=False, julia=None)
    with pytest.raises(BackendUnavailable, match="pip install pyoperon"):
        select_backend("operon")
    with pytest.raises(BackendUnavailable, match="pip install pysr"):
        select_backend("pysr")
    with pytest.raises(BackendUnavailable, match="energylens\\[sr\\]"):
        select_backend("auto")
    with pytest.raises(ValueError, match="'gplearn'"):
        select_backend("gplearn")


def test_julia_detection_never_imports_juliacall(monkeypatch, tmp_path):
    import sys

    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("PYTHON_JULIACALL_EXE", raising=False)
    monkeypatch.delenv("JULIA_EXE", raising=False)
    assert sel.julia_executable() is None
    exe = tmp_path / "julia"
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    assert sel.julia_executable() == str(exe)
    assert "juliacall" not in sys.modules


@needs_operon
def test_operon_front_is_reproducible_per_seed():
    df = load_profiles_or_bundled("bundled")
    v = energy_variables()
    X = variable_matrix(v, build_features(df))
    y = df["energy_j"].to_numpy(dtype=float)
    run = [be.run_backend(be.BackendChoice("operon", "test"), X[:120], y[:120], list(v), max_complexity=15,
                          time_budget_s=120, seed=s, generations=20, population=100, progress=False)
           for s in (7, 7, 8)]
    assert [str(e) for _, e in run[0]] == [str(e) for _, e in run[1]]
    assert [str(e) for _, e in run[0]] != [str(e) for _, e in run[2]]
    # the cap holds for the front as reported (operon's lengths count its linear scaling's 4 nodes)
    assert all(c <= 15 for r in run for c, _ in r)
    small = be.run_backend(be.BackendChoice("operon", "test"), X[:120], y[:120], list(v), max_complexity=7,
                           time_budget_s=60, seed=7, generations=20, population=100, progress=False)
    assert small and all(c <= 7 for c, _ in small)
    with pytest.raises(ValueError, match=r"max_complexity \(--max-complexity\) must be an integer >= 5"):
        be.run_backend(be.BackendChoice("operon", "test"), X[:120], y[:120], list(v), max_complexity=4)


@needs_operon
def test_discover_scores_front_next_to_template():
    res = discover("bundled", time_budget_s=30, generations=20, population=100, max_complexity=15, progress=False)
    assert res.backend == "operon" and res.front
    assert set(res.template) >= {"r2", "top1", "pairwise", "mape", "parallelism_top1"}
    p = res.template["parallelism_top1"]  # v2 has 22 choices between GPU counts at one max_num_seqs
    assert 0.0 <= p <= 1.0
    for e in res.front:
        assert np.isfinite(e.heldout["mape"]) and e.latex
    assert res.front[res.chosen].cv_error == min(e.cv_error for e in res.front)


@needs_operon
def test_residual_discovery_reports_the_term_test():
    res = discover("bundled", target="residual", train_size=50, time_budget_s=20, generations=20, population=100,
                   max_complexity=10, progress=False)
    r = res.residual_test
    assert r is not None and set(r) >= {"mape_cut_relative", "adopt", "top1_not_lower"}


@needs_operon
def test_cli_end_to_end(tmp_path, capsys):
    out = tmp_path / "d.json"
    rc = main(["discover", "bundled", "--time-budget", "20", "--generations", "20", "--population", "100",
               "--max-complexity", "12", "-o", str(out), "--report", str(tmp_path / "rep"), "--quiet"])
    assert rc == 0
    doc = json.loads(out.read_text())
    assert doc["format"] == "energylens.discovery" and doc["front"]
    assert (tmp_path / "rep" / "front.png").stat().st_size > 0
    report = (tmp_path / "rep" / "discovery.md").read_text()
    assert "$$" in report
    printed = capsys.readouterr().out
    assert "backend: operon" in printed
    # a score the held-out rows cannot give (no group varies TP x PP) reads n/a, never nan
    assert " nan " not in printed
    assert "| nan |" not in report


def test_a_missing_score_is_shown_as_na():
    from energylens.discover.search import shown

    assert shown(float("nan"), ".3f") == "n/a" and shown(0.25, ".3f") == "0.250"


def test_cli_bad_backend_is_a_located_error(monkeypatch, capsys):
    _fake(monkeypatch, operon=False, pysr=False, julia=None)
    rc = main(["discover", "bundled", "--backend", "pysr", "-o", "/dev/null"])
    assert rc == 2 and "pip install pysr" in capsys.readouterr().err


def test_parallelism_choice_scores_rows_that_differ_only_in_tp_pp():
    import pandas as pd

    from energylens.discover.search import _scores

    df = pd.DataFrame({"task": ["chat"] * 4, "model": ["m"] * 4, "gpu": ["H100"] * 4, "batch_size": [8, 8, 16, 16],
                       "tp": [1, 2, 1, 2], "pp": [1, 1, 1, 1]})
    meas = np.array([10.0, 12.0, 20.0, 18.0])
    right = _scores(df, meas, np.array([9.0, 13.0, 21.0, 17.0]), ["task", "model", "gpu"])
    wrong = _scores(df, meas, np.array([13.0, 9.0, 21.0, 17.0]), ["task", "model", "gpu"])
    assert right["parallelism_top1"] == 1.0 and wrong["parallelism_top1"] == 0.5


def test_pysr_front_is_read_from_its_equations_table(monkeypatch):
    """The PySR path without Julia: a stand-in PySRRegressor records its arguments and returns an equations
    table in PySR's format; the front is parsed from it (the real PySR run needs Julia, absent here)."""
    import sys
    import types

    import pandas as pd

    seen = {}

    class FakePySR:
        def __init__(self, **kw):
            seen.update(kw)

        def fit(self, X, y, variable_names):
            seen["names"] = variable_names
            self.equations_ = pd.DataFrame({"complexity": [3, 7],
                                            "equation": ["E_mem * 2.5", "square(E_pf) + exp(-0.5 * tp)"]})
            return self

    monkeypatch.setitem(sys.modules, "pysr", types.SimpleNamespace(PySRRegressor=FakePySR))
    monkeypatch.setattr(be, "julia_executable", lambda: "/opt/julia/bin/julia")
    names = ["E_mem", "E_pf", "tp"]
    front = be.run_backend(be.BackendChoice("pysr", "test"), np.ones((5, 3)), np.ones(5), names, max_complexity=9,
                           time_budget_s=5, seed=3, progress=False)
    assert [c for c, _ in front] == [3, 7]
    assert str(front[1][1]) == "E_pf**2 + exp(-0.5*tp)"
    assert seen["maxsize"] == 9 and seen["timeout_in_seconds"] == 5 and seen["random_state"] == 3
    assert seen["names"] == names


def test_parallelism_choice_groups_by_max_num_seqs_where_the_batch_is_a_measured_mean():
    """ML.ENERGY v3: batch_size is each run's measured mean (no two rows share it); the choice between GPU
    counts is among rows of one max_num_seqs, as the evaluation harness groups it."""
    import pandas as pd

    from energylens.discover.search import _scores

    df = pd.DataFrame({"task": ["chat"] * 4, "model": ["m"] * 4, "gpu": ["H100"] * 4,
                       "batch_size": [7.98, 7.99, 15.9, 15.97], "max_num_seqs": [8, 8, 16, 16],
                       "tp": [1, 2, 1, 2], "pp": [1, 1, 1, 1]})
    meas = np.array([10.0, 12.0, 20.0, 18.0])
    assert _scores(df, meas, np.array([9.0, 13.0, 21.0, 17.0]), ["task", "model", "gpu"])["parallelism_top1"] == 1.0
    assert _scores(df, meas, np.array([13.0, 9.0, 21.0, 17.0]), ["task", "model", "gpu"])["parallelism_top1"] == 0.5
    # two runs of one deployment (same GPU count) are no choice between GPU counts: not scored, as in evaluate
    twins = df.assign(tp=[1, 1, 1, 2])
    assert _scores(twins, meas, np.array([13.0, 9.0, 21.0, 17.0]), ["task", "model", "gpu"])["parallelism_top1"] == 1.0


def test_constants_predicting_nonpositive_energy_are_refitted_not_dropped():
    """The backend fits squared error; a negative intercept can predict <= 0 on some rows, where the log
    residual is undefined. The refit starts from the relative error and keeps the expression."""
    import sympy as sp

    from energylens.discover.search import _refit

    x = sp.Symbol("batch_size", positive=True)
    rows = np.arange(40)
    b = np.linspace(1.0, 40.0, 40)
    y = 3.0 * b + 2.0
    features = {"batch_size": b}
    fit = _refit(sp.Symbol("c0", real=True) * x + sp.Symbol("c1", real=True), {"c0": 3.0, "c1": -20.0},
                 features, rows, y, "log")  # the start predicts <= 0 for batch_size < 7
    assert fit is not None
    np.testing.assert_allclose(fit[1], [3.0, 2.0], rtol=1e-6)


def test_unfittable_front_expressions_are_listed_not_silently_dropped(monkeypatch, capsys, tmp_path):
    import sympy as sp

    from energylens.discover import search as ds

    names = list(energy_variables())
    e_mem = sp.Symbol(names[0])
    front = [(5, 2.0 * e_mem + 1.0), (6, -sp.exp(1.0 * e_mem) - 1.0)]  # the second is < 0 for every constant
    monkeypatch.setattr(ds, "run_backend", lambda *a, **k: front)
    res = discover("bundled", progress=False)
    assert [e.complexity for e in res.front] == [5]
    assert [d["complexity"] for d in res.dropped] == [6] and "finite error" in res.dropped[0]["why"]
    out = tmp_path / "d.json"
    assert main(["discover", "bundled", "-o", str(out), "--quiet", "--report", str(tmp_path / "rep")]) == 0
    assert "note: 1 of the front's 2 expressions are left out" in capsys.readouterr().out
    assert json.loads(out.read_text())["dropped"][0]["complexity"] == 6
    assert "Left out: 1 front expression" in (tmp_path / "rep" / "discovery.md").read_text()


@needs_operon
def test_the_smallest_cap_gives_a_front_and_generations_are_a_cap(monkeypatch):
    from pyoperon.sklearn import SymbolicRegressor

    ran = []
    fit = SymbolicRegressor.fit
    monkeypatch.setattr(SymbolicRegressor, "fit", lambda self, X, y: (ran.append(self.generations), fit(self, X, y))[1])
    res = discover("bundled", max_complexity=5, generations=13, population=100, time_budget_s=20, progress=False)
    assert res.front and all(e.complexity <= 5 for e in res.front)
    assert ran == [10, 3]  # 13 generations: a round of 10, then the 3 left


def test_residual_target_reports_the_corrections_own_r2(monkeypatch):
    import sympy as sp

    from energylens.discover import search as ds

    names = list(ds.residual_variables())
    monkeypatch.setattr(ds, "run_backend", lambda *a, **k: [(5, 0.1 * sp.Symbol(names[0]) + 0.01)])
    res = discover("bundled", target="residual", progress=False)
    h = res.front[0].heldout
    assert h["r2_residual"] < h["r2"]  # energy's R^2 is high for any correction near 0; g's own is not


def test_tiny_inputs_are_named(tmp_path):
    with pytest.raises(ValueError, match="at least 2 training and 2 held-out rows: 355 of 356"):
        discover("bundled", train_size=355, progress=False)
    few = load_profiles_or_bundled("bundled").iloc[:15]
    with pytest.raises(ValueError, match="fitted on the 10 training rows .--train-size; default 70 % of 15."):
        discover(few, progress=False)
    head = tmp_path / "head.csv"
    few.iloc[:0].to_csv(head, index=False)
    with pytest.raises(ValueError, match="no data rows"):
        discover(str(head), progress=False)
