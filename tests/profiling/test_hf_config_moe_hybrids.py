"""A sweep's profile row of a MoE or hybrid the model table lacks takes its active parameters, MoE layers, chunked
attention and recurrent state from the checkpoint's config.json (profiling/hf_config.py, hf_experts.py).

Until 2026-12-07: a MoE row carried no ``active_params_b`` and the loader filled it with ``params_b`` without a
word (priced as dense: every expert's weights streamed per token); Jamba's ``expert_layer_period`` was not read
(all 32 layers MoE, where 16 are); Llama 4's chunked attention (``attention_chunk_size`` on the layers
``no_rope_layers`` marks rope) was full attention; Falcon-H1 and Zamba2 had no recurrent state at all.

The configs are hand-written dicts of the public config.json fields of each model (no download), read as plain
JSON (the reader takes any object with the config's names, as the transformers tests do with the real classes).
"""

from __future__ import annotations

import json
import math
import types
import warnings

import pandas as pd
import pytest

from energylens.profiles import load_profiles, tables
from energylens.profiling.hf_config import architecture_columns

#: Qwen/Qwen3-30B-A3B config.json (public: 30.5 B total, 3.3 B active).
QWEN3_30B_A3B = {"model_type": "qwen3_moe", "num_hidden_layers": 48, "hidden_size": 2048, "intermediate_size": 6144,
                 "moe_intermediate_size": 768, "num_attention_heads": 32, "num_key_value_heads": 4, "head_dim": 128,
                 "num_experts": 128, "num_experts_per_tok": 8, "decoder_sparse_step": 1, "mlp_only_layers": [],
                 "vocab_size": 151936, "tie_word_embeddings": False, "max_position_embeddings": 40960}
#: mistralai/Mixtral-8x7B-v0.1 (46.7 B / 12.9 B).
MIXTRAL_8X7B = {"model_type": "mixtral", "num_hidden_layers": 32, "hidden_size": 4096, "intermediate_size": 14336,
                "num_attention_heads": 32, "num_key_value_heads": 8, "num_local_experts": 8, "num_experts_per_tok": 2,
                "vocab_size": 32000, "tie_word_embeddings": False, "max_position_embeddings": 32768}
#: openai/gpt-oss-120b (117 B; OpenAI's 5.1 B active leaves out the input embedding, the table's rows hold it).
GPT_OSS_120B = {"model_type": "gpt_oss", "num_hidden_layers": 36, "hidden_size": 2880, "intermediate_size": 2880,
                "num_attention_heads": 64, "num_key_value_heads": 8, "head_dim": 64, "num_local_experts": 128,
                "experts_per_token": 4, "num_experts_per_tok": 4, "sliding_window": 128, "attention_bias": True,
                "layer_types": ["sliding_attention", "full_attention"] * 18, "vocab_size": 201088,
                "tie_word_embeddings": False, "max_position_embeddings": 131072}
#: ai21labs/Jamba-v0.1 (52 B total, 12 B active): attention in 1 layer of 8, MoE in every 2nd.
JAMBA = {"model_type": "jamba", "num_hidden_layers": 32, "hidden_size": 4096, "intermediate_size": 14336,
         "num_attention_heads": 32, "num_key_value_heads": 8, "num_experts": 16, "num_experts_per_tok": 2,
         "attn_layer_period": 8, "attn_layer_offset": 4, "expert_layer_period": 2, "expert_layer_offset": 1,
         "mamba_d_state": 16, "mamba_d_conv": 4, "mamba_expand": 2, "mamba_dt_rank": 256, "vocab_size": 65536,
         "tie_word_embeddings": False, "max_position_embeddings": 262144}
