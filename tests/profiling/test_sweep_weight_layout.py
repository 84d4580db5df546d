"""A sweep records which of the checkpoint's weights are in its format (the ``weight_layout`` column,
docs/profile-schema.md) from its config.json's ``quantization_config``: a user's own int4 requantisation of a
Kimi K2 that keeps attention, the shared experts and the dense MLPs bf16 (an ``ignore`` list) was written as a
plain int4 row, and every consumer then priced all its weights at int4's 4.25 bits."""

import json
import warnings

import numpy as np
import pytest

from energylens.profiles import load_profiles, tables
from energylens.profiles.features import build_features
from energylens.profiling import Store, parse_spec, worker
from energylens.profiling.hf_config import declared_layout, declared_layout_words
from energylens.search.memory import weights_per_gpu

_INT4_GROUP32 = {"num_bits": 4, "type": "int", "symmetric": True, "strategy": "group", "group_size": 32,
                 "dynamic": False}
#: moonshotai/Kimi-K2-Thinking's quantization_config, as its config.json has it (the fields that decide).
KIMI_QC = {"quant_method": "compressed-tensors", "format": "pack-quantized",
           "config_groups": {"group_0": {"targets": ["Linear"], "input_activations": None, "weights": _INT4_GROUP32}},
           "ignore": ["lm_head", "re:.*self_attn.*", "re:.*shared_experts.*", r"re:.*mlp\.(gate|up|gate_up|down)_proj.*"]}


@pytest.mark.parametrize(("config", "words"), [
    (KIMI_QC, "experts group32"),
    ({**KIMI_QC, "ignore": ["lm_head"]}, "all group32"),  # every linear layer quantised
    ({**KIMI_QC, "config_groups": {"group_0": {"weights": {**_INT4_GROUP32, "symmetric": False}}}}, "experts"),
    ({"quant_method": "mxfp4"}, "experts"),
    ({"quant_method": "fp8", "weight_block_size": [128, 128], "modules_to_not_convert": ["lm_head"]}, "all"),
    ({"quant_method": "awq", "bits": 4, "group_size": 128}, "all"),
    ({}, ""), (None, ""),
])
def test_declared_layout_words(config, words):
    assert declared_layout_words(config) == words
    if config:  # the words price as the layout read straight from the config
        fmt = {"compressed-tensors": "int4", "mxfp4": "mxfp4", "fp8": "fp8_block", "awq": "int4"}[config["quant_method"]]
        from energylens.profiles.checkpoints import row_layout

        assert row_layout("", fmt, words) == declared_layout(config)


def _checkpoint(root, qc):
    """A tiny local checkpoint folder: a config.json whose model is not in the model table."""
    folder = root / "my-k2-int4"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "deepseek_v3", "torch_dtype": "bfloat16",
                                                    "quantization_config": qc}))
    return str(folder)


def _unit(model, backend="vllm"):
    spec = parse_spec({"sweep": {"backend": backend}, "grid": {"models": [model], "precision": ["bf16"],
                                                              "max_num_seqs": [1], "input_len": [8], "output_len": [4]}})
    return spec.configs()[0]


def test_a_sweep_records_the_checkpoints_layout_and_the_row_is_priced_as_the_tables_entry(tmp_path, monkeypatch):
    """Through the worker (its measurement replaced: synthetic power) into a store and back as a fit reads it: the
    row records 'experts group32', and with Kimi K2's architecture it gets the features and weight bytes of the
    table's moonshotai/Kimi-K2-Thinking row; the same checkpoint without the ignore list records 'all'."""
    s = tables.model_spec("moonshotai/Kimi-K2-Instruct")
    arch = {c: float(getattr(s, c)) for c in ("n_layers", "d_model", "n_heads", "n_kv_heads", "head_dim", "n_experts",
                                               "experts_per_token", "n_moe_layers", "kv_lora_rank", "qk_rope_head_dim",
                                               "vocab_size", "tie_word_embeddings")}
    measured = {"gpu": "H200", "batch_size": 1.0, "input_tokens": 8.0, "output_tokens": 4.0, "energy_j": 50.0,
                "latency_s": 1.0, "params_b": s.params_b, "active_params_b": s.active_params_b, **arch}
    monkeypatch.setattr(worker, "_measure", lambda cfg, meter: dict(measured))
    store = Store(tmp_path / "runs")
    store.init({"spec_hash": "h"}, resume=False)
    rows = {}
    for name, qc in (("layout", KIMI_QC), ("whole", {**KIMI_QC, "ignore": ["lm_head"]})):
        (tmp_path / name).mkdir()
        row = worker.run_in_process(_unit(_checkpoint(tmp_path / name, qc)), "synthetic:200")
        assert row["status"] == "ok", row["error"]
        rows[name] = row
        store.write(row["config_id"], row)
    assert {k: (r["precision"], r["weight_layout"]) for k, r in rows.items()} == {
        "layout": ("int4", "experts group32"), "whole": ("int4", "all group32")}
    assert worker.base_row(_unit(rows["layout"]["model"]), "none")["weight_layout"] == "experts group32"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frame = load_profiles(tmp_path / "runs").sort_values("weight_layout").reset_index(drop=True)
        table = load_profiles(frame.drop(columns="weight_layout").assign(model="moonshotai/Kimi-K2-Thinking"))
        feats, want = build_features(frame), build_features(table)
    assert list(frame["weight_layout"]) == ["all group32", "experts group32"]
    assert feats["weight_bytes_per_step"][1] == want["weight_bytes_per_step"][1]
    assert feats["weight_bytes_per_step"][0] < feats["weight_bytes_per_step"][1]  # int4 throughout: fewer bytes
    one = np.ones(2)
    assert weights_per_gpu(frame, one, one, one, one)[1] == weights_per_gpu(table, one, one, one, one)[1]


def test_transformers_rows_and_checkpoints_without_a_format_leave_it_blank(tmp_path):
    """A transformers row is in the spec's precision (not the checkpoint's format); a folder without a
    quantization_config declares nothing: blank, the model table's / the format's rule."""
    model = _checkpoint(tmp_path, KIMI_QC)
    assert worker.base_row(_unit(model, "transformers"), "none")["weight_layout"] == ""
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "config.json").write_text(json.dumps({"model_type": "llama"}))
    assert worker.base_row(_unit(str(plain)), "none")["weight_layout"] == ""
