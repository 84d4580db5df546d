"""A discovery front held rescaled duplicates: two of operon's trees that are one expression up to its constants
(``52.67*sqrt(E_seq)*sqrt(0.0301*A + 1.657*E_pf)`` and ``35.46*sqrt(E_seq)*sqrt(0.0668*A + 3.602*E_pf)``: a factor
moved into the square root), or two expressions that predict the same values on every row, took two places on
the front and two rows of the printed table (``energylens discover bundled --generations 200 --seed 4``: complexity
15 and 17, predictions equal to 8e-7; ``--seed 1``: 19 and 21, to 2e-12). They are merged now: the simpler one
is kept (of one expression fitted to different values, the better fitted), and the run says how many were merged.
The backend's fronts below are those runs' own trees (operon's output, before the refit)."""
from __future__ import annotations

import json

import numpy as np
import pytest
import sympy as sp

from energylens.cli import main
from energylens.discover import FrontEntry
from energylens.discover import merge as dm
from energylens.discover import search as ds
from energylens.discover.backends import _parse
from energylens.discover.variables import energy_variables
from energylens.model.compile import parametrize
from energylens.profiles.datasets import load_profiles_or_bundled

NAMES = list(energy_variables())

#: ``energylens discover bundled --generations 200 --seed 4``: the trees of complexity 12, 15 and 17.
SEED4 = [(12, "35.8297145713155*sqrt(E_seq)*sqrt(1.25156747050921*E_mem*pp + 1.484036803246*E_pf) - 8.723196029663"),
         (15, "52.6723896392101*sqrt(E_seq)*sqrt(0.0301199543318659*E_mem**(3/2)*sqrt(pp) + 1.657486796379*E_pf) "
              "+ 2.53999710083"),
         (17, "35.462662527016*sqrt(E_seq)*sqrt(0.0668242285299364*E_mem**(3/2)*sqrt(pp) + 3.601940989494*E_pf) "
              "+ 2.993790149689")]
#: ``--seed 1``: complexity 15, 19 and 21 (a factor outside a square that scales the sum inside it).
SEED1 = [(15, "16.3230729226099*sqrt(E_mem) + 0.733196128157057*E_mem + 19.7714153297445*tp + "
              "6.511963844299*(-1.249606728554*E_layer - 2.483508110046*E_seq)**2 - 36.420253753662"),
         (19, "15.5298202143942*sqrt(E_mem) + 0.69756498094162*E_mem + 0.69756498094162*E_pf + 23.4037095307098*tp + "
              "6.195501804352*(-1.277940750122*E_layer - 2.483508110046*E_seq)**2 - 45.576324462891"),
         (21, "16.0815468486157*sqrt(E_mem) + 0.722347314141392*E_mem + 0.722347314141392*E_pf + 16.8419809418563*tp "
              "+ 6.415608882904*(-1.277940750122*E_layer - 2.483508110046*E_seq)**2 - 34.117004394531")]


def _front(monkeypatch, trees):
    front = [(c, _parse(text, NAMES)) for c, text in trees]
    monkeypatch.setattr(ds, "run_backend", lambda *a, **k: list(front))


def test_a_tree_rescaled_inside_a_square_root_takes_one_place(monkeypatch, capsys, tmp_path):
    _front(monkeypatch, SEED4)
    out = tmp_path / "d.json"
    assert main(["discover", "bundled", "-o", str(out), "--quiet", "--report", str(tmp_path / "r")]) == 0
    printed = capsys.readouterr().out
    doc = json.loads(out.read_text())
    assert [e["complexity"] for e in doc["front"]] == [12, 15]
    assert [(m["complexity"], m["into"]) for m in doc["merged"]] == [(17, 1)]
    assert "the same expression up to its constants" in doc["merged"][0]["why"]
    table = [line for line in printed.splitlines() if line[:3].strip().rstrip("*").isdigit()]
    assert len(table) == 2
    assert "note: 1 of the front's 3 expressions merged into another" in printed
    assert [e.complexity for e in ds.load_discovery(out).front] == [12, 15]
    assert len(ds.load_discovery(out).merged) == 1
    assert "Merged: 1 front expression(s)" in (tmp_path / "r" / "discovery.md").read_text()


def test_a_factor_outside_a_square_is_merged_and_the_simpler_tree_kept(monkeypatch):
    _front(monkeypatch, SEED1)
    result = ds.discover("bundled", progress=False)
    assert [e.complexity for e in result.front] == [15, 19]
    assert [(m["complexity"], m["into"]) for m in result.merged] == [(21, 1)]
    assert result.chosen is not None and result.chosen < len(result.front)


def test_expressions_that_predict_the_same_values_on_every_row_are_merged(monkeypatch):
    """Different forms, one prediction on these rows: a frame where every row has pp = 1, so ``c*pp`` is one more
    constant term. The simpler one is kept."""
    df = load_profiles_or_bundled("bundled")
    df = df[df["pp"] == 1].reset_index(drop=True)
    _front(monkeypatch, [(5, "2.0*E_mem + 1.0"), (7, "2.0*E_mem + 3.0*pp + 1.0"), (9, "2.0*E_mem*tp + 1.0")])
    result = ds.discover(df, progress=False)
    assert [e.complexity for e in result.front] == [5, 9]
    assert [(m["complexity"], m["into"]) for m in result.merged] == [(7, 0)]
    assert "the same predictions" in result.merged[0]["why"]


