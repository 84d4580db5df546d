"""A model the table lacks gets its ``layer_pattern`` from its config.json (profiling/hf_config.py), so the
search's per-stage memory check (search/stage_cache.py) places its KV cache and recurrent state by the layers
each pipeline stage holds, as it does for the table's hybrids. Before 2026-12-07 the profile row had no pattern
(every hybrid the table lacks spread in proportion at pp > 1), a Jamba / Bamba config crashed the reading
(transformers 5 calls their Mamba layers ``linear_attention``: read as Gated DeltaNet, AttributeError), and a
Qwen3-Next config.json without ``layer_types`` (only ``full_attention_interval``) had no state at all.
The configs are small dicts written here (no network), read as the profiler reads them."""

from __future__ import annotations

import json
import types
import warnings

import numpy as np
import pandas as pd
import pytest

from energylens.profiles import load_profiles, tables
from energylens.profiling.hf_config import architecture_columns
from energylens.search.memory import gpu_memory

pytestmark = pytest.mark.torch  # reads configs with transformers
transformers = pytest.importorskip("transformers")

NANO9 = "nvidia/NVIDIA-Nemotron-Nano-9B-v2"
NANO9_PATTERN = "M-M-M-MM-M-M-M*-M-M-M*-M-M-M-M*-M-M-M-M*-M-MM-M-M-M-M-M-"
NANO9_CONFIG = {"model_type": "nemotron_h", "num_hidden_layers": 56, "hybrid_override_pattern": NANO9_PATTERN,
                "hidden_size": 4480, "num_attention_heads": 40, "num_key_value_heads": 8, "head_dim": 128,
                "mamba_num_heads": 128, "mamba_head_dim": 80, "ssm_state_size": 128, "n_groups": 8,
                "conv_kernel": 4, "intermediate_size": 15680, "vocab_size": 131072, "tie_word_embeddings": False,
                "max_position_embeddings": 131072}
QWEN3_NEXT_CONFIG = {"model_type": "qwen3_next", "num_hidden_layers": 48, "full_attention_interval": 4,
                     "hidden_size": 2048, "num_attention_heads": 16, "num_key_value_heads": 2, "head_dim": 256,
                     "linear_num_key_heads": 16, "linear_num_value_heads": 32, "linear_key_head_dim": 128,
                     "linear_value_head_dim": 128, "linear_conv_kernel_dim": 4, "num_experts": 512,
                     "num_experts_per_tok": 10, "moe_intermediate_size": 512,
                     "shared_expert_intermediate_size": 512}
JAMBA_CONFIG = {"model_type": "jamba", "num_hidden_layers": 32, "attn_layer_period": 8, "attn_layer_offset": 4,
                "expert_layer_period": 2, "expert_layer_offset": 1, "hidden_size": 4096, "num_attention_heads": 32,
                "num_key_value_heads": 8, "num_experts": 16, "num_experts_per_tok": 2, "mamba_d_state": 16,
                "mamba_d_conv": 4, "mamba_expand": 2}


def _read(tmp_path, config: dict):
    """The config as the profiler reads a checkpoint's (AutoConfig.from_pretrained of its folder)."""
    (tmp_path / "config.json").write_text(json.dumps(config))
    return transformers.AutoConfig.from_pretrained(tmp_path)


def test_nemotron_h_pattern_is_the_table_rows(tmp_path):
    got = architecture_columns(_read(tmp_path, NANO9_CONFIG), params_b=8.89)
    assert got["layer_pattern"] == NANO9_PATTERN == tables.model_spec(NANO9).layer_pattern
    assert got["n_attention_layers"] == 4


def test_qwen3_next_interval_gives_the_pattern_and_the_state(tmp_path):
    """transformers 5 fills layer_types from full_attention_interval; a config read without it (an older
    transformers, any object with the config's names) is read by the same rule: every 4th layer full attention."""
    spec = tables.model_spec("Qwen/Qwen3-Next-80B-A3B-Instruct")
    for config in (_read(tmp_path, QWEN3_NEXT_CONFIG), types.SimpleNamespace(**QWEN3_NEXT_CONFIG)):
        got = architecture_columns(config, params_b=80.0)
        assert got["layer_pattern"] == "(MMM*)x12" == spec.layer_pattern
        assert (got["n_attention_layers"], got["state_elems_per_seq"]) == (12, spec.state_elems_per_seq)


