"""Profile rows read the architecture of today's models from their Hugging Face configs as the model
table states it (MLA, routed experts under every spelling, dense first layers, sliding windows, Mamba-2
and Gated DeltaNet hybrids), so a model the table lacks is costed from what the profiler recorded."""

from __future__ import annotations

import math

import numpy as np
import pytest

from energylens.profiles import tables
from energylens.profiling.hf_config import SHAPE_COLUMNS, architecture_columns

pytestmark = pytest.mark.torch  # reads configs with transformers
transformers = pytest.importorskip("transformers")


def _nemotron_nano_9b_v2():
    # 56 layers: 27 Mamba-2, 4 attention, 25 MLP (the counts of nvidia/NVIDIA-Nemotron-Nano-9B-v2's pattern)
    pattern = ("M-" * 25 + "M*" * 2 + "**")[:56]
    assert (pattern.count("M"), pattern.count("*"), len(pattern)) == (27, 4, 56)
    return transformers.NemotronHConfig(num_hidden_layers=56, hybrid_override_pattern=pattern, hidden_size=4480,
                                        num_attention_heads=40, num_key_value_heads=8, head_dim=128,
                                        mamba_num_heads=128, mamba_head_dim=80, ssm_state_size=128, n_groups=8,
                                        conv_kernel=4)


CONFIGS = {  # the table's model -> its config (transformers' defaults where they are that model's values)
    "deepseek-ai/DeepSeek-V3": lambda: transformers.DeepseekV3Config(),
    "Qwen/Qwen3-Next-80B-A3B-Instruct": lambda: transformers.Qwen3NextConfig(),
    "openai/gpt-oss-20b": lambda: transformers.GptOssConfig(num_hidden_layers=24, num_local_experts=32,
                                                            num_attention_heads=64, num_key_value_heads=8,
                                                            head_dim=64, hidden_size=2880),
    "google/gemma-3-12b-it": lambda: transformers.Gemma3TextConfig(num_hidden_layers=48, sliding_window=1024,
                                                                   hidden_size=3840, num_attention_heads=16,
                                                                   num_key_value_heads=8, head_dim=256),
    "nvidia/NVIDIA-Nemotron-Nano-9B-v2": _nemotron_nano_9b_v2,
}


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_config_columns_equal_the_model_table(name):
    got = architecture_columns(CONFIGS[name](), params_b=1.0)
    spec = tables.find_model(name)
    compared = 0
    for col in SHAPE_COLUMNS:
        table = getattr(spec, col, math.nan)
        if col in got and isinstance(table, (int, float)) and math.isfinite(table):
            assert got[col] == pytest.approx(table, rel=1e-12), col
            compared += 1
        elif col in got and col not in ("n_layers", "d_model", "n_heads", "n_kv_heads", "head_dim"):
            assert not math.isfinite(got[col]), (col, got[col])  # the table says "all layers" / none
    assert compared >= 6
    assert got["architecture"] == spec.architecture


def test_mla_head_is_the_q_k_head_not_transformers_rope_part():
    c = transformers.DeepseekV3Config()
    assert c.head_dim == 64  # transformers' own head_dim is the rope part
    got = architecture_columns(c, params_b=671.026)
    assert (got["head_dim"], got["kv_lora_rank"], got["qk_rope_head_dim"]) == (192.0, 512.0, 64.0)
    assert (got["n_experts"], got["experts_per_token"], got["n_moe_layers"]) == (256.0, 8.0, 58.0)
    # the active count follows from the routing (58 MoE layers x 248 skipped experts x 3 x 7168 x 2048), the
    # table's 37.552 (was NaN, and the loader then took all 671 B as active)
    assert got["architecture"] == "moe" and got["active_params_b"] == pytest.approx(37.552, rel=1e-3)


def test_moe_layer_spellings():
    maverick = transformers.Llama4TextConfig(num_hidden_layers=48, interleave_moe_layer_step=2, num_local_experts=128)
    assert architecture_columns(maverick, 400.0)["n_moe_layers"] == 24.0
    qwen = transformers.Qwen3MoeConfig(num_hidden_layers=8, num_experts=16, mlp_only_layers=[0, 1])
    assert architecture_columns(qwen, 1.0)["n_moe_layers"] == 6.0
    assert math.isnan(architecture_columns(transformers.Qwen3MoeConfig(num_hidden_layers=8), 1.0)["n_moe_layers"])


def test_dense_model_and_multimodal_wrapper():
    llama = transformers.LlamaConfig(num_hidden_layers=4, hidden_size=256, num_attention_heads=8, num_key_value_heads=2)
    got = architecture_columns(llama, 0.1)
    assert got["architecture"] == "dense" and got["head_dim"] == 32.0 and got["active_params_b"] == 0.1
    assert "kv_lora_rank" not in got and "n_attention_layers" not in got
    vl = transformers.Qwen3VLConfig(text_config={"num_hidden_layers": 4, "hidden_size": 256,
                                                 "num_attention_heads": 8, "num_key_value_heads": 2, "head_dim": 32})
    assert architecture_columns(vl, 0.1)["n_layers"] == 4.0