#: meta-llama/Llama-4-Scout-17B-16E-Instruct's text_config (chunked attention on 3 layers of 4).
LLAMA4_SCOUT_TEXT = {"model_type": "llama4_text", "num_hidden_layers": 48, "hidden_size": 5120,
                     "intermediate_size": 8192, "intermediate_size_mlp": 16384, "num_attention_heads": 40,
                     "num_key_value_heads": 8, "head_dim": 128, "num_local_experts": 16, "num_experts_per_tok": 1,
                     "interleave_moe_layer_step": 1, "attention_chunk_size": 8192, "no_rope_layers": [],
                     "vocab_size": 202048, "max_position_embeddings": 10485760}
#: tiiuae/Falcon-H1-1.5B-Instruct's shape (attention and Mamba-2 side by side in each of 24 layers).
FALCON_H1 = {"model_type": "falcon_h1", "num_hidden_layers": 24, "hidden_size": 2048, "num_attention_heads": 8,
             "num_key_value_heads": 2, "head_dim": 128, "intermediate_size": 8192, "mamba_d_ssm": 3072,
             "mamba_n_heads": 48, "mamba_d_head": 64, "mamba_d_state": 256, "mamba_n_groups": 1,
             "mamba_d_conv": 4, "mamba_expand": 2, "vocab_size": 65537, "max_position_embeddings": 131072}
#: Zyphra/Zamba2-2.7B's shape: 54 Mamba-2 layers, 9 of them also run a shared attention block (on 2 x hidden).
ZAMBA2_TYPES = (["mamba"] * 5 + ["hybrid"]) * 9
ZAMBA2 = {"model_type": "zamba2", "num_hidden_layers": 54, "hidden_size": 2560, "num_attention_heads": 32,
          "num_key_value_heads": 32, "attention_head_dim": 160, "layers_block_type": ZAMBA2_TYPES,
          "hybrid_layer_ids": [i for i, t in enumerate(ZAMBA2_TYPES) if t == "hybrid"], "num_mem_blocks": 2,
          "mamba_d_state": 64, "mamba_d_conv": 4, "mamba_expand": 2, "mamba_headdim": 64, "n_mamba_heads": 80,
          "mamba_ngroups": 1,
          "intermediate_size": 10240, "vocab_size": 32000, "max_position_embeddings": 4096}


@pytest.fixture(params=["json", "transformers"])
def read(request, tmp_path):
    """``read(config)``: a config.json written and read back as plain JSON (``text_config`` nested too), or as the
    profiler reads a checkpoint's (transformers' AutoConfig, which fills ``layer_types`` and defaults itself)."""
    reader = request.param
    if reader == "transformers":
        transformers = pytest.importorskip("transformers")

    def load(config: dict):
        path = tmp_path / "config.json"
        path.write_text(json.dumps(config))
        if reader == "transformers":
            return transformers.AutoConfig.from_pretrained(tmp_path)
        return json.loads(path.read_text(), object_hook=lambda d: types.SimpleNamespace(**d))
    return load


@pytest.mark.parametrize(("config", "name", "total", "public_active"), [
    (QWEN3_30B_A3B, "Qwen/Qwen3-30B-A3B", 30.532, 3.3), (MIXTRAL_8X7B, "mistralai/Mixtral-8x7B-Instruct-v0.1", 46.703, 12.9),
    (GPT_OSS_120B, "openai/gpt-oss-120b", 116.829, 5.13 + 201088 * 2880 / 1e9)])
def test_moe_active_params_follow_from_the_routing(read, config, name, total, public_active):
    """Active = the checkpoint's total (the safetensors count; gpt-oss-120b's 116.829 B holds the experts' biases,
    which the table's 116.789 leaves out) less the routed experts a token skips (n_moe_layers x (E - k) x one
    expert): the model table's count (to 0.1 %) and the public one (to 3 %; OpenAI's 5.13 B for gpt-oss leaves out
    the input embedding, which the table's counts hold)."""
    spec = tables.model_spec(name)
    got = architecture_columns(read(config), params_b=total)
    assert got["architecture"] == "moe"
    assert got["active_params_b"] == pytest.approx(spec.active_params_b, rel=1e-3)
    assert got["active_params_b"] == pytest.approx(public_active, rel=0.03)