def test_layer_types_list_in_full_where_not_periodic(tmp_path):
    kinds = ["linear_attention"] * 4 + ["full_attention"] + ["linear_attention"] * 6 + ["full_attention"]
    got = architecture_columns(_read(tmp_path, {**QWEN3_NEXT_CONFIG, "num_hidden_layers": 12, "layer_types": kinds}),
                               params_b=3.0)
    assert got["layer_pattern"] == "MMMM*MMMMMM*" and got["n_attention_layers"] == 2


def test_jamba_period_and_offset(tmp_path):
    """Jamba: attention where i % 8 == 4, Mamba (1) elsewhere; its state per layer d_inner x (d_state + conv
    kernel - 1), d_inner = 2 x 4096 (vLLM's mamba1_state_shape)."""
    for config in (_read(tmp_path, JAMBA_CONFIG), types.SimpleNamespace(**JAMBA_CONFIG)):
        got = architecture_columns(config, params_b=52.0)
        assert got["layer_pattern"] == "(MMMM*MMM)x4"
        assert got["n_attention_layers"] == 4 and got["architecture"] == "moe"  # a hybrid MoE keeps moe
        assert got["state_elems_per_seq"] == 28 * 8192 * (16 + 3)
        assert got["conv_state_elems_per_seq"] == 28 * 8192 * 3


def test_bamba_mamba2_spelling(tmp_path):
    config = _read(tmp_path, {"model_type": "bamba", "num_hidden_layers": 8, "attn_layer_indices": [3, 7],
                              "hidden_size": 1024, "num_attention_heads": 8, "num_key_value_heads": 8,
                              "mamba_n_heads": 32, "mamba_d_head": 64, "mamba_d_state": 128, "mamba_n_groups": 1,
                              "mamba_d_conv": 4, "mamba_expand": 2})
    got = architecture_columns(config, params_b=1.0)
    conv = 3 * (32 * 64 + 2 * 128)
    assert got["layer_pattern"] == "(MMM*)x2" and got["architecture"] == "hybrid"
    assert got["state_elems_per_seq"] == 6 * (32 * 64 * 128 + conv) and got["conv_state_elems_per_seq"] == 6 * conv


def test_sliding_window_layers_are_s_as_the_table_writes_them(tmp_path):
    """Gemma 3 (5 sliding layers to 1 full), Gemma 2 and gpt-oss (alternating, sliding first): ``S`` per
    sliding_attention layer where the config gives the window, the table rows' patterns."""
    gemma3 = {"model_type": "gemma3_text", "num_hidden_layers": 48, "sliding_window": 1024, "hidden_size": 3840,
              "num_attention_heads": 16, "num_key_value_heads": 8, "head_dim": 256}
    gemma2 = {"model_type": "gemma2", "num_hidden_layers": 42, "sliding_window": 4096, "hidden_size": 3584,
              "num_attention_heads": 16, "num_key_value_heads": 8, "head_dim": 256}
    gpt_oss = {"model_type": "gpt_oss", "num_hidden_layers": 24, "sliding_window": 128, "hidden_size": 2880,
               "num_attention_heads": 64, "num_key_value_heads": 8, "head_dim": 64, "num_local_experts": 32,
               "layer_types": ["sliding_attention", "full_attention"] * 12}
    for name, config in (("google/gemma-3-12b-it", gemma3), ("google/gemma-2-9b-it", gemma2),
                         ("openai/gpt-oss-20b", gpt_oss)):
        got = architecture_columns(_read(tmp_path, config), params_b=1.0)
        spec = tables.model_spec(name)
        assert got["layer_pattern"] == spec.layer_pattern, name
        assert got["n_sliding_layers"] == spec.n_sliding_layers, name
    assert tables.model_spec("google/gemma-3-12b-it").layer_pattern == "(SSSSS*)x8"


