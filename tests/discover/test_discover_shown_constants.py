"""The front's expressions as printed (table, report, the result file's ``expression`` and ``latex``) reproduce
the scores printed next to them. Constants were printed to 6 digits whatever the expression: an interrupted run
on the bundled data chose '... - 38254.8 + 38256.9*exp(-0.000108634*E_mem*pp)', whose two large constants cancel,
so the expression as printed scored a held-out MAPE of 12.93 % where the table said 12.86 %."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import sympy as sp

from energylens.discover import search
from energylens.discover.digits import shown_digits
from energylens.discover.variables import energy_variables
from energylens.profiles.datasets import mlenergy_v2
from energylens.profiles.features import build_features

CHOSEN = ("94.1438*sqrt(E_layer)*sqrt(E_seq) + 5.47451*E_mem*pp + 3.58575*E_pf + 130.169*E_seq - 26.7243*Lin_k "
          "- 24.8309*Lout_k - 38254.8 + 38256.9*exp(-0.000108634*E_mem*pp)")


def _printed_mape(expression: str, variables: dict[str, sp.Expr], df: pd.DataFrame, test: np.ndarray) -> float:
    """The held-out MAPE (%) of ``expression`` as printed, evaluated on its own (SymPy, NumPy)."""
    expr = sp.sympify(expression, locals={k: sp.Symbol(k) for k in variables})
    expr = expr.xreplace({sp.Symbol(k): v for k, v in variables.items()})
    syms = sorted(expr.free_symbols, key=str)
    f = build_features(df)
    pred = sp.lambdify(syms, expr)(*[np.asarray(f[s.name], float) for s in syms])
    y = df["energy_j"].to_numpy(float)
    return float(100 * np.mean(np.abs(np.broadcast_to(pred, y.shape)[test] / y[test] - 1)))


def test_the_printed_expression_scores_what_the_table_says(monkeypatch):
    variables = energy_variables()
    front = [(25, sp.sympify(CHOSEN, locals={k: sp.Symbol(k) for k in variables}))]
    monkeypatch.setattr(search, "run_backend", lambda *a, **k: front)
    res = search.discover("bundled", progress=False)
    df = mlenergy_v2().reset_index(drop=True)
    test = np.sort(np.random.default_rng(0).permutation(len(df))[res.n_train:])
    entry = res.front[0]
    assert len(test) == res.n_heldout
    assert _printed_mape(entry.expression, variables, df, test) == pytest.approx(entry.heldout["mape"], rel=1e-4)
    assert "38254.8 " not in entry.expression  # (more digits where they are needed)


def test_digits_are_added_only_where_rounding_moves_the_predictions():
    x = np.linspace(0.0, 5000.0, 200)
    cancel = np.array([-38254.8123456, 38256.9234567, -1.08634123e-4])

    def predict(th):
        return th[0] + th[1] * np.exp(th[2] * x)
    k = shown_digits(predict, cancel, predict(cancel))
    assert k > 6
    rounded = np.array([float(str(sp.Float(v, k))) for v in cancel])
    assert np.max(np.abs(predict(rounded) / predict(cancel) - 1)) <= 1e-5

    def line(th):
        return th[0] + th[1] * x[1:]
    plain = np.array([2.0, 3.14159265])
    assert shown_digits(line, plain, line(plain)) == 6


def test_the_front_plots_log_axis_labels_the_region_its_points_lie_in():
    """front.png of an interrupted bundled run (MAPEs 12.9-58 %, template 11.7 %) had labels at 20, 30, 40 and 60
    only: a log axis ticks 10, 20, ..., so nothing between 11 and 20, where the template's line and the best half
    of the front lay, could be read off it."""
    from energylens.discover import DiscoveryResult, FrontEntry, report

    mapes = [58.4, 56.3, 34.7, 25.1, 24.4, 15.5, 14.8, 13.8, 13.3, 13.1, 12.9]
    front = [FrontEntry(complexity=5 + i, expression="x", formula="x", latex="x", cv_error=0.1,
                        heldout={"mape": m}) for i, m in enumerate(mapes)]
    res = DiscoveryResult("energy", "operon", "test", 0, 249, 107, {}, front, {"mape": 11.75}, 10, 1.0)
    fig = report._figure(res)
    fig.canvas.draw()
    ax = fig.axes[0]
    lo, hi = ax.get_ylim()
    ticks = [(t.get_position()[1], t.get_text()) for t in ax.get_yticklabels(which="both")]
    shown = sorted(v for v, text in ticks if text and lo <= v <= hi)
    assert all(text == f"{v:g}" for v, text in ticks if text and lo <= v <= hi), ticks  # plain numbers
    for m in [*mapes, 11.75]:
        assert min(max(m / v, v / m) for v in shown) <= 1.35, (m, shown)
    assert len(shown) <= 10
    report.plt.close(fig)
