"""The memory check per pipeline stage against hand arithmetic (docs/search.md "Feasibility"): vLLM gives each
stage whole decoder layers (vllm/distributed/utils.py get_pp_indices: n_layers // pp each, the remainder one
each to the stages from the second-to-last backwards), the input embedding to the first stage and the lm_head
to the last, and sizes every worker's KV cache from the most constrained one. Before 2026-12-06 the check
split weights and KV evenly over pp (Llama-3.1-70B at pp 3: a third of the weights, 80 / 3 layers of KV)."""

import warnings

import numpy as np
import pandas as pd
import pytest

import energylens
from energylens.profiles import load_profiles
from energylens.profiles.features import features_of
from energylens.search.memory import gpu_memory, stage_layers, weights_per_gpu

GIB = 2.0**30
RESERVE = 1.5 * GIB
LLAMA_70B = "meta-llama/Llama-3.1-70B-Instruct"
MATRIX = 128256 * 8192 * 2  # one vocabulary x d_model matrix in bf16: the embedding, or the (untied) lm_head
LAYER = (70.552e9 * 2 - 2 * MATRIX) / 80  # one decoder layer's bytes in bf16
KV_LAYER = 2 * 8 * 128 * 2  # K and V, 8 KV heads x 128, bf16: bytes per token and layer
ACTIVATIONS = 8192 * 8192 * 24


