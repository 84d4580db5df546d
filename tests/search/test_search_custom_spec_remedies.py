"""An empty result's advice for a model given only as a ``ModelSpec`` (not in the model table) is computed from
that spec, the one the search priced, and following it finds a configuration. Before, the remedies looked each
model up by name in the table: a custom spec was unknown there, so tp_heads, ep_group, ep_experts and
context_length printed the canned line without a number, a MoE's weights remedy left out --dp, and the summary
said a custom MoE's dp values tie as a dense model's do."""

import dataclasses

import pytest
from tests.search.quiet_search import quiet_search

from energylens.profiles import tables
from energylens.search.remedies import ep_experts_sentence, ep_group_sentence, tp_heads_sentence

L405 = "meta-llama/Llama-3.1-405B-Instruct"
# a 7B dense model with 28 heads (tp 8 does not divide them), a copy of Qwen3-30B-A3B's MoE architecture under
# a name the table lacks, the same with 60 experts, and Qwen3-235B-A22B's under another name
DENSE = dataclasses.replace(tables.estimate_architecture(7.0), name="org/custom-7b", n_heads=28, n_kv_heads=4)
MOE = dataclasses.replace(tables.find_model("Qwen/Qwen3-30B-A3B"), name="org/moe-30b", aliases=())
MOE60 = dataclasses.replace(MOE, name="org/moe-60e", n_experts=60, experts_per_token=4)
BIG = dataclasses.replace(tables.find_model("Qwen/Qwen3-235B-A22B"), name="org/moe-235b", aliases=())


_search = quiet_search


def test_the_specs_are_not_in_the_table():
    assert all(tables.find_model(s.name) is None for s in (DENSE, MOE, MOE60, BIG))


def test_tp_heads_counts_a_custom_specs_heads(model):
    """tp 8 suits Llama-3.1-405B (64 heads) but not the spec's 28: the two tie and tp_heads, checked first, leads."""
    r = _search(model, [DENSE, L405], "L4", tp=8)
    assert r.main_rejection == "tp_heads"
    text = r.why_empty()
    assert "org/custom-7b has 28 attention heads: tp 8 do not divide them (within a node of 8 GPUs " \
           "--tp 1,2,4 do)" in text, text  # tp 7 divides the heads, not the 4 KV heads: the engine refuses it
    assert "pick --tp values that divide the model's attention heads" not in text, text
    assert _search(model, [DENSE, L405], "L4", tp=4).feasible


def test_tp_heads_sentence_names_the_searched_values_that_divide():
    s = {"models": [DENSE.name], "tp": [2, 4, 8], "gpus": ["H100"],
         "model_shapes": {DENSE.name: {"n_heads": 28, "n_experts": 1, "context_window_tokens": None}}}
    assert tp_heads_sentence(s) == "org/custom-7b has 28 attention heads: tp 8 do not divide them (--tp 2,4 do); "


def test_tp_heads_counts_the_kv_heads_as_the_engine_does(model):
    """28 heads and 7 KV heads: tp 2 and 4 divide the heads, and the engine refuses them (vLLM's KV-head rule);
    the sentence said they "do"."""
    spec = dataclasses.replace(DENSE, name="org/kv7-7b", n_kv_heads=7)
    r = _search(model, [spec, L405], "L4", tp=[4, 8])
    assert r.main_rejection == "tp_heads" and r.empty
    text = r.why_empty()
    assert ("org/kv7-7b has 28 attention heads and 7 KV heads: tp 4,8 cannot split them (tp must divide the heads, "
            "and the KV heads divide tp or tp divide them) (within a node of 8 GPUs --tp 1,7 do)") in text, text
    assert _search(model, [spec, L405], "L4", tp=7).feasible


def test_ep_group_counts_a_custom_moes_experts(model):
    r = _search(model, MOE, "H100", tp=8, ep=2)
    assert r.main_rejection == "ep_group"
    text = r.why_empty()
    assert "org/moe-30b: --ep 8 (tp x dp of the searched tp 8 and dp 1)" in text, text
    assert ep_group_sentence(r.settings).rstrip("; ") in text
    assert _search(model, MOE, "H100", tp=8, ep=8).feasible


