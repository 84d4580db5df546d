"""A checkpoint's name read as its config.json is read: where the name is unambiguous, the row a sweep records from
the name alone (a Hub id not in the cache) equals the row it records from the checkpoint's own quantization_config
(``hf_config.declared_precision``). ``quantized.w8a16`` was read as bf16 weights (W8A16 is 8-bit weights, 16-bit
GEMMs), ``-FP8-block`` as per-channel fp8, and ``-GPTQ-Int8`` as W8A8 at the int8 peak."""

import json

import pytest

from energylens.profiles.checkpoints import checkpoint_precision, checkpoint_weight_only
from energylens.profiling import parse_spec
from energylens.profiling.worker import run_precision

_INT8 = {"num_bits": 8, "type": "int", "symmetric": True, "strategy": "channel"}
_INT4 = {"num_bits": 4, "type": "int", "symmetric": True, "strategy": "group", "group_size": 128}
_FP8 = {"num_bits": 8, "type": "float", "symmetric": True, "strategy": "channel"}
_FP8_BLOCK = {**_FP8, "strategy": "block", "block_structure": [128, 128]}
_NVFP4 = {"num_bits": 4, "type": "float", "strategy": "tensor_group", "group_size": 16}
_INT8_IN = {"num_bits": 8, "type": "int", "strategy": "token", "dynamic": True}
_FP8_IN = {"num_bits": 8, "type": "float", "strategy": "token", "dynamic": True}


def _ct(fmt: str, weights: dict, inputs: dict | None) -> dict:
    """A compressed-tensors quantization_config as llm-compressor writes it."""
    return {"quant_method": "compressed-tensors", "format": fmt,
            "config_groups": {"group_0": {"targets": ["Linear"], "weights": weights, "input_activations": inputs}}}


# (name as published, its config.json's quantization_config, the row's (precision, compute_precision))
AGREE = [
    ("RedHatAI/Meta-Llama-3.1-8B-Instruct-quantized.w8a16", _ct("pack-quantized", _INT8, None), ("int8", "bf16")),
    ("RedHatAI/gemma-2-9b-it-quantized.w8a16", _ct("pack-quantized", _INT8, None), ("int8", "bf16")),
    ("RedHatAI/Meta-Llama-3.1-8B-Instruct-quantized.w8a8", _ct("int-quantized", _INT8, _INT8_IN), ("int8", "")),
    ("RedHatAI/Meta-Llama-3.1-8B-Instruct-quantized.w4a16", _ct("pack-quantized", _INT4, None), ("int4", "")),
    ("RedHatAI/Meta-Llama-3.1-8B-Instruct-FP8", _ct("float-quantized", _FP8, {**_FP8_IN, "dynamic": False}),
     ("fp8", "")),
    ("RedHatAI/Meta-Llama-3.1-8B-Instruct-FP8-dynamic", _ct("float-quantized", _FP8, _FP8_IN), ("fp8", "")),
    ("RedHatAI/Qwen3-30B-A3B-FP8-block", _ct("float-quantized", _FP8_BLOCK, _FP8_IN), ("fp8_block", "")),
    ("someone/Llama-3.1-8B-Instruct-FP8_BLOCK", _ct("float-quantized", _FP8_BLOCK, _FP8_IN), ("fp8_block", "")),
    ("nm-testing/Llama-3.1-8B-Instruct-FP8-W8A16", _ct("float-quantized", _FP8, None), ("fp8", "bf16")),
    ("Qwen/Qwen2.5-7B-Instruct-AWQ", {"quant_method": "awq", "bits": 4}, ("int4", "")),
    ("Qwen/Qwen2.5-7B-Instruct-GPTQ-Int4", {"quant_method": "gptq", "bits": 4}, ("int4", "")),
    ("Qwen/Qwen2.5-7B-Instruct-GPTQ-Int8", {"quant_method": "gptq", "bits": 8}, ("int8", "bf16")),
    ("someone/Llama-3.1-8B-mxfp4", {"quant_method": "mxfp4"}, ("mxfp4", "")),
    ("RedHatAI/Qwen3-8B-NVFP4", _ct("nvfp4-pack-quantized", _NVFP4, {**_NVFP4, "dynamic": "local"}), ("nvfp4", "")),
    ("RedHatAI/Qwen3-8B-NVFP4A16", _ct("nvfp4-pack-quantized", _NVFP4, None), ("nvfp4a16", "")),
    ("nvidia/Llama-3.3-70B-Instruct-FP4", {"quant_method": "modelopt", "quant_algo": "NVFP4"}, ("nvfp4", "")),
    ("nvidia/Llama-3.1-8B-Instruct-FP8", {"quant_method": "modelopt", "quant_algo": "FP8"}, ("fp8", "")),
]


