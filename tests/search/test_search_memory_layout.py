"""The memory check's weight bytes of quantised checkpoints that are not all in their format
(docs/search.md "Feasibility"): Kimi-K2-Thinking holds only its routed experts in int4 (groups of 32), the rest
bf16; a quantised vision-language checkpoint keeps its vision encoder in bf16."""

import warnings

import numpy as np
import pandas as pd
import pytest

import energylens
from energylens.profiles import load_profiles, tables
from energylens.search.memory import MEMORY_DEFAULTS, NVLS_BYTES_PER_GPU, vision_params, weights_per_gpu

GIB = 2.0**30


def _weights(model, precision, tp=1):
    rows = load_profiles(pd.DataFrame([{"model": model, "gpu": "H200", "precision": precision, "tp": tp,
                                        "batch_size": 1, "input_tokens": 512, "output_tokens": 256,
                                        "energy_j": 1.0}]))
    one = np.ones(1)
    return weights_per_gpu(rows, np.full(1, float(tp)), one, one, one)[0]


def _search(model, gpu, tp):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return energylens.search(model, gpu, input_tokens=512, output_tokens=256, max_num_seqs=[1], tp=[tp])


def test_kimi_k2_thinking_by_hand():
    """config.json: int4 routed experts, symmetric groups of 32 with a bf16 scale (0.5625 B); attention, the
    shared expert, the dense first layer, embeddings and lm_head bf16. 1026.4e9 parameters, of them
    (P - active) / (1 - 8/384) = 1014.7e9 routed: 594.2e9 B (the check counted 548.8e9 before: every weight
    at int4's 0.53125 B but the embeddings, 45 GB short)."""
    s = tables.model_spec("moonshotai/Kimi-K2-Instruct")
    p, pa = s.params_b * 1e9, s.active_params_b * 1e9
    experts = (p - pa) / (1 - s.experts_per_token / s.n_experts)
    hand = 0.5625 * experts + 2.0 * (p - experts)
    assert hand == pytest.approx(594.2e9, rel=1e-3)
    assert _weights("moonshotai/Kimi-K2-Thinking", "int4") == pytest.approx(hand, rel=1e-12)
    assert _weights("moonshotai/Kimi-K2-Thinking", "int4", tp=8) == pytest.approx(hand / 8, rel=1e-12)


def test_kimi_k2_thinking_needs_more_than_8_h100():
    """vLLM's recipe (https://recipes.vllm.ai/moonshotai/Kimi-K2-Thinking) serves it on 8 x H200 or 8 x H20:
    69.2 GiB of weights per GPU at TP 8 with the flat reserve and activations is 72.0 GiB, over an H100's
    0.9 x 79.65 = 71.7 (before: 66.7 GiB, feasible); NCCL's NVLS buffers at TP 8 add 0.75 GiB (72.7)."""
    h100 = _search("moonshotai/Kimi-K2-Thinking", "H100", 8)
    assert h100.feasible == 0
    h200 = _search("moonshotai/Kimi-K2-Thinking", "H200", 8)
    assert h200.feasible == 1
    per_gpu = float(h200.to_frame()["memory_gib_per_gpu"].iloc[0])
    s = tables.model_spec("moonshotai/Kimi-K2-Instruct")
    act = MEMORY_DEFAULTS["activation_tokens"] * s.d_model * MEMORY_DEFAULTS["activation_bytes_per_token_dmodel"]
    fixed = (_weights("moonshotai/Kimi-K2-Thinking", "int4", tp=8) + MEMORY_DEFAULTS["runtime_reserve_bytes"] + act)
    assert fixed / GIB == pytest.approx(72.0, abs=0.05)
    fixed += 8 * NVLS_BYTES_PER_GPU
    assert fixed / GIB == pytest.approx(72.74, abs=0.05)
    assert per_gpu > fixed / GIB  # plus the KV cache of one sequence


@pytest.mark.parametrize("model", ["Qwen/Qwen3-VL-235B-A22B-Instruct-FP8",
                                   "meta-llama/Llama-4-Maverick-17B-128E-Instruct-FP8"])
def test_quantised_vision_language_checkpoints_keep_the_encoder_in_bf16(model):
    """Qwen3-VL -FP8 lists every model.visual.* module in modules_to_not_convert, and llm-compressor's
    Llama 4 recipes ignore vision_model and the projector: the encoder (Qwen3-VL 0.58e9, Llama 4 0.872e9
    parameters) is 2 B a parameter beside 1 B fp8 weights, as are the embeddings and the untied lm_head."""
    s = tables.find_model(model)
    emb = 2 * s.vocab_size * s.d_model
    vision = s.vision_params_b * 1e9
    assert vision_params(s.vision_params_b) == vision
    hand = 1.0 * (s.params_b * 1e9 - emb - vision) + 2.0 * (emb + vision)
    assert _weights(model, "fp8") == pytest.approx(hand, rel=1e-12)
    assert _weights(model.removesuffix("-FP8"), "bf16") == pytest.approx(2.0 * s.params_b * 1e9, rel=1e-12)


def test_text_only_models_have_no_encoder_to_keep():
    assert vision_params(np.nan) == 0.0 and vision_params(0.0) == 0.0
    assert np.array_equal(vision_params(np.array([np.nan, 0.58])), [0.0, 0.58e9])


def test_the_search_engine_counts_the_encoder_as_the_check_does():
    """The engine's combo values (search/space.py) and the NumPy check agree on a quantised VL checkpoint."""
    model = "Qwen/Qwen3-VL-235B-A22B-Instruct-FP8"
    r = _search(model, "H200", 4)
    per_gpu = float(r.to_frame()["memory_gib_per_gpu"].iloc[0]) * GIB
    s = tables.find_model(model)
    act = MEMORY_DEFAULTS["activation_tokens"] * s.d_model * MEMORY_DEFAULTS["activation_bytes_per_token_dmodel"]
    kv = 768 * s.n_layers * 2 * s.n_kv_heads * s.head_dim * 2.0 / 4  # one sequence, bf16, 4 KV heads over tp 4
    nvls = 4 * NVLS_BYTES_PER_GPU  # H200 SXM at TP 4: NCCL's NVLS buffers for the 4-GPU group
    hand = _weights(model, "fp8", tp=4) + MEMORY_DEFAULTS["runtime_reserve_bytes"] + nvls + act + kv
    assert per_gpu == pytest.approx(hand, rel=1e-9)
