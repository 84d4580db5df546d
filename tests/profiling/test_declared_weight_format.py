"""The weight format a checkpoint's own ``quantization_config`` declares (``hf_config.declared_weight_format``,
what a sweep records as the row's precision). Shapes as the quantisers write them into config.json."""

import json
import warnings

import pytest

from energylens.profiles import load_profiles, tables
from energylens.profiles.features import build_features
from energylens.profiling import Store, parse_spec, worker
from energylens.profiling.hf_config import declared_precision, declared_weight_format, declares_weight_only
from energylens.profiling.worker import base_row

_NVFP4_WEIGHTS = {"num_bits": 4, "type": "float", "strategy": "tensor_group", "group_size": 16}


def _compressed(fmt: str, weights: dict, inputs: dict | None) -> dict:
    return {"quant_method": "compressed-tensors", "format": fmt,
            "config_groups": {"group_0": {"targets": ["Linear"], "weights": weights, "input_activations": inputs}}}


@pytest.mark.parametrize(("config", "expected"), [
    # llm-compressor NVFP4 (W4A4) and NVFP4A16 (weight-only: vLLM's CompressedTensorsW4A16Fp4, Marlin, 16-bit GEMMs)
    (_compressed("nvfp4-pack-quantized", _NVFP4_WEIGHTS, dict(_NVFP4_WEIGHTS, dynamic="local")), "nvfp4"),
    (_compressed("nvfp4-pack-quantized", _NVFP4_WEIGHTS, None), "nvfp4a16"),
    (_compressed("float-quantized", {"num_bits": 8, "type": "float", "strategy": "channel"},
                 {"num_bits": 8, "type": "float", "dynamic": True}), "fp8"),
    (_compressed("float-quantized", {"num_bits": 8, "type": "float", "block_structure": [128, 128]},
                 {"num_bits": 8, "type": "float", "dynamic": True}), "fp8_block"),
    (_compressed("pack-quantized", {"num_bits": 4, "type": "int", "group_size": 128}, None), "int4"),
    ({"quant_method": "fp8", "weight_block_size": [128, 128]}, "fp8_block"),
    ({"quant_method": "fp8"}, "fp8"),
    ({"quant_method": "mxfp4"}, "mxfp4"),
    ({"quant_method": "awq", "bits": 4}, "int4"),
    ({"quant_method": "gptq", "bits": 8}, "int8"),
    # NVIDIA ModelOpt (nvidia/*-FP4 and *-FP8 checkpoints): quant_method modelopt, the format in quant_algo
    ({"quant_method": "modelopt", "quant_algo": "NVFP4"}, "nvfp4"),
    ({"quant_method": "modelopt", "quantization": {"quant_algo": "FP8"}}, "fp8"),
    ({"quant_method": "modelopt", "quant_algo": "FP8_PER_CHANNEL_PER_TOKEN"}, "fp8"),
    ({"quant_method": "modelopt", "quant_algo": "MXFP8"}, ""),  # no schema format: the caller's default
    ({}, ""),
    (None, ""),
])
def test_declared_format(config, expected):
    assert declared_weight_format(config) == expected


# Weight-only 8-bit checkpoints (W8A16): vLLM runs their GEMMs at the activations' 16 bits (compressed-tensors'
# _get_scheme_from_parts: CompressedTensorsWNA16 for int weights, CompressedTensorsW8A16Fp8 for fp8 ones, when no
# group quantises input_activations; GPTQ is WNA16 at any width), so the row records precision = the weight format
# and compute_precision = the 16-bit dtype (energylens.profiles.precision: a given 16-bit compute is weight-only).
# Before, compute_precision was never written and the precision table priced them W8A8 at the int8 / fp8 peak.
_INT8_CHANNEL = {"num_bits": 8, "type": "int", "symmetric": True, "strategy": "channel", "dynamic": False,
                 "group_size": None, "block_structure": None, "actorder": None, "observer": "minmax"}
_FP8_CHANNEL = {"num_bits": 8, "type": "float", "symmetric": True, "strategy": "channel", "dynamic": False}