def _row_precision(model: str) -> tuple[str, str]:
    spec = parse_spec({"sweep": {"backend": "vllm"}, "grid": {"models": [model], "precision": ["bf16"],
                                                             "max_num_seqs": [1], "input_len": [8], "output_len": [4]}})
    return run_precision(spec.configs()[0])


@pytest.mark.parametrize(("name", "quantization_config", "expected"), AGREE, ids=[a[0] for a in AGREE])
def test_the_name_reads_as_the_config_declares(tmp_path, name, quantization_config, expected):
    folder = tmp_path / name.rsplit("/", 1)[-1]
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "llama", "torch_dtype": "bfloat16",
                                                    "quantization_config": quantization_config}))
    assert _row_precision(str(folder)) == expected  # the profiling path: the config.json
    assert _row_precision(name) == expected  # the name alone (a Hub id not in the cache)
    assert checkpoint_precision(name) == expected[0]


@pytest.mark.parametrize(("name", "fmt"), [
    ("someone/Llama-3.1-8B-Instruct-Int8", "int8"),    # W8A8 or W8A16 (GPTQ): the precision table decides per GPU
    ("someone/Llama-3.1-8B-Instruct-int8", "int8"),
    ("someone/Llama-3.1-8B-Instruct-Int4", "int4"),    # 16-bit GEMMs on every GPU anyway
    ("Qwen/Qwen3-8B-FP8", "fp8"),                      # block-scaled in fact: the model table's fp8_weight_block says so
    ("someone/Llama-3.1-8B-Instruct-FP8", "fp8"),
    ("someone/Llama-3.1-8B-Instruct-W4A4", "bf16"),    # int4 or fp4 activations: not guessed (falls through)
])
def test_an_ambiguous_name_is_not_guessed_weight_only(name, fmt):
    assert checkpoint_precision(name) == fmt
    assert not checkpoint_weight_only(name)
    assert _row_precision(name) == (fmt, "")


@pytest.mark.parametrize(("name", "weight_only"), [
    ("RedHatAI/Meta-Llama-3.1-8B-Instruct-quantized.w8a16", True), ("x/M-GPTQ-Int8", True), ("x/M-AWQ", True),
    ("x/M-NVFP4A16", True), ("x/M-quantized.w4a16", True), ("x/M-FP8-A16", True),
    ("x/M-GPTQ-W8A8", False),  # llm-compressor's GPTQ algorithm writes W8A8 checkpoints too: the A8 word decides
    ("x/M-quantized.w8a8", False), ("x/M-FP8-dynamic", False), ("x/M-FP8", False), ("x/M", False),
])
def test_weight_only_words(name, weight_only):
    assert checkpoint_weight_only(name) is weight_only


def test_a_w8a16_name_takes_the_spec_dtype_as_its_compute_precision():
    spec = parse_spec({"sweep": {"backend": "vllm"}, "grid": {
        "models": ["RedHatAI/Meta-Llama-3.1-8B-Instruct-quantized.w8a16"], "precision": ["fp16", "int8"],
        "max_num_seqs": [1], "input_len": [8], "output_len": [4]}})
    assert [run_precision(c) for c in spec.configs()] == [("int8", "fp16"), ("int8", "bf16")]  # int8: --dtype auto
