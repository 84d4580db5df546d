"""energylens.search: memory feasibility against hand-computed cases, empty results, invalid axes, the
result object (explanations, bootstrap, JSON, plot) and the native option checks."""

import json
import math

import numpy as np
import pytest

import energylens
from energylens import _core
from energylens.errors import UnknownGpuError, UnknownModelError
from energylens.search import SearchResult, build_space
from energylens.search.api import native_options
from energylens.search.memory import NVLS_BYTES_PER_GPU
from energylens.search.result import TERMS

GIB = 2.0**30
L70 = "meta-llama/Llama-3.1-70B-Instruct"


def _evaluate(space, model, opts=None, index=None):
    idx = np.arange(space.size, dtype=np.uint64) if index is None else np.asarray(index, dtype=np.uint64)
    return _core.search_evaluate(*space.native_args(), model.theta, model.latency_model.theta,
                                 native_options(**(opts or {})), idx)


def test_70b_bf16_does_not_fit_one_80gb_gpu_but_fits_two_at_small_batch(model):
    space = build_space(L70, "H100", input_tokens=512, output_tokens=256, tp=[1, 2], max_num_seqs=[8, 256])
    c = _evaluate(space, model)
    frame = space.decode(c.index)
    usable = 0.9 * 80 * GIB
    reserve = 1.5 * GIB + 8192 * 8192 * 24              # runtime + activations (8192 tokens x d_model x 24 B)
    weights = 70.552e9 * 2                               # bf16
    kv_per_token = 2 * 80 * 8 * 128 * 2                  # K and V, 80 layers, 8 KV heads x 128, 2 B
    for row, reason, mem in zip(frame.itertuples(), c.reason, c.memory_bytes, strict=True):
        kv = row.max_num_seqs * (512 + 128) * kv_per_token / row.tp  # 8 KV heads split over tp
        expected = weights / row.tp + reserve + kv
        assert mem == pytest.approx(expected, rel=1e-12)
        if row.tp == 1:
            assert _core.search_reason_names()[reason] == "memory_weights"      # 141 GB > 77 GB
        elif row.max_num_seqs == 8:
            assert reason == -1 and expected < usable                           # 74.6 GB
        else:
            assert _core.search_reason_names()[reason] == "memory_kv_cache"     # + 26.8 GB of KV
    # 141 GB of weights: not on one H200 (0.9 x 141 GiB = 136 GB usable), on one B200 (0.9 x 180 GiB)
    for gpu, ok in (("H200", False), ("B200", True)):
        one = build_space(L70, gpu, input_tokens=512, output_tokens=256, tp=[1], max_num_seqs=[8])
        assert (_evaluate(one, model).reason[0] == -1) == ok, gpu


def test_one_whole_sequence_must_fit_whatever_the_batch(model):
    """The cache holds at least one sequence at its full length (input + output): at batch 1 that is more
    than the mean context, and a load-mode batch below one (Little's law at a low rate) still serves whole
    requests. 70B TP2 on H100 with a 100k-token prompt: weights + reserve 68.7 GiB per GPU, one sequence's KV
    100,512 x 163,840 B over 2 GPUs 7.7 GiB, 76.4 GiB against 72 GiB usable: rejected at any rate."""
    kv_per_token = 2 * 80 * 8 * 128 * 2
    space = build_space(L70, "H100", input_tokens=100_000, output_tokens=512, tp=[2], max_num_seqs=[1])
    c = _evaluate(space, model)
    reserve = 1.5 * GIB + 8192 * 8192 * 24
    full = 100_512 * kv_per_token / 2
    assert c.memory_bytes[0] == pytest.approx(70.552e9 * 2 / 2 + reserve + full, rel=1e-12)
    assert _core.search_reason_names()[c.reason[0]] == "memory_kv_cache"
    low_rate = energylens.search(L70, "H100", input_tokens=100_000, output_tokens=512, tp=[2], rate_per_s=0.002,
                                 energy_model=model, bootstrap=False)
    assert low_rate.empty and low_rate.rejected["memory_kv_cache"] > 0
    fits = energylens.search(L70, "H100", input_tokens=20_000, output_tokens=512, tp=[2], rate_per_s=0.002,
                             energy_model=model, bootstrap=False)
    assert not fits.empty and (fits.top["batch"] < 1).all()  # the same rate, a prompt whose sequence fits