def _load(model, columns):
    frame = pd.DataFrame([{"model": model, "gpu": "H100", "precision": "bf16", "tp": 1, "batch_size": 8,
                           "input_tokens": 1024, "output_tokens": 256, "energy_j": 1.0, **columns}])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rows = load_profiles(frame)
    return rows, [str(w.message) for w in caught]


def test_a_swept_moe_the_table_lacks_is_not_priced_as_dense(read):
    """The row a sweep writes keeps its derived active count through the loader; a MoE row without one (written
    by hand, or a config without the expert width) is still taken at params_b, now with a warning naming it."""
    columns = architecture_columns(read(QWEN3_30B_A3B), params_b=30.532)
    rows, _ = _load("acme/qwen3-30b-a3b-ft", columns)
    assert rows["active_params_b"].iloc[0] == pytest.approx(3.353, rel=1e-3)
    rows, said = _load("acme/qwen3-30b-a3b-ft", {**columns, "active_params_b": math.nan})
    assert rows["active_params_b"].iloc[0] == 30.532
    assert any("acme/qwen3-30b-a3b-ft" in s and "active_params_b" in s for s in said), said


def test_moe_without_an_expert_width_leaves_active_unknown():
    """No width key (a plain config object; transformers' classes fill their defaults): nothing to subtract, so NaN
    (the loader's warning), never params_b as if dense; nor where the subtraction leaves no more than the k routed
    experts alone (params_b not the checkpoint's: here 10 B for Mixtral's 46.7 B)."""
    config = {k: v for k, v in MIXTRAL_8X7B.items() if k != "intermediate_size"}
    assert math.isnan(architecture_columns(types.SimpleNamespace(**config), params_b=46.703)["active_params_b"])
    assert math.isnan(architecture_columns(types.SimpleNamespace(**MIXTRAL_8X7B), params_b=10.0)["active_params_b"])


def test_jamba_moe_every_second_layer(read):
    """expert_layer_period 2 / offset 1: 16 MoE layers of 32 (the other 16 dense at intermediate_size), so the
    active count is the public 12 B (all 32 MoE would subtract 79 B from 51.6 B: no count at all)."""
    got = architecture_columns(read(JAMBA), params_b=51.57)
    assert got["n_moe_layers"] == 16 and got["intermediate_size"] == 14336 == got["moe_intermediate_size"]
    assert got["active_params_b"] == pytest.approx(12.0, rel=0.03)
    assert got["layer_pattern"] == "(MMMM*MMM)x4" and got["architecture"] == "moe"


def test_llama4_chunked_attention_is_a_window(read):
    """attention_chunk_size 8192 on the rope layers (no_rope_layers empty: every 4th layer is NoPE, global): the
    KV cache of 36 layers is bounded by the chunk, as the model table's row counts it, placed as S."""
    spec = tables.model_spec("meta-llama/Llama-4-Scout-17B-16E-Instruct")
    wrapped = {"model_type": "llama4", "text_config": LLAMA4_SCOUT_TEXT}
    for config in (LLAMA4_SCOUT_TEXT, wrapped,
                   {**LLAMA4_SCOUT_TEXT, "no_rope_layers": [int((i + 1) % 4 != 0) for i in range(48)]}):
        got = architecture_columns(read(config), params_b=spec.params_b)
        assert (got["sliding_window"], got["n_sliding_layers"]) == (spec.sliding_window, spec.n_sliding_layers)
        assert got["layer_pattern"] == "(SSS*)x12" == spec.layer_pattern
        assert got["active_params_b"] == pytest.approx(spec.active_params_b + spec.vision_params_b, rel=0.01)
    # transformers' Llama4TextConfig lists the kinds itself
    listed = {**LLAMA4_SCOUT_TEXT, "layer_types": ["chunked_attention", "chunked_attention", "chunked_attention",
                                                   "full_attention"] * 12}
    assert architecture_columns(read(listed), params_b=108.6)["layer_pattern"] == "(SSS*)x12"
    no_chunk = {**LLAMA4_SCOUT_TEXT, "attention_chunk_size": None}  # every layer global: nothing to place
    got = architecture_columns(read(no_chunk), params_b=108.6)
    assert "layer_pattern" not in got and "sliding_window" not in got


