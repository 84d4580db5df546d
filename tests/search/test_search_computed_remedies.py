"""An empty result's advice is computed from the run, and following it finds a configuration (or it says why
nothing searched could): before, "add --tp / smaller --max-num-seqs, faster GPUs", "lower --max-num-seqs ...",
"keep --tp within one node" and "--pp 2,4" were printed whatever the run had searched."""

import pytest

import energylens
from energylens.search.reach import reach_sentence
from energylens.search.remedies import computed_remedy, tp_heads_sentence

L8, L70, L405 = "meta-llama/Llama-3.1-8B-Instruct", "meta-llama/Llama-3.1-70B-Instruct", "meta-llama/Llama-3.1-405B-Instruct"
KW = dict(input_tokens=512, output_tokens=256, bootstrap=False)


def test_a_limit_no_searched_axis_reaches_names_what_could(model):
    """Every TP the heads allow in a node and max_num_seqs 1 were searched: "--tp, smaller --max-num-seqs" was
    no remedy; the lowest TPOT over them is the closest record's, and the bundled model is named."""
    r = energylens.search(L70, "H100,H200,B200", tpot_limit_s=0.05, energy_model=model, **KW)
    reach, closest = r.settings["latency_reach"], r.settings["without_latency_limits"]
    assert reach["tp_tried"] == [] and reach["max_num_seqs_tried"] == [] and not reach["tpot"]["meets"]
    assert reach["tpot"]["value_s"] == pytest.approx(closest["min_tpot_s"], rel=1e-12)
    text = r.why_empty()
    assert "every tp a model's heads allow within a node, and max_num_seqs 1, were searched" in text, text
    assert "--tp, smaller --max-num-seqs" not in text, text
    # B200 is the searched GPU with the most bandwidth and the table has none with more; the model was given
    assert text.endswith("; among these GPUs only a higher --tpot-limit or a smaller model finds one"), text


def test_unsearched_axis_values_that_meet_the_limit_are_named_and_work(model):
    """The widened axes are every TP the heads allow and the default caps below the largest searched; the advice
    names the cheapest configuration there within the limit and the values it needs (before 2026-12-07 the
    lowest-TPOT one's, max_num_seqs 1, whose search ranks B1 deployments first)."""
    r = energylens.search(L8, "H100", tp=[1, 2], max_num_seqs=[64, 128], tpot_limit_s=0.03, energy_model=model, **KW)
    reach = r.settings["latency_reach"]
    assert reach["tp_tried"] == [4, 8] and reach["max_num_seqs_tried"] == [1, 2, 4, 8, 16, 32]
    assert reach["tpot"]["meets"]
    cheapest = reach["cheapest"]
    added = [*cheapest["tp_added"], *cheapest["max_num_seqs_added"]]
    assert added and f"the cheapest configuration then within the limits is {cheapest['config']}, " in r.why_empty()
    assert cheapest["tpot_s"] <= 0.03
    followed = energylens.search(L8, "H100", tp=[1, 2, *cheapest["tp_added"]],
                                 max_num_seqs=[64, 128, *cheapest["max_num_seqs_added"]], tpot_limit_s=0.03,
                                 energy_model=model, **KW)
    assert followed.feasible and followed.label(followed.top.iloc[0]) == cheapest["config"]
    assert followed.top["objective"].iloc[0] == pytest.approx(cheapest["objective"], rel=1e-12)
    widest = energylens.search(L8, "H100", tp=[1, 2, 4, 8], max_num_seqs=[1, 2, 4, 8, 16, 32, 64, 128],
                               tpot_limit_s=0.03, energy_model=model, **KW)  # nothing in the widened axes is cheaper
    assert widest.top["objective"].iloc[0] == pytest.approx(cheapest["objective"], rel=1e-12)
    assert widest.top["tpot_s"].min() == pytest.approx(reach["tpot"]["value_s"], rel=1e-12)


def test_ttft_names_gpus_with_more_compute_not_bandwidth():
    s = {"gpus": ["A100-SXM4-80GB"], "latency_reach": {"tp_tried": [], "max_num_seqs_tried": [], "ttft": {
        "value_s": 0.04, "config": "x", "meets": False}}}
    text = reach_sentence(s)
    assert "GPUs with more bf16 compute (" in text and "TFLOP/s" in text and "bandwidth" not in text, text
    assert "--model-file" not in text and "--model-file" in reach_sentence(s, bundled=True)


