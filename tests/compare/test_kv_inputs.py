"""The KV cache the baselines read (LLMCarbon roofline, the ensembles' ``kv_bytes_per_token``) is the
template's own (energylens.profiles.features through compare.inputs.template_inputs): a multi-head latent
attention (MLA) model's latent of kv_lora_rank + qk_rope_head_dim elements per token and layer, held whole on
every TP rank (vLLM), in the row's kv_cache_dtype; a sliding-window model's windowed layers at most ``window``
positions (Gemma 3, gpt-oss); a hybrid's attention layers only, its Mamba layers a constant state per sequence
(Nemotron Nano v2); KV heads replicated when tp exceeds them (Qwen3-235B at TP 8). Each of those cases is
checked by hand, and would fail on the baselines' old ``n_layers x 2 x n_kv_heads x head_dim`` count."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_methods import fake_gpu_spec

from energylens.compare import baselines, inputs
from energylens.profiles import features, load_profiles, tables
from energylens.profiles.architecture import ATTENTION_COLUMNS, attention_per_layer
from energylens.profiles.features import build_features

DSV3 = "deepseek-ai/DeepSeek-V3"
LLAMA = "meta-llama/Meta-Llama-3.1-8B-Instruct"


def _profiles(model: str, tp: int, gpu: str = "H100", **extra) -> pd.DataFrame:
    """A few batch sizes of one model, loaded as a profile file is (architecture filled from the table)."""
    batches = (1.0, 8.0, 64.0, 256.0)
    rows = pd.DataFrame({"model": model, "params_b": tables.model_spec(model).params_b, "gpu": gpu, "tp": tp,
                         "pp": 1, "batch_size": batches, "input_tokens": [512.0, 1024.0, 2048.0, 700.0],
                         "output_tokens": [256.0, 512.0, 300.0, 900.0], "energy_j": [40.0, 20.0, 9.0, 5.0],
                         "tpot_s": [0.02, 0.025, 0.04, 0.08], "precision": "bf16", **extra})
    return load_profiles(rows)


def _table_attention(model: str) -> tuple[float, float, float]:
    spec = tables.model_spec(model)
    return attention_per_layer({c: float(getattr(spec, c)) for c in ATTENTION_COLUMNS})


def test_mla_frame_kv_elements_are_the_helpers_latent():
    df = _profiles(DSV3, tp=8)
    assert "kv_lora_rank" not in df.columns  # a profile frame carries no MLA columns: the table supplies them
    assert (df["n_kv_heads"] == 128).all() and (df["head_dim"] == 192).all()  # the config's (unused) heads
    heads, elems, _ = _table_attention(DSV3)
    assert (heads, elems) == (1.0, 512.0 + 64.0)
    x = inputs.baseline_features(df, gpu_spec=fake_gpu_spec)
    kv = x[:, inputs.BASELINE_FEATURES.index("kv_bytes_per_token")]
    np.testing.assert_array_equal(kv, np.full(len(df), 8 * 61 * elems * 2.0))  # latent on 8 ranks, 2 B
    assert elems != 2 * 128 * 192  # the width of 128 ordinary heads: 85x the latent's


def test_mla_llmcarbon_reads_the_latent_by_hand():
    df = _profiles(DSV3, tp=8)
    m = baselines.LLMCarbonRoofline(gpu_spec=fake_gpu_spec)
    e_u1, step = m._roofline(df)
    bw, flops, tdp = 3350e9, 989e12, 700.0
    p_act = df["active_params_b"].to_numpy() * 1e9 - 129280 * 7168  # the input embedding, a lookup, multiplies nothing
    weights = build_features(df)["weight_bytes_per_step"]  # the experts a step touches (MoE), the template's
    b, tin, tout = (df[c].to_numpy() for c in ("batch_size", "input_tokens", "output_tokens"))
    kv_per_token = 8 * 61 * (512 + 64) * 2.0  # 8 TP ranks x layers x latent x 2 bytes: the latent on every rank
    step_ref = np.maximum((weights + b * (tin + 0.5 * tout) * kv_per_token) / (8 * bw), 2 * p_act * b / (8 * flops))
    np.testing.assert_allclose(step, step_ref, rtol=1e-12)
    np.testing.assert_allclose(e_u1, 8 * tdp * (2 * p_act * tin / (8 * flops) + tout * step_ref / b), rtol=1e-12)
    # the template's KV bytes per token are the same latent, held whole on each of the 8 TP ranks
    feats = build_features(df)
    np.testing.assert_array_equal(feats["kv_bytes_per_token"], np.full(len(df), kv_per_token))


@pytest.mark.parametrize("kv_cache_dtype", ["auto", "fp8", "bf16"])
@pytest.mark.parametrize("model", [DSV3, LLAMA])
@pytest.mark.parametrize("tp", [1, 2, 8])
def test_baseline_kv_bytes_are_the_templates(model, tp, kv_cache_dtype):
    """The roofline baseline's KV bytes per token (summed over the GPUs' copies) equal the template's feature
    for MLA and ordinary rows, at a 16-bit and an fp8 cache (no sliding window, no KV-head replication here)."""
    df = _profiles(model, tp=tp, kv_cache_dtype=kv_cache_dtype)
    feats = build_features(df)
    np.testing.assert_array_equal(inputs.kv_bytes_per_token(df), feats["kv_bytes_per_token"])
    elem = 1.0 if kv_cache_dtype == "fp8" else 2.0
    per_layer = (512 + 64) * tp if model == DSV3 else 2 * 8 * 128
    layers = 61 if model == DSV3 else 32
    np.testing.assert_array_equal(inputs.kv_bytes_per_token(df), np.full(len(df), layers * per_layer * elem))


def test_fp8_kv_halves_the_roofline_kv_term_by_hand():
    m = baselines.LLMCarbonRoofline(gpu_spec=fake_gpu_spec)
    _, step16 = m._roofline(_profiles(DSV3, tp=8))
    _, step8 = m._roofline(_profiles(DSV3, tp=8, kv_cache_dtype="fp8"))
    df = _profiles(DSV3, tp=8)
    b, tin, tout = (df[c].to_numpy() for c in ("batch_size", "input_tokens", "output_tokens"))
    weights = build_features(df)["weight_bytes_per_step"]
    kv8 = b * (tin + 0.5 * tout) * 8 * 61 * 576 * 1.0  # one byte per element, the latent on 8 ranks
    memory_bound = step8 > 2 * df["active_params_b"].to_numpy() * 1e9 * b / (8 * 989e12)
    np.testing.assert_allclose(step8[memory_bound], ((weights + kv8) / (8 * 3350e9))[memory_bound], rtol=1e-12)
    assert (step8 <= step16).all() and (step8 < step16).any()


def test_frame_mla_columns_override_the_table():
    """A profile's MLA columns win over the model table's (a blank cell takes the table's 64), for the template
    and so for the baselines."""
    df = _profiles(DSV3, tp=8).assign(kv_lora_rank=256.0, qk_rope_head_dim=[64.0, np.nan, 64.0, 32.0])
    np.testing.assert_array_equal(inputs.kv_bytes_per_token(df), 8 * 61 * np.array([320.0, 320.0, 320.0, 288.0]) * 2.0)


def _main_roofline(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """LLMCarbonRoofline._roofline as main had it before it read the template's inputs (every layer's KV,
    all weights at the weight format's bytes, the weight format's peak), for the test GPUs."""
    specs = [fake_gpu_spec(g) for g in df["gpu"]]
    bw = np.array([s.hbm_bw_gbs * 1e9 for s in specs])
    flops = np.array([s.peak_flops(p) for s, p in zip(specs, df["precision"], strict=True)])
    tdp = np.array([s.tdp_w for s in specs])
    n = df["n_gpus"].to_numpy(dtype=float)
    b, tin, tout = (inputs.column(df, c) for c in ("batch_size", "input_tokens", "output_tokens"))
    p_act, p_tot = inputs.column(df, "active_params_b") * 1e9, inputs.column(df, "params_b") * 1e9
    wbytes = np.array([inputs.precision_bytes(p) for p in inputs.precisions(df)])
    kv = inputs.column(df, "n_layers") * 2.0 * inputs.column(df, "n_kv_heads") * inputs.column(df, "head_dim") * 2.0
    step_s = np.maximum((p_tot * wbytes + b * (tin + 0.5 * tout) * np.nan_to_num(kv)) / (n * bw),
                        2.0 * p_act * b / (n * flops))
    return n * tdp * (2.0 * p_act * tin / (n * flops) + tout * step_s / b), step_s


@pytest.mark.parametrize("tp", [1, 8])
def test_dense_full_attention_rows_keep_mains_numbers(tp, monkeypatch):
    """A dense bf16 model with full attention on every layer and tp <= its KV heads: nothing the old count
    missed applies, and the roofline's numbers stay bit for bit (with the weight count main had: since accuracy
    round 10 a step streams the lm_head but not the input embedding, features.DECODE_WEIGHT_READS, and a token's
    FLOPs leave the input embedding out, features.TOKEN_FLOPS_AND_ENCODERS)."""
    monkeypatch.setattr(features, "DECODE_WEIGHT_READS", False)
    monkeypatch.setattr(features, "TOKEN_FLOPS_AND_ENCODERS", False)
    df = _profiles(LLAMA, tp=tp)
    e_new, step_new = baselines.LLMCarbonRoofline(gpu_spec=fake_gpu_spec)._roofline(df)
    e_old, step_old = _main_roofline(df)
    np.testing.assert_array_equal(e_new, e_old)
    np.testing.assert_array_equal(step_new, step_old)
    assert np.all(step_new > 2 * 8.03e9 / (tp * 3350e9))  # the KV term is in there (bytes > weights alone)
