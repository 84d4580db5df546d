"""``energylens evaluate --coverage [LEVEL]``: the share of held-out rows inside the prediction intervals of ours
(issue 10's target: 90 % intervals cover 85-95 % of held-out v3 rows), which evaluate did not report at all (only
bench/interval_coverage.py computed it). Each test failed before (no option, no module)."""
from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from energylens.cli.main import main
from energylens.compare import coverage as cov_mod
from energylens.compare.coverage import check_level, coverage_markdown, format_coverage, interval_coverage
from energylens.compare.methods import ClosedForm, MethodBase
from energylens.compare.splits import Split

V3 = Path("/work/shared/data/mlenergy-v3-h100/llm_configs_h100.csv")
BENCH = Path(__file__).resolve().parents[2] / "bench"


class _Point(MethodBase):
    name = "point"


def test_coverage_counted_by_hand(monkeypatch):
    """Two repeats of 4 held-out rows with bounds fixed by hand: repeat 0 holds 3 of 4 (one below), repeat 1 holds
    2 of 4 (one below, one above); widths (hi - lo) / e per repeat, their medians averaged; per task pooled."""
    df = pd.DataFrame({"energy_j": [10.0, 20.0, 40.0, 80.0, 1.0, 2.0],
                       "task": ["a", "a", "b", "b", "a", "b"]})
    bounds = {  # per repeat: (lo, hi) of its held-out rows 0..3, in test_idx order
        0: (np.array([5.0, 25.0, 30.0, 60.0]), np.array([15.0, 30.0, 50.0, 100.0])),  # row 1 below
        1: (np.array([12.0, 10.0, 20.0, 70.0]), np.array([20.0, 30.0, 30.0, 90.0])),  # row 0 below, row 2 above
    }
    monkeypatch.setattr(cov_mod, "_fit_interval", lambda m, train, test, level, boot: (*bounds[m.seed], ""))
    splits = [Split("random", "", "", r, np.array([4, 5]), np.array([0, 1, 2, 3])) for r in (0, 1)]
    out = interval_coverage(df, splits, lambda seed: [ClosedForm(seed=seed), _Point()], lambda r: r, 0.9)
    s = out["methods"]["energylens"]
    assert s["coverage_mean"] == pytest.approx((3 / 4 + 2 / 4) / 2)
    assert (s["coverage_min"], s["coverage_max"]) == (0.5, 0.75)
    assert s["below_mean"] == pytest.approx((1 / 4 + 1 / 4) / 2)
    assert s["above_mean"] == pytest.approx((0 + 1 / 4) / 2)
    w0 = np.median([10 / 10, 5 / 20, 20 / 40, 40 / 80])  # 0.75
    w1 = np.median([8 / 10, 20 / 20, 10 / 40, 20 / 80])  # 0.525
    assert s["median_width_rel"] == pytest.approx((w0 + w1) / 2)
    tasks = {t["task"]: t for t in s["tasks"]}  # a: rows 0,1 x 2 repeats: inside 1 + 1; b: rows 2,3: 2 + 1
    assert tasks["a"]["coverage"] == pytest.approx(2 / 4) and tasks["b"]["coverage"] == pytest.approx(3 / 4)
    assert [t["task"] for t in s["tasks"]] == ["a", "b"]  # farthest from 0.9 first
    assert out["no_interval"] == {"point": "point predictions only: no prediction interval"}
    text = format_coverage(out)
    assert "energylens            0.625 0.500-0.750" in text and "point" in text and "n/a" in text
    assert "0.9 prediction interval" in text and "a 0.500 (4 rows, 50% below, 0% above)" in text
    assert coverage_markdown(out)[0] == "## Interval coverage" and coverage_markdown(None) == []


@pytest.mark.parametrize(("level", "says"), [(0, "between 0 and 1"), (1, "between 0 and 1"), ("abc", "not a number"),
                                             (90, "give 0.9"), ("95", "give 0.95"), ("nan", "not finite"),
                                             (-0.5, "between 0 and 1"), (100, "between 0 and 1")])
