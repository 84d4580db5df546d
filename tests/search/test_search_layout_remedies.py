"""Empty results whose memory or expert-parallel remedy names layouts the engine's own checks passed, each
followed to a search that finds configurations: before 2026-12-06 the weights' remedy ended "store them in a
smaller format (--precision fp8 or int4) or add GPUs with more memory", the KV cache's (not one sequence fits)
"add GPUs per deployment (--tp, --pp)", and an --ep the smallest searched tp does not divide got "pick --ep
values equal to tp x dp (or 1)". And the remedies' tp values agree with the engine's tp_heads check for the
model table's MLA models (the engine counts the latent as one KV head)."""

import dataclasses
import math

import numpy as np
import pytest
from tests.search.quiet_search import quiet_search

from energylens.profiles import tables
from energylens.search.api import native_options
from energylens.search.remedies import _REASONS, _evaluate, _tp_values, node_tp_values
from energylens.search.space import build_space

BIG = "meta-llama/Llama-3.1-405B-Instruct"


_search = quiet_search


def _flags(r: dict) -> dict:
    """A layout_room record as search keywords (max_num_seqs 1 where no searched cap fits)."""
    out = {"tp": r["tp"], "pp": r.get("pp", 1), "dp": r.get("dp", 1)}
    return out | ({} if r["max_num_seqs"] else {"max_num_seqs": 1})


def test_405b_on_two_l40s_names_the_fewest_gpus_and_each_follows(model):
    r = _search(model, BIG, "L40S", tp=2)
    assert r.main_rejection == "memory_weights"
    text = r.why_empty()
    assert "add GPUs with more memory" not in text and "(--precision fp8 or int4)" not in text, text
    room = r.settings["layout_room"]
    best = room["pp"][0]
    assert (f"the fewest GPUs per deployment whose weights and one sequence's KV cache fit are {best['gpus']} GPUs "
            f"as --tp {best['tp']} --pp {best['pp']}") in text, text
    assert _search(model, BIG, "L40S", **_flags(best)).feasible
    for tp in (1, 2, 4, 8):  # no tp x pp with fewer GPUs holds them (the memory check grows no worse with pp)
        pp = math.ceil(best["gpus"] / tp) - 1
        if pp >= 1:
            assert _search(model, BIG, "L40S", tp=tp, pp=pp).empty, (tp, pp)
    for fmt, f in room["formats"].items():  # fp8 and int4, each in its own numbers, followed
        assert f"in {fmt} weights {f['gpus']} GPUs as --precision {fmt} --tp {f['tp']}" in text, text
        assert _search(model, BIG, "L40S", precision=fmt, **_flags(f)).feasible
    assert set(room["formats"]) == {"fp8", "int4"}
    bigger = room["more_memory"]
    assert bigger and all(g["memory_gb"] > 48 for g in bigger)
    for g in bigger:
        assert _search(model, BIG, g["gpu"], **_flags(g)).feasible, g


def test_not_one_sequence_of_kv_names_the_layout_that_holds_one(model):
    """Llama 8B at 120000 + 1000 tokens on one L4: not even one sequence's KV cache fits."""
    kw = dict(input_tokens=120000, output_tokens=1000)
    r = _search(model, "meta-llama/Llama-3.1-8B-Instruct", "L4", tp=1, **kw)
    assert r.main_rejection == "memory_kv_cache" and r.settings["kv_room"]["max_num_seqs"] == 0
    text = r.why_empty()
    assert "add GPUs per deployment (--tp, --pp)" not in text, text
    best = r.settings["layout_room"]["pp"][0]
    assert f"fit are {best['gpus']} GPUs as --tp {best['tp']}" in text, text
    assert _search(model, "meta-llama/Llama-3.1-8B-Instruct", "L4", **_flags(best), **kw).feasible
    for g in r.settings["layout_room"]["more_memory"]:
        assert _search(model, "meta-llama/Llama-3.1-8B-Instruct", g["gpu"], **_flags(g), **kw).feasible


def test_no_layout_on_the_searched_gpu_names_formats_and_gpus_that_hold_it(model):
    """A 400B model of 4 layers on L4: one layer's bf16 weights over 8 GPUs (25 GB) exceed an L4, so no tp x pp
    holds it; fp8 weights and GPUs with more memory do, and following either finds configurations."""
    spec = dataclasses.replace(tables.estimate_architecture(400.0), name="org/deep-400b", n_layers=4)
    r = _search(model, spec, "L4", tp=8, pp=4)
    text = r.why_empty()
    assert r.main_rejection == "memory_weights"
    assert "no tp x pp on the searched GPUs holds the weights and one sequence's KV cache" in text, text
    assert "--pp 6" not in text and "more than tp 8 x pp 4 (its layers) give" in text, text  # was "e.g. --tp 8 --pp 6"
    room = r.settings["layout_room"]
    assert room["pp"] == []
    fp8 = room["formats"]["fp8"]
    assert fp8 and _search(model, spec, "L4", precision="fp8", **_flags(fp8)).feasible
    assert room["more_memory"] and _search(model, spec, room["more_memory"][0]["gpu"],
                                           **_flags(room["more_memory"][0])).feasible