def test_distinct_expressions_are_all_kept(monkeypatch):
    _front(monkeypatch, [(5, "2.0*E_mem + 1.0"), (7, "2.0*E_mem + 1.5*E_pf + 1.0"), (9, "2.0*E_mem*E_pf + 1.0")])
    result = ds.discover("bundled", progress=False)
    assert [e.complexity for e in result.front] == [5, 7, 9] and result.merged == []


def _shape(text: str):
    pexpr, starts = parametrize(sp.sympify(text, locals={n: sp.Symbol(n, positive=True) for n in "xyz"}))
    return dm.shape(pexpr, starts)


def test_the_shape_ignores_where_the_constants_stand():
    same = ["1.5*x*y", "2.5*(x*y)", "(1.5*x)*(2.0*y)", "x*y/3.5", "-1.5*x*y"]
    assert len({_shape(t) for t in same}) == 1
    assert _shape("2.0*sqrt(0.5*x + 1.5*y)") == _shape("sqrt(3.0*x + 1.5*y)")
    assert _shape("2.0*(0.5*x + 1.5*y)**2") == _shape("(3.0*x + 1.5*y)**2")
    assert _shape("log(2.0*x) + 1.0") == _shape("log(x) + 1.0")
    assert _shape("exp(2.0*x + 1.0)") == _shape("3.0*exp(2.0*x)")
    assert _shape("2.0*x + 1.0 + 3.0") == _shape("2.0*x + 1.0")


def test_the_shape_keeps_what_constants_cannot_rescale():
    assert _shape("2.0*x*y") != _shape("2.0*x + y")
    assert _shape("2.0*(x + 1.5*y)**2") != _shape("1.0*x**2 + 2.0*x*y + 3.0*y**2")  # a smaller family
    assert _shape("x**2") != _shape("x**1.5")  # a fixed exponent is no constant
    assert _shape("2.0*x") != _shape("2*x")  # a fitted factor, a fixed one
    assert _shape("exp(2.0*x)") != _shape("2.0*exp(x)")


def _entry(complexity: int, cv: float) -> FrontEntry:
    return FrontEntry(complexity=complexity, expression=f"e{complexity}", formula="", latex="", cv_error=cv)


def test_of_one_expression_fitted_to_different_values_the_better_fit_is_kept():
    """One form whose refits stopped in different places (the later tree's is better): its predictions differ,
    and the worse fit of the same expression is not another point of the front."""
    x = sp.Symbol("x", positive=True)
    c0, c1 = sp.symbols("c0 c1", real=True)
    rows = np.linspace(1, 2, 5)
    items = [(_entry(5, 0.2), c0 * x, {"c0": 1.0}, rows),
             (_entry(7, 0.3), c0 * x + c1, {"c0": 1.0, "c1": 1.0}, rows + 1),
             (_entry(9, 0.1), c0 * (c1 * x), {"c0": 1.0, "c1": 1.0}, rows * 1.1)]
    kept, merged = dm.merge_duplicates(items)
    assert [e.complexity for e in kept] == [7, 9]
    assert [(m["complexity"], m["into"]) for m in merged] == [(5, 1)]
    assert "a worse fit" in merged[0]["why"]


def test_ctrl_c_while_duplicates_are_merged_keeps_the_scored_front(monkeypatch):
    """The merge reads every entry's form with SymPy (about 10 ms an entry) after the scoring; a Ctrl-C there was a
    bare KeyboardInterrupt that lost the scored front, as one during the scoring did before 2026-12-06. The front is
    kept unmerged, and the run ends as an interrupted one."""
    _front(monkeypatch, SEED4)

    def interrupted(items):
        raise KeyboardInterrupt

    monkeypatch.setattr(ds, "merge_duplicates", interrupted)
    with pytest.raises(ds.DiscoveryInterrupted) as stop:
        ds.discover("bundled", progress=False)
    result = stop.value.result
    assert [e.complexity for e in result.front] == [12, 15, 17] and result.merged == []
    assert result.chosen is not None and result.search["unscored"] == []


def test_a_merge_of_the_same_predictions_at_the_same_complexity_does_not_say_simpler():
    """Two forms of one complexity predicting the same values: the first stays, and the other was said to be merged
    'as a simpler expression'; it is 'an expression of the same complexity'."""
    x, y = sp.symbols("x y", positive=True)
    c0 = sp.Symbol("c0", real=True)
    rows = np.linspace(1, 2, 5)
    items = [(_entry(7, 0.2), c0 * x, {"c0": 1.0}, rows), (_entry(7, 0.1), c0 * y, {"c0": 1.0}, rows),
             (_entry(9, 0.3), c0 * x * y, {"c0": 1.0}, rows)]
    kept, merged = dm.merge_duplicates(items)
    assert [e.cv_error for e in kept] == [0.2]
    assert [m["complexity"] for m in merged] == [7, 9]
    assert "as an expression of the same complexity" in merged[0]["why"] and "simpler" not in merged[0]["why"]
    assert "as a simpler expression" in merged[1]["why"]