def _memory_gib(model, gpu, input_tokens=512, output_tokens=256, max_num_seqs=1, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = energylens.search(model, gpu, input_tokens=input_tokens, output_tokens=output_tokens,
                              max_num_seqs=[max_num_seqs], **kw)
    df = r.to_frame()
    assert len(df) == 1
    return float(df["memory_gib_per_gpu"].iloc[0])


@pytest.mark.parametrize(("n_layers", "pp", "stages"), [
    (80, 3, [27, 27, 26]), (61, 4, [15, 15, 16, 15]), (22, 4, [5, 6, 6, 5]), (5, 3, [2, 2, 1]),
    (32, 4, [8, 8, 8, 8]), (80, 6, [13, 13, 13, 14, 14, 13]), (7, 1, [7])])
def test_stage_layers_follow_vllms_split(n_layers, pp, stages):
    """The first stage's layers and the fullest other stage's where it holds more than the first (else 0),
    from vLLM's split written out (vLLM's own examples: 61 over pp 4, 22 over pp 4, 5 over pp 3)."""
    first, fullest = stage_layers(n_layers, pp)
    assert first == stages[0]
    assert fullest == (max(stages[1:]) if len(stages) > 1 and max(stages[1:]) > stages[0] else 0)


def test_llama_70b_pp3_first_stage_by_hand():
    # 80 layers over pp 3: 27, 27, 26; the first stage holds 27 layers and the embedding, the last 26 and the
    # lm_head: the first binds. KV: 768 tokens x 27 layers (not 80 / 3)
    hand = (27 * LAYER + MATRIX + RESERVE + ACTIVATIONS + 768 * 27 * KV_LAYER) / GIB
    assert _memory_gib(LLAMA_70B, "H100", tp=[1], pp=[3]) == pytest.approx(hand, rel=1e-12)
    even = (70.552e9 * 2 / 3 + RESERVE + ACTIVATIONS + 768 * 80 * KV_LAYER / 3) / GIB  # the old, even split
    assert abs(hand - even) > 1.0  # GiB


def test_llama_70b_pp6_middle_stage_binds_a_large_batch():
    """80 layers over pp 6: 13, 13, 13, 14, 14, 13. The first stage (13 layers + embedding) holds the most
    weights; the fourth (14 layers) the most KV. At one sequence the first binds, at 64 sequences the
    fourth (64 x 4608 tokens): vLLM's KV blocks are the fourth's, so every stage's cache is that small."""
    first = 13 * LAYER + MATRIX + RESERVE + ACTIVATIONS
    middle = 14 * LAYER + RESERVE + ACTIVATIONS
    assert first > middle
    one = (first + 5120 * 13 * KV_LAYER) / GIB  # one whole sequence at least
    assert _memory_gib(LLAMA_70B, "H100", 4096, 1024, tp=[1], pp=[6]) == pytest.approx(one, rel=1e-12)
    tokens = 64 * (4096 + 512)
    assert middle + tokens * 14 * KV_LAYER > first + tokens * 13 * KV_LAYER
    many = (middle + tokens * 14 * KV_LAYER) / GIB
    assert _memory_gib(LLAMA_70B, "H100", 4096, 1024, 64, tp=[1], pp=[6]) == pytest.approx(many, rel=1e-12)


def test_tied_embeddings_are_held_on_both_end_stages():
    """Llama-3.2-1B ties its lm_head to the embedding: the checkpoint holds one matrix (128256 x 2048), the
    first and last stages a copy each. 16 layers over pp 3: 5, 6, 5 -> the first (5 layers + the embedding)
    against the second (6 layers): the layers' bytes are the checkpoint's less one matrix."""
    matrix = 128256 * 2048 * 2
    spec_params = energylens.profiles.tables.model_spec("meta-llama/Llama-3.2-1B-Instruct").params_b
    layer = (spec_params * 1e9 * 2 - matrix) / 16
    kv_layer = 2 * 8 * 64 * 2
    first, second = 5 * layer + matrix + 768 * 5 * kv_layer, 6 * layer + 768 * 6 * kv_layer
    hand = (max(first, second) + RESERVE + 8192 * 2048 * 24) / GIB
    assert _memory_gib("meta-llama/Llama-3.2-1B-Instruct", "H100", tp=[1], pp=[3]) == pytest.approx(hand, rel=1e-12)


def _rows(model, tp, pp, **kw):
    return load_profiles(pd.DataFrame([{"model": model, "gpu": "H100", "precision": "bf16", "tp": tp, "pp": pp,
                                        "batch_size": 1, "input_tokens": 512, "output_tokens": 256,
                                        "energy_j": 1.0, **kw}]))


@pytest.mark.parametrize(("tp", "pp", "seqs"), [(1, 3, 1), (2, 6, 1), (4, 3, 1), (8, 2, 1), (1, 6, 64), (2, 7, 64)])
def test_memory_module_agrees_with_the_engine(tp, pp, seqs):
    """energylens.search.memory (the oracle's and `energylens predict`'s arithmetic) counts the same stage,
    also where a middle stage binds (pp 6 and 7 at 64 sequences of 4096 + 1024 tokens)."""
    rows = _rows(LLAMA_70B, tp, pp)
    li, lo = (512.0, 256.0) if seqs == 1 else (4096.0, 1024.0)
    mem = gpu_memory(rows, features_of(rows), np.full(1, float(seqs)), li, lo)
    engine = _memory_gib(LLAMA_70B, "H200", li, lo, seqs, tp=[tp], pp=[pp])
    assert (mem.fixed[0] + mem.kv[0]) / GIB == pytest.approx(engine, rel=1e-12)


def test_pp1_weights_are_the_whole_checkpoint_over_tp():
    """At pp 1 nothing moves: every weight over tp (the stage rule only divides pipelines)."""
    rows = _rows(LLAMA_70B, 2, 1)
    assert weights_per_gpu(rows, 2.0, 1.0, 1.0, 1.0)[0] == 70.552e9 * 2 / 2


def test_hybrid_state_and_kv_follow_the_stage_layers():
    """Nemotron-Nano-12B-v2: 62 layers, 6 of them attention, the rest Mamba or MLP; the model table quotes no
    layer_pattern for it, so over pp 3 (21, 21, 20) the first stage holds 21 / 62 of the KV layers and of the
    state, spread in proportion: its memory at pp 3 is that of pp 1 with the weights, KV and state scaled so,
    plus the embedding. (Nemotron-Nano-9B-v2, whose pattern the table gives, places them per stage:
    tests/search/test_search_memory_hybrid_stages.py.)"""
    model = "nvidia/NVIDIA-Nemotron-Nano-12B-v2"
    one, three = _rows(model, 1, 1), _rows(model, 1, 3)
    m1 = gpu_memory(one, features_of(one), np.ones(1), 512.0, 256.0)
    m3 = gpu_memory(three, features_of(three), np.ones(1), 512.0, 256.0)
    assert stage_layers(62, 3) == (21.0, 0.0)
    assert m3.kv[0] == pytest.approx(m1.kv[0] * 21 / 62, rel=1e-12)
    assert m3.fixed[0] > m1.fixed[0] * 21 / 62  # the embedding on top of its layers' share
