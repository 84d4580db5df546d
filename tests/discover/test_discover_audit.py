"""Discovery audit findings: the Julia PySR starts, PySR's smallest maxsize, operon fronts pyoperon cannot score,
strict JSON results, misspelt group columns and bad seeds (each failed before its fix)."""

from __future__ import annotations

import importlib.util
import json
import sys
import types

import numpy as np
import pandas as pd
import pytest
import sympy as sp

from energylens.cli import main
from energylens.discover import backends as be
from energylens.discover import search as ds
from energylens.discover import select as sel
from energylens.discover.variables import energy_variables
from energylens.profiles.datasets import load_profiles_or_bundled

# the skip reads the environment itself: sel._has is the code under test
needs_operon = pytest.mark.skipif(importlib.util.find_spec("pyoperon") is None, reason="pyoperon is not installed")


def _fake_pysr(monkeypatch, seen: dict) -> None:
    """A stand-in PySRRegressor (the real one needs Julia): records its arguments and the Julia variables."""

    class FakePySR:
        def __init__(self, **kw):
            seen.update(kw, juliapkg_exe=sys.modules["os"].environ.get("PYTHON_JULIAPKG_EXE"))

        def fit(self, X, y, variable_names):
            self.equations_ = pd.DataFrame({"complexity": [3], "equation": [f"{variable_names[0]} * 2.5"]})
            return self

    monkeypatch.setitem(sys.modules, "pysr", types.SimpleNamespace(PySRRegressor=FakePySR))


def test_pysr_starts_the_julia_that_was_detected(monkeypatch, tmp_path):
    """juliacall >= 0.9 (PySR 1.x) starts the Julia juliapkg finds (PYTHON_JULIAPKG_EXE, else a compatible
    `julia` on PATH, else a download); a Julia found through JULIA_EXE was announced and then not used."""
    exe = tmp_path / "julia"
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    for var in ("PYTHON_JULIAPKG_EXE", "PYTHON_JULIACALL_EXE"):
        monkeypatch.setenv(var, "")  # (restored after the test; the run sets them)
    monkeypatch.setenv("JULIA_EXE", str(exe))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    seen: dict = {}
    _fake_pysr(monkeypatch, seen)
    front = be.run_backend(be.BackendChoice("pysr", "test"), np.ones((5, 1)), np.ones(5), ["E_mem"], max_complexity=9,
                           time_budget_s=5, progress=False)
    assert [c for c, _ in front] == [3]
    assert seen["juliapkg_exe"] == str(exe)
    # juliapkg's own variable is a place a Julia is found, first
    monkeypatch.setenv("PYTHON_JULIAPKG_EXE", str(exe))
    monkeypatch.delenv("JULIA_EXE")
    assert sel.julia_executable() == str(exe)


def test_pysr_cap_below_its_smallest_maxsize_is_refused_up_front(monkeypatch):
    """PySR refuses maxsize < 7 ("PySR requires a maxsize of at least 7"), after Julia has started; the cap is
    checked first and the message names the option."""
    seen: dict = {}
    _fake_pysr(monkeypatch, seen)
    monkeypatch.setattr(be, "julia_executable", lambda: "/opt/julia/bin/julia")
    with pytest.raises(ValueError, match=r"--max-complexity\) must be >= 7 for the pysr backend .*got 6"):
        be.run_backend(be.BackendChoice("pysr", "test"), np.ones((5, 1)), np.ones(5), ["E_mem"], max_complexity=6,
                       time_budget_s=5, progress=False)
    assert not seen  # PySR never constructed