def test_ep_experts_counts_a_custom_moes_experts(model):
    """ep 8 divides Qwen3-235B-A22B's 128 experts, not the spec's 60."""
    r = _search(model, [MOE60, "Qwen/Qwen3-235B-A22B"], "A100-SXM4-40GB", tp=8, ep=8)
    assert r.main_rejection == "ep_experts"
    text = r.why_empty()
    assert ("org/moe-60e has 60 experts: ep 8 do not divide them (--ep 1 does, and within a node of 8 GPUs "
            "--ep 2,3,4,5,6 with tp x dp equal to it)") in text, text
    assert ep_experts_sentence(r.settings).rstrip("; ") in text
    followed = _search(model, [MOE60, "Qwen/Qwen3-235B-A22B"], "A100-SXM4-40GB", tp=4, ep=4)
    assert followed.feasible and set(followed.top["model"]) == {MOE60.name}


def test_a_custom_moes_weights_remedy_names_dp(model):
    r = _search(model, BIG, "H100", tp=4)
    assert r.main_rejection == "memory_weights"
    text = r.why_empty()
    dp = r.settings["layout_room"]["dp"][0]  # the engine's fewest GPUs as tp x dp (was a canned clause)
    assert f"with data-parallel ranks sharing a MoE's experts instead of pipeline stages, {dp['gpus']} GPUs as " \
        f"--tp {dp['tp']} --dp {dp['dp']}" in text, text
    assert dp["dp"] > 1 and _search(model, BIG, "H100", tp=dp["tp"], dp=dp["dp"]).feasible


def test_context_length_reads_a_custom_specs_window(model):
    short = dataclasses.replace(DENSE, name="org/short-7b", context_window_tokens=4096.0)
    r = _search(model, short, "H100", input_tokens=8000)
    assert r.main_rejection == "context_length"
    text = r.why_empty()
    assert "the longest request is 8,300 tokens (input + output) and org/short-7b reads at most 4,096" in text, text
    assert _search(model, short, "H100", input_tokens=3000).feasible


def test_a_custom_moes_dp_values_are_not_said_to_tie(model):
    """Data-parallel ranks of a MoE share one copy of the experts: the note for dense models does not apply."""
    for spec in (MOE, "Qwen/Qwen3-30B-A3B"):
        assert "dp values tie" not in _search(model, spec, "H100", tp=[1, 2], dp=[1, 2]).summary()
    assert "dp values tie" in _search(model, DENSE, "H100", tp=[1, 2], dp=[1, 2]).summary()


def test_the_engine_computed_remedies_follow_a_custom_spec(model):
    """kv_room, fp8_room and latency_reach evaluate the space itself, so a custom spec's advice holds too."""
    l70 = dataclasses.replace(tables.find_model("meta-llama/Llama-3.1-70B-Instruct"), name="org/l70", aliases=())
    kw = dict(input_tokens=8000, tp=2)
    r = _search(model, l70, "H100", max_num_seqs=256, **kw)
    n = r.settings["kv_room"]["max_num_seqs"]
    assert f"--max-num-seqs {n} finds configurations" in r.why_empty()
    assert _search(model, l70, "H100", max_num_seqs=n, **kw).feasible

    r = _search(model, BIG, "H100", tp=8, precision="fp8")
    assert r.main_rejection == "fp8_block_shape" and r.settings["fp8_room"]["tp_without_ep"] == [1, 2, 4]
    assert "moe-235b H100 fp8 TP4 PP1 DP1 B128 passes every check" in r.why_empty(), r.why_empty()
    assert _search(model, BIG, "H100", tp=4, max_num_seqs=128, precision="fp8").feasible

    r = _search(model, DENSE, "H100", tp=[1, 2], max_num_seqs=[64, 128], tpot_limit_s=0.03)
    reach = r.settings["latency_reach"]
    assert reach["tp_tried"] == [4] and reach["tpot"]["meets"], reach  # not 7: the 4 KV heads refuse it
    cheapest = reach["cheapest"]  # the cheapest within the limit, with the axis values it needs
    assert f"or add --max-num-seqs {cheapest['max_num_seqs_added'][0]}: " in r.why_empty(), r.why_empty()
    followed = _search(model, DENSE, "H100", tp=[1, 2, *cheapest["tp_added"]],
                       max_num_seqs=[64, 128, *cheapest["max_num_seqs_added"]], tpot_limit_s=0.03)
    assert followed.top["objective"].iloc[0] == pytest.approx(cheapest["objective"], rel=1e-12)