def test_falcon_h1_state_in_every_layer(read):
    """Attention and Mamba-2 side by side in all 24 layers: a KV cache in every layer (n_attention_layers 24)
    and the state of 24 Mamba-2 mixers (vLLM's mamba2_state_shape: conv over mamba_d_ssm + 2 x groups x state,
    SSM heads x head_dim x state); the pattern stays blank, as every layer holds the same (the proportional rule
    is then exact)."""
    got = architecture_columns(read(FALCON_H1), params_b=1.55)
    conv = 3 * (3072 + 2 * 1 * 256)
    assert got["architecture"] == "hybrid" and "layer_pattern" not in got
    assert got["state_elems_per_seq"] == 24 * (48 * 64 * 256 + conv) and got["conv_state_elems_per_seq"] == 24 * conv
    assert got["n_attention_layers"] == 24  # every layer: the KV cache of all of them


def test_zamba2_hybrid_layers_hold_attention_and_state(read):
    """Every one of the 54 layers has a Mamba-2 state; the 9 hybrid layers also a KV cache of the shared block
    (head 160 = 2 x hidden / heads, config's attention_head_dim). No pattern: one character per layer cannot say
    a layer holds both (the search spreads the KV cache in proportion)."""
    got = architecture_columns(read(ZAMBA2), params_b=2.7)
    heads = 2 * 2560 // 64
    conv = 3 * (2 * 2560 + 2 * 64)
    assert got["architecture"] == "hybrid" and got["n_attention_layers"] == 9 and got["head_dim"] == 160
    assert got["state_elems_per_seq"] == 54 * (heads * 64 * 64 + conv) and got["conv_state_elems_per_seq"] == 54 * conv
    assert "layer_pattern" not in got


def test_nemotron_h_moe_shared_width_and_ungated_experts(read):
    """Nemotron-H MoE (the Nemotron 3 Nano layout: E layers in hybrid_override_pattern): the shared expert's width is
    moe_shared_expert_intermediate_size (was n_shared_experts x the routed width, half of it here), and a routed
    expert is relu² up and down, 2 x hidden x width per skipped one; a latent MoE (moe_latent_size: experts on a
    projected width) is left unknown rather than guessed."""
    pattern = "MEM*EMEM"
    config = {"model_type": "nemotron_h", "num_hidden_layers": 8, "hybrid_override_pattern": pattern,
              "hidden_size": 1024, "num_attention_heads": 8, "num_key_value_heads": 2, "head_dim": 128,
              "mamba_num_heads": 16, "mamba_head_dim": 64, "ssm_state_size": 128, "n_groups": 8, "conv_kernel": 4,
              "n_routed_experts": 32, "num_experts_per_tok": 4, "n_shared_experts": 1, "moe_intermediate_size": 512,
              "moe_shared_expert_intermediate_size": 1024, "mlp_hidden_act": "relu2", "vocab_size": 1000}
    got = architecture_columns(read(config), params_b=1.0)
    assert got["n_moe_layers"] == 3 and got["shared_expert_intermediate_size"] == 1024
    assert got["active_params_b"] == pytest.approx(1.0 - 3 * 28 * 2 * 1024 * 512 / 1e9, rel=1e-12)
    assert math.isnan(architecture_columns(read({**config, "moe_latent_size": 256}), params_b=1.0)["active_params_b"])