def test_hybrid_models_hold_each_sequences_recurrent_state(model):
    """Nemotron-Nano-9B-v2 (Mamba-2 hybrid, 4 attention layers): each running sequence adds its attention
    KV and its SSM + conv state (the features' per-step state traffic is its read and write: half of it)."""
    from energylens.profiles.features import STATE_TRAFFIC_PER_STEP, build_features
    name = "nvidia/NVIDIA-Nemotron-Nano-9B-v2"
    space = build_space(name, "H100", input_tokens=4096, output_tokens=256, tp=[1], max_num_seqs=[2, 3, 512])
    c = _evaluate(space, model)
    step = c.memory_bytes[1] - c.memory_bytes[0]
    row = space.point_profiles(np.array([0]))
    feats = build_features(row)
    state = feats["state_bytes_per_seq"][0] / STATE_TRAFFIC_PER_STEP
    kv = (4096 + 128) * feats["kv_bytes_per_token"][0]
    assert state > 50e6 and step == pytest.approx(kv + state, rel=1e-9)
    assert _core.search_reason_names()[c.reason[2]] == "memory_kv_cache"  # 512 sequences: 70 GB of state


def test_kv_heads_are_replicated_beyond_their_count(model):
    # Llama-3.1-8B: 8 KV heads; at TP16 each GPU holds 8/8 = 1 head's worth -> KV split over 8, not 16
    space = build_space("llama-3.1-8b", "H100", input_tokens=1000, output_tokens=200, tp=[8, 16], max_num_seqs=[64])
    c = _evaluate(space, model, {"node_size": 16})
    kv = 64 * 1100 * (2 * 32 * 8 * 128 * 2) / 8
    weights = 8.03e9 * 2
    reserve = 1.5 * GIB + 8192 * 4096 * 24 + 8 * NVLS_BYTES_PER_GPU  # NCCL's NVLS buffers: 8 GPUs of the NVSwitch
    np.testing.assert_allclose(c.memory_bytes, [weights / 8 + reserve + kv, weights / 16 + reserve + kv], rtol=1e-12)


def test_structural_reasons(model):
    space = build_space(["llama-3.1-8b", "mixtral-8x7b"], "H100", input_tokens=100, output_tokens=100,
                        tp=[2, 16], ep=[1, 4], dp=[1], max_num_seqs=[1])
    c = _evaluate(space, model)
    names = [(_core.search_reason_names()[r] if r >= 0 else "ok") for r in c.reason]
    got = dict(zip(map(tuple, space.decode(c.index)[["model", "tp", "ep"]].astype(str).to_numpy()), names, strict=True))
    assert got[("meta-llama/Meta-Llama-3.1-8B-Instruct", "16", "1")] == "tp_node"
    assert got[("meta-llama/Meta-Llama-3.1-8B-Instruct", "2", "4")] == "ep_without_moe"
    assert got[("mistralai/Mixtral-8x7B-Instruct-v0.1", "2", "4")] == "ep_group"      # 4 does not divide tp x dp = 2
    assert got[("mistralai/Mixtral-8x7B-Instruct-v0.1", "2", "1")] == "ok"


def test_the_expert_parallel_group_is_every_gpu_of_a_stage(model):
    """vLLM's EP group is TP x DP: DeepSeek-V3 at TP2 DP8 with EP 8 (two groups of 8, each expert twice) is not
    a deployment vLLM can run; EP 16 is, and so is EP 1 (experts sharded with TP)."""
    space = build_space("deepseek-ai/DeepSeek-V3", "H200", input_tokens=512, output_tokens=256, tp=[2], dp=[8],
                        ep=[1, 8, 16], max_num_seqs=[64], precision=["fp8"])
    c = _evaluate(space, model)
    got = {int(e): (_core.search_reason_names()[r] if r >= 0 else "ok")
           for e, r in zip(space.decode(c.index)["ep"], c.reason, strict=True)}
    assert got[8] == "ep_group" and got[16] != "ep_group" and got[1] != "ep_group"


def test_ep_shards_expert_weights(model):
    space = build_space("mixtral-8x7b", "H100", input_tokens=100, output_tokens=100, tp=[4], ep=[1, 4],
                        max_num_seqs=[1])
    c = _evaluate(space, model)
    assert np.all(c.reason == -1)
    # tp=4 shards the experts 4 ways with or without EP=4: the same memory
    assert c.memory_bytes[0] == pytest.approx(c.memory_bytes[1], rel=1e-12)


