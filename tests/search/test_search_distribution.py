"""Workload distributions: quantile points with weights form one candidate per configuration, whose energy
is the weighted mean over the points and whose TTFT, TPOT and memory are checked at the worst point; the
engine against the NumPy brute force, and the aggregation against the per-point search."""

import numpy as np
import pytest
from test_search_exact import _assert_same_memory

import energylens
from energylens import _core
from energylens.search.api import native_options, run_engine
from energylens.search.oracle import REASONS, brute_force
from energylens.search.space import build_space

MODELS = ["llama-3.1-8b", "llama-3.1-70b", "mixtral-8x7b", "Qwen/Qwen3-30B-A3B", "google/gemma-3-12b-it"]


def _space(rng, weights="equal"):
    n = int(rng.integers(2, 5))
    models = [str(rng.choice(MODELS[2:4])), str(rng.choice(MODELS[:2] + MODELS[4:]))]  # a MoE for ep = 2
    return build_space(models, ["H100", "A100-SXM4-40GB"],
                       input_tokens=np.sort(rng.integers(32, 8000, n)).tolist(),
                       output_tokens=np.sort(rng.integers(16, 4000, n)).tolist(), tp=[1, 2, 4, 8], pp=[1, 2],
                       dp=[1, 2], ep=[1, 2], max_num_seqs=[1, 8, 64, 256],
                       workload_weights=rng.random(n).tolist() if weights == "random" else weights)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("threads", [1, 2])
def test_distribution_matches_brute_force(model, seed, threads):
    rng = np.random.default_rng(seed)
    space = _space(rng, "random")
    assert space.size == np.prod(space.point_shape[:-1])  # one candidate per configuration
    opts = {"top": 12, "tpot_limit_s": float(rng.uniform(0.03, 0.2)), "per_token": bool(seed % 2)}
    options = {**native_options(**opts), "threads": threads}
    out = run_engine(space, model.theta, model.latency_model.theta, options)
    ref = brute_force(space, model.theta, model.latency_model.theta, top_k=12, tpot_limit_s=opts["tpot_limit_s"],
                      per_token=opts["per_token"])
    assert dict(zip(energylens.search.api.REASONS, map(int, out.rejected), strict=True)) == ref["rejected"]
    assert out.feasible == ref["feasible"] > 0
    np.testing.assert_allclose(out.top.objective, ref["top"]["objective"], rtol=1e-10)
    np.testing.assert_allclose(out.top.tpot_s, ref["top"]["tpot_s"], rtol=1e-10)
    _assert_same_memory(out, ref)  # per GPU, the largest over the points
    # ranks can swap only between ties within rounding (DP replicas priced identically)
    same = out.top.index.astype(np.int64) == ref["top"]["index"].to_numpy()
    np.testing.assert_allclose(out.top.objective[~same], ref["top"]["objective"].to_numpy()[~same], rtol=1e-12)


def test_distribution_is_the_weighted_mean_of_its_points_and_limited_by_the_worst(model):
    li, lo, w = [200, 1000, 6000], [100, 400, 1500], [0.5, 0.3, 0.2]
    kw = dict(tp=[1, 2, 4], dp=[1, 2], max_num_seqs=[4, 32, 128])
    dist = build_space(["llama-3.1-70b", "llama-3.1-8b"], "H100", input_tokens=li, output_tokens=lo,
                       workload_weights=w, **kw)
    points = build_space(["llama-3.1-70b", "llama-3.1-8b"], "H100", input_tokens=li, output_tokens=lo, **kw)
    opts = native_options()
    args = (model.theta, model.latency_model.theta, opts)
    d = _core.search_evaluate(*dist.native_args(), *args, np.arange(dist.size, dtype=np.uint64))
    p = _core.search_evaluate(*points.native_args(), *args, np.arange(points.size, dtype=np.uint64))
    n = len(li)
    np.testing.assert_allclose(d.energy_j, p.energy_j.reshape(-1, n) @ np.array(w), rtol=1e-12)
    np.testing.assert_allclose(d.tpot_s, p.tpot_s.reshape(-1, n).max(axis=1), rtol=0)
    np.testing.assert_allclose(d.ttft_s, p.ttft_s.reshape(-1, n).max(axis=1), rtol=0)
    np.testing.assert_allclose(d.memory_bytes, p.memory_bytes.reshape(-1, n).max(axis=1), rtol=0)
    # a configuration whose KV cache fits at the short quantiles but not at the long one is rejected
    per_point = p.reason.reshape(-1, n)
    kv = REASONS.index("memory_kv_cache")
    mixed = (per_point[:, 0] < 0) & (per_point[:, -1] == kv)  # memory_kv_cache at the 6000-token point
    assert mixed.any()
    assert np.all(d.reason[mixed] == kv)


def test_search_reports_one_row_per_configuration(model):
    r = energylens.search("llama-3.1-8b", "H100", input_tokens=[100, 800, 3000], output_tokens=[50, 300, 1200],
                          workload_weights=[1, 2, 1], tp=[1, 2], max_num_seqs=[8, 64], energy_model=model,
                          bootstrap=False, top=4)
    assert r.candidates == 4 and len(r.top) == 4
    assert not r.top.duplicated(["tp", "max_num_seqs"]).any()
    np.testing.assert_allclose(r.top["input_tokens"], (100 + 2 * 800 + 3000) / 4)
    parts = r.top[["prefill_static_j", "prefill_dynamic_j", "decode_static_j", "decode_dynamic_j", "idle_j"]]
    np.testing.assert_allclose(parts.sum(axis=1), r.top["energy_j"], rtol=1e-9)
    assert r.settings["workload_distribution"] == [0.25, 0.5, 0.25]


@pytest.mark.parametrize("weights, message", [([1, 2], "2 values for 3"), ([1, -1, 1], ">= 0"), ([0, 0, 0], r"point 1 \(1 in, 1 out\) has weight 0"),
                                              ("mean", "'equal'")])
def test_bad_weights_are_clear_errors(weights, message):
    with pytest.raises(ValueError, match=message):
        build_space("llama-3.1-8b", "H100", input_tokens=[1, 2, 3], output_tokens=[1, 2, 3], workload_weights=weights)


def test_distribution_with_a_rate_is_an_error(model):
    with pytest.raises(ValueError, match="fixed-batch mode only"):
        energylens.search("llama-3.1-8b", "H100", input_tokens=[100, 800], output_tokens=[50, 300],
                          workload_weights="equal", rate_per_s=3, energy_model=model, bootstrap=False)


@pytest.mark.parametrize(("weights", "said"), [([1.0], "has 1 value for 2 workload points"),
                                               ([1.0, 2.0, 3.0], "has 3 values for 2 workload points")])
def test_a_weight_count_that_misses_the_points_is_counted_in_words(weights, said):
    """"has 1 values for 2 workload points" until 2026-12-07."""
    with pytest.raises(ValueError, match=said):
        energylens.search("meta-llama/Llama-3.1-8B-Instruct", "H100", input_tokens=[1000, 2000], output_tokens=300,
                          workload_weights=weights)
