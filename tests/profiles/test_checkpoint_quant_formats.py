"""How a checkpoint is quantised, read from its name where the model table cannot say: weight-only ``-NVFP4A16``
checkpoints (``nvfp4a16``: NVFP4 bytes, W4A16 in vLLM), per-channel ``-FP8-dynamic`` copies of models published
block-scaled (no ``fp8_weight_block``: W8A8 at the fp8 peak, not ``fp8_block``), and NVFP4's own W4A4 GEMMs
priced at the fp4 peak (the compute precision ``fp4`` is not the weight-format alias of mxfp4)."""

import numpy as np
import pandas as pd
import pytest

from energylens.profiles import load_profiles, precision, tables
from energylens.profiles.alias_cells import channel_scaled_fp8
from energylens.profiles.checkpoints import checkpoint_precision
from energylens.profiles.features import build_features
from energylens.profiles.gpu_table import gpu_spec
from energylens.search.api import bundled_model

pytestmark = pytest.mark.filterwarnings("ignore:EnergyModel.predict")  # B200 / MoE rows: extrapolations of v2


def _rows(models, precisions, gpu="B200") -> pd.DataFrame:
    return pd.DataFrame({"model": models, "gpu": gpu, "tp": 1, "pp": 1, "batch_size": 32.0,
                         "input_tokens": 512.0, "output_tokens": 256.0, "precision": precisions})


def test_nvfp4_weights_compute_at_the_fp4_peak_only_where_the_gpu_has_one():
    """features priced the GEMM precision "fp4" through peak_flops, which reads it as the mxfp4 alias (W4A16):
    nvfp4 on B200 got the bf16 peak."""
    f = build_features(_rows(["nvidia/Llama-3.3-70B-Instruct-FP4"], ["nvfp4"]))
    assert f["peak_flops_per_s"][0] == gpu_spec("B200").peak_fp4_tflops * 1e12  # 9e15, not the bf16 2.25e15
    assert precision.gemm_peak_flops(gpu_spec("B200"), "fp4") == 9000e12
    assert precision.gemm_peak_flops(gpu_spec("H100"), "fp4") == 989e12  # no fp4 tensor cores: the 16-bit peak
    for gpu, fmt in (("H100", "fp8"), ("A100 80GB", "fp8"), ("B200", "mxfp4"), ("V100 32GB", "bf16")):
        spec = gpu_spec(gpu)
        assert precision.gemm_peak_flops(spec, precision.compute_precision(fmt, spec)) == spec.peak_flops(fmt)


# --- 2. weight-only NVFP4 (-NVFP4A16): nvfp4 bytes, W4A16 -------------------------------------------------------

@pytest.mark.parametrize("name, fmt", [
    ("RedHatAI/Llama-3.3-70B-Instruct-NVFP4A16", "nvfp4a16"),
    ("RedHatAI/Qwen3-30B-A3B-NVFP4A16", "nvfp4a16"),
    ("/models/Qwen3-8B-NVFP4-W4A16/", "nvfp4a16"),   # NVFP4 beside a 16-bit-activation word
    ("RedHatAI/Qwen3-8B-NVFP4", "nvfp4"),            # W4A4
    ("nvidia/Llama-3.3-70B-Instruct-FP4", "nvfp4"),
    ("Qwen/Qwen2.5-7B-Instruct-AWQ", "int4"),
])
def test_nvfp4a16_names(name, fmt):
    assert checkpoint_precision(name) == fmt


def test_nvfp4a16_names_find_their_model_rows():
    assert tables.find_model("RedHatAI/Llama-3.3-70B-Instruct-NVFP4A16").name == "meta-llama/Llama-3.3-70B-Instruct"
    assert tables.find_model("RedHatAI/Qwen3-30B-A3B-NVFP4A16").name == "Qwen/Qwen3-30B-A3B"