def test_bad_levels_are_clear_errors(level, says):
    with pytest.raises(ValueError, match=says):
        check_level(level, "--coverage")
    assert check_level("0.8") == 0.8


@pytest.mark.parametrize("level", ["0", "1", "abc", "90"])
def test_cli_refuses_bad_level_before_any_work(level, capsys):
    args = ["evaluate", "bundled", "--splits", "random", "--methods", "energylens", "--coverage", level]
    try:  # a LEVEL that is not a number: the parser's error (exit 2); a number out of range: the command's
        rc = main(args)
    except SystemExit as exc:
        rc = exc.code
    assert rc == 2
    err = capsys.readouterr().err
    assert "--coverage" in err and repr(level) in err and "Traceback" not in err


def test_cli_profiles_taken_as_level_says_where_to_put_the_option(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["evaluate", "--coverage", "bundled"])
    assert exc.value.code == 2
    assert "put --coverage after PROFILES" in capsys.readouterr().err


def test_an_unresolved_level_warns_once_not_per_repeat(recwarn):
    from energylens.compare.runner import run_evaluation
    from energylens.errors import IntervalLevelWarning
    from energylens.profiles.datasets import mlenergy_v2
    run_evaluation(mlenergy_v2(), repeats=3, splits=["random"], method_names=["energylens"], coverage=0.99,
                   progress=False)
    said = [w for w in recwarn if issubclass(w.category, IntervalLevelWarning)]
    assert len(said) == 1 and "said once for the run's 3 repeats" in str(said[0].message)


def test_cli_refuses_coverage_without_random_split(capsys):
    assert main(["evaluate", "bundled", "--splits", "unseen_batch", "--coverage"]) == 2
    assert "add random to --splits" in capsys.readouterr().err


def test_cli_default_output_has_no_coverage(capsys):
    args = ["evaluate", "bundled", "--splits", "random", "--methods", "energylens", "--repeats", "3", "--no-progress"]
    assert main(args) == 0
    plain = capsys.readouterr().out
    assert "prediction interval" not in plain
    assert main([*args, "--json"]) == 0
    assert "coverage" not in json.loads(capsys.readouterr().out)["info"]


def test_cli_coverage_terminal_json_and_report(capsys, tmp_path):
    pytest.importorskip("matplotlib")
    args = ["evaluate", "bundled", "--splits", "random", "--methods", "energylens,llmcarbon", "--repeats", "3",
            "--no-progress", "--coverage", "0.8"]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "(0.8 prediction intervals, random split)" in text and "llmcarbon" in text
    assert "energylens: tasks farthest from 0.8" in text
    assert main([*args, "--json", "--report", str(tmp_path / "r")]) == 0
    cov = json.loads(capsys.readouterr().out)["info"]["coverage"]
    assert cov["level"] == 0.8 and cov["bootstrap"] == 200 and cov["methods"]["energylens"]["repeats"] == 3
    assert 0 < cov["methods"]["energylens"]["coverage_mean"] <= 1 and "llmcarbon" in cov["no_interval"]
    md = (tmp_path / "r" / "report.md").read_text()
    assert "## Interval coverage" in md and "--coverage 0.8" in md


def _bench():
    sys.path.insert(0, str(BENCH))
    try:
        import interval_coverage as bench
    finally:
        sys.path.remove(str(BENCH))
    return bench


