"""P(best) and the latency limits on a GPU the latency model was not fitted on. The search's bootstrap refits drew one
energy transfer factor per unseen GPU, but checked --tpot-limit / --ttft-limit on the undrawn latency: the bundled
A100 / H100 fit's Llama-3.1-70B B200 TP1 B128 (TPOT 0.119 s) under a 0.125 s TPOT limit had P(best) 1.0 in every
run, where the latency model's own interval gives its TPOT a ~29 % chance to break 0.125 s on a GPU it never saw
(TPOT transfer log sd 0.09 then, 0.14 since). Each refit now also draws the TPOT (and, where the latency model saw measured TTFT, the
TTFT) transfer factor per unseen GPU, at the shares predict_interval draws; fitted GPUs draw none (bit for bit)."""

from __future__ import annotations

import dataclasses
import warnings
from statistics import NormalDist

import numpy as np
import pandas as pd
import pytest

import energylens
from energylens.model.intervals import OUT0, OUT1, transfer_sd
from energylens.search import uncertainty

L70 = "meta-llama/Llama-3.1-70B-Instruct"


def _rows(gpus, tps, batches) -> pd.DataFrame:
    n = len(gpus)
    return pd.DataFrame({"model": [L70] * n, "gpu": gpus, "tp": tps, "pp": [1] * n, "batch_size": batches,
                         "input_tokens": 512, "output_tokens": 256})