def test_nvfp4a16_is_nvfp4_bytes_at_the_16_bit_rate_everywhere():
    assert precision.bytes_per_param("nvfp4a16") == precision.bytes_per_param("nvfp4") == 0.5625
    assert precision.normalize_precision("NVFP4A16") == precision.normalize_precision("nvfp4-w4a16") == "nvfp4a16"
    for gpu in ("B200", "GB200", "RTX PRO 6000", "H100", "A100 80GB"):
        spec = gpu_spec(gpu)
        assert precision.compute_precision("nvfp4a16", spec) == precision.compute_precision("bf16", spec)
        assert not precision.activation_quantised("nvfp4a16", spec)
    name = "RedHatAI/Llama-3.3-70B-Instruct-NVFP4A16"
    filled = load_profiles(_rows([name], [None]), require_energy=False)
    assert filled["precision"].tolist() == ["nvfp4a16"]
    f, nv = build_features(_rows([name], [None])), build_features(_rows([name], ["nvfp4"]))
    assert f["peak_flops_per_s"][0] == gpu_spec("B200").peak_bf16_tflops * 1e12
    assert f["weight_bytes_per_step"][0] == nv["weight_bytes_per_step"][0]  # the same NVFP4 bytes
    model = bundled_model()
    np.testing.assert_array_equal(model.predict(_rows([name], [None])), model.predict(_rows([name], ["nvfp4a16"])))


# --- 3. per-channel fp8 copies of a model published block-scaled ------------------------------------------------

@pytest.mark.parametrize("name, channel", [
    ("RedHatAI/Qwen3-30B-A3B-FP8-dynamic", True),
    ("RedHatAI/Qwen3-8B-FP8-Dynamic", True),
    ("someone/Qwen3-8B-FP8-dynamic", True),
    ("/models/Qwen3-8B-FP8Dynamic/", True),
    ("neuralmagic/Qwen3-8B-FP8", True),             # llm-compressor's per-tensor / per-channel W8A8
    ("RedHatAI/Qwen3-8B-FP8-block", False),         # llm-compressor's FP8_BLOCK
    ("Qwen/Qwen3-8B-FP8", False),                   # Qwen's own: 128 x 128 blocks
    ("RedHatAI/Qwen3-8B-quantized.w8a8", False),    # int8
])
def test_per_channel_fp8_names(name, channel):
    assert channel_scaled_fp8(name) is channel


def test_a_per_channel_copy_has_no_weight_blocks():
    assert tables.find_model("Qwen/Qwen3-30B-A3B-FP8").fp8_weight_block == 128
    spec = tables.find_model("RedHatAI/Qwen3-30B-A3B-FP8-dynamic")
    assert spec.name == "Qwen/Qwen3-30B-A3B" and np.isnan(spec.fp8_weight_block)
    assert spec.n_layers == tables.find_model("Qwen/Qwen3-30B-A3B").n_layers


def test_a_block_scaled_copy_finds_its_model_with_its_blocks():
    """'block' was not a variant token, so ``RedHatAI/*-FP8-block`` found no model-table row at all."""
    spec = tables.find_model("RedHatAI/Qwen3-30B-A3B-FP8-block")
    assert spec is not None and spec.name == "Qwen/Qwen3-30B-A3B" and spec.fp8_weight_block == 128


def test_a_per_channel_copy_runs_w8a8_at_the_fp8_peak_on_hopper():
    """Qwen's block-scaled -FP8 runs at the calibrated 16-bit rate on H100 (fp8_block); RedHatAI's -FP8-dynamic
    of the same model is CUTLASS W8A8 with per-channel scales: the fp8 peak, on every path."""
    names = ["RedHatAI/Qwen3-30B-A3B-FP8-dynamic", "Qwen/Qwen3-30B-A3B-FP8"]
    df = _rows(names, ["fp8", "fp8"], gpu="H100")
    f = build_features(df)
    h100 = gpu_spec("H100")
    assert f["peak_flops_per_s"].tolist() == [h100.peak_fp8_tflops * 1e12, h100.peak_bf16_tflops * 1e12]
    model = bundled_model()
    light, full = model.predict(df), model.predict(df.assign(dp=1))  # a dp column takes the schema path
    np.testing.assert_array_equal(light, full)
    assert light[0] != light[1]
    np.testing.assert_array_equal(model.predict(df.drop(columns="precision")), light)  # filled: fp8 both
