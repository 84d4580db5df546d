"""Reference tables: values against the published specs, tolerant lookups, close matches, estimation."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from energylens.errors import UnknownGpuError, UnknownModelError
from energylens.profiles import tables
from energylens.profiles.tables import (
    EstimatedArchitectureWarning,
    GpuSpec,
    ModelSpec,
    bytes_per_param,
    estimate_architecture,
    gpu_spec,
    gpus,
    model_spec,
    models,
)

GPU_COLUMNS = ["name", "aliases", "vendor", "memory_gb", "hbm_bw_gbs", "peak_fp32_tflops", "peak_fp16_tflops",
               "peak_bf16_tflops", "peak_fp8_tflops", "peak_int8_tops", "peak_fp4_tflops", "tdp_w",
               "interconnect_bw_gbs", "source", "scale_up_domain_gpus", "scale_out_bw_gbs"]
MODEL_COLUMNS = ["name", "aliases", "family", "architecture", "params_b", "active_params_b", "n_layers", "d_model",
                 "n_heads", "n_kv_heads", "head_dim", "n_experts", "experts_per_token", "image_tokens_per_image",
                 "vision_params_b", "source", "n_attention_layers", "n_moe_layers", "sliding_window",
                 "n_sliding_layers", "state_elems_per_seq", "video_tokens_per_frame", "vision_patches_per_token",
                 "vision_layers", "vision_d_model", "video_sample_fps", "video_min_frames", "fp8_weight_block", "vision_tile_tokens", "conv_state_elems_per_seq",
                 "kv_lora_rank", "qk_rope_head_dim", "v_head_dim", "context_window_tokens", "intermediate_size",
                 "moe_intermediate_size", "shared_expert_intermediate_size", "checkpoint_precision", "vocab_size",
                 "tie_word_embeddings", "audio_params_b", "layer_pattern", "notes"]


# --------------------------------------------------------------------------------------------------
# table shape and integrity
# --------------------------------------------------------------------------------------------------

def test_gpu_table_columns_and_required_rows():
    g = gpus()
    assert list(g.columns) == GPU_COLUMNS
    for name in ["A100-SXM4-40GB", "A100-SXM4-80GB", "H100 SXM 80GB", "H100 PCIe 80GB", "H200 SXM 141GB", "B200",
                 "L40S", "L4", "MI300X"]:
        gpu_spec(name)
    assert g["source"].str.startswith("https://").all()
    assert g["name"].is_unique


def test_model_table_columns_and_integrity():
    m = models()
    assert list(m.columns) == MODEL_COLUMNS
    assert m["name"].is_unique
    assert m["source"].str.startswith("https://huggingface.co/").all()
    assert set(m["architecture"]) <= {"dense", "moe", "hybrid"}
    assert (m["active_params_b"] <= m["params_b"]).all()
    dense = m["architecture"] == "dense"
    assert (m.loc[dense, "n_experts"] == 1).all() and (m.loc[dense, "experts_per_token"] == 1).all()
    assert (m["n_heads"] % m["n_kv_heads"] == 0).all()
    vision = m["image_tokens_per_image"].notna()
    assert (m.loc[~vision, "vision_params_b"].isna()).all()


def test_no_alias_collides_across_rows():
    for frame in (gpus(), models()):
        seen: dict[str, str] = {}
        for row in frame.itertuples(index=False):
            for n in [row.name] + [a for a in str(row.aliases).split(";") if a]:
                key = tables.normalize_name(n)
                assert seen.setdefault(key, row.name) == row.name, (n, seen[key], row.name)


def test_required_model_families_present():
    for name in [
        "meta-llama/Llama-3.1-8B-Instruct", "meta-llama/Llama-3.1-70B-Instruct", "meta-llama/Llama-3.1-405B-Instruct",
        "meta-llama/Llama-3.2-1B-Instruct", "meta-llama/Llama-3.2-3B-Instruct", "meta-llama/Llama-3.3-70B-Instruct",
        "Qwen/Qwen3-0.6B", "Qwen/Qwen3-1.7B", "Qwen/Qwen3-4B", "Qwen/Qwen3-8B", "Qwen/Qwen3-14B", "Qwen/Qwen3-32B",
        "Qwen/Qwen3-30B-A3B", "Qwen/Qwen3-235B-A22B", "mistralai/Mistral-7B-Instruct-v0.3",
        "mistralai/Mistral-Nemo-Instruct-2407", "mistralai/Mistral-Large-Instruct-2407",
        "mistralai/Mixtral-8x7B-Instruct-v0.1", "mistralai/Mixtral-8x22B-Instruct-v0.1",
        "google/gemma-2-2b-it", "google/gemma-2-9b-it", "google/gemma-2-27b-it",
        "google/gemma-3-1b-it", "google/gemma-3-4b-it", "google/gemma-3-12b-it", "google/gemma-3-27b-it",
    ]:
        assert not model_spec(name).estimated


# --------------------------------------------------------------------------------------------------
# spot checks against datasheets and config.json
# --------------------------------------------------------------------------------------------------

def test_gpu_values_match_datasheets():
    h = gpu_spec("H100 SXM")
    assert (h.hbm_bw_gbs, h.peak_bf16_tflops, h.peak_fp8_tflops, h.tdp_w, h.interconnect_bw_gbs) == \
        (3350, 989, 1979, 700, 900)
    a = gpu_spec("A100-SXM4-40GB")
    assert (a.hbm_bw_gbs, a.peak_bf16_tflops, a.tdp_w, a.interconnect_bw_gbs, a.memory_gb) == (1555, 312, 400, 600, 40)
    assert math.isnan(a.peak_fp8_tflops) and a.peak_int8_tops == 624
    assert gpu_spec("H200").hbm_bw_gbs == 4800 and gpu_spec("H200").memory_gb == 141
    assert gpu_spec("MI300X").peak_bf16_tflops == pytest.approx(1307.4)
    b = gpu_spec("B200")
    assert b.peak_fp4_tflops == 9000 and b.peak_fp8_tflops == 4500 and b.peak_bf16_tflops == 2250


def test_model_values_match_configs():
    m = model_spec("meta-llama/Meta-Llama-3.1-70B-Instruct")
    assert (m.n_layers, m.d_model, m.n_heads, m.n_kv_heads, m.head_dim) == (80, 8192, 64, 8, 128)
    assert m.params_b == pytest.approx(70.6, abs=0.1) and m.architecture == "dense"
    x = model_spec("mistralai/Mixtral-8x7B-Instruct-v0.1")
    assert x.params_b == pytest.approx(46.7, abs=0.05) and x.active_params_b == pytest.approx(12.9, abs=0.05)
    assert (x.n_experts, x.experts_per_token, x.architecture) == (8, 2, "moe")
    x22 = model_spec("mixtral-8x22b")
    assert x22.params_b == pytest.approx(141, abs=0.5) and x22.active_params_b == pytest.approx(39, abs=0.5)
    q = model_spec("Qwen/Qwen3-235B-A22B")
    assert (q.n_layers, q.d_model, q.n_heads, q.n_kv_heads, q.n_experts, q.experts_per_token) == (94, 4096, 64, 4, 128, 8)
    assert q.active_params_b == pytest.approx(22, abs=0.3)
    assert model_spec("Qwen/Qwen3-30B-A3B").active_params_b == pytest.approx(3.3, abs=0.1)
    g = model_spec("google/gemma-2-27b-it")
    assert (g.n_layers, g.d_model, g.n_heads, g.n_kv_heads, g.head_dim) == (46, 4608, 32, 16, 128)
    n = model_spec("mistralai/Mistral-Nemo-Instruct-2407")
    assert n.head_dim == 128 and n.d_model == 5120 and n.n_heads == 32  # head_dim != d_model / n_heads
    assert model_spec("meta-llama/Llama-3.1-405B-Instruct").n_layers == 126
    assert model_spec("meta-llama/Llama-3.2-1B-Instruct").head_dim == 64
    assert model_spec("google/codegemma-1.1-2b").n_kv_heads == 1
    assert model_spec("llava-hf/llava-1.5-7b-hf").image_tokens_per_image == 576
    assert model_spec("facebook/chameleon-30b").image_tokens_per_image == 1024


# --------------------------------------------------------------------------------------------------
# lookups
# --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["NVIDIA A100-SXM4-40GB", "a100-sxm4-40gb", "A100_SXM4_40GB", "a100 40gb",
                                  "A100 SXM4 40GB", "nvidia a100.sxm4.40gb"])
def test_gpu_lookup_tolerant(name):
    assert gpu_spec(name).name == "A100-SXM4-40GB"


def test_gpu_lookup_nvml_names():
    assert gpu_spec("NVIDIA H100 80GB HBM3").name == "H100-SXM5-80GB"
    assert gpu_spec("NVIDIA H100 PCIe").name == "H100-PCIe-80GB"
    assert gpu_spec("NVIDIA H200").name == "H200-SXM-141GB"
    assert gpu_spec("h100-80gb").name == "H100-SXM5-80GB"  # Splitwise spelling (DGX H100)
    assert gpu_spec("a100-80gb").name == "A100-SXM4-80GB"


def test_unknown_gpu_lists_close_matches():
    with pytest.raises(UnknownGpuError) as ei:
        gpu_spec("H100 SXM 94GB")
    msg = str(ei.value)
    assert "H100 SXM 94GB" in msg and "Close matches" in msg and "H100-SXM5-80GB" in msg
    close = msg.split("Close matches: ")[1].split(".")[0].split(", ")
    assert 1 <= len(close) <= 5
    assert isinstance(ei.value, KeyError)


@pytest.mark.parametrize("name", ["meta-llama/Meta-Llama-3.1-8B-Instruct", "META-LLAMA/META-LLAMA-3.1-8B-INSTRUCT",
                                  "Meta-Llama-3.1-8B-Instruct", "meta_llama_3_1_8b_instruct",
                                  "meta-llama/Llama-3.1-8B-Instruct", "llama-3.1-8b", "someorg/Llama-3.1-8B"])
def test_model_lookup_tolerant(name):
    spec = model_spec(name)
    assert spec.name == "meta-llama/Meta-Llama-3.1-8B-Instruct" and not spec.estimated


def test_model_lookup_variants_resolve_to_base():
    assert model_spec("Qwen/Qwen3-8B-FP8").name == "Qwen/Qwen3-8B"
    assert model_spec("Qwen/Qwen3-8B-AWQ").name == "Qwen/Qwen3-8B"
    assert model_spec("google/gemma-3-27b-pt").name == "google/gemma-3-27b-it"
    assert model_spec("llama2-70b").name == "meta-llama/Llama-2-70b-hf"
    assert model_spec("bloom-176b").params_b == pytest.approx(176.2, abs=0.1)


def test_unknown_model_without_params_raises_with_close_matches():
    with pytest.raises(UnknownModelError) as ei:
        model_spec("meta-llama/Llama-3.1-9B-Instruct")
    msg = str(ei.value)
    assert "Llama-3.1-9B" in msg and "Close matches" in msg and "Meta-Llama-3.1-8B-Instruct" in msg
    assert "params_b" in msg


def test_unknown_model_with_params_estimates_and_warns():
    with pytest.warns(EstimatedArchitectureWarning, match="Close matches") as rec:
        spec = model_spec("acme/Llama-3.1-13B-Custom", 13.0)
    assert issubclass(rec[0].category, UserWarning)
    assert spec.estimated and spec.name == "acme/Llama-3.1-13B-Custom" and spec.params_b == 13.0
    assert spec.head_dim == 128 and spec.n_kv_heads == 8 and spec.n_heads * 128 == spec.d_model
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert model_spec("acme/x", 13.0, warn=False).estimated


def test_known_model_ignores_params_and_does_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        spec = model_spec("Qwen/Qwen3-8B", params_b=123.0)
    assert spec.params_b == pytest.approx(8.19, abs=0.01) and not spec.estimated


# --------------------------------------------------------------------------------------------------
# precision helpers
# --------------------------------------------------------------------------------------------------

def test_bytes_per_param():
    assert bytes_per_param("fp32") == 4
    assert bytes_per_param("fp16") == bytes_per_param("BF16") == bytes_per_param("bfloat16") == 2
    assert bytes_per_param("fp8") == bytes_per_param("int8") == 1
    # 4-bit formats carry their block scales: 4 bits + 8/32 (mxfp4) or 16/128 + zero point (int4)
    assert bytes_per_param("int4") == bytes_per_param("mxfp4") == bytes_per_param("AWQ") == 0.53125
    assert bytes_per_param("nvfp4") == 0.5625  # 4 bits + one FP8 scale per 16 weights
    with pytest.raises(ValueError, match="unknown precision"):
        bytes_per_param("fp12")


def test_peak_flops_at_the_compute_precision():
    h100 = gpu_spec("H100 SXM")
    assert h100.peak_flops("bf16") == 989e12 and h100.peak_flops("fp16") == 989e12
    assert h100.peak_flops("fp8") == 1979e12 and h100.peak_flops("int8") == 1979e12
    assert h100.peak_flops("fp32") == 67e12
    # no FP4 tensor cores: mxfp4 weights are dequantised and multiplied in bf16; W4A16 is always 16-bit
    assert h100.peak_flops("mxfp4") == 989e12 and h100.peak_flops("int4") == 989e12
    a100 = gpu_spec("A100 40GB")
    assert a100.peak_flops("fp8") == 312e12  # no FP8 tensor cores: W8A16 at the bf16 peak
    assert a100.peak_flops("int8") == 624e12 and a100.peak_flops("int4") == 312e12
    # nvfp4 checkpoints run W4A4 on FP4 tensor cores; mxfp4 (gpt-oss) W4A16, vLLM's default on Blackwell too
    assert gpu_spec("B200").peak_flops("nvfp4") == 9000e12 and gpu_spec("B200").peak_flops("mxfp4") == 2250e12
    v100 = gpu_spec("V100 32GB")
    assert v100.peak_flops("bf16") == 125e12  # no bf16: fp16
    with pytest.raises(ValueError, match="unknown precision 'fp12'; expected one of fp32, "):
        h100.peak_flops("fp12")


def test_specs_are_frozen():
    with pytest.raises(AttributeError):
        gpu_spec("L4").tdp_w = 1  # type: ignore[misc]
    with pytest.raises(AttributeError):
        model_spec("Qwen/Qwen3-8B").n_layers = 1  # type: ignore[misc]
    assert isinstance(gpu_spec("L4"), GpuSpec) and isinstance(model_spec("Qwen/Qwen3-8B"), ModelSpec)


def test_tables_are_copies():
    g = gpus()
    g.loc[0, "tdp_w"] = -1
    assert gpus().loc[0, "tdp_w"] > 0


# --------------------------------------------------------------------------------------------------
# the architecture estimate
# --------------------------------------------------------------------------------------------------

def _dense_text_models() -> pd.DataFrame:
    m = models()
    m = m[(m["architecture"] == "dense") & m["image_tokens_per_image"].isna()]
    return m.drop_duplicates(subset=["params_b", "n_layers", "d_model", "n_heads", "n_kv_heads"])


def test_estimate_within_30_percent_on_table_dense_models():
    m = _dense_text_models()
    d_err, l_err = [], []
    for row in m.itertuples(index=False):
        e = estimate_architecture(row.params_b)
        d_err.append(abs(e.d_model / row.d_model - 1))
        l_err.append(abs(e.n_layers / row.n_layers - 1))
    d_err, l_err = np.array(d_err), np.array(l_err)
    # typical model: well within 30 %
    assert np.median(d_err) < 0.15 and np.median(l_err) < 0.15
    # at least 85 % of the dense models within 30 % on each
    assert (d_err <= 0.30).mean() >= 0.85 and (l_err <= 0.30).mean() >= 0.85
    # nothing wildly off (documented outliers: Gemma's wide MLPs, sub-1B models)
    assert d_err.max() < 0.5 and l_err.max() < 0.5


def test_estimate_shape_rules():
    for p in (0.1, 1, 7, 70, 400, 2000):
        e = estimate_architecture(p)
        assert e.estimated and e.architecture == "dense" and e.params_b == p == e.active_params_b
        assert e.d_model % 128 == 0 and e.d_model == e.n_heads * e.head_dim and e.n_heads % e.n_kv_heads == 0
        assert e.n_kv_heads == min(8, e.n_heads) and e.n_layers >= 1
        if e.n_heads >= 8:  # a GQA layout every TP up to 8 divides (the search's tp_heads rule); heads 64 to 128 wide
            assert e.n_heads % 8 == 0 and 64 < e.head_dim <= 128
        else:
            assert e.head_dim == 128
    # below 32 heads of 128 (~8 B) the width is split into 8, 16 or 32 heads; until 2026-12-05 1 B had 13 heads
    # and 8 B 30, over 8 KV heads, which no GQA model has
    assert [(estimate_architecture(p).n_heads, estimate_architecture(p).head_dim) for p in (1, 3, 8, 14)] == [
        (16, 104), (32, 80), (32, 120), (40, 128)]
    for p in (30, 34, 40, 100):  # plain rounding gave 51, 53, 57, 83 heads: no TP above 1 fitted them
        assert estimate_architecture(p).n_heads % 8 == 0
    assert estimate_architecture(70).d_model > estimate_architecture(7).d_model
    with pytest.raises(ValueError, match="params_b must be a positive number of billions, got 0"):
        estimate_architecture(0)
    with pytest.raises(ValueError, match="params_b must be a positive number of billions, got nan"):
        estimate_architecture(float("nan"))


def test_estimate_refuses_an_architecture_no_model_has():
    # until 2026-12-06 "denso" (or "MoE-ish") was taken as dense, where ModelSpec(architecture="denso") refuses it
    for bad in ("denso", "moe-ish", ""):
        with pytest.raises(ValueError, match=f"architecture '{bad}' is not one of dense, moe, hybrid"):
            estimate_architecture(8.0, bad)
    assert [estimate_architecture(8.0, k).architecture for k in ("dense", " MoE", "HYBRID")] == ["dense", "moe", "hybrid"]


def test_estimate_of_a_moe_is_sized_by_its_active_parameters():
    m = models()
    m = m[m["architecture"] == "moe"].drop_duplicates(subset=["params_b", "n_layers", "d_model"])
    by_active, by_total = [], []
    for row in m.itertuples(index=False):
        e = estimate_architecture(row.params_b, "moe", row.active_params_b)
        assert e.architecture == "moe" and e.estimated and e.active_params_b == row.active_params_b
        # routing from the active share: within ~2x of the real k/E (Kimi K2, a 3.2 % active share of 1 T
        # whose estimate is top-1 of 128 against 8 of 384, is the low end: 0.375), and a positive dense part
        ratio = (e.experts_per_token / e.n_experts) / (row.experts_per_token / row.n_experts)
        assert 0.35 < ratio < 2.5, (row.name, e.experts_per_token, e.n_experts)
        assert row.params_b - (row.params_b - row.active_params_b) / (1 - e.experts_per_token / e.n_experts) > 0
        by_active.append(abs(e.n_layers / row.n_layers - 1) + abs(e.d_model / row.d_model - 1))
        t = estimate_architecture(row.params_b)
        by_total.append(abs(t.n_layers / row.n_layers - 1) + abs(t.d_model / row.d_model - 1))
    # the active count is the better size of the layers on the table's own MoE rows (docs/reference-tables.md)
    assert np.median(by_active) < np.median(by_total)
    # a tiny active share: top-1 of more experts, the dense part still positive
    e = estimate_architecture(1000, "moe", 5)
    assert e.experts_per_token == 1 and 0 < 1000 - 995 / (1 - 1 / e.n_experts) < 5
    # an active count above the total, or none, falls back to the total (and 8 of 128 experts)
    assert (estimate_architecture(30, "moe").n_experts, estimate_architecture(30, "moe").experts_per_token) == (128, 8)
    assert estimate_architecture(30, "moe", 40).active_params_b == 30
    assert estimate_architecture(30, "moe").d_model == estimate_architecture(30).d_model


def test_estimate_of_a_hybrid_keeps_few_attention_layers_and_a_state():
    for row in models()[lambda d: d["architecture"] == "hybrid"].itertuples(index=False):
        e = estimate_architecture(row.params_b, "hybrid")
        assert e.architecture == "hybrid" and 1 <= e.n_attention_layers < e.n_layers / 6
        assert e.conv_state_elems_per_seq < e.state_elems_per_seq
        # within 2x of the real model's state (the rule's two source rows)
        assert 0.5 < e.state_elems_per_seq / row.state_elems_per_seq < 2.0


def test_profile_rows_of_unknown_moe_and_hybrid_models_get_their_kind():
    from energylens.profiles import load_profiles
    from energylens.profiles.features import build_features
    df = pd.DataFrame({"model": ["acme/MoE-X", "acme/Hybrid-Y", "acme/Dense-Z"], "params_b": [300.0, 12.0, 12.0],
                       "active_params_b": [20.0, 12.0, 12.0], "architecture": ["moe", "hybrid", "dense"],
                       "gpu": ["B200"] * 3, "tp": [4, 1, 1], "pp": [1, 1, 1], "dp": [2, 1, 1], "ep": [8, 1, 1],
                       "batch_size": [64.0, 8.0, 8.0], "input_tokens": [500.0] * 3, "output_tokens": [300.0] * 3,
                       "energy_j": [100.0] * 3})
    with pytest.warns(EstimatedArchitectureWarning):
        prof = load_profiles(df)
    est = estimate_architecture(300, "moe", 20)
    assert prof["n_experts"].tolist() == [est.n_experts, 1, 1]
    assert prof["experts_per_token"].tolist() == [est.experts_per_token, 1, 1]
    assert prof["d_model"].iloc[0] == estimate_architecture(300, "moe", 20).d_model
    f = build_features(prof)
    assert all(np.isfinite(v).all() for v in f.values())
    assert f["state_bytes_per_seq"][1] > 0 and f["state_bytes_per_seq"][2] == 0
    assert f["kv_bytes_per_token"][1] < f["kv_bytes_per_token"][2] / 5  # attention in 1 of 12 layers
    assert f["moe_layers"][0] > 0


def test_vocab_and_tied_embeddings_match_the_parameter_counts():
    """Every dense row with an FFN width: n_layers x (attention + gated MLP) + vocab_size x d_model x (1 tied,
    2 untied) is its params_b (less its vision encoder) within 1 %, so a wrong vocabulary or tie flag (which
    move the bf16 share the memory check counts beside a quantised format) shows up."""
    m = models()
    assert m["tie_word_embeddings"].dropna().isin([0, 1]).all()
    rows = m[(m["architecture"] == "dense") & m["intermediate_size"].notna() & m["vocab_size"].notna()]
    assert len(rows) >= 60
    for r in rows.itertuples():
        q, kv = r.n_heads * r.head_dim, r.n_kv_heads * r.head_dim
        body = r.n_layers * (2 * r.d_model * q + 2 * r.d_model * kv + 3 * r.d_model * r.intermediate_size)
        vision = 0.0 if math.isnan(r.vision_params_b) else r.vision_params_b * 1e9
        emb = r.vocab_size * r.d_model * (1 if r.tie_word_embeddings else 2)
        assert body + emb + vision == pytest.approx(r.params_b * 1e9, rel=0.01), r.name
