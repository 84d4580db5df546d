"""Active profiling: the acquisition score on hand-made cases, the chooser on real rows, and a real
budgeted sweep with --strategy active."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from energylens.profiles.datasets import mlenergy_v2
from energylens.profiling import ActiveChooser, Store, acquisition_scores, parse_spec, run_sweep


def test_contested_optimum_of_an_unmeasured_group_is_measured_first():
    # rows 0-2: group 0, row 0 measured (10 J) and always cheapest -> settled.
    # rows 3-4: group 1, nothing measured; the replicates disagree which is cheaper.
    boot = np.array([[11, 20, 21, 5, 6], [11, 20, 21, 6, 5]] * 10, dtype=float)
    measured = np.array([True, False, False, False, False])
    energy = np.array([10, np.nan, np.nan, np.nan, np.nan])
    groups = np.array([0, 0, 0, 1, 1])
    s = acquisition_scores(boot, measured, energy, groups, spread_weight=0.0)
    assert s[0] == -np.inf
    assert s[3] == s[4] and s[3] > max(s[1], s[2])
    np.testing.assert_allclose(s[3], 0.5 * 0.5 + 0.5)  # contested + probable unmeasured optimum
    np.testing.assert_allclose(s[1:3], 0.0)           # group 0 is settled and its rows certain losers
    # With spread, the widest relative spread among otherwise equal rows wins.
    boot2 = boot.copy()
    boot2[::2, 2] = 40.0
    s2 = acquisition_scores(boot2, measured, energy, groups, spread_weight=1.0)
    assert s2[2] > s2[1]


def test_chooser_on_real_rows_picks_unmeasured_rows_deterministically():
    df = mlenergy_v2().reset_index(drop=True)
    cand = df.drop(columns=["energy_j"])
    rng = np.random.default_rng(0)
    start = {int(i): float(df["energy_j"].iloc[i]) for i in rng.choice(len(df), 20, replace=False)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = ActiveChooser(cand, bootstrap=20, seed=1).next_index(start)
        b = ActiveChooser(cand, bootstrap=20, seed=1).next_index(start)
    assert a == b and a not in start and 0 <= a < len(df)
    few = ActiveChooser(cand, min_rows=15, seed=0)
    assert few.next_index({0: 1.0}) not in (0, None)  # below min_rows: uniform at random
    assert ActiveChooser(cand.iloc[:2]).next_index({0: 1.0, 1: 2.0}) is None


@pytest.mark.torch
def test_budgeted_active_sweep_on_the_tiny_model(tiny_model, tmp_path):
    spec = parse_spec({"sweep": {"backend": "transformers", "gpu": "H100", "warmup": 0, "seed": 2},
                       "grid": {"models": [tiny_model], "precision": ["fp32"], "max_num_seqs": [1, 2, 3, 4, 6],
                                "input_len": [8, 16, 24], "output_len": [3, 6]}})
    res = run_sweep(spec, str(tmp_path / "s"), power_source="synthetic:200", budget=17, strategy="active")
    assert (res.ok, res.total) == (17, 30)
    rows = Store(tmp_path / "s").rows()
    assert (rows["chosen_by"] == "random").sum() == 15 and (rows["chosen_by"] == "active").sum() == 2
    # The budget counts what is done: resuming with the same budget runs nothing more.
    assert run_sweep(spec, str(tmp_path / "s"), resume=True, power_source="synthetic:200", budget=17,
                     strategy="active").ran == 0
