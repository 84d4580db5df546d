"""Findings of a researcher's audit of ``energylens discover`` end to end (2026-12-06); each test failed before its
fix. The operon runs here are a few generations of a small population (well under a second each)."""
from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest
import sympy as sp

from energylens.cli import main
from energylens.discover import backends as be
from energylens.discover import search as ds
from energylens.discover.variables import energy_variables

needs_operon = pytest.mark.skipif(importlib.util.find_spec("pyoperon") is None,
                                  reason="pyoperon (the [sr] extra) is not installed")

FAST = ["--generations", "5", "--population", "50", "--max-complexity", "9"]


@pytest.mark.parametrize("option", ["--max-complexity", "--population", "--generations"])
def test_a_search_setting_too_large_for_the_backend_is_named_before_any_work(option, monkeypatch, capsys):
    """--max-complexity 1e20 and --population 1e20 ended in pyoperon's pybind11 TypeError ("incompatible function
    arguments ... Invoked with types: SubtreeCrossover, float, int, int"), --generations 1e20 in Python's
    "OverflowError: cannot fit 'int' into an index-sized integer": tracebacks, exit 1, after the template fit."""
    monkeypatch.setattr(ds, "load_profiles_or_bundled", lambda path: pytest.fail("the profiles were read"))
    assert main(["discover", "bundled", "-o", "/dev/null", "--quiet", option, str(10**20)]) == 2
    err = capsys.readouterr().err
    assert f"({option}) must be an integer in [" in err and "2**63" in err and str(10**20) in err
    assert "Traceback" not in err


@needs_operon
def test_a_generation_cap_far_above_what_the_budget_allows_is_not_laid_out_in_memory():
    """--generations 1e9 built a list of 1e8 round sizes (800 MB) before the first round; 1e19 could not."""
    rng = np.random.default_rng(0)
    X = rng.uniform(1, 2, (40, 2))
    info: dict = {}
    front = be.run_backend(be.BackendChoice("operon", "test"), X, 3 * X[:, 0] + X[:, 1], ["a", "b"],
                           time_budget_s=1.0, generations=2**62, population=20, progress=False, info=info)
    assert front and info["stopped_by"] == "time budget" and 0 < info["generations_run"] < 2**62


def test_a_population_operon_cannot_allocate_is_named(monkeypatch):
    """--population 1e12 ended in a traceback, "MemoryError: std::bad_alloc", after the template fit."""

    class Regressor:
        def __init__(self, **kw):
            pass

        def fit(self, X, y):
            raise MemoryError("std::bad_alloc")

    monkeypatch.setattr(be, "_backend_class", lambda *a: Regressor)
    with pytest.raises(ValueError, match=r"operon ran out of memory .*population of 1000000000000 \(--population\)"):
        be.run_backend(be.BackendChoice("operon", "test"), np.ones((5, 1)), np.arange(5.0), ["E_mem"],
                       population=10**12, progress=False)


@needs_operon
def test_the_result_says_what_stopped_the_search_and_whether_the_seed_reproduces_it(tmp_path, capsys):
    """Whether a seed reproduces the front depends on which bound stopped the search (the docs say so), but
    neither the output nor the result file said which one did, how many generations ran, with what settings,
    on which profiles, or how long the whole run took (the JSON's "seconds" only)."""
    out = tmp_path / "d.json"
    assert main(["discover", "bundled", *FAST, "--seed", "3", "-o", str(out), "--report", str(tmp_path / "r")]) == 0
    cap = capsys.readouterr()
    doc = json.loads(out.read_text())
    assert doc["profiles"] == "bundled"
    assert doc["settings"] == {"target": "energy", "backend": "auto", "max_complexity": 9, "time_budget_s": 60.0,
                               "generations": 5, "population": 50, "train_size": None, "seed": 3,
                               "gpu_tables": [], "model_tables": []}
    s = doc["search"]
    assert s["stopped_by"] == "generations" and s["generations_run"] == 5 and s["seconds"] > 0
    assert "5 of 5 generations" in cap.out and "the generation cap" in cap.out
    assert "the same --seed reproduces this front" in cap.out
    assert f"{doc['seconds']:.1f} s in all" in cap.out
    page = (tmp_path / "r" / "discovery.md").read_text()
    assert s["note"] in page and "population 50, complexity <= 9" in page
    # the time budget binding is said too, and that a rerun may differ
    out2 = tmp_path / "t.json"
    assert main(["discover", "bundled", "--generations", str(10**6), "--population", "50", "--max-complexity", "9",
                 "--time-budget", "1", "-o", str(out2), "--quiet"]) == 0
    s2 = json.loads(out2.read_text())["search"]
    assert s2["stopped_by"] == "time budget" and s2["generations_run"] < 10**6
    assert "the 1 s time budget" in capsys.readouterr().out and "a rerun may differ" in s2["note"]


