"""The KV cache of the memory check by hand (docs/search.md "Feasibility"), per GPU as vLLM allocates it:
grouped-query heads split over tp and replicated beyond their count, multi-head latent attention's one latent
held whole on every GPU, sliding-window layers capped at their window, a hybrid's Mamba layers holding a state
per sequence instead of KV, and an fp8 KV cache at one byte per element. Each case: weights / GPU + runtime
reserve (plus NCCL's NVLS buffers at TP > 2 on H100 / H200 SXM) + activations of an 8192-token pass + KV (+ state),
against the search engine's memory_gib_per_gpu."""

import warnings

import pytest

import energylens
from energylens.search.memory import MEMORY_DEFAULTS, NVLS_BYTES_PER_GPU

GIB = 2.0**30
RESERVE = MEMORY_DEFAULTS["runtime_reserve_bytes"]


def _act(d_model):
    return MEMORY_DEFAULTS["activation_tokens"] * d_model * MEMORY_DEFAULTS["activation_bytes_per_token_dmodel"]


def _memory_gib(model, gpu, input_tokens=512, output_tokens=256, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = energylens.search(model, gpu, input_tokens=input_tokens, output_tokens=output_tokens,
                              max_num_seqs=[1], **kw)
    df = r.to_frame()
    assert len(df) == 1, r.summary()
    return float(df["memory_gib_per_gpu"].iloc[0])


def test_gqa_heads_replicate_when_tp_exceeds_them():
    """Qwen2.5-1.5B: 28 layers, 2 KV heads of 128. At TP 2 each GPU holds one head; at TP 4 each still holds
    one (vLLM replicates a KV head over tp / 2 GPUs), so the per-GPU KV does not halve again."""
    kv_per_gpu = 768 * 28 * 2 * 1 * 128 * 2.0  # 768 tokens x layers x K and V x one head x 128 x bf16
    for tp in (2, 4):  # H100 SXM: NCCL's NVLS buffers at TP 4 (a group of more than 2 GPUs), none at TP 2
        nvls = NVLS_BYTES_PER_GPU * tp if tp > 2 else 0.0
        hand = (1.544e9 * 2 / tp + RESERVE + nvls + _act(1536) + kv_per_gpu) / GIB
        assert _memory_gib("Qwen/Qwen2.5-1.5B-Instruct", "H100", tp=[tp]) == pytest.approx(hand, rel=1e-12)


def test_mla_latent_is_held_whole_on_every_gpu():
    """DeepSeek-V3 (fp8, block-scaled) at TP 8 on H200: vLLM caches one latent of kv_lora_rank 512 +
    qk_rope_head_dim 64 elements per token and layer, the same on every TP rank (not per head, not split):
    61 x 576 x 2 B = 70,272 B per token per GPU; with an fp8 KV cache half that. Weights: 671.0e9 parameters at
    1 B, the embedding and lm_head (2 x 129280 x 7168) at 2 B, over 8 GPUs (experts over tp x dp = 8)."""
    weights = (671.026e9 + 2 * 129280 * 7168) / 8
    for dtype, elem in (("auto", 2.0), ("fp8", 1.0)):
        hand = (weights + RESERVE + 8 * NVLS_BYTES_PER_GPU + _act(7168) + 768 * 61 * 576 * elem) / GIB
        got = _memory_gib("deepseek-ai/DeepSeek-V3", "H200", tp=[8], kv_cache_dtype=[dtype])
        assert got == pytest.approx(hand, rel=1e-12), dtype


def test_sliding_window_layers_hold_at_most_their_window():
    """gemma-2-9b: 42 layers, 21 of them a 4096-token window, 8 KV heads of 256. A 6000 + 2000 token request:
    the check holds max(running batch x mean context 7000, one whole sequence 8000) tokens, the windowed layers
    the window's share of the mean context (4096 / 7000)."""
    share = (21 + 21 * 4096 / 7000) / 42
    kv = 8000 * 42 * 2 * 8 * 256 * 2.0 * share
    hand = (9.241e9 * 2 + RESERVE + _act(3584) + kv) / GIB
    got = _memory_gib("google/gemma-2-9b-it", "H100", input_tokens=6000, output_tokens=2000, tp=[1])
    assert got == pytest.approx(hand, rel=1e-12)


def test_hybrid_mamba_layers_hold_state_not_kv():
    """Nemotron-Nano-9B-v2: 56 layers, 4 with attention (8 KV heads of 128); the 27 Mamba-2 layers hold one
    state per sequence: 36,384,768 elements (SSM 128 heads x 80 x 128 + conv 3 x 12,288 per layer, the model
    table's state_elems_per_seq) at bf16, whatever the context."""
    kv = 768 * 4 * 2 * 8 * 128 * 2.0
    state = 36_384_768 * 2.0
    hand = (8.89e9 * 2 + RESERVE + _act(4480) + kv + state) / GIB
    got = _memory_gib("nvidia/NVIDIA-Nemotron-Nano-9B-v2", "H100", tp=[1])
    assert got == pytest.approx(hand, rel=1e-12)


def test_fp8_kv_cache_is_one_byte_per_element():
    """Llama-3.1-8B with --kv-cache-dtype fp8: 32 layers x K and V x 8 heads x 128 x 1 B per token; 'auto' is
    the activations' bf16 (2 B), also for an fp8 checkpoint (vLLM's default)."""
    for dtype, elem in (("fp8", 1.0), ("auto", 2.0)):
        hand = (8.030e9 * 2 + RESERVE + _act(4096) + 768 * 32 * 2 * 8 * 128 * elem) / GIB
        got = _memory_gib("meta-llama/Llama-3.1-8B-Instruct", "H100", tp=[1], kv_cache_dtype=[dtype])
        assert got == pytest.approx(hand, rel=1e-12), dtype