@needs_operon
def test_an_operon_front_pyoperon_cannot_score_is_a_clear_error(monkeypatch, capsys):
    """pyoperon 0.6 scores its front with scikit-learn, which raises a bare "Input contains NaN." when a front
    tree has no finite value on a training row (`discover bundled --population 2` did, seed 0)."""
    from pyoperon.sklearn import SymbolicRegressor

    def fit(self, X, y):
        raise ValueError("Input contains NaN.")

    monkeypatch.setattr(SymbolicRegressor, "fit", fit)
    rc = main(["discover", "bundled", "-o", "/dev/null", "--quiet", "--population", "2", "--generations", "10"])
    err = capsys.readouterr().err
    assert rc == 2
    assert "operon, round 1: an expression of its front has no finite value on some training rows" in err
    assert "A larger --population (now 2) or another --seed avoids it" in err


def _strict(text: str):
    def refuse(token):
        raise ValueError(f"not JSON: {token}")

    return json.loads(text, parse_constant=refuse)


def test_result_files_are_strict_json(monkeypatch, tmp_path, capsys):
    """A score the held-out rows cannot give (single-GPU profiles: no parallelism choice) was written as a bare
    NaN, which JSON does not have; strict readers refused the file. It is null now, and "n/a" when printed."""
    e_mem = sp.Symbol(next(iter(energy_variables())))
    monkeypatch.setattr(ds, "run_backend", lambda *a, **k: [(5, 2.0 * e_mem + 1.0)])
    df = load_profiles_or_bundled("bundled")
    path = tmp_path / "one_gpu.csv"
    df[df["n_gpus"] == 1].to_csv(path, index=False)
    out = tmp_path / "d.json"
    assert main(["discover", str(path), "-o", str(out), "--quiet", "--report", str(tmp_path / "rep")]) == 0
    assert "n/a" in capsys.readouterr().out
    for text in (out.read_text(), (tmp_path / "rep" / "discovery.json").read_text()):
        doc = _strict(text)
        assert doc["template"]["parallelism_top1"] is None
        assert doc["front"][0]["heldout"]["parallelism_top1"] is None


def test_a_group_column_the_profiles_lack_is_an_error(monkeypatch):
    """A misspelt group column was left out unsaid, so Top-1 and pairwise were scored over other groups."""
    monkeypatch.setattr(ds, "run_backend", lambda *a, **k: pytest.fail("the search ran"))
    with pytest.raises(ValueError, match=r"unknown group column\(s\) \['modle'\]; the profiles have columns"):
        ds.discover("bundled", group_by=["task", "modle", "gpu"], progress=False)


@pytest.mark.parametrize("seed", [-1, 1.5, True])
def test_a_bad_seed_is_named(seed):
    with pytest.raises(ValueError, match=r"seed must be an integer in \[0, 2\*\*63\), got"):
        ds.discover("bundled", seed=seed, progress=False)


def test_what_the_heldout_scores_are_over_is_said(monkeypatch, tmp_path, capsys):
    """A TP x PP score of 0.750 read as if over the bundled data's 22 choices (docs); it is over the 4 the default
    split holds out. The counts are printed, reported and in the result file."""
    e_mem = sp.Symbol(next(iter(energy_variables())))
    monkeypatch.setattr(ds, "run_backend", lambda *a, **k: [(5, 2.0 * e_mem + 1.0)])
    out = tmp_path / "d.json"
    assert main(["discover", "bundled", "-o", str(out), "--quiet", "--report", str(tmp_path / "rep")]) == 0
    line = "held-out scores over 34 groups with a choice (Top-1), 98 pairs (pairwise), 4 TP x PP choices"
    assert f"{line} (107 held-out rows)" in capsys.readouterr().out
    assert "H" + line[1:] + "." in (tmp_path / "rep" / "discovery.md").read_text()
    t = json.loads(out.read_text())["template"]
    assert (t["top1_groups"], t["pairs"], t["parallelism_choices"]) == (34, 98, 4)


