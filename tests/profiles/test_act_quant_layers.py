"""W8A8 (activation-quantised) layers count twice in the per-layer overhead (docs/model.md, accuracy round 4):
which rows are activation-quantised, the launch-layer feature they get, the ablation switch, and the
per-layer time it adds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from energylens.model import reference as R
from energylens.profiles import features as FE
from energylens.profiles import tables
from energylens.profiles.precision import activation_quantised

_QWEN_FP8 = dict(model="Qwen/Qwen3-235B-A22B-Instruct-2507-FP8", params_b=235.0, active_params_b=22.0, tp=8, pp=1,
                 batch_size=8, input_tokens=200, output_tokens=800, precision="fp8")   # 94 layers, all MoE
_LLAMA = dict(model="meta-llama/Meta-Llama-3.1-8B-Instruct", params_b=8.03, tp=1, pp=1, batch_size=8,
              input_tokens=500, output_tokens=200)                                   # 32 dense layers


def _feats(rows):
    return FE.build_features(pd.DataFrame(rows))


@pytest.mark.parametrize("gpu,precision,compute,expected", [
    ("H100 SXM", "fp8", "", True),          # W8A8 on FP8 tensor cores
    ("H100 SXM", "fp8_block", "", True),    # 1 x 128 activation groups, at the 16-bit rate on Hopper
    ("B200", "fp8_block", "", True),
    ("MI355X", "fp8_block", "", True),    # at the 16-bit rate (vLLM's ROCm kernels), activations still fp8
    ("H100 SXM", "int8", "", True),
    ("A100-SXM4-40GB", "fp8", "", False),   # no FP8 tensor cores: weight-only (W8A16)
    ("A100-SXM4-40GB", "fp8_block", "", False),
    ("H100 SXM", "mxfp4", "", False),       # weight-only on Hopper
    ("H100 SXM", "int4", "", False),
    ("H100 SXM", "bf16", "", False),
    ("H100 SXM", "fp8", "bf16", False),     # a given 16-bit compute precision: weight-only
])
def test_which_formats_quantise_their_activations(gpu, precision, compute, expected):
    assert activation_quantised(precision, tables.gpu_spec(gpu), compute) is expected


def test_activation_quantised_layers_add_one_launch_layer_each():
    rows = [dict(_QWEN_FP8, gpu="H100 SXM"), dict(_QWEN_FP8, gpu="A100-SXM4-40GB"),
            dict(_QWEN_FP8, gpu="H100 SXM", precision="bf16", model="Qwen/Qwen3-235B-A22B-Instruct-2507"),
            dict(_LLAMA, gpu="H100 SXM", precision="fp8"), dict(_LLAMA, gpu="H100 SXM", precision="bf16"),
            dict(_LLAMA, gpu="H100 SXM", precision="fp8", compute_precision="bf16")]
    f = _feats(rows)
    # MoE: its 94 MoE layers, plus 94 when W8A8; dense: 0, plus its 32 layers when W8A8
    np.testing.assert_array_equal(f["moe_layers"], [188, 94, 94, 32, 0, 0])
    old = FE.ACT_QUANT_LAUNCH_LAYERS
    FE.ACT_QUANT_LAUNCH_LAYERS = 0.0   # the ablation: W8A8 layers count once
    try:
        off = _feats(rows)
    finally:
        FE.ACT_QUANT_LAUNCH_LAYERS = old
    np.testing.assert_array_equal(off["moe_layers"], [94, 94, 94, 0, 0, 0])
    for name in FE.FEATURE_NAMES:   # nothing else moves
        if name != "moe_layers":
            np.testing.assert_array_equal(off[name], f[name], err_msg=name)


def test_each_extra_launch_layer_costs_the_per_layer_overhead():
    f = _feats([dict(_LLAMA, gpu="H100 SXM", precision="fp8"), dict(_LLAMA, gpu="H100 SXM", precision="bf16")])
    th = R.ENERGY_PARAM_INIT.copy()
    phi = np.r_[th[[0, 1, 2, 3, 7, 8, 9, 10]], 0.5, 0.0]  # prefill_batch_factor, tp_sync_us
    t0 = R.latency(f, phi)[1]
    phi[4] += 10.0   # +10 us per launch layer: the fp8 row has 64, the bf16 row 32
    np.testing.assert_allclose(R.latency(f, phi)[1] - t0, 10e-6 * np.array([64, 32]), rtol=1e-9)