def test_empty_feasible_set_names_the_reason_that_rejected_most(model):
    r = energylens.search(L70, "H100", input_tokens=512, output_tokens=256, tp=[2, 4, 8], tpot_limit_s=1e-4,
                          energy_model=model)
    assert r.empty and len(r.top) == 0
    assert r.main_rejection == "tpot_limit"
    assert "tpot_limit" in r.why_empty() and "no feasible configuration" in r.why_empty()
    r1 = energylens.search(L70, "A100-SXM4-40GB", input_tokens=512, output_tokens=256, tp=[1, 2], energy_model=model)
    assert r1.empty and r1.main_rejection == "memory_weights"
    assert "--precision fp8" in r1.why_empty() and "e.g. --tp 4," in r1.why_empty()  # the 4 GPUs the weights need


def _lowest(result, name):
    """The configuration with the lowest predicted TPOT / TTFT among all kept (top large enough for all)."""
    return result.to_frame().nsmallest(1, f"{name}_s").iloc[0]


def test_latency_limits_that_leave_nothing_are_answered_with_what_the_space_reaches(model):
    """An empty result whose latency limits rejected candidates says, from a search without them, how
    many candidates pass every other check and the lowest TPOT / TTFT they reach, with the configuration:
    the limit a user must allow. It leads, even where a layout reason rejected more candidates."""
    axes = {"input_tokens": 512, "output_tokens": 256, "energy_model": model, "top": 1000, "tp": [1, 2, 4],
            "ep": [1, 2, 4, 8]}
    free = energylens.search("mixtral-8x7b", "H100", **axes)
    fast = _lowest(free, "tpot")
    r = energylens.search("mixtral-8x7b", "H100", tpot_limit_s=fast["tpot_s"] * 0.99, **axes)
    assert r.empty and r.main_rejection == "ep_group"          # ep 8 on at most 4 GPUs, ep 4 on 1 or 2, ep 2 on 1
    closest = r.settings["without_latency_limits"]
    assert closest["feasible"] == free.feasible == r.rejected["tpot_limit"] and closest["unmet"] == ["tpot"]
    assert closest["min_tpot_s"] == pytest.approx(fast["tpot_s"], rel=1e-12)
    assert closest["min_tpot_config"] == fast["config"]  # EP1/2 as the row (until 2026-12-07 without its EP label)
    why = r.why_empty()
    assert f"the lowest predicted TPOT is {fast['tpot_s']:.4g} s ({fast['config']}; limit" in why
    assert f"raise --tpot-limit to at least {fast['tpot_s']:.4g} s" in why and "pick --ep" not in why
    assert not energylens.search("mixtral-8x7b", "H100", tpot_limit_s=fast["tpot_s"] * 1.001, **axes).empty


def test_two_limits_each_reachable_alone_but_not_together(model):
    # 1024 prompt tokens: at 512, since a token's FLOPs leave the input embedding out (accuracy round 10's
    # follow-up), TP4 B1 has both the lowest TPOT and the lowest TTFT (0.0993 s against TP8's 0.0994 s)
    base = {"input_tokens": 1024, "output_tokens": 256, "energy_model": model, "top": 1000, "tp": [2, 4, 8]}
    free = energylens.search(L70, "H100", **base)
    tpot, ttft = _lowest(free, "tpot"), _lowest(free, "ttft")
    assert tpot["config"] != ttft["config"]                        # the fastest step is not the fastest prefill
    r = energylens.search(L70, "H100", tpot_limit_s=tpot["tpot_s"] * 1.001, ttft_limit_s=ttft["ttft_s"] * 1.001, **base)
    assert r.empty and r.settings["without_latency_limits"]["unmet"] == []
    meets_tpot = energylens.search(L70, "H100", tpot_limit_s=tpot["tpot_s"] * 1.001, **base)
    best = _lowest(meets_tpot, "ttft")
    closest = r.settings["without_latency_limits"]
    assert closest["min_ttft_at_tpot_limit_s"] == pytest.approx(best["ttft_s"], rel=1e-12)
    assert f"each can be met alone, not both: among the candidates that meet the TPOT limit the lowest predicted TTFT is {best['ttft_s']:.4g} s" in r.why_empty()