def test_a_target_no_row_measures_is_said_so(monkeypatch):
    """ML.ENERGY v3 and the bundled v2 data measure no phase energy: the error listed 20 row numbers and "385
    more" instead of saying that no row has it."""
    monkeypatch.setattr(ds, "select_backend", lambda backend: be.BackendChoice("operon", "test"))
    df = load_profiles_or_bundled("bundled").assign(prefill_energy_j=np.nan)
    with pytest.raises(ValueError, match=r"'prefill_energy_j' in every row; no row has one \(all 356 are blank or not "
                                         r"finite\): these profiles do not measure it$"):
        ds.discover(df, target="prefill")


@pytest.mark.parametrize(("kw", "message"), [
    ({"generations": 0}, "generations must be an integer >= 1, got 0"),  # a bare AssertionError
    ({"generations": -1}, "generations must be an integer >= 1, got -1"),  # ran 9 generations
    ({"population": 2.5}, "population must be an integer >= 1, got 2.5"),
    ({"time_budget_s": float("nan")}, "time budget must be > 0 s, got nan"),  # "cannot convert float NaN"
])
def test_bad_search_settings_are_named(kw, message):
    choice = be.BackendChoice("operon", "test")
    with pytest.raises(ValueError, match=f"^{message}$"):
        be.run_backend(choice, np.ones((5, 1)), np.ones(5), ["E_mem"], progress=False, **kw)


@pytest.mark.parametrize(("kw", "message"), [
    ({"max_complexity": 4}, r"max_complexity \(--max-complexity\) must be an integer >= 5 .*got 4"),
    ({"max_complexity": 9.5}, r"max_complexity \(--max-complexity\) must be an integer >= 5 .*got 9\.5"),
    ({"generations": 0}, "generations must be an integer >= 1, got 0"),
    ({"time_budget_s": -1.0}, r"time budget must be > 0 s, got -1\.0"),
])
def test_search_settings_are_refused_before_the_profiles_are_read_and_the_template_fitted(kw, message, monkeypatch):
    """--max-complexity 4 (and any other bad setting) was refused by the backend, after the ~1 s template fit."""
    monkeypatch.setattr(ds, "select_backend", lambda backend: be.BackendChoice("operon", "test"))
    monkeypatch.setattr(ds, "load_profiles_or_bundled", lambda path: pytest.fail("the profiles were read"))
    monkeypatch.setattr(ds.EnergyModel, "fit", lambda *a, **k: pytest.fail("the template was fitted"))
    with pytest.raises(ValueError, match=f"^{message}$"):
        ds.discover("bundled", progress=False, **kw)


def test_a_cap_of_4_on_the_command_line_fails_before_the_template_fit(monkeypatch, capsys):
    monkeypatch.setattr(ds.EnergyModel, "fit", lambda *a, **k: pytest.fail("the template was fitted"))
    with pytest.raises(SystemExit) as exc:  # the parser refuses it (since 2026-12-07; it was the search settings' check)
        main(["discover", "bundled", "-o", "/dev/null", "--quiet", "--max-complexity", "4"])
    assert exc.value.code == 2
    assert "--max-complexity: must be an integer >= 5" in capsys.readouterr().err


@needs_operon
def test_an_infinite_time_budget_leaves_the_generation_cap_to_stop_the_search():
    """inf was an OverflowError (int(inf) for operon's time limit)."""
    rng = np.random.default_rng(0)
    X = rng.uniform(1, 2, (40, 2))
    front = be.run_backend(be.BackendChoice("operon", "test"), X, 3 * X[:, 0] + X[:, 1], ["a", "b"],
                           time_budget_s=float("inf"), generations=10, population=50, progress=False)
    assert front


@pytest.mark.parametrize("size", [0.7, 70.9])
def test_a_train_size_that_is_not_a_row_count_is_named(size, monkeypatch):
    """0.7 (a share) was truncated to 0 rows and refused as "0 of 356 rows"; 70.9 ran 70 rows unsaid."""
    monkeypatch.setattr(ds, "run_backend", lambda *a, **k: pytest.fail("the search ran"))
    with pytest.raises(ValueError, match=r"^train_size is a number of training rows \(an integer; None: 70 %\), got "):
        ds.discover("bundled", train_size=size, progress=False)


