"""The summary's runtime-reserve sentence names the GPUs NCCL's NVLS buffers are charged on. A search on L40S and
A100 (neither runs NVLS: no NVLink switch on L40S, no SHARP in A100's NVSwitch; memory.nvls_capable) said
"plus 0.5625 GiB x the GPUs of a TP / MoE group of more than 2 on NVSwitch GPUs (NCCL's NVLS buffers: 6 GiB at
TP 8)": a charge the memory check never made, and A100 has an NVSwitch."""

import warnings

import pytest

import energylens
from energylens.search.api import bundled_model

KW = dict(input_tokens=512, output_tokens=256, top=2, bootstrap=False)


def _assumed(gpus: str, **kw) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = energylens.search("meta-llama/Llama-3.1-70B-Instruct", gpus, energy_model=bundled_model(), **KW, **kw)
    return next(line for line in r.summary().splitlines() if line.startswith("assumed:"))


def test_no_nvls_gpu_no_nvls_clause():
    line = _assumed("L40S,A100-SXM4-80GB")
    assert "NVLS" not in line and "runtime reserve 1.5 GiB per GPU" in line


@pytest.mark.parametrize(("gpus", "named"), [("H100,A100-SXM4-80GB", "on H100 ("), ("B200", "on B200 ("),
                                             ("H100,H200,L40S", "on H100, H200 (")])
def test_the_nvls_clause_names_the_gpus_it_is_charged_on(gpus, named):
    line = _assumed(gpus)
    assert (f"plus 0.09375 GiB x the GPUs (at most 32) of a TP / MoE group of more than 2 {named}NCCL's NVLS buffers: 0.75 GiB "
            "at TP 8, 2.25 GiB of reserve in all)") in line
    assert "A100" not in line.split("runtime reserve")[1] and "L40S" not in line.split("runtime reserve")[1]


def test_a_flat_reserve_is_said_as_given():
    assert "runtime reserve 3 GiB per GPU (flat, as given)" in _assumed("H100", runtime_reserve_gib=3.0)


@pytest.mark.parametrize(("tp", "buffers", "total"), [(8, 0.75, 2.25), (4, 0.375, 1.875)])
def test_the_nvls_figure_is_the_buffers_and_the_total_is_said_as_such(tp, buffers, total):
    """"(NCCL's NVLS buffers: 6 GiB at TP 8)" gave the whole reserve (1.5 GiB + 8 x 0.5625 GiB) as the buffers' size
    until 2026-12-07; the buffers were 4.5 GiB there (0.75 GiB since NCCL's current sizes, memory.NVLS_BYTES_PER_GPU)."""
    line = _assumed("H100", tp=[1, tp])
    assert f"(NCCL's NVLS buffers: {buffers:g} GiB at TP {tp}, {total:g} GiB of reserve in all)" in line, line
