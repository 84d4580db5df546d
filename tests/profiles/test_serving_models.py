"""The model-table rows of today's served MoE / reasoning models (Qwen3-Coder-480B, DeepSeek-V3/R1/V3.1,
Kimi K2, GLM-4.5/4.6, GLM-4.5-Air, Qwen3-Next, MiniMax-M2) and multi-head latent attention (MLA): the KV cache of an
MLA model is one latent of kv_lora_rank + qk_rope_head_dim elements per token and layer, held on every TP
rank, in the features, the native row features and the search's memory check."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from energylens.profiles import tables
from energylens.profiles.architecture import attention_per_layer, prefill_attention_per_layer
from energylens.profiles.features import build_features, features_of
from energylens.profiles.light import light_profiles
from energylens.profiles.native_rows import feature_rows

NEW_MODELS = ("Qwen/Qwen3-Coder-480B-A35B-Instruct", "deepseek-ai/DeepSeek-V3", "moonshotai/Kimi-K2-Instruct",
              "zai-org/GLM-4.5", "zai-org/GLM-4.5-Air", "Qwen/Qwen3-Next-80B-A3B-Instruct", "MiniMaxAI/MiniMax-M2")
# spellings users and the ML.ENERGY exports use -> the row they must resolve to
VARIANTS = {
    "Qwen/Qwen3-Coder-480B-A35B-Instruct-FP8": "Qwen/Qwen3-Coder-480B-A35B-Instruct",
    "Qwen3-Coder-480B-A35B-Instruct": "Qwen/Qwen3-Coder-480B-A35B-Instruct",
    "deepseek-ai/DeepSeek-R1": "deepseek-ai/DeepSeek-V3",
    "deepseek-ai/DeepSeek-R1-0528": "deepseek-ai/DeepSeek-V3",
    "deepseek-ai/DeepSeek-V3.1": "deepseek-ai/DeepSeek-V3",
    "deepseek-ai/DeepSeek-V3-0324": "deepseek-ai/DeepSeek-V3",
    "moonshotai/Kimi-K2-Instruct-0905": "moonshotai/Kimi-K2-Instruct",
    "moonshotai/Kimi-K2-Thinking": "moonshotai/Kimi-K2-Instruct",
    "zai-org/GLM-4.6": "zai-org/GLM-4.5",
    "zai-org/GLM-4.5-FP8": "zai-org/GLM-4.5",
    "zai-org/GLM-4.5-Air-FP8": "zai-org/GLM-4.5-Air",
    "Qwen/Qwen3-Next-80B-A3B-Thinking": "Qwen/Qwen3-Next-80B-A3B-Instruct",
    "Qwen/Qwen3-Next-80B-A3B-Instruct-FP8": "Qwen/Qwen3-Next-80B-A3B-Instruct",
    "meta-llama/Llama-3.1-405B-Instruct-FP8": "meta-llama/Meta-Llama-3.1-405B-Instruct",
    "MiniMaxAI/MiniMax-M2.1": "MiniMaxAI/MiniMax-M2",
    "MiniMaxAI/MiniMax-M2.5": "MiniMaxAI/MiniMax-M2",
}
# DeepSeek-V3 config.json: kv_lora_rank 512 + qk_rope_head_dim 64 per token and layer, 61 layers
DSV3_LATENT = 512 + 64


def _frame(models, gpu="H100-SXM5-80GB", precision="bf16", tp=8, **extra) -> pd.DataFrame:
    n = len(models)
    df = pd.DataFrame({"model": list(models), "gpu": gpu, "precision": precision, "tp": tp, "pp": 1,
                       "batch_size": 64.0, "input_tokens": 2048.0, "output_tokens": 6000.0,
                       "params_b": [tables.model_spec(m).params_b for m in models]})
    for k, v in extra.items():
        df[k] = v
    return df.iloc[:n].reset_index(drop=True)


@pytest.mark.parametrize("name", NEW_MODELS)
def test_new_rows_resolve_by_every_alias_and_cite_their_config(name):
    spec = tables.model_spec(name)
    assert spec.name == name and not spec.estimated
    assert spec.source == f"https://huggingface.co/{name}/blob/main/config.json"
    for alias in spec.aliases:
        assert tables.model_spec(alias).name == name, alias
    assert spec.architecture == "moe" and spec.n_experts > 1 and 0 < spec.active_params_b < spec.params_b


@pytest.mark.parametrize(("query", "name"), sorted(VARIANTS.items()))
def test_served_variants_resolve_without_an_estimate(query, name):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an EstimatedArchitectureWarning would fail here
        assert tables.model_spec(query, params_b=100.0).name == name


def test_mla_rows_carry_the_latent_and_ordinary_rows_do_not():
    for name in ("deepseek-ai/DeepSeek-V3", "moonshotai/Kimi-K2-Instruct"):
        spec = tables.model_spec(name)
        assert (spec.kv_lora_rank, spec.qk_rope_head_dim) == (512.0, 64.0)
    for spec in (tables.model_spec(m) for m in tables.models()["name"]):
        if spec.family not in ("deepseek-v3", "kimi-k2"):
            assert math.isnan(spec.kv_lora_rank) and math.isnan(spec.qk_rope_head_dim), spec.name


def test_mla_kv_bytes_per_token_are_the_latent_on_every_tp_rank():
    f1 = build_features(_frame(["deepseek-ai/DeepSeek-V3"], tp=1))
    assert f1["kv_bytes_per_token"][0] == 61 * DSV3_LATENT * 2  # bf16: 70,272 B, not 2 x 128 x 192 x 2 per layer
    f8 = build_features(_frame(["deepseek-ai/DeepSeek-V3"], tp=8))
    assert f8["kv_bytes_per_token"][0] == 8 * 61 * DSV3_LATENT * 2  # every rank holds the whole latent
    fp8 = build_features(_frame(["deepseek-ai/DeepSeek-V3"], tp=1, kv_cache_dtype="fp8"))
    assert fp8["kv_bytes_per_token"][0] == 61 * DSV3_LATENT
    kimi = build_features(_frame(["moonshotai/Kimi-K2-Instruct"], tp=1))
    assert kimi["kv_bytes_per_token"][0] == 61 * DSV3_LATENT * 2


def test_mla_attention_flops_are_the_absorbed_decode():
    f = build_features(_frame(["deepseek-ai/DeepSeek-V3"], tp=1))
    # per head 2 (512 + 64) for the score and 2 x 512 for the value, 128 heads, 61 layers
    assert f["attn_flops_per_token_ctx"][0] == 61 * 128 * (2 * (512 + 64) + 2 * 512)


def test_mla_prefill_attention_flops_are_the_decompressed_multi_head_form():
    # vLLM's MLA prefill (MLACommonImpl._forward_prefill): kv_b_proj decompresses the latent to per-head K
    # (qk_nope 128 + qk_rope 64 = head_dim 192) and V (v_head_dim 128), then ordinary attention: per head
    # 2 x 192 (QK^T) + 2 x 128 (PV) = 640 FLOPs per query-key pair, 128 heads, 61 layers
    f = build_features(_frame(["deepseek-ai/DeepSeek-V3", "moonshotai/Kimi-K2-Instruct"], tp=8))
    assert f["prefill_attn_flops_per_token_ctx"][0] == 61 * 128 * 640 == 4_997_120
    assert f["prefill_attn_flops_per_token_ctx"][1] == 61 * 64 * 640  # Kimi K2: 64 heads, same head dims
    # decode keeps the absorbed form (unchanged)
    assert f["attn_flops_per_token_ctx"][0] == 61 * 128 * 2176 == 16_990_208
    assert tables.model_spec("deepseek-ai/DeepSeek-V3").v_head_dim == 128.0


def test_prefill_attention_equals_decode_bit_for_bit_for_every_ordinary_model():
    names = list(tables.models()["name"])
    df = _frame(names, tp=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        f = build_features(df)
    mla = np.array([math.isfinite(tables.model_spec(m).kv_lora_rank) for m in names])
    assert mla.sum() == 2
    np.testing.assert_array_equal(f["prefill_attn_flops_per_token_ctx"][~mla], f["attn_flops_per_token_ctx"][~mla])
    assert (f["prefill_attn_flops_per_token_ctx"][mla] < 0.3 * f["attn_flops_per_token_ctx"][mla]).all()


def test_prefill_attention_without_v_head_dim_takes_the_nope_head():
    mla = {"n_heads": 128.0, "n_kv_heads": 128.0, "head_dim": 192.0, "kv_lora_rank": 512.0, "qk_rope_head_dim": 64.0}
    assert prefill_attention_per_layer({**mla, "v_head_dim": math.nan}) == 2 * 128 * (192 + 128)
    assert prefill_attention_per_layer({**mla, "v_head_dim": 256.0}) == 2 * 128 * (192 + 256)
    ordinary = {**mla, "kv_lora_rank": math.nan, "qk_rope_head_dim": math.nan, "v_head_dim": math.nan}
    assert prefill_attention_per_layer(ordinary) == attention_per_layer(ordinary)[2] == 4 * 128 * 192


def test_mla_prefill_energy_drops_and_decode_is_unchanged():
    from energylens.model import reference as R
    from energylens.search.api import bundled_model

    theta = bundled_model().theta
    f = build_features(_frame(["deepseek-ai/DeepSeek-V3"] * 2, tp=8, input_tokens=[512.0, 8192.0]))
    pre, dec = R.energy_phases(f, theta)
    old = {**f, "prefill_attn_flops_per_token_ctx": f["attn_flops_per_token_ctx"]}  # the decode form, as before
    pre_old, dec_old = R.energy_phases(old, theta)
    np.testing.assert_array_equal(dec, dec_old)
    assert (pre < pre_old).all() and pre[1] / pre_old[1] < pre[0] / pre_old[0]  # attention's share grows with L_in


def test_mla_search_prices_prefill_as_predict():
    """The engine's MLA candidates (prefill attention scaled by the window share, as the decode one) cost
    what EnergyModel / LatencyModel.predict give for the same rows."""
    from energylens import _core
    from energylens.search.api import bundled_model, native_options
    from energylens.search.space import build_space

    model = bundled_model()
    space = build_space(["deepseek-ai/DeepSeek-V3", "moonshotai/Kimi-K2-Instruct"], ["H200-SXM-141GB", "B200"],
                        tp=[8], dp=[1, 2], ep=[1, 8, 16], max_num_seqs=[8, 64], precision=["fp8"],
                        input_tokens=[500, 6000], output_tokens=[300])
    every = _core.search_evaluate(*space.native_args(), model.theta, model.latency_model.theta, native_options(),
                                  np.arange(space.size, dtype=np.uint64))
    index = np.flatnonzero((every.reason < 0) | (every.reason >= 5)).astype(np.uint64)
    assert index.size > 8
    c = _core.search_evaluate(*space.native_args(), model.theta, model.latency_model.theta, native_options(), index)
    frame = space.point_profiles(index)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        energy, lat = model.predict(frame), model.latency_model.predict(frame)
    f = build_features(frame)
    assert (f["prefill_attn_flops_per_token_ctx"] < f["attn_flops_per_token_ctx"]).all()
    np.testing.assert_allclose(c.energy_j, energy, rtol=1e-12)
    np.testing.assert_allclose(c.ttft_s, lat["ttft_s_pred"], rtol=1e-12)


def test_ordinary_rows_keep_their_kv_formula():
    f = build_features(_frame(["Qwen/Qwen3-Coder-480B-A35B-Instruct"], tp=1))
    assert f["kv_bytes_per_token"][0] == 2 * 62 * 8 * 128 * 2
    assert f["attn_flops_per_token_ctx"][0] == 4 * 62 * 96 * 128
    f = build_features(_frame(["Qwen/Qwen3-Next-80B-A3B-Instruct"], tp=1))
    assert f["kv_bytes_per_token"][0] == 2 * 12 * 2 * 256 * 2  # 12 full-attention layers of 48
    assert f["state_bytes_per_seq"][0] == 19_759_104 * 2 * 2  # DeltaNet state, read and written back


def test_attention_per_layer_arrays_and_floats_agree():
    rows = {"n_heads": np.array([128.0, 32.0]), "n_kv_heads": np.array([128.0, 8.0]),
            "head_dim": np.array([192.0, 128.0]), "kv_lora_rank": np.array([512.0, np.nan]),
            "qk_rope_head_dim": np.array([64.0, np.nan])}
    heads, elems, flops = attention_per_layer(rows)
    assert heads.tolist() == [1.0, 8.0] and elems.tolist() == [576.0, 2048.0]
    assert flops.tolist() == [2 * 128 * 1088.0, 4 * 32 * 128.0]
    one = attention_per_layer({k: float(v[1]) for k, v in rows.items()})
    assert one == (8.0, 2048.0, 16384.0)


@pytest.mark.parametrize("gpu", ["H100-SXM5-80GB", "B200"])
@pytest.mark.parametrize("precision", ["bf16", "fp8"])
def test_features_finite_for_every_new_model(gpu, precision):
    models = [*NEW_MODELS, *NEW_MODELS]
    df = _frame(models, gpu=gpu, precision=precision, tp=8)
    df["dp"] = [1] * len(NEW_MODELS) + [2] * len(NEW_MODELS)  # TP 8 and TP 8 x DP 2 with EP 16
    df["ep"] = [1] * len(NEW_MODELS) + [16] * len(NEW_MODELS)
    feats = build_features(df)
    for name, values in feats.items():
        assert np.isfinite(values).all() and (values >= 0).all(), name


@pytest.mark.parametrize("precision", ["bf16", "fp8"])
def test_native_row_features_equal_numpy_for_mla_and_new_rows(precision):
    models = [*NEW_MODELS, "meta-llama/Meta-Llama-3.1-8B-Instruct"]
    df = pd.concat([_frame(models, gpu=g, precision=precision, tp=t) for g in ("H100-SXM5-80GB", "B200")
                    for t in (1, 2, 8)], ignore_index=True)
    light = light_profiles(df, require_energy=False)
    assert light is not None
    native = feature_rows(light)
    assert native is not None, "MLA rows must not fall back to the NumPy path"
    numpy = features_of(light, light.gpu_specs, light.model_specs)
    for i, (name, values) in enumerate(numpy.items()):
        np.testing.assert_array_equal(native[i], values, err_msg=name)


def test_search_fits_deepseek_v3_fp8_on_8_h200_at_a_batch_dense_kv_rejects():
    from energylens.search import search

    li, lo, batch = 1000, 1000, 256
    res = search("deepseek-ai/DeepSeek-V3", "H200-SXM-141GB", tp=8, precision="fp8", max_num_seqs=batch,
                 input_tokens=li, output_tokens=lo, bootstrap=False)
    assert res.feasible >= 1, res.summary() if hasattr(res, "summary") else res
    # the same memory check with a dense KV formula (2 x 128 KV heads x 192 per layer, split over 8 ranks)
    spec = tables.model_spec("deepseek-ai/DeepSeek-V3")
    gib = 1024.0 ** 3
    usable = 0.9 * tables.gpu_spec("H200-SXM-141GB").memory_gb * gib
    fixed = spec.params_b * 1e9 / 8 + 1.5 * gib + 8192 * spec.d_model * 24.0
    elem = 2.0  # kv_cache_dtype auto on Hopper: fp8 block-scaled weights compute (and cache) at 16 bit
    dense_kv = batch * (li + 0.5 * lo) * 2 * 61 * 128 * 192 * elem / 8
    mla_kv = batch * (li + 0.5 * lo) * 61 * DSV3_LATENT * elem
    assert fixed + dense_kv > usable > fixed + mla_kv


def test_native_search_equals_brute_force_on_mla_and_hybrid_moe_models():
    """The engine's KV replication (its combo's KV heads: 1 for an MLA latent) and memory check agree with
    the NumPy brute force (build_features) on DeepSeek-V3, Kimi K2 and Qwen3-Next, where the KV cache is
    what decides which batches fit."""
    from energylens.search.api import REASONS, bundled_model, native_options, run_engine
    from energylens.search.oracle import brute_force
    from energylens.search.space import build_space

    space = build_space(["deepseek-ai/DeepSeek-V3", "moonshotai/Kimi-K2-Instruct", "Qwen/Qwen3-Next-80B-A3B-Instruct"],
                        gpus=["H200-SXM-141GB", "B200"], tp=[4, 8], dp=[1, 2], ep=[1, 8],
                        max_num_seqs=[8, 64, 256, 1024], precision=["fp8", "bf16"], kv_cache_dtype=["auto", "fp8"],
                        input_tokens=[1000, 4000], output_tokens=[1000, 8000])
    model = bundled_model()
    theta, phi = model.theta, model.latency_model.theta
    out = run_engine(space, theta, phi, {**native_options(top=10), "threads": 1})
    ref = brute_force(space, theta, phi, None, top_k=10)
    assert dict(zip(REASONS, map(int, out.rejected), strict=True)) == ref["rejected"]
    assert out.feasible == ref["feasible"] > 0
    np.testing.assert_allclose(out.top.objective, ref["top"]["objective"], rtol=1e-10)
    assert ref["rejected"]["memory_kv_cache"] > 0  # the KV check bites somewhere in this space


def test_a_profile_describes_an_mla_model_the_table_lacks():
    df = pd.DataFrame({"model": ["someorg/Latent-200B-A20B"], "gpu": ["B200"], "tp": [8], "pp": [1],
                       "batch_size": [32.0], "input_tokens": [1000.0], "output_tokens": [1000.0], "params_b": [200.0],
                       "architecture": ["moe"], "active_params_b": [20.0], "n_layers": [40], "d_model": [5120],
                       "n_heads": [64], "n_kv_heads": [64], "head_dim": [192]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the estimate warning: the table lacks the model
        plain = build_features(df)
        mla = build_features(df.assign(kv_lora_rank=512, qk_rope_head_dim=64))
    assert plain["kv_bytes_per_token"][0] == 2 * 40 * 64 * 192 * 2  # 64 KV heads >= tp: no replication
    assert mla["kv_bytes_per_token"][0] == 8 * 40 * 576 * 2  # the latent on each of the 8 ranks
    assert mla["attn_flops_per_token_ctx"][0] == 2 * 40 * 64 * (2 * 512 + 64)