def _search(rows, model, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return energylens.search(candidates=rows, top=len(rows), energy_model=model, threads=1, **kw)


def _latency_as(model, gpus=(), **attrs):
    """The same fit, its latency model recording ``gpus`` as fitted too and ``attrs`` set (the energy model as is)."""
    lat = type(model.latency_model).__new__(type(model.latency_model))
    vars(lat).update(vars(model.latency_model))
    lat.summary = dataclasses.replace(lat.summary, gpus=tuple(lat.summary.gpus) + tuple(gpus))
    vars(lat).update(attrs)
    other = type(model).__new__(type(model))
    vars(other).update(vars(model))
    other.latency_model = lat
    return other


@pytest.fixture(scope="module")
def b200_pair(model):
    """B200 TP1 at B128 (cheapest, TPOT 0.119 s) and B64 (TPOT 0.095 s), and their point TPOTs."""
    rows = _rows(["B200", "B200"], [1, 1], [128, 64])
    top = _search(rows, model).top.set_index("candidate").sort_index()
    assert top["unseen_gpu"].all() and top["energy_j"].iloc[0] < top["energy_j"].iloc[1]
    return rows, top["tpot_s"].to_numpy(), top["ttft_s"].to_numpy()


def test_a_row_near_its_tpot_limit_on_an_unseen_gpu_may_break_it(model, b200_pair):
    rows, tpot, _ = b200_pair
    limit = 1.05 * tpot[0]  # 5 % above the cheapest row's TPOT
    before = _search(rows, _latency_as(model, ["B200"]), tpot_limit_s=limit).top.set_index("candidate").sort_index()
    assert before["p_best"].iloc[0] == 1.0  # the undrawn TPOT meets the limit in every refit
    now = _search(rows, model, tpot_limit_s=limit).top.set_index("candidate").sort_index()
    p = now["p_best"].iloc[0]
    assert 0.0 < p < 1.0
    # it wins whenever its drawn TPOT meets the limit (both rows share the B200 energy factor): about
    # P(exp(s z) <= 1.05), s the TPOT transfer log sd; the refits' own spread adds a little
    alone = NormalDist().cdf(np.log(1.05) / transfer_sd("latency", OUT1))
    assert abs(p - alone) < 0.1, (p, alone)
    # the B64 row (TPOT ~20 % lower) wins nearly all the others: all but the refits where its own drawn TPOT breaks
    # the limit too (P(exp(s z) > limit / its TPOT): 0.1 % at s = 0.09, ~2.5 % at 0.14)
    both_break = 1.0 - NormalDist().cdf(np.log(limit / tpot[1]) / transfer_sd("latency", OUT1))
    assert 1.0 - both_break - 0.02 <= now["p_best"].sum() <= 1.0, (now["p_best"].sum(), both_break)
    np.testing.assert_array_equal(now["energy_j_lo"], before["energy_j_lo"])  # the interval is predict_interval's
    again = _search(rows, model, tpot_limit_s=limit).top.set_index("candidate").sort_index()
    np.testing.assert_array_equal(now["p_best"], again["p_best"])  # seeded
    other = _search(rows, model, tpot_limit_s=limit, bootstrap_seed=3).top.set_index("candidate").sort_index()
    assert not np.array_equal(now["p_best"], other["p_best"])


def test_ttft_draws_only_where_the_latency_model_saw_measured_ttft(model, b200_pair):
    rows, _, ttft = b200_pair
    limit = 1.03 * ttft[0]
    assert model.latency_model.ttft_fitted is False  # the bundled v2 rows measure no TTFT: no TTFT interval
    plain = _search(rows, model, ttft_limit_s=limit).top.set_index("candidate").sort_index()
    assert plain["p_best"].iloc[0] == 1.0
    measured = dict(model.latency_model.measured_rows, ttft_s=50)  # as if 50 rows had measured TTFT
    fitted = _search(rows, _latency_as(model, measured_rows=measured), ttft_limit_s=limit)
    p = fitted.top.set_index("candidate").sort_index()["p_best"].iloc[0]
    alone = NormalDist().cdf(np.log(1.03) / transfer_sd("latency", OUT0))
    assert 0.0 < p < 1.0 and abs(p - alone) < 0.1, (p, alone)


@pytest.mark.parametrize("kw", [dict(tpot_limit_s=0.1), dict(tpot_limit_s=0.15, ttft_limit_s=3.0),
                                dict(rate_per_s=5.0, tpot_limit_s=0.12),
                                dict(objective="cost", price_per_gpu_hour=2.5, tpot_limit_s=0.12)])
def test_fitted_gpus_are_unchanged_bit_for_bit(model, monkeypatch, kw):
    search = dict(model=L70, gpus="H100", input_tokens=512, output_tokens=256, energy_model=model, threads=1, **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        now = energylens.search(**search).top
        monkeypatch.setattr(uncertainty, "_latency_draws", lambda *a, **k: {})  # the pass without latency draws
        before = energylens.search(**search).top
    assert len(now) and now["p_best"].notna().all()
    for col in ("p_best", "energy_j_lo", "energy_j_hi"):
        np.testing.assert_array_equal(now[col], before[col])


def test_measured_latency_stays_measured(model, b200_pair):
    """A row's measured TPOT has no transfer factor: at the limit, P(best) is the refits' as before."""
    rows, tpot, _ = b200_pair
    limit = 1.05 * tpot[0]
    table = rows.assign(tpot_s=[tpot[0], np.nan])
    now = _search(table, model, tpot_limit_s=limit, measured_latency=True).top.set_index("candidate").sort_index()
    assert now["p_best"].iloc[0] == 1.0
    table = rows.assign(tpot_s=[np.nan, tpot[1]])  # the cheap row predicted: it draws
    now = _search(table, model, tpot_limit_s=limit, measured_latency=True).top.set_index("candidate").sort_index()
    assert 0.0 < now["p_best"].iloc[0] < 1.0


def test_latency_draws_move_the_cost_ranking_and_nothing_where_latency_ranks_nothing(model):
    """GPU-seconds price a request by its latency: two rows on two unseen GPUs 3 % apart in cost swap in some refits
    by their TPOT draws. With the energy objective, no limit and no rate, the latency decides nothing and is not
    drawn."""
    rows = _rows(["H200", "B200"], [2, 2], [256, 128])
    cost = dict(objective="cost", price_per_gpu_hour={"H200": 3.0, "B200": 3.1})
    seen = _latency_as(model, ["H200", "B200"])
    now, before = _search(rows, model, **cost).top, _search(rows, seen, **cost).top
    assert abs(np.log(now["objective"].iloc[1] / now["objective"].iloc[0])) < 0.05
    assert not np.array_equal(now["p_best"], before["p_best"])
    np.testing.assert_array_equal(_search(rows, model).top["p_best"], _search(rows, seen).top["p_best"])


def test_a_limit_confidence_does_not_count_the_transfer_twice(model):
    """limit_confidence 0.9 tightens the TPOT limit by predict_interval's upper quantile, which already holds the
    unseen GPU's TPOT transfer sd; P(best) drew that transfer again and checked it against the tightened limit: of
    B200 TP1 / TP2 at B32 / 64 / 128 under 0.125 s (effective 0.104 s), TP1 B64 (TPOT 0.095 s, the cheapest row the
    rule keeps) had P(best) 0.745: a quarter of the replicates rejected a row the user's 0.9 rule accepts. Each
    replicate now checks the limit the user gave: P(best) is the chance its drawn TPOT meets 0.125 s (~0.97)."""
    tps, batches = [1, 1, 1, 2, 2, 2], [32, 64, 128] * 2
    rows = _rows(["B200"] * 6, tps, batches)
    got = _search(rows, model, tpot_limit_s=0.125, limit_confidence=0.9)
    assert got.settings["effective_tpot_limit_s"] < 0.11
    top = got.top.set_index("candidate")
    b64 = top.loc[top.index[(top["tp"] == 1) & (top["batch"] == 64)][0]]
    assert b64.name == top.index[0] and b64["unseen_gpu"]
    meets = NormalDist().cdf(np.log(0.125 / b64["tpot_s"]) / transfer_sd("latency", OUT1))
    assert b64["p_best"] > 0.9 and abs(b64["p_best"] - meets) < 0.05, (b64["p_best"], meets)
    assert top["p_best"].sum() <= 1.0 + 1e-12


@pytest.mark.parametrize("kw", [dict(tpot_limit_s=0.125), dict(tpot_limit_s=0.125, limit_confidence=0.5),
                                dict(rate_per_s=5.0, tpot_limit_s=0.12)])
def test_at_confidence_half_the_limits_as_given_change_nothing(model, b200_pair, monkeypatch, kw):
    """At 0.5 the effective limits are the given ones: P(best) as when the replicates checked the engine's options."""
    rows = _rows(["B200", "B200", "H100"], [1, 1, 2], [128, 64, 64])
    if "rate_per_s" in kw:  # load mode solves the batch from the cap
        rows = rows.rename(columns={"batch_size": "max_num_seqs"})
    now = _search(rows, model, **kw).top
    monkeypatch.setattr(uncertainty, "_as_given", lambda options, given: options)
    before = _search(rows, model, **kw).top
    assert now["p_best"].notna().all()
    for col in ("p_best", "energy_j_lo", "energy_j_hi"):
        np.testing.assert_array_equal(now[col], before[col])