def test_no_latency_record_when_limits_rejected_nothing_or_something_passed(model):
    full = energylens.search(L70, "A100-SXM4-40GB", input_tokens=512, output_tokens=256, tp=[1, 2], tpot_limit_s=1.0,
                             energy_model=model)
    assert full.empty and full.main_rejection == "memory_weights"
    assert full.settings["without_latency_limits"] is None and "--precision fp8" in full.why_empty()
    ok = energylens.search(L70, "H100", input_tokens=512, output_tokens=256, tpot_limit_s=1.0, energy_model=model)
    assert not ok.empty and ok.settings["without_latency_limits"] is None


def test_an_exact_tie_is_explained_as_a_tie(model):
    # a dense model's DP 1 and DP 2 at one batch per rank (fixed-batch mode); TP 2 with and without EP 2, the
    # example until 2026-12-07, is one row now that says why they price alike (test_search_ep_ties.py)
    r = energylens.search(L70, "H100", input_tokens=512, output_tokens=256, tp=[4], dp=[1, 2],
                          max_num_seqs=[8], energy_model=model)
    assert len(r.top) == 2 and r.top["energy_j"].iloc[0] == r.top["energy_j"].iloc[1]
    assert "It ties with" in r.explain(0) and "The runner-up" not in r.explain(0)


def test_the_default_model_says_it_is_2024_serving_and_how_to_use_your_own(model):
    r = energylens.search(L70, "H100", input_tokens=512, output_tokens=256, tp=[4], max_num_seqs=[8])
    assert r.model_source.startswith("fitted on the bundled ML.ENERGY v2 data (356 rows, vLLM 0.5.4, 2024)")
    assert "for today's vLLM pass a model file fitted on your own profiles or an ML.ENERGY v3 export" in r.model_source
    assert r.top["energy_j"].iloc[0] == energylens.search(L70, "H100", input_tokens=512, output_tokens=256, tp=[4],
                                                         max_num_seqs=[8], energy_model=model).top["energy_j"].iloc[0]


def test_every_rejection_reason_has_a_remedy_naming_real_cli_options():
    import argparse
    import re

    from energylens.cli import search as cli_search
    from energylens.search.api import REASONS
    from energylens.search.result import REMEDIES

    assert set(REMEDIES) == set(REASONS)
    sub = argparse.ArgumentParser().add_subparsers()
    cli_search.add_parser(sub)
    options = {o for a in sub.choices["search"]._actions for o in a.option_strings}
    for reason, text in REMEDIES.items():
        named = set(re.findall(r"--[a-z-]+", text))
        assert named and named <= options, (reason, named - options)


def test_the_weights_remedy_suggests_only_formats_smaller_than_those_searched(model):
    base = {"input_tokens": 512, "output_tokens": 256, "energy_model": model, "tp": [1], "max_num_seqs": [8]}
    bf16 = energylens.search(L70, "A100-SXM4-40GB", **base).why_empty()
    # the remedy is computed per smaller format (d00481d): each one named with the layout that holds it
    assert "in fp8 weights" in bf16 and "--precision fp8" in bf16 and "in int4 weights" in bf16
    fp8 = energylens.search(L70, "A100-SXM4-40GB", precision="fp8", **base).why_empty()
    assert "in int4 weights" in fp8 and "--precision int4" in fp8
    assert "in fp8 weights" not in fp8 and "--precision fp8" not in fp8
    four = energylens.search("meta-llama/Llama-3.1-405B-Instruct", "A100-SXM4-40GB", precision="int4", **base)
    assert "--precision" not in four.why_empty() and "on a GPU with more memory" in four.why_empty()