@needs_operon
def test_each_slow_step_of_a_run_says_what_it_does(tmp_path, capsys):
    """The default run on the bundled data takes ~3.5 s and printed one line, 'operon round 20/20, 0.8 s': nothing
    while the profiles were read, the template fitted and pyoperon imported (~2 s), nothing while the front's
    expressions were refitted and cross-validated (~1 s)."""
    assert main(["discover", "bundled", *FAST, "-o", str(tmp_path / "d.json")]) == 0
    err = capsys.readouterr().err
    # the first line comes before the ~1-3 s import of SymPy and the model (it came after them and the template fit)
    assert err.startswith("discover: reading bundled, fitting the template (12 parameters) on the training rows")
    assert "discover: 249 training / 107 held-out rows of bundled" in err
    assert "searching with operon (up to 5 generations or 60 s" in err
    assert "discover: scoring the front's" in err and "5-fold cross-validation" in err
    assert main(["discover", "bundled", *FAST, "-o", str(tmp_path / "q.json"), "--quiet"]) == 0
    assert capsys.readouterr().err == ""


def test_a_result_file_reads_back_to_a_result_and_a_model(monkeypatch, tmp_path):
    """There was no reader for the result file (discovered.json): a front expression from an earlier run could not
    become a model through expression_model without rerunning the search."""
    e_mem, e_pf = (sp.Symbol(n) for n in ("E_mem", "E_pf"))
    assert {"E_mem", "E_pf"} <= set(energy_variables())
    monkeypatch.setattr(ds, "run_backend", lambda *a, **k: [(7, 2.0 * e_mem + 1.5 * e_pf + 1.0)])
    out = tmp_path / "d.json"
    assert main(["discover", "bundled", "--train-size", "352", "-o", str(out), "--quiet"]) == 0
    back = ds.load_discovery(out)
    assert back.to_json() == out.read_text()
    assert np.isnan(back.template["top1"])  # null (no held-out choice among 4 rows) reads back as n/a
    model = ds.expression_model(back, bootstrap=0)
    assert "E_" not in str(model.to_sympy())