def test_huge_scores_print_in_three_digits():
    """An overfitted front on 14 training rows had a held-out R^2 of -3.6e84, printed as 85 digits in fixed point."""
    assert ds.shown(-3.592656e84, ".4f") == "-3.59e+84" and ds.shown(2.8e43, ".2f") == "2.8e+43"
    assert ds.shown(-67548.63, ".4f") == "-67548.6300" and ds.shown(float("-inf"), ".4f") == "-inf"


def test_a_backend_that_is_found_but_does_not_import_is_named(monkeypatch, capsys):
    """Detection looks for the module without importing it; a pyoperon that does not import (a wheel built
    against another NumPy) ended the run in a traceback after the template fit."""
    monkeypatch.setattr(sel, "_has", lambda m: m == "pyoperon")
    monkeypatch.setitem(sys.modules, "pyoperon.sklearn", None)  # import fails with ImportError
    rc = main(["discover", "bundled", "-o", "/dev/null", "--quiet"])
    err = capsys.readouterr().err
    assert rc == 2
    assert "backend 'operon': pyoperon.sklearn is installed but does not import (" in err
    assert "reinstall it: pip install 'energylens[sr]'" in err


def test_a_frames_rows_without_the_target_are_named_by_position_and_label(monkeypatch):
    """A frame filtered after it was read was named as the file with "data rows 4, 8 (1-based, header not
    counted)": positions in the frame, not the file's rows. Now as the schema names a frame's rows."""
    monkeypatch.setattr(ds, "select_backend", lambda backend: be.BackendChoice("operon", "test"))
    df = load_profiles_or_bundled("bundled").iloc[10:].copy()
    df["prefill_energy_j"] = df["energy_j"] * 0.1
    df.loc[df.index[[3, 7]], "prefill_energy_j"] = np.nan
    with pytest.raises(ValueError, match=r"^<DataFrame read from .*llm_configs_flat.csv>: target 'prefill' needs a "
                                         r"measured, finite 'prefill_energy_j' in every row; it is missing or not finite "
                                         r"in 2 of the 346 rows, data rows 4, 8 of the DataFrame \(1-based positions; "
                                         r"index labels 13, 17\): measure it there, or leave those rows out$"):
        ds.discover(df, target="prefill")


def test_a_row_that_overflows_a_variable_is_named_with_its_file_and_features(monkeypatch, tmp_path, capsys):
    """Output tokens of 1e300 in data row 201 overflow E_mem: the error said "... is not finite at row 200"
    (0-based, no file, no feature); in a frame, the template fit's error counted rows among the training rows."""
    monkeypatch.setattr(ds, "run_backend", lambda *a, **k: pytest.fail("the search ran"))
    df = load_profiles_or_bundled("bundled")
    df.loc[200, "output_tokens"] = 1e300
    path = tmp_path / "huge.csv"
    df.to_csv(path, index=False)
    assert main(["discover", str(path), "-o", str(tmp_path / "d.json"), "--quiet"]) == 2
    err = capsys.readouterr().err  # refused when read: the schema's plausibility limits (profiles/limits.py)
    assert f"{path}: profile table violates schema v1: column 'output_tokens': must be between 1 and 10,000,000" in err
    assert "in data row 201 (1-based, header not counted); value(s): 1e+300" in err
    frame = load_profiles_or_bundled("bundled").iloc[3:].copy()
    frame.loc[5, "input_tokens"] = 1e200
    with pytest.raises(ValueError, match=r"^<DataFrame edited after it was read from .*>: profile table violates schema "
                                         r"v1: column 'input_tokens': must be between .* in data row 3 of the DataFrame "
                                         r"\(1-based position; index label \d+\); value\(s\): 1e\+200"):
        ds.discover(frame, progress=False)
    frame.loc[5, ["input_tokens", "batch_size"]] = [frame.loc[6, "input_tokens"], 1e-310]  # a batch of 1e-310
    with pytest.raises(ValueError, match=r"column 'batch_size': must be between .* data row 3 of .*; value\(s\): 1e-310"):
        ds.discover(frame, progress=False)