def test_the_weights_remedy_widens_an_empty_space_into_a_feasible_one(model):
    """The remedy's own suggestions (a smaller weight format, pipeline stages, fp8 KV) are values the
    search accepts, and they turn 70B on two 40 GB A100s into feasible candidates."""
    base = {"input_tokens": 512, "output_tokens": 256, "energy_model": model}
    assert energylens.search(L70, "A100-SXM4-40GB", tp=[1, 2], **base).empty
    wider = energylens.search(L70, "A100-SXM4-40GB", tp=[1, 2], pp=[1, 2, 4], precision=["bf16", "fp8", "int4"],
                              kv_cache_dtype=["auto", "fp8"], **base)
    assert not wider.empty


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"tp": [3]}, ValueError, "tp=3 divides the attention heads of none"),
    ({"gpus": "H100,H900"}, UnknownGpuError, "H900"),
    ({"model": "no-such-model-7b"}, UnknownModelError, "no-such-model"),
    ({"input_tokens": -5}, ValueError, "input_tokens must be finite and > 0"),
    ({"output_tokens": 0}, ValueError, "output_tokens must be finite and > 0"),
    ({"tp": [1.5]}, ValueError, "not a whole number"),
    ({"ep": [2]}, ValueError, "ep=2 divides the experts of none"),
    ({"max_num_seqs": []}, ValueError, "max_num_seqs is empty"),
    ({"objective": "carbon"}, ValueError, "carbon_g_per_kwh"),
    ({"objective": "cost"}, ValueError, "price_per_gpu_hour"),
    ({"tpot_limit_s": -1}, ValueError, "tpot_limit_s"),
    ({"input_tokens": [1, 2], "output_tokens": [1, 2, 3]}, ValueError, "workload points"),
])
def test_invalid_axes_are_clear_errors(model, kwargs, error, match):
    args = {"model": L70, "gpus": "H100", "input_tokens": 512, "output_tokens": 256, "energy_model": model, **kwargs}
    with pytest.raises(error, match=match):
        energylens.search(args.pop("model"), args.pop("gpus"), **args)


def test_unknown_native_option_is_a_type_error(model):
    space = build_space(L70, "H100", input_tokens=1, output_tokens=1)
    with pytest.raises(TypeError, match="unknown option 'tpot_limit'"):
        _core.search_run(*space.native_args(), model.theta, model.latency_model.theta, {"tpot_limit": 1.0})
    with pytest.raises(ValueError, match="12 parameters|energy model has"):
        _core.search_run(*space.native_args(), model.theta[:5], model.latency_model.theta, {})


def test_result_explains_itself_and_serialises(model, tmp_path):
    r = energylens.search("llama-3.1-70b,llama-3.1-8b", "H100,H200,B200", input_tokens=512, output_tokens=256,
                          tpot_limit_s=0.1, top=5, energy_model=model)
    assert isinstance(r, SearchResult) and not r.empty and len(r.top) == 5
    top = r.to_frame()
    np.testing.assert_allclose(top[list(TERMS)].sum(axis=1), top["energy_j"], rtol=1e-9)
    np.testing.assert_allclose(top["prefill_static_j"] + top["decode_static_j"], top["static_j"], rtol=1e-9)
    assert top["objective"].is_monotonic_increasing
    assert set(top["decided_by"]) <= set(TERMS)
    assert np.all((top["p_best"] >= 0) & (top["p_best"] <= 1)) and top["p_best"].sum() <= 1 + 1e-12
    assert np.all(top["energy_j_lo"] <= top["energy_j_hi"])
    assert np.all(top["tpot_s"] <= 0.1)
    text = r.explain(0)
    assert "prefill" in text and "decode" in text and "Energy decided by" in text and "The runner-up, " in text
    assert r.pareto_tpot["tpot_s"].is_monotonic_increasing and r.pareto_tpot["objective"].is_monotonic_decreasing
    doc = json.loads(r.to_json(str(tmp_path / "r.json")))
    assert doc["top"][0]["config"] == top["config"][0] and (tmp_path / "r.json").exists()
    assert sum(doc["rejected"].values()) + doc["feasible"] == doc["candidates"]
    png = r.plot(str(tmp_path / "p.png"))
    assert open(png, "rb").read(8) == b"\x89PNG\r\n\x1a\n"