@pytest.mark.parametrize(("text", "message"), [
    ("{not json", r"bad\.json: not a JSON file \(.*line 1"),
    ('{"format": "energylens.model"}', r"bad\.json: not a discovery result \(format 'energylens\.model'"),
    ('{"format": "energylens.discovery", "version": 1}', r"bad\.json: the discovery result lacks 'target'"),
    ("[1, 2]", r"bad\.json: not a discovery result \(a JSON list;"),
])
def test_a_file_that_is_not_a_result_is_named_when_read(text, message, tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        ds.load_discovery(path)


def test_the_printed_table_shows_the_error_that_chose_and_names_the_variables(monkeypatch, capsys, tmp_path):
    """The '*' row was "the lowest cross-validated error on the training rows", but the table did not show that
    error (only the report did, unexplained as "CV error"), so how close the choice was could not be read; nor did
    the output say what E_mem, E_pf, ... are (only the report and the JSON)."""
    e_mem, e_pf = (sp.Symbol(n) for n in ("E_mem", "E_pf"))
    monkeypatch.setattr(ds, "run_backend", lambda *a, **k: [(5, 2.0 * e_mem + 1.0), (7, 2.0 * e_mem + 1.5 * e_pf + 1.0)])
    out = tmp_path / "d.json"
    assert main(["discover", "bundled", "-o", str(out), "--quiet", "--report", str(tmp_path / "r")]) == 0
    printed = capsys.readouterr().out
    doc = json.loads(out.read_text())
    header = next(line for line in printed.splitlines() if "expression" in line and "MAPE" in line)
    assert "CV%" in header
    for i, e in enumerate(doc["front"]):
        row = next(line for line in printed.splitlines() if line.startswith(f"{i:>2}"))
        assert f"{100 * e['cv_error']:.2f}" in row
    assert "CV%: the 5-fold cross-validated mean |relative error| on the training rows" in printed
    assert "variables: E_mem = " in printed and "E_pf = " in printed
    page = (tmp_path / "r" / "discovery.md").read_text()
    assert "CV %: the 5-fold cross-validated mean |relative error| on the training rows" in page


def test_a_search_under_a_tenth_of_a_second_does_not_read_as_no_time():
    assert "in under 0.1 s" in ds.search_summary({"stopped_by": "generations", "generations_run": 5, "seconds": 0.04},
                                                   {"generations": 5}, "operon")


def test_a_long_scoring_of_the_front_reports_its_progress(monkeypatch, capsys):
    """Scoring a front (each expression's constants refitted, 5 folds of cross-validation) took 8 s for the 16
    expressions of a 5000-generation run on a loaded box, after one line; it now says how far it is every
    PROGRESS_EVERY_S seconds (0 here: a line per expression)."""
    e_mem, e_pf = (sp.Symbol(n) for n in ("E_mem", "E_pf"))
    front = [(5, 2.0 * e_mem + 1.0), (7, 2.0 * e_mem + 1.5 * e_pf + 1.0), (9, 2.0 * e_mem * e_pf + 1.5 * e_pf + 1.0)]
    monkeypatch.setattr(ds, "run_backend", lambda *a, **k: front)
    monkeypatch.setattr(ds, "PROGRESS_EVERY_S", 0.0)
    ds.discover("bundled", progress=True)
    err = capsys.readouterr().err
    assert all(f"discover: scored {k} of 3 expressions (" in err for k in (1, 2, 3))
    ds.discover("bundled", progress=False)
    assert capsys.readouterr().err == ""


def test_a_front_expression_that_reads_as_an_earlier_one_is_merged(monkeypatch, capsys, tmp_path):
    """operon's front can hold two trees of different lengths that are one expression once SymPy reads them (the
    5000-generation front of the bundled data: complexity 22 and 24, the same refitted expression and scores);
    the table listed both as if the longer one were another point of the front, then (2026-12-06) as 'same as 1'
    in a row of its own. The longer one is merged into the shorter now, and the run says so."""
    e_mem, e_pf = (sp.Symbol(n) for n in ("E_mem", "E_pf"))
    same = 2.0 * e_mem + 1.5 * e_pf + 1.0
    monkeypatch.setattr(ds, "run_backend", lambda *a, **k: [(5, 2.0 * e_mem + 1.0), (7, same), (9, same)])
    out = tmp_path / "d.json"
    assert main(["discover", "bundled", "-o", str(out), "--quiet", "--report", str(tmp_path / "r")]) == 0
    printed = capsys.readouterr().out
    assert not any(line.startswith(" 2") for line in printed.splitlines())
    assert "note: 1 of the front's 3 expressions merged into another entry" in printed
    assert "complexity 9 into 1" in printed
    doc = json.loads(out.read_text())
    assert [e["complexity"] for e in doc["front"]] == [5, 7] and [m["into"] for m in doc["merged"]] == [1]
    assert ds.load_discovery(out).merged == doc["merged"]
    assert "Merged: 1 front expression(s)" in (tmp_path / "r" / "discovery.md").read_text()


def test_the_result_file_names_the_gpu_tables_the_run_read(monkeypatch, tmp_path):
    """A run whose profiles name a GPU only a --gpu-table file describes could not be rerun from its result file:
    the settings did not name the table."""
    from pathlib import Path

    import pandas as pd

    import energylens
    from energylens.profiles.datasets import mlenergy_v2

    e_mem = sp.Symbol("E_mem")
    monkeypatch.setattr(ds, "run_backend", lambda *a, **k: [(5, 2.0 * e_mem + 1.0)])
    rows = mlenergy_v2().reset_index(drop=True)
    base = rows["gpu"].iloc[0]
    spec = pd.read_csv(Path(energylens.__file__).parent / "data" / "gpus.csv")
    spec = spec[(spec["name"] == base) | spec["aliases"].fillna("").str.split(";").map(lambda a: base in a)]
    spec = spec.assign(name="LabGPU-1", aliases="")
    assert len(spec) == 1
    spec.to_csv(tmp_path / "gpus.csv", index=False)
    rows.assign(gpu=rows["gpu"].where(rows["gpu"] != base, "LabGPU-1")).to_csv(tmp_path / "p.csv", index=False)
    out = tmp_path / "d.json"
    assert main(["discover", str(tmp_path / "p.csv"), "--gpu-table", str(tmp_path / "gpus.csv"), "-o", str(out),
                 "--quiet"]) == 0
    doc = json.loads(out.read_text())
    assert doc["settings"]["gpu_tables"] == [str(tmp_path / "gpus.csv")]
    assert doc["profiles"] == str(tmp_path / "p.csv")


def test_the_front_plot_reads_its_mape_axis_in_plain_numbers_and_gives_the_templates(monkeypatch):
    """front.png's log MAPE axis over a narrow range (8-12 % for the residual target on the bundled data) was
    labelled '9 x 10^0' and '10^1' only, and the template's line carried no value: how far below it the front
    lies could not be read."""
    from energylens.discover import report

    tp, intensity, b = (sp.Symbol(n) for n in ("tp", "intensity", "B"))
    monkeypatch.setattr(ds, "run_backend", lambda *a, **k: [(5, 0.04 - 0.014 * tp), (7, 0.14 - 52.6 * intensity / b),
                                                            (9, 0.1 - 0.01 * tp - 50.0 * intensity / b)])
    res = ds.discover("bundled", target="residual", progress=False)
    fig = report._figure(res)
    fig.canvas.draw()
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels(which="both") if t.get_text()]
    assert labels and not any("times" in t or "^" in t for t in labels), labels
    assert any(f"{res.template['mape']:.1f} %" in t.get_text() for t in ax.get_legend().get_texts())
    assert all(float(v).is_integer() for v in ax.get_xticks())  # complexity counts nodes
    report.plt.close(fig)