def test_moe_weights_name_the_data_parallel_layout_that_fits(model):
    """DeepSeek-V3 on 8 H100: the MoE's dp layout (ranks sharing the experts) is computed too, and follows."""
    r = _search(model, "deepseek-ai/DeepSeek-V3", "H100", tp=8)
    text = r.why_empty()
    assert "the same GPUs as --dp instead of --pp" not in text, text  # the canned clause, now in numbers
    room = r.settings["layout_room"]
    dp = room["dp"][0]
    assert dp["dp"] > 1 and f"{dp['gpus']} GPUs as --tp {dp['tp']} --dp {dp['dp']}" in text, text
    assert _search(model, "deepseek-ai/DeepSeek-V3", "H100", **_flags(dp)).feasible
    best = room["pp"][0]
    assert _search(model, "deepseek-ai/DeepSeek-V3", "H100", **_flags(best)).feasible


def test_ep_the_smallest_tp_does_not_divide_names_the_tp_and_dp_of_its_group(model):
    """Mixtral at --tp 8 --dp 2 --ep 4: tp x dp = 16 is no group of 4 and 4 % 8 != 0; the canned line is now
    the tp x dp that makes the group, which passes every check."""
    moe = "mistralai/Mixtral-8x7B-Instruct-v0.1"
    r = _search(model, moe, "H100", tp=8, dp=2, ep=4)
    assert r.main_rejection == "ep_group"
    text = r.why_empty()
    assert "pick --ep values" not in text, text
    (room,) = r.settings["ep_room"]
    assert room["tp"] * room["dp"] == 4
    assert f"--ep 4 needs tp x dp = 4, e.g. --tp {room['tp']} --dp {room['dp']}, which passes every check" in text, text
    assert _search(model, moe, "H100", tp=room["tp"], dp=room["dp"], ep=4).feasible



def test_an_ep_the_searched_tp_makes_no_group_of_is_kept_by_a_dp(model):
    """Qwen3-30B-A3B at --tp 8 --ep 16: tp x dp = 8 is no group of 16; the remedy offered only "--ep 8", dropping
    the ep asked for, where the engine's own ep_room had a tp x dp = 16 that passes every check; it names both."""
    moe = "Qwen/Qwen3-30B-A3B"
    r = _search(model, moe, "H100", tp=8, ep=16)
    assert r.main_rejection == "ep_group"
    text = r.why_empty()
    (room,) = r.settings["ep_room"]
    assert room["tp"] * room["dp"] == 16
    assert "--ep 8 (tp x dp of the searched tp 8" in text, text
    assert f"--ep 16 needs tp x dp = 16, e.g. --tp {room['tp']} --dp {room['dp']}, which passes every check" in text, text
    assert _search(model, moe, "H100", tp=room["tp"], dp=room["dp"], ep=16).feasible

MLA = [n for n, r in zip(tables.models()["name"], tables.models()["kv_lora_rank"], strict=True)
       if isinstance(r, float) and r > 0]


def _engine_tps(model, space, node: int) -> set[int]:
    tp = np.arange(1.0, node + 1)
    sub, ev = _evaluate(space, model.theta, model.latency_model.theta, native_options(), tp=tp)
    reason = np.asarray(ev.reason)
    t = tp[sub.digits(np.arange(sub.size))[1]]
    return {int(v) for v in t} - {int(v) for v in t[reason == _REASONS.index("tp_heads")]}


@pytest.mark.parametrize("name", MLA)
def test_mla_tp_values_agree_with_the_engine(model, name):
    """Every tp the remedies say a table MLA model's heads take, the engine's tp_heads check passes, and the
    reverse, up to the largest node (GB200's NVL72)."""
    assert MLA, "the model table has no MLA model"
    space = build_space([name], "GB200", input_tokens=1500, output_tokens=300, tp=[1])
    node = 72
    engine = _engine_tps(model, space, node)
    settings = _search(model, name, "GB200", tp=1).settings
    assert set(node_tp_values(settings, name, node)) == engine
    assert {int(t) for t in _tp_values(space)} == {t for t in engine if t <= node}


def test_an_mla_spec_with_fewer_kv_heads_than_heads_agrees_with_the_engine(model):
    """A hand-written MLA spec (kv_lora_rank set) with 96 heads and 16 in n_kv_heads: the engine counts the
    latent as one KV head, so tp 24 and 48 pass its check; the remedies read 16 KV heads and refused them."""
    base = tables.find_model("deepseek-ai/DeepSeek-V3")
    spec = dataclasses.replace(base, name="org/mla-96", n_heads=96, n_kv_heads=16)
    space = build_space([spec], "GB200", input_tokens=1500, output_tokens=300, tp=[1])
    engine = _engine_tps(model, space, 72)
    assert {24, 48} <= engine
    settings = _search(model, spec, "GB200", tp=1).settings
    assert set(node_tp_values(settings, spec.name, 72)) == engine
    assert {int(t) for t in _tp_values(space)} == engine