def test_max_utilization_adds_replicas_and_the_full_use_note_says_when_to(model):
    """At 9.999 x one TP4 replica's capacity at its cap of 256 (from the fixed-batch TTFT and TPOT there) the 70B
    deployment fills its cap in 10 replicas: the summary says they run at full throughput; max_utilization=0.5
    sizes at least twice the capacity. (The rate was 100 req/s, which filled the cap, ~251 of 256, until the
    features of c366ec3 moved the capacity: 237.6 then; a multiple of the capacity fills it whatever the model.)"""
    fixed = energylens.search(L70, "H100", input_tokens=512, output_tokens=256, tp=[4], max_num_seqs=[256],
                              energy_model=model, bootstrap=False, top=1).top.iloc[0]
    # requests/s of one replica at its cap: 256 / W, the time in the system (TTFT + L_out TPOT + the prefill
    # stalls), which fixed-batch mode's GPU-seconds per request are tp pp W / 256 of
    capacity = 4 / fixed["gpu_s_per_request"]
    base = dict(input_tokens=512, output_tokens=256, tp=[4], max_num_seqs=[256], rate_per_s=9.999 * capacity,
                energy_model=model, bootstrap=False, top=1)
    full = energylens.search(L70, "H100", **base)
    half = energylens.search(L70, "H100", max_utilization=0.5, **base)
    assert full.top["batch"].iloc[0] >= 0.95 * 256 and "at its max_num_seqs cap" in full.summary()
    assert half.top["replicas"].iloc[0] >= 2 * full.top["replicas"].iloc[0] - 1
    assert half.top["batch"].iloc[0] < full.top["batch"].iloc[0] and "max_num_seqs cap" not in half.summary()
    assert half.settings["max_utilization"] == 0.5
    with pytest.raises(ValueError, match=r"max_utilization \(--max-utilization\) sizes load mode's replicas"):
        energylens.search(L70, "H100", input_tokens=512, output_tokens=256, max_utilization=0.5, energy_model=model)
    with pytest.raises(ValueError, match=r"max_utilization must be a finite number in \(0, 1\]"):
        energylens.search(L70, "H100", max_utilization=1.5, **{**base, "top": 2})


def test_load_mode_counts_idle_headroom(model):
    kw = {"input_tokens": 512, "output_tokens": 256, "tp": [1, 2, 4, 8], "energy_model": model, "top": 3,
          "bootstrap": False}
    light = energylens.search("llama-3.1-8b", "H100", rate_per_s=0.5, **kw)
    heavy = energylens.search("llama-3.1-8b", "H100", rate_per_s=50, **kw)
    a, b = light.top.iloc[0], heavy.top.iloc[0]
    assert a["idle_j"] > 0                            # a lightly loaded GPU idles most of the time
    assert a["batch"] < b["batch"]                    # Little's law: more load, larger running batch
    assert heavy.top["replicas"].iloc[0] >= 1 and b["gpus"] >= 1
    assert a["energy_j"] > b["energy_j"]              # idle static power dominates at low load
    # gpu-seconds per request: every provisioned GPU for 1/rate seconds
    assert b["gpu_s_per_request"] == pytest.approx(b["gpus"] / 50, rel=1e-12)
    # the table says how many copies of the labelled deployment serve the load (its label says DP1)
    header = heavy.table().splitlines()[0]
    assert "replicas" in header and "running batch" in header
    assert "replicas" not in energylens.search("llama-3.1-8b", "H100", max_num_seqs=[8], **kw).table()


def test_package_attribute_is_callable(model):
    import energylens.search as pkg

    r = pkg("llama-3.1-8b", "H100", input_tokens=100, output_tokens=50, tp=[1], max_num_seqs=[8],
            energy_model=model, bootstrap=False)
    assert r.feasible == 1 and math.isfinite(r.top["energy_j"].iloc[0])


def test_per_token_and_carbon_scale_the_objective(model):
    kw = {"input_tokens": 512, "output_tokens": 200, "tp": [1, 2], "max_num_seqs": [16], "energy_model": model,
          "bootstrap": False}
    base = energylens.search("llama-3.1-8b", "H100", **kw).top
    per_tok = energylens.search("llama-3.1-8b", "H100", per_token=True, **kw).top
    carbon = energylens.search("llama-3.1-8b", "H100", objective="carbon", carbon_g_per_kwh=360, **kw).top
    np.testing.assert_allclose(per_tok["objective"], base["objective"] / 200, rtol=1e-12)
    np.testing.assert_allclose(carbon["objective"], base["energy_j"] * 360 / 3.6e6, rtol=1e-12)


def test_user_gpu_spec(model):
    from dataclasses import replace

    from energylens.profiles import tables

    spec = replace(tables.gpu_spec("H100"), name="H100-200GB", aliases=(), memory_gb=200.0)
    try:
        r = energylens.search(L70, [spec, "H100"], input_tokens=512, output_tokens=256, tp=[1], max_num_seqs=[8],
                              energy_model=model, bootstrap=False)
        assert r.feasible == 1 and r.top["gpu"].iloc[0] == "H100-200GB"    # TP1 fits only in 200 GB
        assert r.rejected["memory_weights"] == 1
    finally:
        tables.clear_user_gpus()