@pytest.mark.parametrize(("config", "expected"), [
    # RedHatAI/Meta-Llama-3.1-8B-Instruct-quantized.w8a16 (llm-compressor's W8A16 scheme): int8 weights, no inputs
    (_compressed("pack-quantized", _INT8_CHANNEL, None), ("int8", "bf16")),
    # RedHatAI/Meta-Llama-3.1-8B-Instruct-quantized.w8a8 (W8A8: int8 weights, dynamic per-token int8 inputs)
    (_compressed("int-quantized", _INT8_CHANNEL, {"num_bits": 8, "type": "int", "strategy": "token",
                                                  "dynamic": True, "symmetric": True}), ("int8", "")),
    # fp8 weights with no input_activations (the W8A16-FP8 layout vLLM's CompressedTensorsW8A16Fp8 loads; not a
    # published checkpoint we could name: llm-compressor's presets are FP8 / FP8_DYNAMIC / FP8_BLOCK, all W8A8)
    (_compressed("float-quantized", _FP8_CHANNEL, None), ("fp8", "bf16")),
    (_compressed("float-quantized", dict(_FP8_CHANNEL, strategy="block", block_structure=[128, 128]), None),
     ("fp8_block", "bf16")),
    # RedHatAI/Meta-Llama-3.1-8B-Instruct-FP8-dynamic (FP8_DYNAMIC: per-token dynamic fp8 inputs, W8A8)
    (_compressed("float-quantized", _FP8_CHANNEL, {"num_bits": 8, "type": "float", "strategy": "token",
                                                   "dynamic": True, "symmetric": True}), ("fp8", "")),
    # Qwen/Qwen2.5-7B-Instruct-GPTQ-Int8 and -Int4 (GPTQ: weight-only at any width; int4 is 16-bit on every GPU)
    ({"quant_method": "gptq", "bits": 8, "group_size": 128, "desc_act": False, "sym": True, "damp_percent": 0.01},
     ("int8", "bf16")),
    ({"quant_method": "gptq", "bits": 4, "group_size": 128, "desc_act": False, "sym": True}, ("int4", "")),
    # a mixed compressed-tensors config: one group quantises its inputs, so not every GEMM is weight-only
    ({"quant_method": "compressed-tensors", "format": "int-quantized", "config_groups": {
        "group_0": {"targets": ["re:.*mlp.*"], "weights": _INT8_CHANNEL, "input_activations": None},
        "group_1": {"targets": ["re:.*self_attn.*"], "weights": _INT8_CHANNEL,
                    "input_activations": {"num_bits": 8, "type": "int", "dynamic": True}}}}, ("int8", "")),
    # ModelOpt FP8_PB_WO: vLLM's modelopt.py resolve() runs it 128 x 128 block-static fp8 weights with dynamic
    # per-128 fp8 activations (W8A8, "PbWo" notwithstanding), i.e. fp8_block; FP8_BLOCK_SCALES is its older spelling
    ({"quant_method": "modelopt", "quant_algo": "FP8_PB_WO", "kv_cache_quant_algo": None, "exclude_modules": ["lm_head"]},
     ("fp8_block", "")),
    ({"quant_method": "modelopt", "quantization": {"quant_algo": "FP8_BLOCK_SCALES"}}, ("fp8_block", "")),
    # ModelOpt W4A16_NVFP4 (nvfp4 weights, 16-bit activations: Marlin): the weight-only format nvfp4a16
    ({"quant_method": "modelopt", "quant_algo": "W4A16_NVFP4", "group_size": 16}, ("nvfp4a16", "")),
    (None, ("", "")),
])
def test_declared_precision_of_weight_only_checkpoints(config, expected):
    assert declared_precision(config, "bf16") == expected
    assert declared_precision(config, "fp16")[1] == expected[1].replace("bf16", "fp16")  # the run's dtype


@pytest.mark.parametrize(("config", "weight_only"), [
    ({"quant_method": "gptq", "bits": 4}, True), ({"quant_method": "awq", "bits": 4}, True),
    (_compressed("nvfp4-pack-quantized", _NVFP4_WEIGHTS, None), True),
    (_compressed("pack-quantized", _INT8_CHANNEL, None), True),
    (_compressed("int-quantized", _INT8_CHANNEL, {"num_bits": 8, "type": "int", "dynamic": True}), False),
    ({"quant_method": "compressed-tensors", "config_groups": {}}, False),  # no group: nothing quantised
    ({"quant_method": "fp8"}, False), ({"quant_method": "modelopt", "quant_algo": "FP8"}, False), ({}, False),
])
def test_declares_weight_only(config, weight_only):
    assert declares_weight_only(config) is weight_only


def _folder(root, name, q, **config):
    (root / name).mkdir()
    (root / name / "config.json").write_text(json.dumps({"model_type": "llama", "quantization_config": q, **config}))
    return str(root / name)