def test_search_inputs_that_are_not_finite_are_named_not_blamed_on_the_front():
    rng = np.random.default_rng(0)
    X = rng.uniform(1, 2, (40, 2))
    y = 3 * X[:, 0]
    y[5] = np.nan
    choice = be.BackendChoice("operon", "test")
    with pytest.raises(ValueError, match=r"^y is not finite in 1 of 40 rows \(0-based: \[5\]\); the search needs"):
        be.run_backend(choice, X, y, ["a", "b"], generations=10, population=50, progress=False)
    y[5], X[3, 1] = 1.0, np.inf
    with pytest.raises(ValueError, match=r"^X is not finite in 1 of 40 rows \(0-based: \[3\]\)"):
        be.run_backend(choice, X, y, ["a", "b"], generations=10, population=50, progress=False)


def test_matplotlib_is_needed_only_for_the_report_and_said_up_front(monkeypatch, tmp_path, capsys):
    """Without matplotlib (pyoperon and SymPy installed by hand) every run ended in a traceback from the report
    module's import, with or without --report; now only --report needs it, and it is said before any work."""
    e_mem = sp.Symbol(next(iter(energy_variables())))
    monkeypatch.setattr(ds, "run_backend", lambda *a, **k: [(5, 2.0 * e_mem + 1.0)])
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.delitem(sys.modules, "energylens.discover.report", raising=False)
    assert main(["discover", "bundled", "-o", str(tmp_path / "d.json"), "--quiet"]) == 0
    monkeypatch.setattr(ds, "run_backend", lambda *a, **k: pytest.fail("the search ran"))
    assert main(["discover", "bundled", "-o", str(tmp_path / "e.json"), "--quiet", "--report", str(tmp_path / "r")]) == 2
    assert "energylens discover --report (the front plot) needs matplotlib" in capsys.readouterr().err


def test_rows_the_template_fit_cannot_predict_are_the_profiles_data_rows(monkeypatch):
    """A batch of 1e200 in data row 6 stops the template fit, whose message counted rows among the 249 training
    rows: "data rows [4]". Now the position among them with the index label (the file's 0-based data row 5)."""
    monkeypatch.setattr(ds, "run_backend", lambda *a, **k: pytest.fail("the search ran"))
    df = load_profiles_or_bundled("bundled")
    df.loc[5, "batch_size"] = 1e200  # refused by the schema's plausibility limits, naming the row of the frame
    with pytest.raises(ValueError, match=r"column 'batch_size': must be between .* in data row 6 of the DataFrame "
                                         r"\(1-based position; index label 5\); value\(s\): 1e\+200"):
        ds.discover(df, progress=False)


def test_a_seed_pysr_cannot_take_is_refused_up_front(monkeypatch):
    """PySR seeds NumPy's RandomState with random_state (0 .. 2**32 - 1); --seed takes up to 2**63 - 1 (operon takes
    any), so 2**32 failed inside PySR after Julia had started."""
    seen: dict = {}
    _fake_pysr(monkeypatch, seen)
    monkeypatch.setattr(be, "julia_executable", lambda: "/opt/julia/bin/julia")
    with pytest.raises(ValueError, match=r"^seed \(--seed\) must be < 2\*\*32 for the pysr backend .*got 4294967296$"):
        be.run_backend(be.BackendChoice("pysr", "test"), np.ones((5, 1)), np.ones(5), ["E_mem"], max_complexity=9,
                       time_budget_s=5, seed=2**32, progress=False)
    assert not seen