def test_vocabulary_columns_of_a_plain_and_a_multimodal_config():
    """vocab_size and tie_word_embeddings set the lm_head a decode step streams (step_weights): a sweep of a model
    the table lacks recorded neither, so its features kept the input embedding as streamed weight."""
    tied = architecture_columns(transformers.LlamaConfig(num_hidden_layers=2, hidden_size=64, num_attention_heads=4,
                                                         vocab_size=1000, tie_word_embeddings=True), 0.1)
    assert tied["vocab_size"] == 1000.0 and tied["tie_word_embeddings"] == 1.0
    vl = transformers.Qwen3VLConfig(text_config={"num_hidden_layers": 2, "hidden_size": 64, "num_attention_heads": 4,
                                                 "num_key_value_heads": 2, "head_dim": 16, "vocab_size": 2000})
    got = architecture_columns(vl, 0.1)
    assert got["vocab_size"] == 2000.0 and got["tie_word_embeddings"] in (0.0, 1.0)


def test_recorded_columns_reach_the_features():
    """A DeepSeek-shaped model the table lacks is costed from its recorded columns alone exactly as the
    table's DeepSeek-V3 is: every feature equal (MLA latent, experts, dense first layers, fp8 blocks)."""
    import warnings

    import pandas as pd

    from energylens.profiles.features import build_features

    config = transformers.DeepseekV3Config(quantization_config={"quant_method": "fp8", "weight_block_size": [128, 128]})
    spec = tables.find_model("deepseek-ai/DeepSeek-V3")
    cols = architecture_columns(config, params_b=spec.params_b) | {"active_params_b": spec.active_params_b}
    assert cols["fp8_weight_block"] == 128.0
    row = {"params_b": spec.params_b, "gpu": "H200", "tp": 8, "pp": 1, "batch_size": 64, "input_tokens": 1000,
           "output_tokens": 1000, "precision": "fp8", **cols}
    table = build_features(pd.DataFrame([{**row, "model": "deepseek-ai/DeepSeek-V3"}]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing estimated: the recorded columns say it all
        unknown = build_features(pd.DataFrame([{**row, "model": "someone/deepseek-shaped-671b"}]))
    for name, col in table.items():
        assert unknown[name] == pytest.approx(col, rel=1e-12), name
    flat = build_features(pd.DataFrame([{**row, "model": "someone/deepseek-shaped-671b", "head_dim": 64.0,
                                         "kv_lora_rank": math.nan, "qk_rope_head_dim": math.nan}]))
    assert flat["kv_bytes_per_token"][0] != pytest.approx(table["kv_bytes_per_token"][0], rel=0.01)


@pytest.mark.parametrize(("name", "config", "want"), [
    # vLLM's default max_model_len: DeepSeek-V3 is yarn x40 over 4096; Llama 3.1's llama3 scaling extrapolates
    # by itself (131072 as given); the FFN widths as the model table states them
    ("deepseek-ai/DeepSeek-V3", lambda: transformers.DeepseekV3Config(
        max_position_embeddings=163840, rope_scaling={"type": "yarn", "factor": 40, "original_max_position_embeddings": 4096,
                                                      "beta_fast": 32, "beta_slow": 1, "mscale": 1.0, "mscale_all_dim": 1.0}),
     (163840.0, 18432.0, 2048.0, 2048.0)),
    ("meta-llama/Llama-3.1-8B-Instruct", lambda: transformers.LlamaConfig(
        max_position_embeddings=131072, intermediate_size=14336,
        rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                      "original_max_position_embeddings": 8192}), (131072.0, 14336.0, math.nan, math.nan)),
    ("Qwen/Qwen3-30B-A3B", lambda: transformers.Qwen3MoeConfig(
        max_position_embeddings=40960, intermediate_size=6144, moe_intermediate_size=768, num_experts=128),
     (40960.0, math.nan, 768.0, math.nan)),
    ("mistralai/Mixtral-8x7B-Instruct-v0.1", lambda: transformers.MixtralConfig(
        max_position_embeddings=32768, intermediate_size=14336), (32768.0, math.nan, 14336.0, math.nan)),
    # a shared expert of its own width (Qwen3-Next), and Llama 4's one shared expert of the routed width
    ("Qwen/Qwen3-Next-80B-A3B-Instruct", lambda: transformers.Qwen3NextConfig(
        max_position_embeddings=262144, hidden_size=2048, num_attention_heads=16, num_key_value_heads=2, head_dim=256,
        num_hidden_layers=48, num_experts=512, num_experts_per_tok=10, moe_intermediate_size=512,
        shared_expert_intermediate_size=512, intermediate_size=5120),
     (262144.0, math.nan, 512.0, 512.0)),
    ("meta-llama/Llama-4-Scout-17B-16E-Instruct", lambda: transformers.Llama4TextConfig(
        max_position_embeddings=10485760, intermediate_size=8192, intermediate_size_mlp=16384, num_local_experts=16,
        interleave_moe_layer_step=1, rope_scaling={"rope_type": "llama3", "factor": 16.0, "low_freq_factor": 1.0,
                                                   "high_freq_factor": 1.0, "original_max_position_embeddings": 8192}),
     (10485760.0, math.nan, 8192.0, 8192.0)),
])
def test_serving_limit_columns_equal_the_model_table(name, config, want):
    """A model the table lacks had no context window or FFN widths in its profile rows, so the search and
    predict could not apply the context-length and fp8 weight-block rules to it."""
    got = architecture_columns(config(), params_b=1.0)
    cols = ("context_window_tokens", "intermediate_size", "moe_intermediate_size", "shared_expert_intermediate_size")
    values = tuple(got.get(c, math.nan) for c in cols)
    np.testing.assert_array_equal(values, want)
    spec = tables.find_model(name)
    np.testing.assert_array_equal(values, [float(getattr(spec, c)) for c in cols])