def test_no_pattern_where_the_config_gives_nothing_to_place(tmp_path):
    """Falcon-H1: attention and Mamba in every layer (no character says it); a sliding_attention list without
    the window: no S (and no sliding cells)."""
    falcon = {"model_type": "falcon_h1", "num_hidden_layers": 4, "hidden_size": 512, "num_attention_heads": 8,
              "num_key_value_heads": 2}
    no_window = types.SimpleNamespace(num_hidden_layers=4, layer_types=["sliding_attention", "full_attention"] * 2,
                                      hidden_size=512, num_attention_heads=8)
    for config in (_read(tmp_path, falcon), no_window):
        assert "layer_pattern" not in architecture_columns(config, params_b=1.0)


def _profile_rows(model, pp, columns):
    frame = pd.DataFrame([{"model": model, "gpu": "H100", "precision": "bf16", "tp": 1, "pp": pp, "batch_size": 64,
                           "input_tokens": 8192, "output_tokens": 1024, "energy_j": 1.0, **columns}])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_profiles(frame)


def test_a_profile_row_of_a_model_the_table_lacks_places_its_stages(tmp_path):
    """The profiled row of a Nemotron-Nano-9B-v2 copy the table lacks ('acme/nano9') counts the same memory per GPU
    at pp 3 as the table's row (whose layer_pattern puts 2 of the 4 attention layers on the middle stage); without
    the pattern column it keeps the proportional rule (19 / 56 of them), as before."""
    columns = architecture_columns(_read(tmp_path, NANO9_CONFIG), params_b=8.89)
    memory = {}
    for name, cols in (("table", {}), ("copy", columns),
                       ("copy-without", {k: v for k, v in columns.items() if k != "layer_pattern"})):
        rows = _profile_rows(NANO9 if name == "table" else "acme/nano9", 3, cols)
        mem = gpu_memory(rows, _features(rows), np.full(1, 64.0), 8192.0, 1024.0)
        memory[name] = mem.fixed[0] + mem.kv[0]
    assert memory["copy"] == pytest.approx(memory["table"], rel=1e-12)
    assert memory["copy-without"] < memory["copy"] * 0.995


def _features(rows):
    from energylens.profiles.features import features_of
    return features_of(rows)


def test_candidate_table_pattern_is_used_and_checked(tmp_path):
    """A candidate table (a profile table) may give layer_pattern: the engine places the stages by it, as a
    ModelSpec's (here all 4 attention layers first: the first stage holds them); a blank cell keeps the model's;
    one that does not fit the row's n_layers is refused naming the row and the column. The config's columns of a
    model the table lacks bring its pattern (blank: the proportional rule, less on the fullest stage)."""
    import dataclasses

    import energylens
    from energylens.search.api import bundled_model

    columns = architecture_columns(_read(tmp_path, NANO9_CONFIG), params_b=8.89)
    base = {"model": NANO9, "gpu": "H100", "tp": 1, "pp": 3, "max_num_seqs": 64, "input_tokens": 8192,
            "output_tokens": 1024, **columns}
    first = "".join(sorted(NANO9_PATTERN))  # '****', then 25 '-', then 27 'M'

    def memory(row=None, model=None):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = (energylens.search(candidates=pd.DataFrame([row]), energy_model=bundled_model(), bootstrap=False)
                   if row is not None else
                   energylens.search(model, "H100", input_tokens=8192, output_tokens=1024, max_num_seqs=[64], tp=[1],
                                     pp=[3], energy_model=bundled_model(), bootstrap=False))
        return out.to_frame()["memory_gib_per_gpu"].iloc[0]

    spec = tables.model_spec(NANO9)
    assert memory(base) == memory({**base, "layer_pattern": ""}) == memory(model=spec)
    moved = memory({**base, "layer_pattern": first})
    assert moved == memory(model=dataclasses.replace(spec, layer_pattern=first)) > memory(base) * 1.01
    copy = {**base, "model": "acme/nano9"}
    assert memory({**copy, "layer_pattern": ""}) < memory(copy) * 0.995
    with pytest.raises(ValueError, match=r"layer_pattern.*55 layers where n_layers is 56 in data row 1"):
        memory({**base, "layer_pattern": NANO9_PATTERN[1:]})
