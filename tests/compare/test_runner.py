"""The evaluation: metrics on hand-computed cases, splits, the runner, and argument errors."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_methods import fake_gpu_spec, synthetic_profiles

from energylens.cli import evaluate as evaluate_cli
from energylens.compare import baselines, registry, result
from energylens.compare import metrics as M
from energylens.compare import runner as ev
from energylens.compare import splits as S
from energylens.compare.methods import MethodBase

FAST = ("latency_proxy", "wilkins2024", "llmcarbon")


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return synthetic_profiles()


def fast_methods(seed: int):
    return registry.default_methods(seed=seed, gpu_spec=fake_gpu_spec, include=FAST)


# ---------------------------------------------------------------- metrics, by hand

def test_top1_hit_cases():
    assert M.top1_hit([3, 1, 2], [30, 10, 20]) == 1.0
    assert M.top1_hit([1, 2, 3], [30, 10, 20]) == 0.0
    assert M.top1_hit([1, 2], [5, 5]) == 1.0                  # measured tie: a hit
    assert M.top1_hit([2, 1, 3], [5, 5, 1]) == 0.0
    assert M.top1_hit([1, 1, 2], [1, 2, 3]) == 0.5            # predicted tie: expectation
    assert M.top1_hit([7, 7, 7, 7], [1, 2, 3, 4]) == 0.25      # constant prediction = chance
    assert math.isnan(M.top1_hit([1], [1]))                   # single candidate: skipped
    assert math.isnan(M.top1_hit([], []))
    with pytest.raises(ValueError, match="differ in length"):
        M.top1_hit([1, 2], [1, 2, 3])


def test_regret_cases():
    assert M.regret_pct([1, 2, 3], [30, 10, 20]) == pytest.approx(200.0)
    assert M.regret_pct([3, 1, 2], [30, 10, 20]) == 0.0
    assert M.regret_pct([1, 1, 5], [10, 20, 40]) == pytest.approx(50.0)   # mean of 0 % and 100 %
    assert math.isnan(M.regret_pct([1], [1]))


def test_pairwise_cases():
    assert M.pairwise_counts([1, 2, 3], [1, 3, 2]) == (2.0, 3)
    assert M.pairwise_counts([1, 2, 3], [1, 1, 2]) == (2.0, 2)     # measured tie skipped
    assert M.pairwise_counts([1, 1], [1, 2]) == (0.5, 1)           # predicted tie: half
    assert M.pairwise_counts([5], [5]) == (0.0, 0)


def test_spearman_cases():
    assert M.group_spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert M.group_spearman([4, 3, 2, 1], [10, 20, 30, 40]) == pytest.approx(-1.0)
    assert math.isnan(M.group_spearman([1, 2], [1, 2]))
    assert math.isnan(M.group_spearman([1, 1, 1], [1, 2, 3]))


def test_top1_under_the_median_tpot_leaves_out_only_rows_without_a_measured_tpot():
    """One row without a measured TPOT dropped its whole group from Top-1 under the median TPOT."""
    pred, meas = [1.0, 2.0, 3.0, 4.0, 5.0], [1.0, 2.0, 3.0, 4.0, 5.0]
    full = M.serving_metrics(pred, meas, [0.01, 0.02, 0.03, 0.04, 0.05], None, None)
    gap = M.serving_metrics(pred, meas, [np.nan, 0.02, 0.03, 0.04, 0.05], None, None)
    assert full["top1_tpot"] == 1.0
    assert gap["top1_tpot"] == 1.0  # candidates: rows 1, 2 (median of the four known, 0.035)
    wrong = M.serving_metrics([3.0, 1.0, 2.0, 4.0, 5.0], meas, [np.nan, 0.02, 0.03, 0.04, 0.05], None, None)
    assert wrong["top1_tpot"] == 1.0  # row 0 (predicted cheapest, TPOT unknown) is no candidate
    assert math.isnan(M.serving_metrics(pred, meas, [np.nan] * 4 + [0.05], None, None)["top1_tpot"])


def test_group_metrics_with_slo():
    pred = [1.0, 2.0, 3.0, 4.0]
    meas = [1.0, 3.0, 2.0, 4.0]
    # row 0 measured too slow, row 3 predicted too slow: candidates are rows 1 and 2
    g = M.group_metrics(pred, meas, pred_tpot=[0.01, 0.01, 0.01, 0.2],
                         meas_tpot=[0.2, 0.01, 0.01, 0.01], tpot_slo=0.05)
    assert g["n_candidates"] == 2
    assert g["top1"] == 0.0                        # chose row 1 (3 J), optimum row 2 (2 J)
    assert g["regret_pct"] == pytest.approx(50.0)
    assert (g["pairs_concordant"], g["pairs_total"]) == (5.0, 6)  # pairwise uses every row
    assert g["ape_sum"] == pytest.approx(100 * (1 / 3 + 1 / 2))
    # strict: the method chooses among rows 0..2 (its feasible set): row 0, measured too slow
    assert g["top1_strict"] == 0.0 and g["slo_violation"] == 1.0
    g2 = M.group_metrics(pred, meas, pred_tpot=[0.2, 0.01, 0.01, 0.01],
                          meas_tpot=[0.2, 0.2, 0.01, 0.01], tpot_slo=0.05)
    assert g2["top1_strict"] == 0.0 and g2["slo_violation"] == 1.0   # chose row 1, too slow
    g3 = M.group_metrics(pred, meas, pred_tpot=[0.2, 0.2, 0.01, 0.01],
                          meas_tpot=[0.2, 0.2, 0.01, 0.01], tpot_slo=0.05)
    assert g3["top1_strict"] == 1.0 and g3["slo_violation"] == 0.0   # row 2: feasible, cheapest
    g4 = M.group_metrics(pred, meas, pred_tpot=[1.0] * 4, meas_tpot=[0.01] * 4, tpot_slo=0.05)
    assert g4["top1_strict"] == 0.0 and g4["n_candidates"] == 0     # chose nothing: a miss
    assert math.isnan(g4["top1"])
    g5 = M.group_metrics(pred, meas, pred_tpot=[0.01] * 4, meas_tpot=[1.0] * 4, tpot_slo=0.05)
    assert math.isnan(g5["top1_strict"])                             # nothing feasible at all
    g = M.group_metrics(pred, meas, energy_scale=False)
    assert "top1_strict" not in g
    assert math.isnan(g["ape_sum"]) and g["top1"] == 1.0
    with pytest.raises(ValueError, match="tpot_slo"):
        M.group_metrics(pred, meas, tpot_slo=0.1)


def test_score_groups_skips_absent_and_single_candidate_groups():
    test = pd.DataFrame(dict(task="chat", model=["a", "a", "a", "b"], gpu="X",
                             energy_j=[1.0, 2.0, 3.0, 5.0], modality="text"))
    out = M.score_groups(test, np.array([1.0, 2.0, 3.0, 4.0]), ("task", "model", "gpu"))
    assert list(out["group"]) == ["chat | a | X", "chat | b | X"]   # no row for unseen groups
    a, b = out.iloc[0], out.iloc[1]
    assert a["top1"] == 1.0 and a["pairs_total"] == 3 and a["n_candidates"] == 3
    assert math.isnan(b["top1"]) and b["pairs_total"] == 0
    assert b["ape_sum"] == pytest.approx(20.0)                      # single group counts for MAPE
    s = result.summarize(out.assign(split="random", variant="", train_size=5, method="m", repeat=0))
    row = s.iloc[0]
    assert row["top1"] == 1.0 and row["pairwise"] == 1.0 and row["n_groups"] == 1
    assert row["mape"] == pytest.approx(20.0 / 4)


def test_summarize_pools_pairs_then_averages_repeats():
    t = pd.DataFrame(dict(
        split="random", variant="", train_size=10, method="m", repeat=[0, 0, 1],
        top1=[1.0, 0.0, 1.0], regret_pct=[0.0, 10.0, 0.0], pairs_concordant=[3.0, 0.0, 1.0],
        pairs_total=[3, 1, 1], spearman=[1.0, np.nan, 0.5], ape_sum=[10.0, 20.0, 5.0],
        n_rows=[3, 2, 1]))
    r = result.summarize(t).iloc[0]
    assert r["top1"] == pytest.approx((0.5 + 1.0) / 2)
    assert r["pairwise"] == pytest.approx((3 / 4 + 1.0) / 2)
    assert r["mape"] == pytest.approx((30 / 5 + 5.0) / 2)
    assert r["regret_pct"] == pytest.approx((5.0 + 0.0) / 2)
    assert r["spearman"] == pytest.approx(0.75)
    assert r["top1_std"] == pytest.approx(0.25)
    assert r["n_repeats"] == 2
    with pytest.raises(ValueError, match="unknown column"):
        result.summarize(t, by=("nope",))


# ---------------------------------------------------------------- splits

def test_random_and_curve_splits(frame):
    n = len(frame)
    sp = S.random_splits(n, 20, repeats=3, seed=1)
    assert [s.train_size for s in sp] == [20, 20, 20]
    for s in sp:
        assert np.union1d(s.train_idx, s.test_idx).size == n
        assert np.intersect1d(s.train_idx, s.test_idx).size == 0
    assert not np.array_equal(sp[0].train_idx, sp[1].train_idx)
    cs = S.curve_splits(n, (12, 25, 50, 100, 200, 400), repeats=2, seed=1)
    pool = n - round(n * S.CURVE_TEST_FRACTION)
    sizes = sorted({s.train_size for s in cs})
    assert sizes == [s for s in (12, 25, 50, 100, 200, 400) if s < pool] + [pool]
    rep0 = [s for s in cs if s.repeat == 0]
    assert all(np.array_equal(s.test_idx, rep0[0].test_idx) for s in rep0)   # same held-out rows
    for a, b in zip(rep0, rep0[1:], strict=False):
        assert np.isin(a.train_idx, b.train_idx).all()                      # nested


def test_unseen_batch_split_trains_on_smaller_half():
    df = pd.DataFrame(dict(task="t", model=["a"] * 5 + ["b"] * 2, gpu="X",
                           batch_size=[8, 16, 32, 64, 16, 4, 4]))
    (s,) = S.unseen_batch_split(df, ("task", "model", "gpu"))
    assert list(s.train_idx) == [0, 1, 4, 5, 6]          # b has one batch size: all train
    assert list(s.test_idx) == [2, 3]


def test_unseen_batch_split_uses_the_configured_cap_over_the_measured_batch():
    """v3 rows carry max_num_seqs and a measured running batch that differs between rows of one cap: the cap
    decides, so one setting never lands on both sides (a split on the measured batch put cap 64's 4-GPU row in
    training and its 8-GPU row in the held-out half)."""
    df = pd.DataFrame(dict(task="t", model="a", gpu="X", max_num_seqs=[64, 64, 128, 128, 256],
                           batch_size=[60.1, 63.9, 120.0, 127.5, 250.0]))
    (s,) = S.unseen_batch_split(df, ("task", "model", "gpu"))
    assert list(s.train_idx) == [0, 1] and list(s.test_idx) == [2, 3, 4]  # caps 64 | 128, 256
    with_gaps = df.assign(max_num_seqs=[64, np.nan, 128, 128, 256])  # not filled everywhere: the measured batch
    (g,) = S.unseen_batch_split(with_gaps, ("task", "model", "gpu"))
    assert list(g.train_idx) == [0, 1]
    # per group: a gap in one group leaves the other group on its caps (one row used to switch the whole table)
    other = df.assign(model="b", batch_size=[64.0, 130.0, 60.0, 100.0, 256.0])  # measured order differs from caps
    both = pd.concat([with_gaps, other], ignore_index=True)
    (b,) = S.unseen_batch_split(both, ("task", "model", "gpu"))
    assert list(b.train_idx) == [0, 1, 5, 6]  # model b by its caps: 64, 64 | 128, 128, 256


def test_unseen_gpu_and_model_splits(frame):
    sp = S.unseen_gpu_splits(frame, shots=(0, 5), repeats=3, seed=0)
    assert len(sp) == 2 * (1 + 3)
    for s in sp:
        k = int(s.variant.split("=")[1])
        dst = s.detail.split(" -> ")[1]
        assert (frame.gpu.iloc[s.test_idx] == dst).all()
        assert (frame.gpu.iloc[s.train_idx] == dst).sum() == k
    lm = S.unseen_model_splits(frame)
    assert len(lm) == frame.model.nunique()
    for s in lm:
        held = set(frame.model.iloc[s.test_idx])
        assert len(held) == 1 and not held & set(frame.model.iloc[s.train_idx])


# ---------------------------------------------------------------- the runner

def _run(frame, **kw):
    args = dict(train_size=30, repeats=2, seed=7, methods=fast_methods, progress=False,
                curve_sizes=(12, 25), gpu_shots=(0, 5))
    args.update(kw)
    return ev.run_evaluation(frame, **args)


@pytest.fixture(scope="module")
def default_run(frame):
    """``_run(frame)``: every split, seed 7; built once for the tests that only read it (none changes it)."""
    return _run(frame)


def test_fixed_seed_gives_identical_tables(frame, default_run):
    a = default_run
    b = _run(frame)
    pd.testing.assert_frame_equal(a.table, b.table)
    c = _run(frame, seed=8)
    assert not a.table[["top1", "ape_sum"]].equals(c.table[["top1", "ape_sum"]])
    assert set(a.table.split) == set(S.SPLIT_NAMES)
    assert set(a.table.method) == set(FAST)


class Recorder(MethodBase):
    """A method that records exactly which rows it was fitted on and asked about."""

    log: list = []

    def __init__(self, name: str) -> None:
        self.name = name
        self.predicts_energy_scale = True

    def fit(self, train_df):
        self._train = tuple(train_df.index)
        return self

    def predict_energy(self, df):
        Recorder.log.append((self.name, self._train, tuple(df.index)))
        return df["energy_j"].to_numpy() * (1 + 0.01 * np.arange(len(df)))


def test_every_method_sees_identical_splits(frame):
    Recorder.log = []
    res = _run(frame, methods=lambda seed: [Recorder("r1"), Recorder("r2"), Recorder("r3")])
    log = Recorder.log
    assert len(log) == 3 * res.info["n_splits"]
    for i in range(0, len(log), 3):
        assert log[i][1:] == log[i + 1][1:] == log[i + 2][1:]
        assert not set(log[i][1]) & set(log[i][2])
    t = res.table
    per = t.groupby(["split", "variant", "detail", "repeat", "method"])[["n_rows"]].sum()
    by_method = per.unstack("method")
    assert (by_method.nunique(axis=1) == 1).all()


def test_slo_uses_method_tpot_or_measured(frame):
    res = _run(frame, tpot_slo_s=float(frame.tpot_s.median()), splits=("random",))
    src = res.table.groupby("method")["tpot_source"].first()
    assert src["wilkins2024"] == "measured" and src["llmcarbon"] == "predicted"
    assert (res.table.n_candidates <= res.table.n_rows).all()
    s = res.summary(by=("method",))
    assert {"top1_strict", "slo_violation"} <= set(s.columns)
    lp = s.set_index("method").loc["latency_proxy"]
    assert lp["slo_violation"] == 0.0                                # measured TPOT: never late


def test_tpot_slo_is_the_deprecated_name_of_tpot_slo_s(frame):
    """run_evaluation / evaluate took ``tpot_slo`` (s) without its unit; the old keyword still works and warns."""
    slo = float(frame.tpot_s.median())
    new = _run(frame, tpot_slo_s=slo, splits=("random",))
    with pytest.warns(DeprecationWarning, match="tpot_slo is deprecated; use tpot_slo_s"):
        old = _run(frame, tpot_slo=slo, splits=("random",))
    pd.testing.assert_frame_equal(old.table, new.table)
    with pytest.warns(DeprecationWarning, match="use tpot_slo_s"):
        table = ev.evaluate(frame, train_size=30, repeats=1, seed=7, methods=fast_methods, progress=False,
                            splits=("random",), tpot_slo=slo)
    assert (table.tpot_source != "").all()
    with pytest.raises(TypeError, match="tpot_slo_s= or tpot_slo=, not both"):
        _run(frame, tpot_slo=slo, tpot_slo_s=slo)


class Broken(MethodBase):
    name = "broken"
    predicts_energy_scale = True

    def fit(self, df):
        raise ValueError("cannot fit")

    def predict_energy(self, df):  # pragma: no cover
        return np.ones(len(df))


def test_failing_method_is_data_not_silence(frame):
    with pytest.warns(RuntimeWarning, match="broken failed"):
        res = _run(frame, methods=lambda seed: [Broken(), baselines.LatencyProxy()], splits=("random",))
    b = res.table[res.table.method == "broken"]
    assert b["top1"].isna().all() and (b["error"] == "ValueError: cannot fit").all()
    assert res.table[res.table.method == "latency_proxy"]["top1"].notna().any()


def test_bad_arguments_are_clear_errors(frame):
    with pytest.raises(ValueError, match=r"train size 9999 leaves no held-out rows.*rows"):
        _run(frame, train_size=9999)
    with pytest.raises(ValueError, match=r"unknown group column\(s\) \['nope'\]"):
        _run(frame, group_by=("task", "nope"))
    with pytest.raises(ValueError, match="unknown split"):
        _run(frame, splits=("random", "bogus"))
    with pytest.raises(ValueError, match="tpot_slo_s must be a positive"):
        _run(frame, tpot_slo_s=-1.0)
    with pytest.raises(ValueError, match="at least 1"):
        _run(frame, train_size=0)


def test_summary_breakdowns(frame, default_run):
    res = _run(frame, splits=("random", "curve"))
    s = res.summary()
    assert {"top1", "pairwise", "mape", "spearman", "regret_pct"} <= set(s.columns)
    full = default_run.summary()
    per = full.groupby(["split", "variant", "method"], dropna=False).size()
    assert per.loc["unseen_model"].max() == 1          # folds pooled, not one row per model
    assert full[full.split == "unseen_model"]["train_size"].isna().all()
    assert np.isnan(s[s.method == "latency_proxy"]["mape"]).all()
    m = result.summarize(res.table[res.table.split == "random"], by=("method", "modality"))
    assert set(m.modality) == {"text", "image"}
    assert len(res.predictions) == len(FAST) * 2 * (len(frame) - 30)


@pytest.mark.slow
def test_bundled_data_end_to_end(tmp_path: Path):
    """The whole comparison on the bundled ML.ENERGY data, report included (about a minute)."""
    from energylens.compare.report import write_report
    from energylens.profiles import datasets

    df = datasets.mlenergy_v2()
    res = ev.run_evaluation(df, repeats=2, progress=False, curve_sizes=(25, 50))
    s = res.summary(by=("split", "method"))
    assert (s["n_groups"] > 0).all()
    assert not res.table["error"].astype(bool).any()
    assert set(registry.METHOD_NAMES) - {"energylens"} <= set(s["method"])
    assert write_report(res, tmp_path).exists()


def test_report_and_cli(frame, default_run, tmp_path, monkeypatch, capsys):
    import argparse
    import json

    from energylens.compare.report import format_summary, write_report

    res = default_run
    table = res.table.copy()
    path = write_report(res, tmp_path / "rep")
    text = path.read_text()
    assert "## Headline" in text and "## Sample efficiency" in text and "Unseen GPU" in text
    for png in ("sample_efficiency.png", "predicted_vs_measured.png", "group_rankings.png"):
        assert (tmp_path / "rep" / png).stat().st_size > 1000
    assert "llmcarbon" in format_summary(res)
    pd.testing.assert_frame_equal(res.table, table)  # the report only reads the shared run

    parser = argparse.ArgumentParser()
    evaluate_cli.add_parser(parser.add_subparsers(dest="command"))
    monkeypatch.setattr(evaluate_cli, "read_profiles_with_rows", lambda p, **_kw: frame)
    args = parser.parse_args(["evaluate", "x.csv", "--train-size", "30", "--repeats", "2",
                              "--splits", "random", "--methods", "latency_proxy,wilkins2024",
                              "--json", "--no-progress", "--report", str(tmp_path / "r2")])
    assert args.func(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert {r["method"] for r in out["summary"]} == {"latency_proxy", "wilkins2024"}
    assert (tmp_path / "r2" / "report.md").exists()
    args = parser.parse_args(["evaluate", "x.csv", "--group-by", "task,nope", "--no-progress"])
    with pytest.raises(ValueError, match=r"--group-by task,nope: x.csv has no column 'nope'"):  # (option and file)
        args.func(args)


class Oracle(Recorder):
    """Predicts the measured energy: every target must be met and every metric perfect."""

    def predict_energy(self, df):
        return df["energy_j"].to_numpy(dtype=float)


def test_an_oracle_is_perfect_and_wins_every_paired_repeat(frame):
    from energylens.compare.report_tables import paired_wins

    res = _run(frame, methods=lambda seed: [Oracle("energylens")] + fast_methods(seed),
               splits=("random", "curve"), curve_sizes=(5, 12, 25, 50))
    h = res.summary(by=("split", "method"))
    o = h[h.method == "energylens"]
    assert (o.top1 == 1.0).all() and (o.pairwise == 1.0).all() and (o.mape == 0.0).all()
    pw = paired_wins(res).set_index("method")
    assert (pw["top1"] == 2).all() and (pw.loc["latency_proxy", "regret_pct"] == 2)


class Incomplete:
    """Has fit and predict_energy but not the rest of the Method protocol."""

    name = "incomplete"

    def fit(self, df):
        return self

    def predict_energy(self, df):  # pragma: no cover
        return np.ones(len(df))


def test_runner_names_the_protocol_members_a_method_lacks(frame):
    with pytest.raises(TypeError, match=r"'incomplete'.*\['predicts_energy_scale', 'has_tpot', 'predict_tpot', "
                                        r"'run_notes'\]"):
        _run(frame, methods=lambda seed: [Incomplete()], splits=("random",))


def test_run_notes_are_averaged_per_split(frame):
    class Noted(Oracle):
        calls = 0

        def run_notes(self):
            Noted.calls += 1
            return {"share": float(Noted.calls % 2)}   # 1, 0, 1, 0 ... over the repeats

    res = _run(frame, methods=lambda seed: [Noted("n")], splits=("random",))
    assert res.info["notes"]["n"]["share"]["random"] == pytest.approx(0.5)


def test_spearman_matches_scipy_with_ties():
    from scipy.stats import spearmanr

    rng = np.random.default_rng(0)
    for _ in range(20):
        p = rng.integers(0, 5, 8).astype(float)
        m = rng.normal(size=8)
        if np.ptp(p) == 0:
            continue
        assert M.group_spearman(p, m) == pytest.approx(spearmanr(p, m).statistic)


class Vandal(Recorder):
    """Writes into the frames it is given; the next method must not see it."""

    def fit(self, train_df):
        train_df["energy_j"] = 1.0
        return super().fit(train_df)

    def predict_energy(self, df):
        df["energy_j"] = 1.0
        return np.ones(len(df))


def test_a_method_cannot_change_what_the_next_one_sees(frame):
    res = _run(frame, methods=lambda seed: [Vandal("v"), Oracle("o")], splits=("random",))
    o = res.table[res.table.method == "o"]
    assert (o.top1 == 1.0).all() and (o.ape_sum == 0.0).all()
    v = res.table[res.table.method == "v"]
    assert v.ape_sum.gt(0).all()                       # scored against the real measurements