def test_a_missing_backend_is_said_before_the_run_says_it_reads_the_profiles(monkeypatch, capsys):
    """--backend pysr without PySR printed 'discover: reading bundled, fitting the template ...' and then, after
    the 1 s import of SymPy and the model, that PySR is not installed."""
    from energylens.discover import select as sel

    monkeypatch.setattr(sel, "_has", lambda module: module == "pyoperon")
    assert main(["discover", "bundled", "--backend", "pysr", "-o", "/dev/null"]) == 2
    err = capsys.readouterr().err
    assert "PySR is not installed: pip install pysr; PySR also needs Julia" in err
    assert "discover: reading" not in err


@needs_operon
def test_a_budget_spent_before_the_first_round_still_gives_that_rounds_front():
    """--time-budget 1e-300 (any budget shorter than the step from the clock's start to the first round's check)
    ended in a bare AssertionError traceback: no round ran, so there was no front."""
    rng = np.random.default_rng(0)
    X = rng.uniform(1, 2, (40, 2))
    info: dict = {}
    front = be.run_backend(be.BackendChoice("operon", "test"), X, 3 * X[:, 0] + X[:, 1], ["a", "b"],
                           time_budget_s=1e-300, generations=20, population=20, progress=False, info=info)
    assert front and info["stopped_by"] == "time budget" and info["generations_run"] == 10


def test_every_search_setting_says_its_default_in_the_help():
    """--generations' help gave no default (200), though it decides, with the time budget, whether a run is
    reproducible; the other settings said theirs."""
    from energylens.cli.main import build_parser

    sub = next(a for a in build_parser()._actions if a.dest == "command").choices["discover"]
    helps = {a.dest: a.help for a in sub._actions}
    for dest, default in (("generations", "200"), ("population", "500"), ("max_complexity", "25"),
                          ("time_budget", "60"), ("seed", "0")):
        assert f"({default}" in helps[dest] or f"; {default})" in helps[dest], (dest, helps[dest])


def test_a_search_with_no_expression_within_the_cap_says_so(monkeypatch):
    """A front with nothing within --max-complexity (run_backend drops what exceeds it) was reported as "none of
    the front's 0 expressions can be fitted on the training rows (e.g. -: it predicts no finite value there)"."""
    monkeypatch.setattr(ds, "run_backend", lambda *a, **k: [])
    with pytest.raises(ValueError, match=r"no expression within --max-complexity 6 .*raise --max-complexity"):
        ds.discover("bundled", max_complexity=6, progress=False)
