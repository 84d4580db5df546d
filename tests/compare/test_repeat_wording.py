"""'1 repeat', '2 repeats': evaluate's terminal table, its report and the demo count repeats with the one
``plural`` helper that search uses too (each wrote 'repeat(s)' inline; 'failed in 1 of 1 repeats' slipped through)."""

from __future__ import annotations

import io

import pytest

from energylens import outputs
from energylens.cli import demo
from energylens.compare import findings, run_evaluation
from energylens.compare.methods import ClosedForm, MethodBase
from energylens.compare.report import write_report
from energylens.compare.report_tables import format_summary
from energylens.profiles.datasets import mlenergy_v2
from energylens.search import result as search_result


class _Oracle(MethodBase):
    """Predicts the measured energy; with ``fail`` its fit fails on every repeat after the first."""

    def __init__(self, seed: int, name: str = "oracle", fail: bool = False) -> None:
        self.seed, self.name, self.fail = seed, name, fail

    def fit(self, train):
        if self.fail and self.seed % 1000 > 0:
            raise ValueError("diverged")
        return self

    def predict_energy(self, df):
        return df["energy_j"].to_numpy() * 1.0


def test_plural_is_one_helper_for_search_and_compare():
    assert outputs.plural(1, "repeat") == "1 repeat"
    assert outputs.plural(2, "repeat") == "2 repeats" and outputs.plural(0, "repeat") == "0 repeats"
    assert outputs.plural(1000, "candidate") == "1,000 candidates"
    assert search_result.plural is outputs.plural and findings.plural is outputs.plural


@pytest.fixture(scope="module")
def one_repeat():
    return run_evaluation(mlenergy_v2(), train_size=50, repeats=1, splits=["random"], progress=False,
                          methods=lambda s: [ClosedForm(seed=s), _Oracle(s)])


def test_one_repeat_reads_singular_in_the_table_and_the_report(one_repeat, tmp_path):
    assert "(1 repeat, 50 training rows)" in format_summary(one_repeat)
    report = write_report(one_repeat, tmp_path / "rep").read_text()
    assert "; 1 repeat; seed 0;" in report
    assert "1 repeats" not in report and "repeat(s)" not in report


def test_two_repeats_read_plural_and_a_failed_fit_counts_its_repeats(tmp_path):
    with pytest.warns(RuntimeWarning, match="flaky failed on split"):
        res = run_evaluation(mlenergy_v2(), train_size=50, repeats=2, splits=["random"], progress=False,
                             methods=lambda s: [_Oracle(s, "energylens"), _Oracle(s, "flaky", fail=True)])
    text = format_summary(res)
    assert "(2 repeats, 50 training rows)" in text
    assert "note: flaky's fit failed in 1 of 2 repeats; its figures average the other 1" in text
    report = write_report(res, tmp_path / "rep").read_text()
    assert "; 2 repeats; seed 0;" in report and "averaged over fewer repeats: flaky (1 of 2 repeats;" in report


def test_a_method_failing_in_its_only_repeat_is_said_so():
    with pytest.warns(RuntimeWarning, match="broken failed on split"):
        res = run_evaluation(mlenergy_v2(), train_size=50, repeats=1, splits=["random"], progress=False,
                             methods=lambda s: [_Oracle(s, "energylens"), _Oracle(s + 1, "broken", fail=True)])
    text = format_summary(res)
    assert "note: broken's fit failed in every repeat (1 repeat); it has no figures" in text
    assert "average the other 0" not in text  # before: 'failed in 1 of 1 repeats; its figures average the other 0'


def test_the_demo_says_1_repeat(monkeypatch, tmp_path):
    monkeypatch.setattr(demo, "demo_comparison", lambda *a, **k: "(comparison skipped)")
    monkeypatch.setattr(demo, "_search", lambda model, say: None)
    out = io.StringIO()
    assert demo.run_demo(report_dir=str(tmp_path / "rep"), repeats=1, out=out) == 0
    assert "comparison with the baselines on identical splits (1 repeat of 50 training rows, " in out.getvalue()
