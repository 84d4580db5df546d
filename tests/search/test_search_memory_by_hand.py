"""The memory check against hand arithmetic (docs/search.md "Feasibility"): weights / GPU + reserve +
activations + KV of the running batch, per GPU, for models whose formats differ in what they quantise."""

import warnings

import numpy as np
import pandas as pd
import pytest

import energylens
from energylens.profiles import load_profiles, tables
from energylens.profiles.features import features_of
from energylens.search.memory import gpu_memory

GIB = 2.0**30
RESERVE = 1.5 * GIB


def _memory_gib(model, gpu, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = energylens.search(model, gpu, input_tokens=512, output_tokens=256, max_num_seqs=[1], **kw)
    df = r.to_frame()
    assert len(df) == 1
    return float(df["memory_gib_per_gpu"].iloc[0])


def test_llama_70b_bf16_tp2_by_hand():
    # 70.552e9 x 2 B / 2 GPUs + reserve + 8192 tokens x 8192 x 24 B + 768 tokens x 80 x 2 x 8 x 128 x 2 B / 2
    hand = (70.552e9 * 2 / 2 + RESERVE + 8192 * 8192 * 24 + 768 * 80 * 2 * 8 * 128 * 2 / 2) / GIB
    assert _memory_gib("meta-llama/Llama-3.1-70B-Instruct", "H100", tp=[2]) == pytest.approx(hand, rel=1e-12)


def test_gpt_oss_mxfp4_keeps_its_non_expert_weights_in_bf16():
    """gpt-oss checkpoints quantise only the routed experts to mxfp4; attention, router and embeddings are
    bf16 (the checkpoint: 114.66e9 expert params x 0.53125 B + 2.13e9 others x 2 B = 65.2 GB, its size on
    the Hub). The memory check counted every parameter at 0.53125 B (62.0 GB), 2.9 GiB short on one H100.
    vLLM allocates the experts with the hidden size padded to 3072 (memory.MXFP4_EXPERT_HIDDEN_MULTIPLE)."""
    s = tables.model_spec("openai/gpt-oss-120b")
    p, pa, frac = s.params_b * 1e9, s.active_params_b * 1e9, s.experts_per_token / s.n_experts
    experts = (p - pa) / (1 - frac)
    assert 64.5e9 < experts * 0.53125 + (p - experts) * 2.0 < 65.5e9  # the published checkpoint's size
    weights = experts * 0.53125 * 3072 / 2880 + (p - experts) * 2.0
    # KV: 36 layers, 18 of them a 128-token window, at the mean context 640: share (18 + 18 x 128 / 640) / 36
    kv = 768 * 36 * (2 * 8 * 64 * 2) * ((18 + 18 * 128 / 640) / 36)
    hand = (weights + RESERVE + 8192 * 2880 * 24 + kv) / GIB
    assert _memory_gib("openai/gpt-oss-120b", "H100", tp=[1]) == pytest.approx(hand, rel=1e-12)
    hand_tp2 = (weights / 2 + RESERVE + 8192 * 2880 * 24 + kv / 2) / GIB
    assert _memory_gib("openai/gpt-oss-120b", "H100", tp=[2]) == pytest.approx(hand_tp2, rel=1e-12)


def test_gpt_oss_memory_module_agrees_with_engine():
    """energylens.search.memory (the oracle's and `energylens predict`'s arithmetic) counts the same bytes."""
    rows = load_profiles(pd.DataFrame([{"model": "openai/gpt-oss-120b", "gpu": "H100", "precision": "mxfp4", "tp": 1,
                           "batch_size": 1, "input_tokens": 512, "output_tokens": 256, "energy_j": 1.0}]))
    mem = gpu_memory(rows, features_of(rows), np.ones(1), 512.0, 256.0)
    engine = _memory_gib("openai/gpt-oss-120b", "H100", tp=[1])
    assert (mem.fixed[0] + mem.kv[0]) / GIB == pytest.approx(engine, rel=1e-12)
