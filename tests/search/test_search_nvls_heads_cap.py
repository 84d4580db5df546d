"""NCCL's NVLS buffers stop growing at NCCL_MAX_NVLS_ARITY (32) heads (docs/search.md, Feasibility): a GPU holds
nvlsPerRankSize x nHeads per communicator, nHeads = min(NCCL_MAX_NVLS_ARITY, the group's GPUs). Until 2026-12-07
the reserve grew with the group without bound: TP 64 on GB200 NVL72 charged 36 GiB of NVLS buffers per GPU
(2 x 288 MiB x 64), where NCCL allocates 32 heads' (with today's 96 MiB per head, memory.NVLS_BYTES_PER_GPU: 3
GiB, not 6)."""

import warnings

import numpy as np
import pytest

import energylens
from energylens.search.api import bundled_model
from energylens.search.memory import NVLS_BYTES_PER_GPU, NVLS_MAX_HEADS, runtime_reserve

GIB = 2.0**30
L70 = "meta-llama/Llama-3.1-70B-Instruct"


def test_the_buffers_grow_with_the_group_up_to_nccls_arity_cap():
    assert NVLS_MAX_HEADS == 32 and NVLS_BYTES_PER_GPU == 2 * 48 * 2**20
    group = np.array([2, 4, 8, 16, 32, 33, 64, 72])
    got = (runtime_reserve(group, np.ones(len(group), dtype=bool)) - 1.5 * GIB) / GIB
    assert got == pytest.approx([0.0, 0.375, 0.75, 1.5, 3.0, 3.0, 3.0, 3.0])
    assert runtime_reserve(64, True) / GIB == pytest.approx(1.5 + 3.0)  # scalars too


def _per_gpu(model, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = energylens.search(L70, "GB200", input_tokens=512, output_tokens=256, tp=[8, 16, 32, 64],
                              max_num_seqs=[1], energy_model=model, bootstrap=False, **kw)
    df = r.to_frame()
    return dict(zip(df["tp"].astype(int), df["memory_gib_per_gpu"], strict=True)), r


def test_the_engine_caps_the_buffers_at_32_heads_on_gb200_nvl72(model):
    modelled, r = _per_gpu(model)
    flat, _ = _per_gpu(model, runtime_reserve_gib=1.5)
    assert {t: modelled[t] - flat[t] for t in flat} == pytest.approx({8: 0.75, 16: 1.5, 32: 3.0, 64: 3.0},
                                                                     abs=1e-9)
    assert "(NCCL's NVLS buffers: 3 GiB at TP 64, 4.5 GiB of reserve in all)" in r.summary()
    assert "GPUs (at most 32) of a TP / MoE group of more than 2" in r.summary()


def test_the_assumed_line_counts_the_group_inside_the_nvlink_domain():
    """TP 16 on H100 (8 per NVSwitch domain) is charged 8 GPUs' buffers (memory.collective_group); the line said
    "9 GiB at TP 16, 10.5 GiB of reserve in all" until 2026-12-07 (at the 288 MiB per head of then)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = energylens.search(L70, "H100", input_tokens=512, output_tokens=256, tp=[1, 16], top=2,
                              energy_model=bundled_model(), bootstrap=False)
    assert "(NCCL's NVLS buffers: 0.75 GiB at TP 16, 2.25 GiB of reserve in all)" in r.summary()
