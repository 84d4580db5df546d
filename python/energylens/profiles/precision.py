"""Precision as deployed: the one table of weight formats (docs/reference-tables.md, "Precision").

Every place that needs the bytes a weight takes, the precision its matrix multiplies run at, or the
peak FLOP/s of that precision on a GPU reads :data:`WEIGHT_FORMATS` through the functions here:
:func:`bytes_per_param` (features, baselines), :func:`compute_precision` and :func:`peak_flops`
(``GpuSpec.peak_flops``), :func:`normalize_precision` (the profile schema). KV-cache element types
live here too (:data:`KV_CACHE_DTYPE_BYTES`, :func:`kv_element_bytes`).

A weight format is not a compute precision: an AWQ int4 checkpoint stores 4-bit weights but its
kernels dequantise them and multiply in 16 bit (W4A16); an mxfp4 checkpoint (gpt-oss) is W4A16 too, on
every GPU, Blackwell included (vLLM's default MXFP4 MoE backend there is FlashInfer's BF16-activation one;
the mxfp4 row of :data:`WEIGHT_FORMATS`), while nvfp4 multiplies in fp4 on a GPU with FP4 tensor cores; an fp8
checkpoint runs W8A8 at the fp8 peak where the GPU has FP8 tensor cores and W8A16 (bf16 peak) where it has not
(Ampere).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "WeightFormat",
    "WEIGHT_FORMATS",
    "PRECISION_BYTES",
    "PEAK_COLUMNS",
    "KV_CACHE_DTYPE_BYTES",
    "normalize_precision",
    "normalize_compute_precision",
    "normalize_kv_cache_dtype",
    "kv_element_bytes",
    "bytes_per_param",
    "compute_precision",
    "activation_quantised",
    "peak_flops",
    "gemm_peak_flops",
]


@dataclass(frozen=True)
class WeightFormat:
    """One weight format.

    Attributes:
        name: canonical name (``"mxfp4"``).
        bits_per_weight: stored bits per weight **including** block scales / zero points.
        compute: compute precisions in order of preference; the first one the GPU has a peak for is
            the one the matrix multiplies run at (:func:`compute_precision`).
        note: how the bits and the compute choice were derived.
    """

    name: str
    bits_per_weight: float
    compute: tuple[str, ...]
    note: str

    @property
    def bytes_per_param(self) -> float:
        """Bytes per weight, block scales included (``bits_per_weight / 8``)."""
        return self.bits_per_weight / 8.0


def _fmt(name: str, bits: float, compute: tuple[str, ...], note: str) -> tuple[str, WeightFormat]:
    return name, WeightFormat(name, bits, compute, note)


#: The weight formats, canonical name -> :class:`WeightFormat` (read-only).
WEIGHT_FORMATS: MappingProxyType[str, WeightFormat] = MappingProxyType(dict([
    _fmt("fp32", 32.0, ("fp32",), "full precision; CUDA-core / vector FP32"),
    _fmt("fp16", 16.0, ("fp16", "bf16"), "16-bit tensor cores"),
    _fmt("bf16", 16.0, ("bf16", "fp16"), "16-bit tensor cores (fp16 peak where a GPU has no bf16, V100)"),
    _fmt("fp8", 8.0, ("fp8", "bf16", "fp16"),
         "W8A8 at the fp8 peak with FP8 tensor cores; W8A16 (Marlin) at the 16-bit peak without "
         "(A100, A10, A30, A40); per-tensor/channel scales are negligible"),
    _fmt("fp8_block", 8.0, ("fp8_blockscaled", "bf16", "fp16"),
         "fp8 with one fp32 scale per 128 x 128 weight block and per 1 x 128 activation group (DeepSeek-V3 "
         "style; the official Qwen3 -FP8 checkpoints: +0.002 bit, negligible). At the fp8 peak only on NVIDIA "
         "GPUs with FP4 tensor cores (Blackwell: B100/B200/GB200/B300/GB300, RTX PRO 6000), where vLLM runs it on "
         "DeepGEMM (vllm/utils/deep_gemm.py is_deep_gemm_supported: SM90 or the SM100 family, "
         "VLLM_USE_DEEP_GEMM default 1 in vllm/envs.py; on SM100 the scales are requantised to UE8M0 for the "
         "tensor cores' block-scaled MMA) or on CUTLASS's SM100 blockwise kernel "
         "(csrc/quantization/cutlass_w8a8/c3x/scaled_mm_blockwise_sm100_fp8.cu), its MoE experts on DeepGEMM "
         "or CUTLASS's SM100 block-scaled grouped GEMM (vllm/model_executor/layers/quantization/fp8.py "
         "get_fp8_moe_backend; Hopper without DeepGEMM and ROCm fall to Triton) (SM120: "
         "cutlass_scaled_mm_blockwise_sm120_fp8, dense layers only, its MoE experts take Triton: unmeasured). "
         "Elsewhere the scales are "
         "applied outside the MMA (Hopper: partial sums promoted to FP32 every 128 products, DeepSeek-V3 "
         "report arXiv 2412.19437 sec. 3.3.2; AMD MI300X/MI325X and MI355X alike: vLLM's ROCm path is "
         "AITER gemm_a8w8_blockscale or the Triton _w8a8_triton_block_scaled_mm, which rescale the "
         "accumulator per 128-wide K block in registers, vllm/model_executor/layers/quantization/utils/"
         "fp8_utils.py W8A8BlockFp8LinearOp) and the effective rate is taken as the 16-bit one: a calibration "
         "on the v3 H100 rows (Qwen3-235B-A22B -FP8 slower than bf16 at the same batch), not a hardware peak "
         "(DeepGEMM reports far more on H800 for large GEMMs); pricing Hopper at the fp8 peak lowers v3 "
         "Top-1 0.932 -> 0.907, MAPE 0.155 -> 0.162 (python bench/modern_serving.py --table, its fp8-peak row). W8A16 at the 16-bit peak without FP8 tensor cores"),
    _fmt("int8", 8.0, ("int8", "bf16", "fp16"),
         "W8A8 int8 at the int8 peak where the tensor cores have INT8, else 16-bit. vLLM 0.10-0.12 has no int8 "
         "kernel on Blackwell (its CUTLASS SM100/SM120 dispatch wires int8 to nullptr and refuses the layer: "
         "vllm-project/vllm PR #25935; the Triton fallback is PR #54316, open in 2026-08), so an int8 "
         "checkpoint does not load there; the B200 row's int8 peak prices a deployment vLLM does not run"),
    _fmt("int4", 4.25, ("bf16", "fp16"),
         "AWQ/GPTQ W4A16, group size 128: 4 bits + one fp16 scale and a packed zero point per 128 "
         "weights (+0.25 bit); kernels dequantise to 16 bit, so compute is bf16/fp16 on every GPU, Blackwell "
         "too: vLLM's choose_mp_linear_kernel tries CutlassW4A8 (fp8-activation checkpoints only), Machete "
         "(Hopper), AllSpark, Marlin, Exllama, all W4A16 for a 16-bit-activation checkpoint "
         "(vllm/model_executor/layers/quantization/kernels/mixed_precision/__init__.py _POSSIBLE_KERNELS)"),
    _fmt("mxfp4", 4.25, ("bf16", "fp16"),
         "OCP MXFP4: 4-bit E2M1 + one 8-bit E8M0 scale per 32 weights (+0.25 bit). W4A16 on every GPU, "
         "as vLLM runs it by default (gpt-oss): Marlin / Triton on Hopper and older, FlashInfer's MXFP4 "
         "BF16 MoE backend on Blackwell (vllm/model_executor/layers/quantization/mxfp4.py get_mxfp4_backend "
         "picks it for the SM100 family unless VLLM_USE_FLASHINFER_MOE_MXFP4_MXFP8=1, which quantises "
         "activations to mxfp8: fp8 rate), Marlin on SM120 (RTX PRO 6000: triton_kernels only for "
         "SM90 <= cc < SM110), the triton_kernels backend on ROCm (MI300X, MI355X) with "
         "mxfp4_w4a16_moe_quant_config. A deployment with fp8 or fp4 activations says so in the "
         "compute_precision column: vLLM's gpt-oss recipe for Blackwell (vllm-project/recipes OpenAI/GPT-OSS.md, "
         "launch_server.sh) sets VLLM_USE_FLASHINFER_MOE_MXFP4_MXFP8=1 on compute capability 10.0, so a B200 "
         "deployment that follows it runs at fp8; the table keeps the code default"),
    _fmt("nvfp4", 4.5, ("fp4", "bf16", "fp16"),
         "NVIDIA NVFP4: 4-bit E2M1 + one FP8 E4M3 scale per 16 weights (+0.5 bit; the per-tensor "
         "fp32 scale is negligible). W4A4 at the fp4 peak where vLLM has an FP4 GEMM (select_nvfp4_linear_"
         "backend in vllm/model_executor/layers/quantization/utils/nvfp4_utils.py: FlashInfer CUTLASS or "
         "vLLM CUTLASS where cutlass_scaled_mm_supports_fp4: Blackwell SM100 family and SM120; activations "
         "quantised by scaled_fp4_quant before every GEMM), else weight-only Marlin (W4A16, bf16: Hopper, Ada, "
         "Ampere). No ROCm backend (cutlass_fp4_supported is False off CUDA, Marlin is CUDA-only): the MI355X "
         "row's fp4 price for nvfp4 is a deployment vLLM does not run by default"),
    _fmt("nvfp4a16", 4.5, ("bf16", "fp16"),
         "weight-only NVFP4 (llm-compressor's NVFP4A16 scheme: RedHatAI/*-NVFP4A16): nvfp4's bytes, W4A16 on "
         "every GPU, Blackwell too. The checkpoint quantises no activations, so vLLM's compressed-tensors "
         "config picks CompressedTensorsW4A16Fp4 before any other scheme (_get_scheme_from_parts: "
         "_is_fp4a16_nvfp4, weight_quant given and input_quant None; vllm/model_executor/layers/quantization/"
         "compressed_tensors/compressed_tensors.py), which runs every GEMM through apply_fp4_marlin_linear "
         "(FP4 Marlin: weights dequantised into 16-bit MMAs; schemes/compressed_tensors_w4a16_nvfp4.py), never "
         "the W4A4 CUTLASS / FlashInfer kernels of nvfp4"),
]))

#: Bytes per weight for each canonical format (derived from :data:`WEIGHT_FORMATS`).
PRECISION_BYTES: MappingProxyType[str, float] = MappingProxyType(
    {k: f.bytes_per_param for k, f in WEIGHT_FORMATS.items()})

#: Which GPU-table column holds the dense peak of each compute precision.
PEAK_COLUMNS: MappingProxyType[str, str] = MappingProxyType({
    "fp32": "peak_fp32_tflops", "fp16": "peak_fp16_tflops", "bf16": "peak_bf16_tflops",
    "fp8": "peak_fp8_tflops", "int8": "peak_int8_tops", "fp4": "peak_fp4_tflops",
})

_ALIASES: dict[str, str] = {
    "float32": "fp32", "float": "fp32", "f32": "fp32",
    "float16": "fp16", "half": "fp16", "f16": "fp16",
    "bfloat16": "bf16",
    "fp8block": "fp8_block", "blockfp8": "fp8_block", "fp8blockwise": "fp8_block",
    "float8": "fp8", "fp8e4m3": "fp8", "fp8e5m2": "fp8", "e4m3": "fp8", "w8a8fp8": "fp8",
    # torch / ROCm spellings: the "fnuz" variants are AMD CDNA 3's fp8 (MI300X, MI325X); same 1 byte per weight
    "float8e4m3fn": "fp8", "float8e5m2": "fp8", "fp8e4m3fn": "fp8", "fp8e4m3fnuz": "fp8", "fp8e5m2fnuz": "fp8",
    "float8e4m3fnuz": "fp8", "float8e5m2fnuz": "fp8", "e4m3fnuz": "fp8",
    "fp8dynamic": "fp8",  # RedHatAI's -FP8-Dynamic: fp8 weights, per-token dynamic fp8 activation scales
    "w8a8int8": "int8", "w8a8": "int8",  # llm-compressor's quantized.w8a8 (int8), as checkpoints.py reads the name
    "w4a16": "int4", "awq": "int4", "gptq": "int4", "nf4": "int4",  # bitsandbytes NF4: 4-bit weights, 16-bit GEMMs
    "fp4": "mxfp4", "mxfp4e2m1": "mxfp4",
    "nvfp4w4a16": "nvfp4a16", "w4a16nvfp4": "nvfp4a16",  # weight-only NVFP4 (llm-compressor's NVFP4A16)
}

#: Bytes per KV-cache element for each explicit ``kv_cache_dtype`` (``auto`` follows the activations).
KV_CACHE_DTYPE_BYTES: MappingProxyType[str, float] = MappingProxyType(
    {"fp32": 4.0, "fp16": 2.0, "bf16": 2.0, "fp8": 1.0})


def normalize_precision(precision: str) -> str:
    """Canonical weight-format name (``"bfloat16"`` -> ``"bf16"``, ``"AWQ"`` -> ``"int4"``).

    Raises:
        ValueError: unknown precision; the message lists the known ones.
    """
    key = str(precision).strip().lower().replace("-", "").replace("_", "")
    key = _ALIASES.get(key, key)
    if key not in WEIGHT_FORMATS:
        raise ValueError(
            f"unknown precision {precision!r}; expected one of {', '.join(WEIGHT_FORMATS)} "
            f"(or an alias: {', '.join(sorted(_ALIASES))})")
    return key


def normalize_compute_precision(precision: str) -> str:
    """Canonical GEMM precision of a ``compute_precision`` cell: its weight-format name (:func:`normalize_precision`),
    except that ``fp4``, ``mxfp4`` and ``nvfp4`` all name the fp4 GEMM (``"fp4"``, the GPU's fp4 peak: W4A4 on
    FP4 tensor cores). As a weight format a bare ``fp4`` is the alias of mxfp4, whose GEMMs run at 16 bit, so a
    cell declaring fp4 activations was priced at the bf16 peak (2.25e15 FLOP/s on a B200 instead of 9e15).

    Raises:
        ValueError: unknown precision, as :func:`normalize_precision`.
    """
    fmt = normalize_precision(precision)
    return "fp4" if fmt in ("mxfp4", "nvfp4") else fmt


def normalize_kv_cache_dtype(dtype: str) -> str:
    """Canonical KV-cache dtype (vLLM ``--kv-cache-dtype`` spellings: ``auto``, ``fp8``, ``fp8_e4m3``,
    ``fp8_e5m2``, ``float16``, ``bfloat16`` ...); ValueError for an unknown one."""
    key = str(dtype).strip().lower()
    if key == "auto":
        return key
    try:
        key = normalize_precision(key)
    except ValueError:
        pass  # reported below, with the KV-cache choices rather than the weight precisions
    if key not in KV_CACHE_DTYPE_BYTES:
        raise ValueError(f"unknown kv_cache_dtype {dtype!r}; expected auto or one of {', '.join(KV_CACHE_DTYPE_BYTES)}")
    return key


def bytes_per_param(precision: str) -> float:
    """Bytes per weight, block scales included: fp32 4, fp16/bf16 2, fp8/int8 1, int4/mxfp4 0.53125,
    nvfp4/nvfp4a16 0.5625 (:data:`WEIGHT_FORMATS`).

    Raises:
        ValueError: unknown precision.
    """
    return WEIGHT_FORMATS[normalize_precision(precision)].bytes_per_param


#: Compute choices that need more than a peak column: name -> (precision run at, columns that must all
#: have a peak). Block-scaled fp8 reaches the fp8 peak only on tensor cores that apply block scales
#: (the generation with FP4 tensor cores).
_CONDITIONAL_COMPUTE: dict[str, tuple[str, tuple[str, ...]]] = {"fp8_blockscaled": ("fp8", ("fp8", "fp4"))}
#: Vendors whose GPUs never meet a conditional compute choice: vLLM's ROCm block-fp8 kernels rescale in
#: registers on CDNA 4 as on CDNA 3 (the fp8_block note), so an MI355X prices fp8_block as an MI300X does.
_CONDITIONAL_EXCLUDED_VENDORS: dict[str, frozenset[str]] = {"fp8_blockscaled": frozenset({"amd"})}


def _peak_tflops(gpu: Any, compute: str) -> float:
    if compute in _CONDITIONAL_COMPUTE:
        runs_at, needs = _CONDITIONAL_COMPUTE[compute]
        if str(getattr(gpu, "vendor", "") or "").strip().lower() in _CONDITIONAL_EXCLUDED_VENDORS[compute]:
            return math.nan
        if any(math.isnan(_peak_tflops(gpu, c)) for c in needs):
            return math.nan
        compute = runs_at
    value = getattr(gpu, PEAK_COLUMNS[compute], math.nan)
    try:
        value = float(value)
    except (TypeError, ValueError):
        return math.nan
    return value if math.isfinite(value) and value > 0 else math.nan


def compute_precision(precision: str, gpu: Any) -> str:
    """The precision the matrix multiplies of ``precision`` weights run at on ``gpu``.

    ``gpu`` is anything with the GPU-table peak attributes (a :class:`energylens.profiles.tables.GpuSpec`).
    nvfp4 -> ``"fp4"`` on a GPU with FP4 tensor cores, else ``"bf16"``; nvfp4a16 (weight-only NVFP4) and
    mxfp4 -> ``"bf16"`` (vLLM's W4A16 kernels, also on Blackwell); fp8 -> ``"fp8"`` with
    FP8 tensor cores, else ``"bf16"``; fp8_block -> ``"fp8"`` only on an NVIDIA (or user) GPU with FP4
    tensor cores (vLLM's block-scaled kernels on Blackwell), else ``"bf16"`` (Hopper, every AMD GPU); int4 (W4A16) -> ``"bf16"``; bf16 -> ``"fp16"`` on a GPU with
    only fp16 tensor cores.

    Raises:
        ValueError: unknown precision, or the GPU has no peak for any precision the format can run
            at (a GPU-table row with blank peaks); the message names the GPU and the columns.
    """
    fmt = WEIGHT_FORMATS[normalize_precision(precision)]
    for compute in fmt.compute:
        if not math.isnan(_peak_tflops(gpu, compute)):
            return _CONDITIONAL_COMPUTE.get(compute, (compute,))[0]
    name = getattr(gpu, "name", repr(gpu))
    columns = ", ".join(PEAK_COLUMNS[_CONDITIONAL_COMPUTE.get(c, (c,))[0]] for c in fmt.compute)
    raise ValueError(
        f"GPU {name} has no peak for {fmt.name} weights: every one of {columns} is blank in its table "
        f"row; give the GPU's datasheet value in the profile column "
        f"gpu_{PEAK_COLUMNS[_CONDITIONAL_COMPUTE.get(fmt.compute[0], (fmt.compute[0],))[0]]} "
        "or in a user GPU table (--gpu-table FILE; docs/reference-tables.md)")


def activation_quantised(precision: str, gpu: Any, compute: str = "") -> bool:
    """Whether the matrix multiplies of ``precision`` weights quantise their activations on the fly on
    ``gpu`` (W8A8; vLLM launches a quantisation kernel before every such GEMM): the GEMM precision is
    8-bit or narrower (fp8 on FP8 tensor cores, int8, fp4), or block-scaled fp8 on a GPU with FP8 tensor
    cores (activations quantised per 1 x 128 group although on Hopper the rate is the 16-bit one).
    ``compute`` "" = :func:`compute_precision`'s choice; a given 16-bit ``compute`` means weight-only.

    Raises:
        ValueError: as :func:`compute_precision`.
    """
    resolved = compute or compute_precision(precision, gpu)
    if bytes_per_param(resolved) <= 1.0:
        return True
    fmt = normalize_precision(precision)
    return fmt == "fp8_block" and not compute and bytes_per_param(compute_precision("fp8", gpu)) <= 1.0


def peak_flops(gpu: Any, precision: str) -> float:
    """Dense peak, FLOP/s (OP/s for int8), of the precision ``precision`` weights compute at on ``gpu``.

    Raises:
        ValueError: as :func:`compute_precision`.
    """
    return _peak_tflops(gpu, compute_precision(precision, gpu)) * 1e12


def gemm_peak_flops(gpu: Any, compute: str) -> float:
    """Dense peak FLOP/s of GEMMs that run at the compute precision ``compute`` on ``gpu`` (what
    :func:`compute_precision` returns, or a profile's ``compute_precision`` cell): that precision's own peak
    column where the GPU's row has it, else :func:`peak_flops` of ``compute`` read as a weight format (fp8 on a
    GPU without FP8 tensor cores: bf16). The two differ only for ``"fp4"``, which as a weight format is the
    alias of mxfp4 (W4A16, the 16-bit peak): nvfp4 weights compute at ``"fp4"`` on Blackwell, and priced through
    :func:`peak_flops` they got the bf16 peak (since mxfp4 became W4A16 on 2026-12-05), a quarter of the fp4 one.

    Raises:
        ValueError: as :func:`compute_precision`.
    """
    if compute in PEAK_COLUMNS:
        value = _peak_tflops(gpu, compute)
        if not math.isnan(value):
            return value * 1e12
    return peak_flops(gpu, compute)


def kv_element_bytes(bpp: np.ndarray, kv_dtype: np.ndarray | None, column: str = "kv_cache_dtype") -> np.ndarray:
    """KV-cache element size: the row's ``kv_cache_dtype`` when explicit (fp8 1 B, fp16/bf16 2 B, fp32
    4 B); for ``auto`` (vLLM's default) the activation dtype: 16-bit unless the weights are fp32.

    Serving stacks keep the KV cache in the activation dtype by default also for fp8/int8/int4
    weight-quantised checkpoints; an fp8 KV cache is an explicit opt-in (``kv_cache_dtype=fp8``).
    The same spellings serve other cache dtypes (``column`` names the profile column in errors:
    ``mamba_ssm_cache_dtype``).
    """
    out = np.where(bpp >= 4.0, 4.0, 2.0)
    if kv_dtype is None:  # no kv_cache_dtype column: auto everywhere
        return out
    codes, uniques = pd.factorize(kv_dtype, sort=True)  # sorted: the first unknown dtype raises, as before
    for j, dtype in enumerate(uniques):
        key = str(dtype).strip().lower()
        if key in ("auto", "", "nan"):
            continue
        try:
            out = np.where(codes == j, KV_CACHE_DTYPE_BYTES[normalize_kv_cache_dtype(key)], out)
        except ValueError as exc:
            raise ValueError(f"profile column {column!r}: {exc}") from None
    return out
