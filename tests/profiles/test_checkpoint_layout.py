"""Which of a quantised checkpoint's weights are in its format (energylens.profiles.checkpoints.checkpoint_layout):
gpt-oss's mxfp4 holds only the routed experts whatever the checkpoint; Kimi-K2-Thinking's int4 only its routed
experts too (in groups of 32), as its config.json says and the model table records. The features' weight bytes
read the same layout as the memory check (tests/search/test_search_memory_layout.py)."""

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from energylens.profiles import features as features_module
from energylens.profiles import tables
from energylens.profiles.checkpoints import (
    WeightLayout,
    checkpoint_layout,
    expert_bytes_per_param,
    group_bytes_per_param,
)
from energylens.profiles.features import build_features
from energylens.profiles.light import light_profiles
from energylens.profiles.native_rows import row_inputs
from energylens.profiling.hf_config import declared_layout

#: moonshotai/Kimi-K2-Thinking's config.json quantization_config (compressed-tensors; the fields that
#: decide the layout, as published: int4, symmetric, group_size 32, the four ignore patterns).
KIMI_K2_THINKING_QC = {
    "quant_method": "compressed-tensors", "format": "pack-quantized", "quantization_status": "compressed",
    "config_groups": {"group_0": {"targets": ["Linear"], "input_activations": None, "output_activations": None,
                                  "weights": {"num_bits": 4, "type": "int", "symmetric": True, "strategy": "group",
                                              "group_size": 32, "dynamic": False}}},
    "ignore": ["lm_head", "re:.*self_attn.*", "re:.*shared_experts.*", r"re:.*mlp\.(gate|up|gate_up|down)_proj.*"],
    "kv_cache_scheme": None,
}


def test_kimi_k2_thinking_holds_only_its_experts_in_int4_groups_of_32():
    assert checkpoint_layout("moonshotai/Kimi-K2-Thinking", "int4") == WeightLayout(True, 0.5625)
    assert expert_bytes_per_param("moonshotai/Kimi-K2-Thinking", "int4") == 0.5625  # 4 bits + bf16 scale / 32
    assert group_bytes_per_param(4, 32) == 0.5625
    # its siblings are fp8 throughout; a what-if format is the whole checkpoint's
    assert not checkpoint_layout("moonshotai/Kimi-K2-Instruct", "fp8").experts_only
    assert not checkpoint_layout("moonshotai/Kimi-K2-Thinking", "fp8").experts_only
    assert math.isnan(checkpoint_layout("moonshotai/Kimi-K2-Thinking", "fp8").expert_bytes)
    assert expert_bytes_per_param("moonshotai/Kimi-K2-Thinking", "fp8") == 1.0


def test_mxfp4_is_experts_only_for_every_checkpoint():
    for name in ("openai/gpt-oss-120b", "someone/unknown-moe", ""):
        assert checkpoint_layout(name, "mxfp4").experts_only
    assert not checkpoint_layout("openai/gpt-oss-120b", "mxfp4", ()).experts_only  # the features' ablation


def test_the_table_cell_agrees_with_the_published_config():
    """The reader of config.json (profiling.hf_config.declared_layout) and the table's cell say the same."""
    assert declared_layout(KIMI_K2_THINKING_QC) == checkpoint_layout("moonshotai/Kimi-K2-Thinking", "int4")
    # every linear layer quantised (no ignore but lm_head): the whole checkpoint is in the format
    whole = {**KIMI_K2_THINKING_QC, "ignore": ["lm_head"]}
    assert not declared_layout(whole).experts_only and declared_layout(whole).expert_bytes == 0.5625
    assert declared_layout({"quant_method": "mxfp4", "modules_to_not_convert": []}).experts_only
    fp8 = {"quant_method": "fp8", "weight_block_size": [128, 128], "modules_to_not_convert": ["lm_head"]}
    assert not declared_layout(fp8).experts_only and math.isnan(declared_layout(fp8).expert_bytes)
    assert not declared_layout(None).experts_only


def _row(model, precision, **kw):
    return pd.DataFrame([{"model": model, "gpu": "H200", "precision": precision, "tp": 8, "batch_size": 1,
                          "input_tokens": 512, "output_tokens": 256, "energy_j": 1.0, **kw}])


def test_features_stream_kimi_k2_thinking_rest_in_bf16_and_experts_at_its_group_size():
    """One decode step at batch 1: the non-expert weights in bf16 (2 B, the compute dtype) and the k/E touched
    routed experts at 0.5625 B, as for gpt-oss's mxfp4 rest (before: every weight at the int4 table's 0.53125)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        f = build_features(_row("moonshotai/Kimi-K2-Thinking", "int4"))
    s = tables.model_spec("moonshotai/Kimi-K2-Instruct")
    p, pa, frac = s.params_b * 1e9, s.active_params_b * 1e9, s.experts_per_token / s.n_experts
    experts = (p - pa) / (1 - frac)
    head = 163840 * 7168  # the untied input embedding is a lookup, the lm_head 16-bit (accuracy round 10)
    hand = 2.0 * (p - experts - 2 * head) + 2.0 * head + frac * 0.5625 * experts
    assert f["weight_bytes_per_step"][0] == pytest.approx(hand, rel=1e-12)
    fp8 = build_features(_row("moonshotai/Kimi-K2-Instruct", "fp8"))  # fp8 everywhere but the lm_head
    assert fp8["weight_bytes_per_step"][0] == pytest.approx(1.0 * (p - experts - 2 * head) + 2.0 * head
                                                            + frac * 1.0 * experts, rel=1e-12)


def test_native_row_path_leaves_a_checkpoint_layout_to_features_py():
    light = light_profiles(_row("moonshotai/Kimi-K2-Thinking", "int4"), require_energy=False)
    assert light is not None and row_inputs(light) is None
    gpt = light_profiles(_row("openai/gpt-oss-120b", "mxfp4", tp=1), require_energy=False)
    assert gpt is not None and row_inputs(gpt) is not None  # the format's own layout: the native pass


def test_features_expert_only_ablation_still_switches_gpt_oss(monkeypatch):
    rows = _row("openai/gpt-oss-120b", "mxfp4", tp=1)
    on = build_features(rows)["weight_bytes_per_step"][0]
    monkeypatch.setattr(features_module, "EXPERT_ONLY_PRECISIONS", ())
    off = build_features(rows)["weight_bytes_per_step"][0]
    assert off < on  # the bf16 rest counted at mxfp4's bytes
    assert np.isfinite(off)


def test_an_unknown_layout_word_in_the_table_is_an_error_naming_the_row():
    from energylens.profiles import checkpoints

    with pytest.raises(ValueError, match=r"row 'm/x', column 'checkpoint_precision'.*'expert'"):
        checkpoints._format_words("int4 expert group32", "m/x")
    assert checkpoints._format_words("INT4 Experts group32", "m/x") == ("int4", ("experts", "group32"))


def test_layout_rows_per_row_with_a_missing_model_cell():
    from energylens.profiles.checkpoints import layout_rows

    models = pd.Series(["moonshotai/Kimi-K2-Thinking", None, "openai/gpt-oss-120b", "moonshotai/Kimi-K2-Thinking"])
    only, nbytes = layout_rows(models, (np.array([0, 0, 1, 1]), np.array(["int4", "mxfp4"], dtype=object)))
    assert only.tolist() == [True, False, True, True]
    assert nbytes[0] == 0.5625 and np.isnan(nbytes[1:]).all()
    bf16 = layout_rows(models, (np.zeros(4, dtype=np.int64), np.array(["bf16"], dtype=object)))
    assert not bf16[0].any() and np.isnan(bf16[1]).all()
