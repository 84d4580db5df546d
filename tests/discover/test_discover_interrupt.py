"""Ctrl-C during ``energylens discover`` keeps what the search found (2026-12-06). Before, a KeyboardInterrupt
between (or in) operon's rounds threw the whole run away: a researcher who stopped a 20-minute search kept
nothing, not even the front of the rounds already run. Now the front of the rounds run is scored, written and
printed, the result says the search was interrupted after N of M rounds and how to reproduce or extend it, and
the command still exits 130. Each test failed before the fix."""
from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from energylens.cli import main
from energylens.discover import backends as be
from energylens.discover import search as ds

needs_operon = pytest.mark.skipif(importlib.util.find_spec("pyoperon") is None,
                                  reason="pyoperon (the [sr] extra) is not installed")


@pytest.fixture(autouse=True)
def python_sigint_handler():
    """The command installs its SIGINT handler only over Python's own (not where a shell ignores SIGINT)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _regressor(interrupt_on: int, rounds_seen: list[int]):
    """An operon stand-in whose ``interrupt_on``-th round raises KeyboardInterrupt (as Ctrl-C during a round does:
    heard when pyoperon's C++ run returns); round k's front is in one variable of its own (round 2: E_mem)."""
    own = {1: "E_comp", 2: "E_mem"}

    class Regressor:
        def __init__(self, **kw):
            self.__dict__.update(kw)

        def set_params(self, **kw):
            self.__dict__.update(kw)

        def fit(self, X, y):
            rounds_seen.append(self.generations)
            if len(rounds_seen) == interrupt_on:
                raise KeyboardInterrupt
            v = own.get(len(rounds_seen), "E_seq")
            self.pareto_front_ = [{"length": 5, "tree": f"2*{v} + 1", "mean_squared_error": 1.0},
                                  {"length": 7, "tree": f"2*{v} + E_pf + 1", "mean_squared_error": 0.5}]
            self.stats_ = {"generations": self.generations}
            return self

        def get_model_string(self, tree, precision, names):
            return tree

    return Regressor


def test_ctrl_c_after_some_rounds_keeps_their_front_in_the_api(monkeypatch):
    seen: list[int] = []
    monkeypatch.setattr(be, "_backend_class", lambda *a: _regressor(3, seen))
    with pytest.raises(ds.DiscoveryInterrupted) as caught:
        ds.discover("bundled", backend="operon", generations=45, population=50, max_complexity=9, progress=False)
    assert isinstance(caught.value, KeyboardInterrupt)  # a script that does not catch it still stops
    res = caught.value.result
    assert len(res.front) == 2 and all("E_mem" in e.expression for e in res.front)  # round 2's front
    assert "E_pf" in res.front[1].expression
    s = res.search
    assert s["stopped_by"] == "interrupt" and s["rounds_run"] == 2 and s["rounds"] == 5
    assert s["generations_run"] == 20
    assert "interrupted (Ctrl-C) after 2 of 5 rounds" in s["note"]
    assert "--generations 20 --seed 0" in s["note"]
    assert seen == [10, 10, 10]  # no round after the interrupt


def test_ctrl_c_after_some_rounds_writes_the_result_and_exits_130(monkeypatch, tmp_path, capsys):
    seen: list[int] = []
    monkeypatch.setattr(be, "_backend_class", lambda *a: _regressor(3, seen))
    out, rep = tmp_path / "d.json", tmp_path / "rep"
    rc = main(["discover", "bundled", "--backend", "operon", "--generations", "45", "--population", "50",
               "--max-complexity", "9", "-o", str(out), "--report", str(rep)])
    cap = capsys.readouterr()
    assert rc == 130, cap.err
    doc = json.loads(out.read_text())
    assert doc["search"]["stopped_by"] == "interrupt" and doc["search"]["rounds_run"] == 2
    assert len(doc["front"]) == 2 and "E_mem" in doc["front"][0]["expression"]
    assert "interrupted (Ctrl-C) after 2 of 5 rounds" in cap.out  # the table's search line
    assert "E_pf" in cap.out  # the front was printed
    assert "interrupted (Ctrl-C)" in cap.err and str(out) in cap.err
    assert "--generations 20 --seed 0" in cap.err  # how to reproduce it; and how to search further
    assert "Traceback" not in cap.err
    assert "interrupted (Ctrl-C) after 2 of 5 rounds" in (rep / "discovery.md").read_text()
    assert (rep / "front.png").stat().st_size > 0


def test_an_interrupt_before_the_first_front_exists_keeps_nothing_and_says_so(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(be, "_backend_class", lambda *a: _regressor(1, []))
    out = tmp_path / "d.json"
    rc = main(["discover", "bundled", "--backend", "operon", "--generations", "45", "--population", "50",
               "--max-complexity", "9", "-o", str(out), "--quiet"])
    assert rc == 130
    assert not out.exists() and list(tmp_path.iterdir()) == []
    assert "interrupted (Ctrl-C)" in capsys.readouterr().err


def test_ctrl_c_while_the_front_is_scored_keeps_the_scored_expressions(monkeypatch, tmp_path, capsys):
    """A search that ran to its end and an interrupt during the scoring (as long as the search at the default
    settings) lost the whole search too."""
    import sympy as sp

    e_mem, e_pf = sp.Symbol("E_mem", positive=True), sp.Symbol("E_pf", positive=True)
    monkeypatch.setattr(ds, "run_backend", lambda *a, **k: [(5, 2.0 * e_mem + 1.0), (7, 2.0 * e_mem + e_pf + 1.0),
                                                            (9, 2.0 * e_mem * e_pf + e_pf + 1.0)])
    cv, calls = ds._cv_error, []

    def cv_error(*a, **k):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return cv(*a, **k)

    monkeypatch.setattr(ds, "_cv_error", cv_error)
    out = tmp_path / "d.json"
    rc = main(["discover", "bundled", "--backend", "operon", "-o", str(out), "--quiet"])
    cap = capsys.readouterr()
    assert rc == 130, cap.err
    doc = json.loads(out.read_text())
    assert [e["complexity"] for e in doc["front"]] == [5]
    assert doc["search"]["unscored"] == [{"complexity": 7, "expression": "2.0*E_mem + E_pf + 1.0"},
                                         {"complexity": 9, "expression": "2.0*E_mem*E_pf + E_pf + 1.0"}]
    assert "2 of the front's 3 expressions were not scored" in cap.out
    assert "no fit of their constants" not in cap.out


def test_a_second_ctrl_c_while_the_kept_front_is_scored_stops_at_once(monkeypatch, tmp_path, capsys):
    seen: list[int] = []
    monkeypatch.setattr(be, "_backend_class", lambda *a: _regressor(3, seen))
    monkeypatch.setattr(ds, "_cv_error", lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt()))
    out = tmp_path / "d.json"
    rc = main(["discover", "bundled", "--backend", "operon", "--generations", "45", "--population", "50",
               "--max-complexity", "9", "-o", str(out), "--quiet", "--report", str(tmp_path / "rep")])
    assert rc == 130
    doc = json.loads(out.read_text())  # nothing scored: the raw front is still kept, unscored
    assert doc["front"] == [] and len(doc["search"]["unscored"]) == 2 and doc["chosen"] is None
    assert "Not scored (the run was interrupted): 2 front expression(s)" in (tmp_path / "rep" / "discovery.md").read_text()
    with pytest.raises(ValueError, match="found no expression to fit .its run was interrupted before one was scored"):
        ds.expression_model(ds.load_discovery(out))
    assert "interrupted (Ctrl-C)" in capsys.readouterr().err


READY = "energylens-test: operon round done"
HOOK = f"""
import sys
from pyoperon.sklearn import SymbolicRegressor
_fit = SymbolicRegressor.fit
def fit(self, X, y):
    out = _fit(self, X, y)
    print({READY!r}, file=sys.stderr, flush=True)
    return out
SymbolicRegressor.fit = fit
"""


@needs_operon
def test_a_real_sigint_during_a_long_search_keeps_a_front_the_printed_command_reproduces(tmp_path):
    out = tmp_path / "d.json"
    argv = ["discover", "bundled", "--generations", str(10**6), "--time-budget", "600", "--population", "50",
            "--max-complexity", "9", "--seed", "4", "-o", str(out)]
    code = HOOK + f"from energylens.cli.main import main\nsys.exit(main({argv!r}))\n"
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=tmp_path, start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    seen = ""
    while seen.count(READY) < 2:
        line = proc.stderr.readline()
        if not line:
            proc.wait()
            pytest.fail(f"no second round: {seen[-2000:]}")
        seen += line
    sent = time.monotonic()
    os.kill(proc.pid, signal.SIGINT)
    stdout, err = proc.communicate(timeout=120)
    after = time.monotonic() - sent
    assert proc.returncode == 130, seen + err
    assert after < 30, f"{after:.1f} s after the signal"
    assert "Traceback" not in err
    s = json.loads(out.read_text())["search"]
    # (>= 1, not 2: the signal can land while the second round's fit returns, before the round is recorded)
    assert s["stopped_by"] == "interrupt" and s["rounds_run"] >= 1 and s["generations_run"] == 10 * s["rounds_run"]
    assert f"--generations {s['generations_run']} --seed 4" in err
    # the command it prints reproduces the front it kept
    again = tmp_path / "again.json"
    assert main(["discover", "bundled", "--generations", str(s["generations_run"]), "--population", "50",
                 "--max-complexity", "9", "--seed", "4", "-o", str(again), "--quiet"]) == 0
    kept = [e["expression"] for e in json.loads(out.read_text())["front"]]
    assert kept == [e["expression"] for e in json.loads(again.read_text())["front"]]


def test_ctrl_c_during_a_round_keeps_that_round(monkeypatch):
    """pyoperon's C++ run does not poll for signals, so Ctrl-C during a round is heard when the round ends; the
    KeyboardInterrupt was then raised in pyoperon's own Python before it stored the round's front, so the round
    the user had waited for (33 s at --population 80000) was thrown away, and in the first round everything."""
    seen: list[int] = []
    Regressor = _regressor(0, seen)
    fit = Regressor.fit

    def fit_signalled(self, X, y):  # the signal arrives while the round runs; pyoperon then stores its front
        if len(seen) == 2:
            os.kill(os.getpid(), signal.SIGINT)
        return fit(self, X, y)

    monkeypatch.setattr(Regressor, "fit", fit_signalled)
    monkeypatch.setattr(be, "_backend_class", lambda *a: Regressor)
    with pytest.raises(ds.DiscoveryInterrupted) as caught:
        ds.discover("bundled", backend="operon", generations=45, population=50, max_complexity=9, progress=False)
    s = caught.value.result.search
    assert s["rounds_run"] == 3 and s["generations_run"] == 30 and seen == [10, 10, 10]
    assert all("E_seq" in e.expression for e in caught.value.result.front)  # round 3's front
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # the caller's handler is back


@needs_operon
def test_a_real_sigint_in_a_long_first_round_keeps_its_front(tmp_path):
    out = tmp_path / "d.json"
    argv = ["discover", "bundled", "--generations", "30", "--population", "20000", "--max-complexity", "9",
            "-o", str(out), "--quiet"]
    hook = HOOK.replace("    out = _fit(self, X, y)", "    print('entered', file=sys.stderr, flush=True)\n"
                                                      "    out = _fit(self, X, y)")
    code = hook + f"from energylens.cli.main import main\nsys.exit(main({argv!r}))\n"
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=tmp_path, start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    seen = ""
    while "entered" not in seen:
        line = proc.stderr.readline()
        if not line:
            proc.wait()
            pytest.fail(f"no round: {seen[-2000:]}")
        seen += line
    time.sleep(0.3)  # into pyoperon's C++ run (a round of 10 generations of 20,000: ~2 s)
    os.kill(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, seen + err
    assert READY in err.split("interrupted")[0] and READY not in err.split(READY, 1)[1]  # no round after it
    s = json.loads(out.read_text())["search"]
    assert s["stopped_by"] == "interrupt" and s["rounds_run"] == 1 and s["generations_run"] == 10


def test_ctrl_c_during_a_round_that_fails_is_still_an_interrupt(monkeypatch):
    """The interrupt held back for the round is not lost when the round ends in an error."""
    class Regressor:
        def __init__(self, **kw):
            pass

        def fit(self, X, y):
            os.kill(os.getpid(), signal.SIGINT)
            raise MemoryError("std::bad_alloc")

    monkeypatch.setattr(be, "_backend_class", lambda *a: Regressor)
    with pytest.raises(KeyboardInterrupt):
        be.run_backend(be.BackendChoice("operon", "test"), np.ones((5, 1)), np.arange(5.0), ["E_mem"], progress=False)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_the_search_progress_line_says_how_long_the_search_may_still_run(monkeypatch, capsys):
    """A long search's progress line read 'operon round 158/100000, 5.0 s': with the time budget binding long before
    the generation cap, neither number said when the search would end (a 20-minute budget, 100000 rounds)."""
    monkeypatch.setattr(be, "_backend_class", lambda *a: _regressor(0, []))
    be.run_backend(be.BackendChoice("operon", "test"), np.ones((5, 1)), np.arange(5.0), ["E_mem"], generations=10,
                   time_budget_s=1200, progress=True)
    assert "s of the 1200 s time budget" in capsys.readouterr().err
    be.run_backend(be.BackendChoice("operon", "test"), np.ones((5, 1)), np.arange(5.0), ["E_mem"], generations=10,
                   time_budget_s=float("inf"), progress=True)
    assert "time budget" not in capsys.readouterr().err


def test_an_interrupted_runs_plot_says_it_was_interrupted(monkeypatch):
    """The front plot of an interrupted run looked like a finished run's (only discovery.md said otherwise)."""
    pytest.importorskip("matplotlib")
    from energylens.discover import report

    monkeypatch.setattr(be, "_backend_class", lambda *a: _regressor(3, []))
    with pytest.raises(ds.DiscoveryInterrupted) as caught:
        ds.discover("bundled", backend="operon", generations=45, population=50, max_complexity=9, progress=False)
    fig = report._figure(caught.value.result)
    assert "search interrupted after 2 of 5 rounds" in fig.axes[0].get_title()


def test_the_help_says_what_ctrl_c_keeps(capsys):
    with pytest.raises(SystemExit):
        main(["discover", "--help"])
    assert "130 / 143 on Ctrl-C / SIGTERM, after the front found so far is scored and written" in \
        " ".join(capsys.readouterr().out.split())
