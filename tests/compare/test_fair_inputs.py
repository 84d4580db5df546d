"""The baselines get the physical inputs the template gets (issue 10): each quantity the LLMCarbon-style
roofline, the ensembles and wilkins2024's pooled fit read is the template's for the row
(energylens.compare.inputs.template_inputs), checked by hand on the cases the baselines used to get wrong:
sliding-window layers (Gemma 3, gpt-oss), a hybrid's attention-only KV cache plus its Mamba state (Nemotron
Nano v2), KV heads replicated when tp exceeds them (Qwen3-235B at TP 8), data-parallel replicas each
streaming the weights, and a vision request's encoder FLOPs. Each test also shows the old count differs."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_kv_inputs import _main_roofline, _profiles
from test_methods import fake_gpu_spec

from data_paths import V3 as V3_CSV
from energylens.compare import baselines, inputs
from energylens.profiles import read_profiles
from energylens.profiles.features import FEATURE_NAMES, build_features

GEMMA = "google/gemma-3-27b-it"        # 62 layers, 52 of them sliding (window 1024), 16 KV heads of 128
GPT_OSS = "openai/gpt-oss-120b"        # 36 layers, 18 sliding (window 128), 8 KV heads of 64
NEMOTRON = "nvidia/NVIDIA-Nemotron-Nano-9B-v2"  # 56 layers, 4 of them attention (8 KV heads of 128)
QWEN235 = "Qwen/Qwen3-235B-A22B-Instruct-2507"  # 94 layers, 4 KV heads of 128
V3 = V3_CSV


def _step_bytes(df: pd.DataFrame) -> np.ndarray:
    """Bytes of one decode step as the roofline moves them, read back from its (memory-bound) step time."""
    _, step = baselines.LLMCarbonRoofline(gpu_spec=fake_gpu_spec)._roofline(df)
    return step * df["n_gpus"].to_numpy(dtype=float) * 3350e9


def _long(model: str, tp: int = 1, **extra) -> pd.DataFrame:
    """Rows with contexts past the sliding windows (mean context tin + tout / 2 = 4500 tokens)."""
    return _profiles(model, tp=tp, **extra).assign(input_tokens=4000.0, output_tokens=1000.0)


def test_sliding_window_kv_by_hand():
    df = _long(GEMMA)
    ctx = 4000.0 + 500.0
    per_layer = 2 * 16 * 128 * 2.0  # K and V, 16 heads of 128, 2 bytes
    by_hand = per_layer * (10 + 52 * 1024 / ctx)  # 10 global layers see the whole context, 52 the window
    np.testing.assert_allclose(inputs.kv_bytes_per_token(df), by_hand, rtol=1e-12)
    assert by_hand < 0.4 * 62 * per_layer  # the old count, every layer over the whole context
    bytes_ = _step_bytes(df)
    weights = build_features(df)["weight_bytes_per_step"]
    b = df["batch_size"].to_numpy()
    memory_bound = bytes_ > weights  # at batch 1 the roofline may be compute-bound; compare where it is not
    np.testing.assert_allclose(bytes_[memory_bound], (weights + b * ctx * by_hand)[memory_bound], rtol=1e-9)
    _, old_step = _main_roofline(df)
    assert (old_step * 3350e9 > bytes_ * 1.5).any()


def test_gpt_oss_alternating_window_by_hand():
    df = _long(GPT_OSS, precision="mxfp4")
    by_hand = 2 * 8 * 64 * 2.0 * (18 + 18 * 128 / 4500.0)
    np.testing.assert_allclose(inputs.kv_bytes_per_token(df), by_hand, rtol=1e-12)


def test_hybrid_attention_layers_and_state_by_hand():
    df = _long(NEMOTRON)
    kv = 4 * 2 * 8 * 128 * 2.0  # the 4 attention layers only
    np.testing.assert_allclose(inputs.kv_bytes_per_token(df), kv, rtol=1e-12)
    assert kv == pytest.approx(56 * 2 * 8 * 128 * 2.0 / 14)  # the old count: 14x more
    state = 36384768 * 2.0 * 2  # Mamba state per sequence, bf16, read and written back every step
    f = inputs.template_inputs(df, fake_gpu_spec)
    np.testing.assert_allclose(f["state_bytes_per_seq"], state, rtol=1e-12)
    bytes_, b = _step_bytes(df), df["batch_size"].to_numpy()
    mem = bytes_ > f["weight_bytes_per_step"]
    np.testing.assert_allclose(bytes_[mem], (f["weight_bytes_per_step"] + b * (4500.0 * kv + state))[mem], rtol=1e-9)


@pytest.mark.parametrize("tp, factor", [(4, 1.0), (8, 2.0)])
def test_kv_heads_replicated_past_tp(tp, factor):
    """vLLM gives every TP rank at least one KV head: 4 KV heads at TP 8 are held twice."""
    df = _profiles(QWEN235, tp=tp)
    np.testing.assert_array_equal(inputs.kv_bytes_per_token(df), np.full(len(df), 94 * 2 * 4 * 128 * 2.0 * factor))


def test_data_parallel_replicas_each_stream_the_weights():
    """dp = 2 at batch B costs per request what one replica costs at B / 2 (the old roofline spread one copy
    of the weights over both replicas' GPUs)."""
    one = _profiles("meta-llama/Llama-3.1-8B-Instruct", tp=1)
    two = one.assign(dp=2, n_gpus=2, batch_size=2 * one["batch_size"])
    e1, _ = baselines.LLMCarbonRoofline(gpu_spec=fake_gpu_spec)._roofline(one)
    e2, _ = baselines.LLMCarbonRoofline(gpu_spec=fake_gpu_spec)._roofline(two)
    np.testing.assert_allclose(e2, e1, rtol=1e-12)
    old2, _ = _main_roofline(_profiles("meta-llama/Llama-3.1-8B-Instruct", tp=1, dp=2, n_gpus=2)
                             .assign(batch_size=2 * one["batch_size"]))
    assert (old2 < 0.9 * e1).any()


def test_image_requests_pay_the_encoder_flops():
    text = _profiles("Qwen/Qwen3-VL-8B-Instruct", tp=1, modality="text")
    image = _profiles("Qwen/Qwen3-VL-8B-Instruct", tp=1, modality="image")
    extra = build_features(image)["prefill_extra_flops"]
    assert (extra > 0).all()
    e_text, _ = baselines.LLMCarbonRoofline(gpu_spec=fake_gpu_spec)._roofline(text)
    e_image, _ = baselines.LLMCarbonRoofline(gpu_spec=fake_gpu_spec)._roofline(image)
    np.testing.assert_allclose(e_image - e_text, 700.0 * extra / 989e12, rtol=1e-9)  # TDP x FLOPs / peak


def test_mxfp4_moe_weights_and_peak_are_the_templates():
    df = _profiles(GPT_OSS, tp=1, precision="mxfp4")
    f = inputs.template_inputs(df, fake_gpu_spec)
    feats = build_features(df)
    for name in ("weight_bytes_per_step", "peak_flops_per_s", "active_params"):
        np.testing.assert_array_equal(f[name], feats[name])
    assert (f["peak_flops_per_s"] == 989e12).all()  # H100 has no fp4 tensor cores: bf16 compute
    assert (f["weight_bytes_per_step"] != 116.789e9 * 0.53125).all()  # the old count: every weight at mxfp4


def test_ensembles_see_every_template_input():
    df = _profiles(NEMOTRON, tp=1, dp=2, n_gpus=2)
    x = inputs.baseline_features(df, gpu_spec=fake_gpu_spec)
    feats = build_features(df)
    assert inputs.BASELINE_FEATURES[: len(FEATURE_NAMES)] == FEATURE_NAMES
    np.testing.assert_array_equal(x[:, : len(FEATURE_NAMES)], np.column_stack([feats[n] for n in FEATURE_NAMES]))
    np.testing.assert_array_equal(x[:, inputs.BASELINE_FEATURES.index("n_gpus")], 2.0)


def test_wilkins_pools_by_the_templates_active_params():
    """A MoE row whose frame gives no active parameters: the pooled fit scales by the model table's (3.3B of
    30.5B), as the template does, not by the total."""
    rows = pd.DataFrame(dict(model=["Qwen/Qwen3-30B-A3B-Instruct-2507", "meta-llama/Llama-3.1-8B-Instruct"],
                             params_b=[30.532, 8.03], gpu="H100", tp=1, pp=1, batch_size=8,
                             input_tokens=500.0, output_tokens=200.0))
    f = inputs.template_inputs(rows, fake_gpu_spec)
    # (less the untied input embedding, 151936 x 2048: a lookup multiplies nothing; round 10's follow-up)
    assert f["active_params"][0] == pytest.approx(3.353e9 - 151936 * 2048, rel=1e-3)
    train = _profiles("meta-llama/Llama-3.1-8B-Instruct", tp=1)
    m = baselines.WilkinsClosedForm(min_rows=100, gpu_spec=fake_gpu_spec).fit(train)
    pred = m.predict_energy(rows)
    assert pred[0] / pred[1] == pytest.approx(f["active_params"][0] / f["active_params"][1], rel=1e-9)


@pytest.mark.skipif(not V3.exists(), reason="ML.ENERGY v3 rows are read from /work/shared/data (not bundled)")
def test_v3_rows_baseline_kv_is_the_templates():
    """On every ML.ENERGY v3 H100 row the roofline's KV bytes are the template's; on the 55 rows with tp above
    the KV heads (Qwen3-235B family at TP 8) twice the unreplicated count."""
    df = read_profiles(V3)
    kv = inputs.kv_bytes_per_token(df)
    np.testing.assert_array_equal(kv, build_features(df)["kv_bytes_per_token"])
    over = (df["tp"] > df["n_kv_heads"]).to_numpy()
    assert over.sum() == 55
    plain = (df["n_layers"] * 2 * df["n_kv_heads"] * df["head_dim"] * 2.0).to_numpy()
    np.testing.assert_allclose(kv[over], 2.0 * plain[over], rtol=1e-12)
