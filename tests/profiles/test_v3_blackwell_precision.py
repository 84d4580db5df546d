"""The GEMM rate a v3 row is priced at, per weight format, on Hopper (the H100 file) and Blackwell (the held-out
B200 rows), as vLLM runs each format by default (energylens.profiles.precision, docs/reference-tables.md
"Precision as deployed"):

* bf16: the 16-bit peak on both.
* gpt-oss mxfp4: W4A16 on both. vLLM's MXFP4 MoE selection (vllm/model_executor/layers/fused_moe/oracle/mxfp4.py
  select_mxfp4_moe_backend; get_mxfp4_backend in quantization/mxfp4.py before it) tries SM100_FI_MXFP4_BF16 before
  the MXFP8-activation TRT-LLM / CUTLASS backends, which only VLLM_USE_FLASHINFER_MOE_MXFP4_MXFP8(_CUTLASS)=1 picks.
* Qwen3 -FP8 (128 x 128 block-scaled): the 16-bit rate on Hopper (scales applied outside the MMA), the fp8 peak on
  Blackwell (DeepGEMM / CUTLASS SM100 block-scaled MMA).
* Llama-3.1-405B -FP8 (per-channel weights, per-token activations): the fp8 peak on both (CUTLASS scaled_mm)."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

from energylens.profiles.features import build_features
from energylens.profiles.mlenergy_v3 import mlenergy_v3

HEADER = ["task", "activated_params_billions", "architecture", "avg_batch_size", "avg_output_len", "avg_power_watts",
          "data_parallel", "energy_per_request_joules", "energy_per_token_joules", "expert_parallel", "gpu_model",
          "max_num_seqs", "median_itl_ms", "model_id", "nickname", "num_gpus", "output_throughput_tokens_per_sec",
          "p90_itl_ms", "p95_itl_ms", "p99_itl_ms", "tensor_parallel", "total_params_billions", "weight_precision"]
# model_id, weight_precision, architecture, total, active, num_gpus, expert_parallel
MODELS = [
    ("Qwen/Qwen3-14B", "bfloat16", "Dense Transformer", 14.0, 14.0, 1, 1),
    ("openai/gpt-oss-120b", "mxfp4", "MoE", 120.0, 5.0, 1, 1),
    ("Qwen/Qwen3-235B-A22B-Instruct-2507-FP8", "fp8", "MoE", 235.0, 22.0, 8, 8),
    ("meta-llama/Llama-3.1-405B-Instruct-FP8", "fp8", "Dense Transformer", 405.0, 405.0, 8, 1),
]
# dense peaks of the GPU table (TFLOP/s): H100 SXM 989 bf16 / 1979 fp8; B200 2250 bf16 / 4500 fp8
EXPECTED = {"H100": [989, 989, 989, 1979], "B200": [2250, 2250, 4500, 4500]}


def _row(gpu, model, prec, arch, total, active, n, ep):
    return dict(task="gpqa", activated_params_billions=active, architecture=arch, avg_batch_size=7.9,
                avg_output_len=6000.0, avg_power_watts=500.0 * n, data_parallel=1, energy_per_request_joules=5000.0,
                energy_per_token_joules=0.8, expert_parallel=ep, gpu_model=gpu, max_num_seqs=8, median_itl_ms=15.0,
                model_id=model, nickname="x", num_gpus=n, output_throughput_tokens_per_sec=500.0, p90_itl_ms=16.0,
                p95_itl_ms=17.0, p99_itl_ms=18.0, tensor_parallel=1 if ep > 1 else n, total_params_billions=total,
                weight_precision=prec)


@pytest.mark.parametrize("gpu", ["H100", "B200"])
def test_each_format_is_priced_at_the_rate_vllm_runs_it_on_that_gpu(tmp_path, gpu):
    path = tmp_path / f"llm_configs_{gpu.lower()}.csv"
    pd.DataFrame([_row(gpu, *m) for m in MODELS], columns=HEADER).to_csv(path, index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        feats = build_features(mlenergy_v3(path))
    assert (feats["peak_flops_per_s"] / 1e12).tolist() == pytest.approx(EXPECTED[gpu], rel=1e-12)
