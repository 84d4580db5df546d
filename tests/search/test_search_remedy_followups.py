"""Empty results a user meets, whose printed remedy is followed: the new search must find configurations.
tp_node told a MoE searched at --tp 16 --ep 16 to use --tp 8 --pp 2, which leaves the EP group (tp x dp = 8)
short of 16 (rejected by ep_group), and named the GPU as the GPU table does (H100-SXM5-80GB) where the table
printed H100."""

import dataclasses

from tests.search.quiet_search import quiet_search

from energylens.profiles import tables

MOE = "Qwen/Qwen3-30B-A3B"


_search = quiet_search


def test_tp_beyond_the_node_with_ep_keeps_the_ep_group(model):
    r = _search(model, MOE, "H100", tp=16, ep=16)
    assert r.main_rejection == "tp_node"
    text = r.why_empty()
    assert ("on H100 TP stays within 8 GPUs, so tp 16 cannot be used: --tp 8 --pp 2 spans the same 16 GPUs, and for "
            "MoE models --tp 8 --dp 2 keeps --ep 16 (expert parallelism spans tp x dp)") in text, text
    assert _search(model, MOE, "H100", tp=8, dp=2, ep=16).feasible
    assert _search(model, MOE, "H100", tp=8, pp=2).feasible  # without --ep, tp x pp


def test_tp_beyond_the_node_of_a_dense_model_says_nothing_of_ep(model):
    r = _search(model, "meta-llama/Llama-3.1-70B-Instruct", "H100", tp=8, node_size=4)
    text = r.why_empty()
    assert "on H100 TP stays within 4 GPUs, so tp 8 cannot be used: --tp 4 --pp 2 spans the same 8 GPUs" in text, text
    assert "--ep" not in text
    assert _search(model, "meta-llama/Llama-3.1-70B-Instruct", "H100", tp=4, pp=2, node_size=4).feasible


def test_the_weights_example_stays_within_the_node_size(model):
    """405B in bf16 needs 7 H200s: with --node-size 4 the example was "--tp 8", which tp_node rejects."""
    r = _search(model, "meta-llama/Llama-3.1-405B-Instruct", "H200", tp=[1, 2, 4], node_size=4)
    text = r.why_empty()
    assert "one H200 has room for" in text and "need at least 7 GPUs per deployment" in text, text
    assert "e.g. --tp 4 --pp 2," in text, text
    assert _search(model, "meta-llama/Llama-3.1-405B-Instruct", "H200", tp=4, pp=2, node_size=4).feasible


def test_the_weights_example_takes_a_tp_the_heads_allow(model):
    """A 150B dense model with 28 heads and 4 KV heads needs 5 H100s: the example was "--tp 8", which its heads
    refuse; tp 7 divides the heads but not the KV heads (vLLM refuses it), so tp 4 with pp."""
    spec = dataclasses.replace(tables.estimate_architecture(150.0), name="org/wide-150b", n_heads=28, n_kv_heads=4)
    r = _search(model, spec, "H100", tp=[1, 2, 4])
    text = r.why_empty()
    assert "need at least 5 GPUs per deployment" in text and "e.g. --tp 4 --pp 2," in text, text
    assert _search(model, spec, "H100", tp=4, pp=2).feasible
    with_7 = dataclasses.replace(spec, n_kv_heads=7)  # 7 KV heads: tp 7 is taken
    assert "e.g. --tp 7," in _search(model, with_7, "H100", tp=1).why_empty()
    assert _search(model, with_7, "H100", tp=7).feasible


def test_faster_gpus_are_weighed_against_the_gap(model):
    """70B at a TPOT limit of 0.015 s on H100: "what could: GPUs with more memory bandwidth" was followed with the
    table's fastest and still found nothing (0.07 s). The sentence gave the gap beside the bandwidth; since
    2026-12-06 it gives what the faster GPUs are predicted to reach (tests/search/test_search_reach_faster_gpus.py)."""
    r = _search(model, "meta-llama/Llama-3.1-70B-Instruct", "H100", tp=[4, 8], tpot_limit_s=0.015)
    text = r.why_empty()
    faster = r.settings["latency_reach"]["tpot"]["faster"]
    low = min(f["value_s"] for f in faster if f["value_s"] is not None)
    assert f"nor do the {len(faster)} GPUs with more memory bandwidth (the lowest, {low:.4g} s at " in text, text
    assert f"{low / 0.015:.3g}x the limit): only a higher --tpot-limit" in text, text
    fastest = _search(model, "meta-llama/Llama-3.1-70B-Instruct", "MI355X,B300", tp=[1, 2, 4, 8], tpot_limit_s=0.015)
    assert fastest.empty  # what the record foretold


def test_a_gap_the_bandwidth_could_cover_keeps_the_plain_advice(model):
    r = _search(model, "meta-llama/Llama-3.1-8B-Instruct", "A100-SXM4-80GB", tp=[8], max_num_seqs=[1],
                tpot_limit_s=0.02)
    text = r.why_empty()
    assert "GPUs with more memory bandwidth predicted within the limit (" in text and "x the limit" not in text, text
