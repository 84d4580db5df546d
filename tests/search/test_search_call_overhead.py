"""What a search pays around its engine call, for a scheduler that calls ``energylens.search`` in a loop: an
empty result's "lowest predicted TPOT" reads one row of each front, not the whole front as a table, and the
P(best) / interval columns join the terms in one step; the values are those of the whole-front computation."""

import warnings

import numpy as np
import pandas as pd
import pytest

import energylens
import energylens.search.api as api
import energylens.search.frames as frames
from energylens.search.api import run_engine
from energylens.search.options import native_options
from energylens.search.space import build_space

L70 = "meta-llama/Llama-3.1-70B-Instruct"


def test_an_empty_result_builds_no_whole_front(model, monkeypatch):
    """Nothing meets a TPOT limit of 5 ms: the closest record built both fronts (108 candidates' worth of rows)
    to keep each one's lowest row; it now builds one-row tables only, with the same record."""
    built = []
    whole = frames.candidate_frame

    def counted(space, cands, *args, **kwargs):
        df = whole(space, cands, *args, **kwargs)
        built.append(len(df))
        return df
    kw = dict(input_tokens=512, output_tokens=256, tpot_limit_s=0.005, ttft_limit_s=10.0, energy_model=model)
    monkeypatch.setattr(frames, "candidate_frame", counted)
    monkeypatch.setattr(api, "candidate_frame", counted, raising=False)  # where api imported it by name
    r = energylens.search(L70, "H100,H200,B200", **kw)
    assert r.empty and r.settings["without_latency_limits"]["unmet"] == ["tpot"]
    assert max(built) <= 1, built  # the top (empty) and one row per front read


@pytest.mark.parametrize("rate", [None, 3.0, 1e5])  # fixed batch; load mode; rows past 2**20 GPUs left out
def test_lowest_row_is_the_whole_fronts_lowest(model, rate):
    space = build_space(L70, "H100,H200,B200", input_tokens=512, output_tokens=256, tp=[1, 2, 4, 8], pp=[1, 2],
                        dp=[1], ep=[1], max_num_seqs=[1, 4, 16, 64, 256], precision=None, kv_cache_dtype="auto")
    out = run_engine(space, model.theta, model.latency_model.theta,
                     native_options(top=1, objective="energy", rate_per_s=rate))
    for name in ("tpot", "ttft"):
        cands = getattr(out, f"front_{name}")
        full = frames.candidate_frame(space, cands)
        want = full.nsmallest(1, f"{name}_s").reset_index(drop=True)
        got = frames.lowest_row(space, cands, f"{name}_s")
        assert len(full) > 1 and len(got) == 1
        pd.testing.assert_frame_equal(got.drop(columns=["price_per_gpu_hour"]),
                                      want.drop(columns=["price_per_gpu_hour"]), check_dtype=False)
        if rate == 1e5:
            assert full.attrs["over_gpu_count"] > 0  # the front's batch-1 end needs more than 2**20 GPUs


def test_p_best_and_interval_are_the_per_replicate_computation(model):
    """P(best) counted per replicate (ties share the win), computed here the way the search computed it before the
    columns were ranked at once (on the fitted H100: no GPU transfer factor is drawn), and the interval
    predict_interval's of each row alone (tests/search/test_search_interval_predicts.py)."""
    kw = dict(input_tokens=512, output_tokens=256, tpot_limit_s=0.2, energy_model=model, top=6, dp=[1, 2])
    r = energylens.search(L70, "H100", **kw)
    space = build_space(L70, "H100", input_tokens=512, output_tokens=256, tp=r.settings["tp"], pp=[1], dp=[1, 2],
                        ep=[1], max_num_seqs=r.settings["max_num_seqs"], precision=None, kv_cache_dtype="auto")
    opts = native_options(top=6, objective="energy", tpot_limit_s=0.2)
    idx = r.top["index"].to_numpy(dtype=np.uint64)
    wins = np.zeros(len(idx))
    for b, theta in enumerate(model.bootstrap_params):
        phi = model.latency_model.bootstrap_params[b % len(model.latency_model.bootstrap_params)]
        c = energylens._core.search_evaluate(*space.native_args(), theta, phi, opts, idx)
        obj = np.where(c.reason < 0, c.objective, np.inf)
        if np.isfinite(obj).any():
            tied = obj <= obj.min() + 1e-12 * abs(obj.min())
            wins[tied] += 1.0 / np.count_nonzero(tied)
    frame = space.point_profiles(space.points(idx.astype(np.int64)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        iv = pd.concat([model.predict_interval(frame.iloc[[i]], check_range=False) for i in range(len(frame))])
    assert (r.top["p_best"].to_numpy() > 0).sum() >= 1 and np.isclose(r.top["p_best"].sum(), 1.0)
    np.testing.assert_allclose(r.top["p_best"], wins / len(model.bootstrap_params), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(r.top["energy_j_lo"], iv["energy_j_lo"], rtol=1e-9)
    np.testing.assert_allclose(r.top["energy_j_hi"], iv["energy_j_hi"], rtol=1e-9)
    assert list(r.top.columns[-3:]) == ["p_best", "energy_j_lo", "energy_j_hi"]


def test_a_repeated_search_does_not_recount_the_kv_heads(model, monkeypatch):
    """The default TP axis and the remedies' shape record ask the engine's KV-head count of each searched model
    (an MLA latent is one head: attention_per_layer) and the tp_heads rule per tp value; done afresh on every call
    this cost a 70B search over its default axes 0.5 ms of its 2.4 ms (bench/bench_search_fixed_cost.py). They
    are remembered per model spec: a second identical search counts nothing again."""
    import energylens.search.axes as axes

    calls = []
    original = axes.attention_per_layer

    def counted(columns):
        calls.append(1)
        return original(columns)

    monkeypatch.setattr(axes, "attention_per_layer", counted)
    axes.engine_kv_heads.cache_clear()
    kw = dict(input_tokens=512, output_tokens=256, energy_model=model, bootstrap=False)
    first = energylens.search(L70, "H100", **kw)
    assert 0 < len(calls) <= 1  # one spec: counted once
    calls.clear()
    second = energylens.search(L70, "H100", **kw)
    assert calls == []
    pd.testing.assert_frame_equal(first.to_frame(), second.to_frame())