def test_kv_cache_advice_is_the_largest_max_num_seqs_that_fits(model):
    kw = dict(KW, input_tokens=8000)
    r = energylens.search(L70, "H100", tp=2, max_num_seqs=256, energy_model=model, **kw)
    n = r.settings["kv_room"]["max_num_seqs"]
    assert r.main_rejection == "memory_kv_cache" and 1 <= n < 256
    text = r.why_empty()
    assert f"--max-num-seqs {n} finds configurations" in text and "TP2" in text, text
    assert "lower --max-num-seqs" not in text, text  # the canned line is gone
    assert energylens.search(L70, "H100", tp=2, max_num_seqs=n, energy_model=model, **kw).feasible == 1
    over = energylens.search(L70, "H100", tp=2, max_num_seqs=n + 1, energy_model=model, **kw)
    assert over.empty and over.main_rejection == "memory_kv_cache"


def test_tp_beyond_the_node_names_the_same_gpus_inside_it(model):
    r = energylens.search(L8, "H100", tp=16, energy_model=model, **KW)
    text = r.why_empty()
    assert "TP stays within 8 GPUs, so tp 16 cannot be used: --tp 8 --pp 2 spans the same 16 GPUs" in text, text
    assert not energylens.search(L8, "H100", tp=8, pp=2, energy_model=model, **KW).rejected["tp_node"]


def test_a_tp_no_model_can_use_lists_the_ones_it_can():
    """Within the node, and what the KV heads allow (before: 16,32,64 and 7,14,28, which the engine refuses)."""
    with pytest.raises(ValueError, match=r"tp values that do, within a node of 8 GPUs \(--node-size\): "
                                         rf"{L70}: --tp 1,2,4,8; Qwen/Qwen2.5-7B-Instruct: --tp 1,2,4$"):
        energylens.search([L70, "Qwen/Qwen2.5-7B-Instruct"], "H100", tp=3, **KW)


def test_tp_heads_names_the_values_each_model_refuses():
    s = {"models": ["meta-llama/Meta-Llama-3.1-70B-Instruct", "Qwen/Qwen2.5-7B-Instruct"], "tp": [2, 4, 8]}
    assert tp_heads_sentence(s) == "Qwen/Qwen2.5-7B-Instruct has 28 attention heads: tp 8 do not divide them (--tp 2,4 do); "


def test_weights_advice_keeps_only_its_computed_layout(model):
    """405B on L4 needs 45 GPUs, e.g. --tp 8 --pp 6: the canned "--pp 2,4" after it contradicted it."""
    text = energylens.search(L405, "L4", energy_model=model, **KW).why_empty()
    assert "e.g. --tp 8 --pp 6" in text and "--pp 2,4" not in text, text
    # the formats and GPUs in numbers (.layout_room; test_search_layout_remedies follows them), not canned
    assert "or in fp8 weights" in text and "or in int4 weights" in text and "add GPUs with more memory" not in text, text


def test_a_kv_cache_too_large_for_one_sequence_says_so(model):
    """max_num_seqs 1 searched and still full: no smaller cap exists, and the sentence says one sequence does not fit
    (the record checks the smallest searched cap itself, so the claim holds by the engine's own check)."""
    kw = dict(KW, input_tokens=120000)
    r = energylens.search(L8, "L4", tp=1, max_num_seqs=1, energy_model=model, **kw)
    assert r.main_rejection == "memory_kv_cache" and r.settings["kv_room"]["max_num_seqs"] == 0
    assert "not even one sequence's KV cache (120000+256 tokens) fits beside the weights" in r.why_empty()
    fits = energylens.search(L8, "L4", tp=1, max_num_seqs=1, energy_model=model, **dict(KW, input_tokens=8000))
    assert fits.feasible == 1 and fits.settings["kv_room"] is None


def test_fp8_blocks_name_the_tp_values_that_split_them_and_one_that_works(model):
    """Qwen3-235B-A22B's fp8 experts (1536 wide, blocks of 128) at TP 8: was "pick a smaller --tp ... or --ep"."""
    kw = dict(KW, input_tokens=1500, output_tokens=300, precision="fp8")
    r = energylens.search("Qwen/Qwen3-235B-A22B", "H100", tp=8, energy_model=model, **kw)
    room = r.settings["fp8_room"]
    assert r.main_rejection == "fp8_block_shape" and room["tp_without_ep"] == [1, 2, 4] and 8 in room["tp_with_ep"]
    text = r.why_empty()
    assert "weight blocks split over tp 1,2,4 without expert parallelism and tp 2,4,8 with --ep equal to tp x dp" in text
    assert room["passes"] and "pick a smaller --tp" not in text, text
    tp = int(room["passes"].split(" TP")[1].split()[0])
    assert energylens.search("Qwen/Qwen3-235B-A22B", "H100", tp=tp, energy_model=model, **kw).feasible
    assert energylens.search("Qwen/Qwen3-235B-A22B", "H100", tp=8, ep=8, energy_model=model, **kw).feasible


