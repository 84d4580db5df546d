"""The weight format a checkpoint's own ``quantization_config`` declares (``hf_config.declared_weight_format``,
what a sweep records as the row's precision). Shapes as the quantisers write them into config.json."""

import pytest

from energylens.profiling.hf_config import declared_weight_format

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
