"""Memory feasibility on B200 against hand arithmetic (docs/search.md "Feasibility"), the GPU the project is
judged on: 180 GB of HBM3e per GPU as the DGX B200 exposes it (DGX B200 datasheet: 1,440 GB for 8 GPUs), read as
GiB like every GPU-table memory, 0.9 of it usable (vLLM's gpu_memory_utilization default): 162 GiB.

Per GPU: weights / tp + 1.5 GiB reserve (+ NCCL's NVLS buffers, 0.09375 GiB x the group's GPUs, at TP > 2 on
NVSwitch GPUs) + 8192 tokens x d_model x 24 B of activations + the running batch's KV at the mean context (at
least one whole sequence: 512 + 256 = 768 tokens here) over tp."""

import warnings

import pytest

import energylens

GIB = 2.0**30
RESERVE = 1.5 * GIB
NVLS4 = 4 * 2 * 48 * 2**20  # NCCL's NVLS buffers of a 4-GPU group on B200 (24 channels x 2 x 1 MiB, twice; memory.py)
L70 = "meta-llama/Llama-3.1-70B-Instruct"
Q235 = "Qwen/Qwen3-235B-A22B-Instruct-2507"


def _search(model, gpu, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return energylens.search(model, gpu, input_tokens=512, output_tokens=256, max_num_seqs=[1], **kw)


def _memory_gib(model, gpu, **kw):
    df = _search(model, gpu, **kw).to_frame()
    assert len(df) == 1, df
    return float(df["memory_gib_per_gpu"].iloc[0])


def test_llama_70b_bf16_fits_one_b200_not_one_h200():
    # 70.552e9 x 2 B on one GPU + reserve + 8192 x 8192 x 24 B + 768 tokens x (80 layers x 2 x 8 KV heads x 128 x 2 B)
    hand = (70.552e9 * 2 + RESERVE + 8192 * 8192 * 24 + 768 * 80 * 2 * 8 * 128 * 2) / GIB
    assert hand == pytest.approx(134.65, abs=0.01)
    assert _memory_gib(L70, "B200", tp=[1]) == pytest.approx(hand, rel=1e-12)
    assert hand < 0.9 * 180  # 162 GiB usable on a B200
    assert hand > 0.9 * 141  # 126.9 GiB on an H200: the same deployment is rejected there
    h200 = _search(L70, "H200", tp=[1])
    assert h200.empty and h200.rejected["memory_weights"] == 1


def test_qwen3_235b_bf16_fits_four_b200_not_two():
    # 235.093e9 x 2 B over 4 GPUs + reserve + 8192 x 4096 x 24 B + 768 x (94 x 2 x 4 KV heads x 128 x 2 B) / 4
    hand = (235.093e9 * 2 / 4 + RESERVE + NVLS4 + 8192 * 4096 * 24 + 768 * 94 * 2 * 4 * 128 * 2 / 4) / GIB
    assert hand == pytest.approx(112.13, abs=0.01)
    assert _memory_gib(Q235, "B200", tp=[4]) == pytest.approx(hand, rel=1e-12)
    assert hand < 0.9 * 180
    # on 2 GPUs the weights alone are 235.1e9 B = 218.9 GiB per GPU > 162 GiB
    two = _search(Q235, "B200", tp=[2])
    assert two.empty and two.rejected["memory_weights"] == 1
    # the same 4-GPU deployment does not fit H100s (0.9 x 80 = 72 GiB usable)
    four_h100 = _search(Q235, "H100", tp=[4])
    assert four_h100.empty and four_h100.rejected["memory_weights"] == 1


def test_qwen3_235b_bf16_expert_parallel_on_four_b200():
    # ep 4 with tp 4 (the v3 launch: --tensor-parallel-size 4 --enable-expert-parallel): attention and the experts
    # both end up split 4 ways, so each GPU holds a quarter of every weight, as with plain tp 4
    hand = (235.093e9 * 2 / 4 + RESERVE + NVLS4 + 8192 * 4096 * 24 + 768 * 94 * 2 * 4 * 128 * 2 / 4) / GIB
    assert _memory_gib(Q235, "B200", tp=[4], ep=[4]) == pytest.approx(hand, rel=1e-12)
