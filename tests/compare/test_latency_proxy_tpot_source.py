"""With a TPOT SLO, report.md said "TPOT for the SLO filter: ... latency_proxy: predicted ... (measured = the method has
no latency model)", and results.csv gave latency_proxy ``tpot_source`` "predicted": but latency_proxy has no latency
model, its "prediction" is the row's measured TPOT handed back (an oracle). It now says it has none
(``has_tpot()`` false), so the runner gives it the measured TPOT itself and labels it "measured"; every figure is
unchanged (the same values reach the SLO filter). The note also lists the methods in the tables' order (it was
alphabetical)."""

from __future__ import annotations

import pandas as pd

from energylens.compare.baselines import LatencyProxy
from energylens.compare.methods import ClosedForm
from energylens.compare.report import write_report
from energylens.compare.runner import run_evaluation
from energylens.profiles.datasets import mlenergy_v2


class _OldProxy(LatencyProxy):
    """latency_proxy as it was: claiming a latency model that returns the measured TPOT."""

    def has_tpot(self) -> bool:
        return True


def _run(proxy):
    return run_evaluation(mlenergy_v2(), repeats=2, splits=["random"], tpot_slo_s=0.1, progress=False,
                          methods=lambda seed: [ClosedForm(seed=seed), proxy()])


def test_latency_proxy_is_labelled_measured_with_the_same_figures(tmp_path):
    new, old = _run(LatencyProxy), _run(_OldProxy)
    t = new.table[new.table["method"] == "latency_proxy"]
    assert set(t["tpot_source"]) == {"measured"}
    assert set(old.table.loc[old.table["method"] == "latency_proxy", "tpot_source"]) == {"predicted"}
    cols = ["top1", "regret_pct", "top1_strict", "slo_violation", "pairs_concordant", "top1_tpot", "n_candidates"]
    pd.testing.assert_frame_equal(new.table[cols], old.table[cols])
    text = write_report(new, tmp_path / "r").read_text()
    assert ("- TPOT for the SLO filter: energylens: predicted, latency_proxy: measured (measured = the method has no "
            "latency model).") in text, text.split("TPOT for the SLO filter")[1][:200]