def test_ep_group_names_the_ep_values_the_searched_layouts_allow(model):
    r = energylens.search("Qwen/Qwen3-235B-A22B", "H100", tp=8, ep=2, energy_model=model,
                          **dict(KW, input_tokens=1500, output_tokens=300))
    assert r.main_rejection == "ep_group"
    assert "Qwen/Qwen3-235B-A22B: --ep 8 (tp x dp of the searched tp 8 and dp 1)" in r.why_empty(), r.why_empty()


def test_ep_experts_names_the_ep_values_each_model_refuses():
    """Was "pick --ep values that divide the number of experts" with no number."""
    s = {"models": ["mistralai/Mixtral-8x7B-Instruct-v0.1", "openai/gpt-oss-20b"], "ep": [1, 8, 16]}
    assert computed_remedy("ep_experts", s) == ("mistralai/Mixtral-8x7B-Instruct-v0.1 has 8 experts: ep 16 do not "
                                                "divide them (--ep 8 do); ")


@pytest.mark.parametrize("tokens, fp8_fits", [(40000, 1), (120000, 0)])
def test_a_kv_cache_too_large_for_one_sequence_says_whether_fp8_fits(model, tokens, fp8_fits):
    """The fp8 KV cache was offered unchecked ("half the bytes per token"); the record now follows it through the
    engine's memory check, and the sentence says the result, which a search in fp8 confirms."""
    kw = dict(KW, input_tokens=tokens)
    r = energylens.search(L8, "L4", tp=1, max_num_seqs=[1, 8], energy_model=model, **kw)
    assert r.main_rejection == "memory_kv_cache" and r.settings["kv_room"]["max_num_seqs"] == 0
    fp8 = r.settings["kv_room"]["fp8"]
    assert fp8["max_num_seqs"] == fp8_fits
    text = r.why_empty()
    assert "half the bytes per token" not in text, text
    assert "add GPUs per deployment (--tp, --pp)" not in text, text  # the layouts in numbers (.layout_room)
    if fp8_fits:
        assert ("; or store the KV cache in fp8: with --kv-cache-dtype fp8 it fits at up to 1 sequence per rank "
                "(Meta-Llama-3.1-8B-Instruct L4 bf16 kv-fp8 TP1 PP1 DP1 B1)") in text, text
    else:
        assert "; an fp8 KV cache (--kv-cache-dtype fp8) would not fit either, not even one sequence" in text, text
    followed = energylens.search(L8, "L4", tp=1, max_num_seqs=[1, 8], kv_cache_dtype="fp8", energy_model=model, **kw)
    assert followed.feasible == fp8_fits and (fp8_fits or followed.main_rejection == "memory_kv_cache")
    assert followed.empty or followed.top["max_num_seqs"].tolist() == [1]
    if followed.empty:  # fp8 searched: not offered again
        assert "kv-cache-dtype fp8" not in followed.why_empty() and followed.settings["kv_room"]["fp8"] is None


def test_fp8_kv_fits_more_sequences_than_the_searched_kv_cache(model):
    """Where some sequences fit, the fp8 count is computed too, up to the largest searched cap, and holds."""
    kw = dict(KW, input_tokens=8000)
    r = energylens.search(L70, "H100", tp=2, max_num_seqs=256, energy_model=model, **kw)
    room = r.settings["kv_room"]
    assert 1 <= room["max_num_seqs"] < room["fp8"]["max_num_seqs"] <= 256, room
    n = room["fp8"]["max_num_seqs"]
    assert f"with --kv-cache-dtype fp8 it fits at up to {n} sequences per rank" in r.why_empty()
    fits = energylens.search(L70, "H100", tp=2, max_num_seqs=n, kv_cache_dtype="fp8", energy_model=model, **kw)
    assert fits.feasible == 1
    over = energylens.search(L70, "H100", tp=2, max_num_seqs=n + 1, kv_cache_dtype="fp8", energy_model=model, **kw)
    assert over.empty and over.main_rejection == "memory_kv_cache"