def test_device_path_without_a_gpu_says_why(model):
    if energylens.capabilities().cuda_devices > 0:
        pytest.skip("a CUDA device is present (tests/gpu/test_search_device.py covers it)")
    with pytest.raises(energylens.CudaUnavailableError):
        energylens.search("llama-3.1-8b", "H100", input_tokens=100, output_tokens=50, energy_model=model,
                          device="cuda")
    with pytest.raises(ValueError, match="device must be"):
        energylens.search("llama-3.1-8b", "H100", input_tokens=100, output_tokens=50, energy_model=model,
                          device="tpu")


def test_device_front_points_is_checked_before_the_device(model):
    """The device pass's per-thread front size (a knob for tests of its flush path) is validated on the host,
    so a bad value names the option on any machine; an unknown option stays a TypeError."""
    from energylens.search.api import native_options, run_engine
    from energylens.search.space import build_space

    space = build_space("llama-3.1-8b", "H100", input_tokens=512, output_tokens=256)
    opts = native_options(top=5)
    with pytest.raises(ValueError, match=r"device_front_points must be in \[0, 24\].*got 25"):
        run_engine(space, model.theta, model.latency_model.theta, dict(opts, device_front_points=25), device="cuda")
    with pytest.raises(TypeError, match="unknown option 'device_front_point'"):
        run_engine(space, model.theta, model.latency_model.theta, dict(opts, device_front_point=2), device="cuda")
    if energylens.capabilities().cuda_devices == 0:
        with pytest.raises(energylens.CudaUnavailableError):
            run_engine(space, model.theta, model.latency_model.theta, dict(opts, device_front_points=2), device="cuda")


def test_exact_ties_share_p_best(model):
    """A dense model's DP 1 and DP 2 at one batch per rank (fixed-batch mode: twice the GPUs, the same energy per
    request) price alike in every replicate, so they split P(best) instead of the first-ranked taking it all.
    (TP 2 with and without EP 2, the example here until 2026-12-07, is now one row: test_search_ep_ties.py.)"""
    r = energylens.search("meta-llama/Llama-3.1-8B-Instruct", "H100", input_tokens=512, output_tokens=256,
                          tp=[1], dp=[1, 2], max_num_seqs=[64], energy_model=model)
    top = r.top
    assert len(top) == 2 and top["energy_j"].iloc[0] == top["energy_j"].iloc[1]
    assert top["p_best"].tolist() == [0.5, 0.5]


def test_data_parallel_moe_ranks_hold_one_slice_of_the_experts(model):
    """vLLM's MoE layers flatten TP across DP: Qwen3-235B-A22B bf16 (470 GB) at TP 4 holds 117.5 GB per GPU
    and does not fit an H100, but as 2 DP ranks of TP 4 the experts are sliced over all 8 GPUs, with EP 8
    or without it: 4.0 GB of dense weights + 56.8 GB of experts per GPU, which fit."""
    space = build_space("Qwen/Qwen3-235B-A22B", "H100", input_tokens=512, output_tokens=256, tp=[4], dp=[1, 2],
                        ep=[1, 8], max_num_seqs=[8])
    c = _evaluate(space, model)
    frame = space.decode(c.index)
    total = 235.093e9 * 2
    experts = 2 * (235.093e9 - 22.19e9) / (1 - 8 / 128)
    reserve = 1.5 * GIB + 8192 * 4096 * 24 + 8 * NVLS_BYTES_PER_GPU  # NVLS buffers: the MoE group is tp x dp = 8
    names = _core.search_reason_names()
    seen = set()
    for row, reason, mem in zip(frame.itertuples(), c.reason, c.memory_bytes, strict=True):
        seen.add((row.dp, row.ep))
        if row.dp == 1:
            if row.ep == 1:
                assert names[reason] == "memory_weights"
            else:
                assert names[reason] == "ep_group"  # EP 8 needs 8 GPUs per stage
            continue
        weights = (total - experts) / 4 + experts / 8
        assert weights / 1e9 == pytest.approx(60.8, abs=0.1)
        kv = 8 * (512 + 128) * (2 * 94 * 4 * 128 * 2) / 4   # 94 layers, 4 KV heads x 128, split over tp 4
        assert mem == pytest.approx(weights + reserve + kv, rel=1e-12)
        assert reason == -1
    assert seen == {(1, 1), (1, 8), (2, 1), (2, 8)}
    two = frame.index[frame["dp"] == 2]
    assert c.memory_bytes[two[0]] == c.memory_bytes[two[1]]