def _plain_coverage(df, repeats: int, level: float, train_rows: int = 50) -> dict:
    """The loop bench/interval_coverage.py ran of its own until 2026-12-07, kept as the plain reference: train on
    the first ``train_rows`` of ``default_rng(seed).permutation``, predict the rest in that order."""
    from energylens.model import EnergyModel
    below, above, inside, width = [], [], [], []
    for seed in range(repeats):
        idx = np.random.default_rng(seed).permutation(len(df))
        train, test = df.iloc[idx[:train_rows]], df.iloc[idx[train_rows:]]
        iv = EnergyModel(bootstrap=200, seed=seed).fit(train).predict_interval(test, level)
        e, lo, hi = (x.to_numpy(dtype=float) for x in (test["energy_j"], iv["energy_j_lo"], iv["energy_j_hi"]))
        below.append(float(np.mean(e < lo)))
        above.append(float(np.mean(e > hi)))
        inside.append(float(np.mean((lo <= e) & (e <= hi))))
        width.append(float(np.median((hi - lo) / e)))
    return {"coverage_mean": float(np.mean(inside)), "coverage_min": float(np.min(inside)),
            "coverage_max": float(np.max(inside)), "below_lower_mean": float(np.mean(below)),
            "above_upper_mean": float(np.mean(above)), "median_width_rel": float(np.mean(width))}


def test_the_bench_calls_the_library_on_its_draws(monkeypatch):
    """bench/interval_coverage.py ran a copy of interval_coverage's loop; it calls the library now, with its own
    draws (default_rng(seed).permutation: the first 50 rows trained on, the rest predicted in the draw's order) and
    repeat r's model seeded r, and reports the library's figures under its JSON keys."""
    bench = _bench()
    seen = {}

    def spy(df, splits, factory, method_seed, level, **kw):
        seen.update(n=len(df), splits=list(splits), seeds=[method_seed(r) for r in range(3)], level=level,
                    methods=[m.name for m in factory(7)])
        return {"methods": {"energylens": {"coverage_mean": 0.9, "coverage_min": 0.8, "coverage_max": 0.95,
                                           "below_mean": 0.04, "above_mean": 0.06, "median_width_rel": 0.7,
                                           "repeats": 3, "error": ""}}}

    monkeypatch.setattr(bench, "interval_coverage", spy)
    df = pd.DataFrame({"energy_j": np.arange(60.0)})
    out = bench.coverage(df, 3, 0.8)
    assert seen["n"] == 60 and seen["level"] == 0.8 and seen["seeds"] == [0, 1, 2] and seen["methods"] == ["energylens"]
    for r, sp in enumerate(seen["splits"]):
        p = np.random.default_rng(r).permutation(60)
        assert sp.repeat == r and np.array_equal(sp.train_idx, p[:50]) and np.array_equal(sp.test_idx, p[50:])
    assert out == {"level": 0.8, "repeats": 3, "train_rows": 50, "coverage_mean": 0.9, "coverage_min": 0.8,
                   "coverage_max": 0.95, "below_lower_mean": 0.04, "above_upper_mean": 0.06, "median_width_rel": 0.7}


@pytest.mark.skipif(not V3.is_file(), reason="shared v3 H100 data not present")
def test_reproduces_bench_interval_coverage_on_its_splits():
    """bench/interval_coverage.py's v3 figure (0.900, 0.83-0.95, width 0.67x in docs), now the library's, equals
    the plain loop it ran before (the model's own fit and predict_interval) on the same draws, to the last digit."""
    from energylens.profiles import read_profiles
    df = read_profiles(str(V3)).reset_index(drop=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the plain loop's range warnings (it predicts with check_range on)
        plain = _plain_coverage(df, 20, 0.9)
        ours = _bench().coverage(df, 20, 0.9)
    for key, value in plain.items():
        assert ours[key] == pytest.approx(value, abs=1e-12), key


def test_the_run_time_counts_the_interval_fits(capsys):
    """The printed 'run time' and info.runtime_s counted the scored fits only: 1.6 s of a 3.5 s --coverage run."""
    args = ["evaluate", "bundled", "--splits", "random", "--methods", "energylens", "--repeats", "3",
            "--no-progress", "--coverage"]
    assert main([*args, "--json"]) == 0
    info = json.loads(capsys.readouterr().out)["info"]
    assert info["runtime_s"] > info["coverage"]["runtime_s"] > 0
    assert main(args) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.startswith("run time ") and "(interval fits " in last


def test_a_whole_group_count_prints_whole():
    from energylens.compare.report_tables import count
    assert (count(54.0), count(43.85), count(float("nan"))) == ("54", "43.9", "n/a")