def _row(model, precision="bf16"):
    spec = parse_spec({"sweep": {"backend": "vllm"}, "grid": {"models": [model], "precision": [precision],
                                                             "max_num_seqs": [4], "input_len": [64], "output_len": [32]}})
    return base_row(spec.configs()[0], "nvml")


def test_a_weight_only_checkpoints_rows_record_its_16_bit_compute(tmp_path):
    """The compute precision is the run's activation dtype: the spec's --dtype, else (a quantisation method given,
    --dtype auto) the checkpoint's torch_dtype, as vLLM's _resolve_auto_dtype takes it."""
    gptq8 = _folder(tmp_path, "qwen-gptq-int8", {"quant_method": "gptq", "bits": 8, "group_size": 128},
                    torch_dtype="float16")  # Qwen/Qwen2.5-7B-Instruct-GPTQ-Int8 ships float16
    w8a16 = _folder(tmp_path, "llama-w8a16", _compressed("pack-quantized", _INT8_CHANNEL, None), dtype="bfloat16")
    w8a8 = _folder(tmp_path, "llama-w8a8", _compressed("int-quantized", _INT8_CHANNEL, {"num_bits": 8, "type": "int",
                                                                                        "dynamic": True}))
    got = {(m, p): (r["precision"], r["compute_precision"]) for m, p in
           [(gptq8, "gptq"), (gptq8, "bf16"), (w8a16, "int8"), (w8a8, "int8"), (w8a8, "bf16")]
           for r in [_row(m, p)]}
    assert got == {(gptq8, "gptq"): ("int8", "fp16"), (gptq8, "bf16"): ("int8", "bf16"),
                   (w8a16, "int8"): ("int8", "bf16"), (w8a8, "int8"): ("int8", ""), (w8a8, "bf16"): ("int8", "")}
    assert _row("Qwen/Qwen3-8B")["compute_precision"] == ""  # not quantised: the table's, per GPU


def test_weight_only_rows_are_priced_at_the_16_bit_peak_end_to_end(tmp_path):
    """Written into a store and read back as a fit reads it: the W8A16 row's GEMM peak is H100's bf16 one, the
    W8A8 row's its int8 one (before, both int8: twice the W8A16 row's real rate)."""
    store = Store(tmp_path / "runs")
    store.init({"spec_hash": "h"}, resume=False)
    measured = {"status": "ok", "gpu": "H100", "batch_size": 4.0, "input_tokens": 64.0, "output_tokens": 32.0,
                "params_b": 8.0, "energy_j": 50.0, "latency_s": 1.0, "ttft_s": 0.1}
    for name, inputs in (("w8a16", None), ("w8a8", {"num_bits": 8, "type": "int", "dynamic": True})):
        row = _row(_folder(tmp_path, name, _compressed("pack-quantized", _INT8_CHANNEL, inputs)), "int8")
        store.write(row["config_id"], {**row, **measured})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the folders are not in the model table: shapes estimated from params_b
        frame = load_profiles(tmp_path / "runs")
        peak = build_features(frame)["peak_flops_per_s"]
    by_name = dict(zip(frame["model"].map(lambda m: m.rsplit("/", 1)[-1]), peak, strict=True))
    h100 = tables.gpu_spec("H100")
    assert by_name == {"w8a16": h100.peak_flops("bf16"), "w8a8": h100.peak_flops("int8")}
    assert set(frame["compute_precision"].fillna("")) == {"bf16", ""}


def test_the_precision_is_read_again_once_the_unit_has_its_checkpoint(tmp_path, monkeypatch):
    """A Hub id's config.json is in the cache only after the unit downloaded it: the row is not left with the
    spec's format (here the checkpoint appears during the run, as a download would bring it)."""
    model = tmp_path / "arrives"

    def measure(cfg, meter):
        _folder(tmp_path, "arrives", {"quant_method": "gptq", "bits": 8}, torch_dtype="float16")
        return {"energy_j": float("nan")}

    monkeypatch.setattr(worker, "_measure", measure)
    spec = parse_spec({"sweep": {"backend": "vllm"}, "grid": {"models": [str(model)], "precision": ["gptq"],
                                                             "max_num_seqs": [1], "input_len": [8], "output_len": [4]}})
    cfg = spec.configs()[0]
    assert base_row(cfg, "none")["precision"] == "int4"  # before the run: the spec's gptq, 4-bit by default
    row = worker.run_in_process(cfg, "none")
    assert row["status"] == "ok" and (row["precision"], row["compute_precision"]) == ("int8", "fp16")
