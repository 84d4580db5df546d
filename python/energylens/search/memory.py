"""GPU memory of a deployment, per GPU: what the search's feasibility checks and ``energylens predict`` report.

Per GPU of one data-parallel rank (vLLM's accounting, docs/search.md "Feasibility"), on the fullest pipeline
stage (vLLM gives each stage whole decoder layers, :func:`stage_layers`; the first holds the input embedding,
the last the lm_head; the MoE layers sit where the model puts them, :func:`moe_layers_before`):

* **fixed**: the weights it holds (its layers' share of the dense weights over tp and its MoE layers' share of
  the routed experts over ep with expert parallelism, else over tp x dp: vLLM's MoE layers flatten TP across
  DP; the embedding on the first stage; a quantised checkpoint's embedding and lm_head in bf16,
  :func:`checkpoint_weight_bytes`; :func:`stage_weights`), a runtime reserve (:func:`runtime_reserve`: 1.5 GiB
  for CUDA graphs and non-torch memory, plus NCCL's NVLS buffers on NVSwitch GPUs) and the activations of a
  ``activation_tokens``-token forward pass (``activation_bytes_per_token_dmodel`` x d_model per token);
* **kv**: the KV cache of the rank's running batch at the mean context (input + output / 2, at least one whole
  sequence), the features' KV bytes per token over tp x the stage's share of the layers, plus each sequence's
  recurrent state (hybrids); vLLM sizes every worker's cache from the most constrained one, so where a stage
  with more layers holds fewer weights (:func:`binding_stages`), the larger of the two stages' weights + cache
  counts (kv is then what that adds to fixed); a hybrid whose model table row gives its ``layer_pattern``
  holds on each stage the cache of its attention layers and the state of its state layers, every stage
  checked (:mod:`.stage_cache`);
* **usable**: ``gpu_memory_utilization`` x the GPU's memory.

The engine (cpp/include/energylens/search_kernel.hpp) computes the same in C++; the NumPy brute force
(:mod:`energylens.search.oracle`) calls this module, and the exactness tests compare the two.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from energylens.profiles import tables, topology
from energylens.profiles.cells import key_codes
from energylens.profiles.checkpoints import LAYOUT_COLUMN, expert_bytes_per_param, row_layout
from energylens.profiles.features import STATE_TRAFFIC_PER_STEP
from energylens.search.stage_cache import (
    binding_stages,
    moe_layers_before,
    own_pattern,
    pattern_cache,
    pattern_fields,
    row_patterns,
    row_windows,
    stage_bytes,
    stage_layers,
)

__all__ = ["MEMORY_DEFAULTS", "GpuMemory", "weights_per_gpu", "stage_weights", "stage_layers", "stage_bytes",
           "binding_stages", "moe_layers_before", "weight_parts", "WEIGHT_PARTS", "parts_stage_weights", "gpu_sides",
           "activation_bytes", "embedding_stage_bytes", "combo_weight_values", "shared_weight_bytes_per_param",
           "gpu_memory", "pattern_fields", "own_pattern", "EMBEDDING_BYTES_PER_PARAM", "MXFP4_EXPERT_HIDDEN_MULTIPLE", "embedding_params",
           "expert_weight_bytes", "checkpoint_weight_bytes", "vision_params", "routed_expert_params", "kept_params",
           "BF16_KEPT", "runtime_reserve", "nvls_capable", "NVLS_BYTES_PER_GPU", "NVLS_MAX_HEADS", "collective_group"]

#: Bytes in a GiB: the GPU table's memory_gb is read as GiB, within 0.4 % of what nvidia-smi reports for the
#: HBM parts (H100 80 GB: 81559 MiB = 79.65 GiB; docs/search.md); ``energylens.search.space.GIB`` is this one.
GIB = float(2**30)

#: NCCL's NVLink SHARP (NVLS) buffers per GPU of a TP / MoE group of n > 2 GPUs on an NVSwitch GPU, per group GPU
#: (NCCL's "head") and communicator, as current NCCL sizes them (NVIDIA/nccl src/transport/nvls.cc,
#: ``ncclNvlsBufferSetup`` at 2.22.3, the same formula in later releases): buffSize = NCCL_NVLS_CHUNKSIZE
#: (128 KiB) x NCCL_STEPS (8) = 1 MiB, nvlsPerRankSize = nvlsChannels x 2 x buffSize, nvlsTotalSize = nvlsPerRankSize
#: x nHeads; nvlsChannels 16 on Hopper (NVLS_NCHANNELS_SM90: 32 MiB per head), 24 on Blackwell within one host
#: (NVLS_NCHANNELS_SM100_NVL: 48 MiB), 32 across hosts (NVLS_NCHANNELS_SM100: 64 MiB; 2.22.3 had 16 for all).
#: Charged at 48 MiB, Blackwell's one-host figure (H100 / H200 use 2/3 of it), twice: a vLLM group holds two NCCL communicators (torch's process group and a PyNcclCommunicator,
#: vllm/distributed/device_communicators/cuda_communicator.py). 96 MiB per group GPU: 0.75 GiB at TP 8. Until
#: 2026-12-07 it was 2 x 288 MiB (4.5 GiB at TP 8), the figure older NCCL logged on 8 x H200, "NVLS comm ... nHeads 8
#: buffSize 4194304 memSize 2097152 nvlsPerRankSize 301989888 nvlsTotalSize 2415919104" (vllm-project/vllm#9699, vLLM
#: 0.6 on torch 2.4, whose NCCL sized buffSize as NCCL_BUFFSIZE, 4 MiB, plus 2 MiB of memSize, over 24 channels): 9x
#: today's Hopper figure. A stack on such an NCCL, or one that turns NVLS off (NCCL_NVLS_ENABLE=0), gives its own
#: whole reserve with ``runtime_reserve_gib`` (--runtime-reserve-gib 6 at TP 8 for the old buffers). Current vLLM
#: creates the communicators before its memory snapshot (vllm/v1/worker/gpu_worker.py ``init_device``), so what NCCL
#: allocates then may fall outside gpu_memory_utilization: charging the buffers is the conservative side. The growth
#: stops at :data:`NVLS_MAX_HEADS` GPUs.
NVLS_CHUNK_BYTES, NVLS_STEPS, NVLS_CHANNELS = 128 * 1024, 8, 24
NVLS_BYTES_PER_GPU = 2.0 * NVLS_CHANNELS * 2 * NVLS_CHUNK_BYTES * NVLS_STEPS
#: The most GPUs of a group the NVLS buffers grow with: NCCL allocates nvlsTotalSize = nvlsPerRankSize x nHeads
#: per GPU and communicator (src/transport/nvls.cc ``ncclNvlsBufferSetup``; nvlsPerRankSize = nvlsChannels x 2 x
#: buffSize), and its NVLS graph search takes one head per GPU of the comm's NVLink domain, at most
#: NCCL_MAX_NVLS_ARITY (src/graph/search.cc ``ncclTopoCompute``: ``graph->maxChannels =
#: std::min(NCCL_MAX_NVLS_ARITY, system->nodes[GPU].count)``; nHeads = that graph's channels). The cap is 32 in
#: the NCCL releases with multi-node NVLink (src/include/device.h; 2.22 as NVIDIA/nccl#1429 quotes it; 8 before,
#: when no NVLS domain held more than 8 GPUs): TP 64 on GB200 NVL72 holds 96 MiB x 32 = 3 GiB, not 6.
#: nvlsPerRankSize itself does not grow with the group (:data:`NVLS_BYTES_PER_GPU`).
NVLS_MAX_HEADS = 32

#: The memory check's settings (the search's options of the same names, docs/search.md): an explicit
#: ``runtime_reserve_gib`` sets ``runtime_reserve_bytes`` and ``nvls_reserve_bytes_per_gpu`` 0 (a flat reserve).
MEMORY_DEFAULTS = {"gpu_memory_utilization": 0.9, "runtime_reserve_bytes": 1.5 * GIB,
                   "nvls_reserve_bytes_per_gpu": NVLS_BYTES_PER_GPU, "activation_tokens": 8192.0,
                   "activation_bytes_per_token_dmodel": 24.0}

#: Bytes per parameter of a quantised checkpoint's input embedding and lm_head: vLLM quantises linear layers
#: only (``VocabParallelEmbedding`` / ``ParallelLMHead`` get no quant method from the fp8, compressed-tensors,
#: AWQ, GPTQ, ModelOpt or mxfp4 configs, and llm-compressor / AutoAWQ / the Qwen and DeepSeek fp8 releases
#: store them in bf16), so they stay 16-bit whatever the format: Meta-Llama-3-8B-Instruct-FP8 holds 6.98e9 x
#: 1 B + 1.05e9 x 2 B = 8.46 GiB, what vLLM logs for it (tests/search/test_search_memory_published.py).
EMBEDDING_BYTES_PER_PARAM = 2.0
#: vLLM allocates an mxfp4 checkpoint's routed experts with the hidden size rounded up for its MoE kernels
#: (vllm/model_executor/layers/fused_moe/layer.py ``maybe_roundup_layer_hidden_size``: to 128 for the SM90
#: FlashInfer BF16 and SM100 CUTLASS backends, 256 on ROCm and the SM100 TRT-LLM / BF16 ones; the Triton and
#: Marlin backends' logged figures show as much); 256 fits
#: both published figures: gpt-oss-120b on one H100, Triton backend, "Model loading took 64.38 GiB"
#: (vllm-project/vllm#33155; 60.7 GiB unpadded, 64.5 padded) and gpt-oss-20b on an A100, Marlin, 13.72 GiB
#: (12.8 unpadded, 13.4 padded; tests/search/test_search_memory_published.py).
MXFP4_EXPERT_HIDDEN_MULTIPLE = 256


@dataclass(frozen=True)
class GpuMemory:
    """Bytes per GPU of the fullest pipeline stage, one entry per row: ``fixed`` (weights, reserve, activations),
    ``kv`` (KV cache and state of the running batch; where two stages can bind, what the tighter one's weights +
    cache add to ``fixed``) and ``usable`` (the GPU's memory x gpu_memory_utilization)."""

    fixed: np.ndarray
    kv: np.ndarray
    usable: np.ndarray

    @property
    def weights_fit(self) -> np.ndarray:
        return self.fixed <= self.usable

    @property
    def fits(self) -> np.ndarray:
        return self.fixed + self.kv <= self.usable


def weights_per_gpu(frame: pd.DataFrame, tp, pp, dp, ep, model_specs: dict | None = None) -> np.ndarray:
    """Weight bytes the fullest GPU holds (:func:`stage_weights`' larger stage; at pp 1 dense weights over tp,
    routed experts over ep if > 1, else tp x dp: vLLM's MoE layers shard them over every GPU of a stage,
    :func:`topology.moe_group_gpus`). The bytes are :func:`checkpoint_weight_bytes`'s (embeddings, lm_head and
    a vision encoder in bf16 beside a quantised format, mxfp4 experts padded as vLLM allocates them, each
    checkpoint's layout); ``model_specs`` (model name -> ModelSpec, a search space's) gives the rows' vocabulary
    and layers where the model table does not (:func:`_frame_arch`)."""
    first, fullest, _ = stage_weights(frame, tp, pp, dp, ep, model_specs)
    return np.maximum(first, fullest)


def stage_weights(frame: pd.DataFrame, tp, pp, dp, ep, model_specs: dict | None = None):
    """Weight bytes per GPU of the pipeline stages that can bind (:func:`binding_stages`): the one with the most
    weights, and a stage with more layers but fewer weights (``fullest``: 0 where none), and the stage data (a
    dict: ``first_layers``, the layers of the first of them, ``fullest_layers``, the second's (0: none), and
    ``n_layers``)."""
    return parts_stage_weights(weight_parts(frame, model_specs), tp, pp, dp, ep)


def parts_stage_weights(parts, tp, pp, dp, ep):
    """:func:`stage_weights` of :func:`weight_parts`' values (in :data:`WEIGHT_PARTS`' order; arrays or scalars:
    the weights remedy's example layout, :mod:`.assumed`, weighs its stages with this)."""
    shard = topology.moe_group_gpus(tp, dp, ep)
    heavy_n, heavy, other_n, other = binding_stages(*parts, tp, pp, shard)  # WEIGHT_PARTS: its first arguments
    stages = {"first_layers": heavy_n, "fullest_layers": other_n, "n_layers": parts[5]}
    return heavy, np.where(other_n > 0, other, 0.0), stages


#: What :func:`weight_parts` returns per row, in its order (:func:`binding_stages`' first arguments).
WEIGHT_PARTS = ("total", "experts", "matrix", "encoder", "tied", "n_layers", "n_moe")


def weight_parts(frame: pd.DataFrame, model_specs: dict | None = None) -> tuple:
    """Per row: the checkpoint's weight bytes, its routed experts', one vocabulary matrix's, the vision encoder's,
    whether the embeddings are tied, the decoder layers and the MoE layers (NaN: unknown; :func:`stage_weights`,
    :data:`WEIGHT_PARTS`); once per distinct row of the columns read (row by row: ~1.5 s at 420k rows)."""
    read = [c for c in (*_READ, LAYOUT_COLUMN, *_ARCH) if c in frame.columns]
    if len(frame) > 1 and set(_READ) <= set(read):  # a missing column: the error of the rows' own computation
        group, keys = key_codes(*(frame[c] for c in read))
        if len(keys) < len(frame):
            first = np.empty(len(keys), dtype=np.intp)
            first[group[::-1]] = np.arange(len(group) - 1, -1, -1)  # the last write is a key's first row
            return tuple(np.asarray(p, dtype=float)[group] for p in weight_parts(frame.iloc[first], model_specs))
    precision = frame["precision"].to_numpy()
    params = frame["params_b"].to_numpy(dtype=float) * 1e9
    n_exp = frame["n_experts"].to_numpy(dtype=float)
    k = frame["experts_per_token"].to_numpy(dtype=float)
    moe = n_exp > 1
    arch = _frame_arch(frame, model_specs)
    expert_params = routed_expert_params(params, frame["active_params_b"].to_numpy(dtype=float) * 1e9, n_exp, k,
                                         vision_params(arch["vision_params_b"]) + vision_params(arch["audio_params_b"]))
    models = frame["model"].astype(str).to_numpy()
    layouts = frame[LAYOUT_COLUMN].to_numpy(dtype=object) if LAYOUT_COLUMN in frame.columns else None  # the row's own
    kept = kept_params(*(arch[c] for c in BF16_KEPT))
    total = checkpoint_weight_bytes(precision, params, expert_params, kept, moe, arch["d_model"], models, layouts)
    experts = expert_weight_bytes(precision, expert_params, arch["d_model"], models, layouts)
    matrix, encoder = embedding_stage_bytes(precision, moe, models, layouts, *(arch[c] for c in BF16_KEPT))
    return total, experts, matrix, encoder, arch["tie_word_embeddings"], arch["n_layers"], arch["n_moe_layers"]


def routed_expert_params(params, active_params, n_experts, experts_per_token, encoder_params):
    """Routed-expert parameters of a MoE (0 for a dense model, ``n_experts`` <= 1): what its language model holds
    beyond the active parameters, over 1 - k/E. The model table's ``params_b`` holds the encoders (a vision
    encoder, Qwen3-Omni's audio tower: ``encoder_params``) and ``active_params_b`` does not, so they come off
    first (at most params - active), as the step-weight features count them (profiles/step_weights.py
    ``step_weight_bytes``, whence the engine's expert_total_bytes): Qwen3-VL-30B-A3B's (31.1 - 0.58 - 3.35) /
    (1 - 8/128) = 28.98e9, 48 layers x 128 experts x 3 x 2048 x 768 = 28.99e9 by config.json, where
    (31.1 - 3.35) / (1 - 8/128) = 29.6e9 counted the encoder as experts (sharded over tp x dp, not tp).
    Arrays."""
    moe = np.asarray(n_experts, dtype=float) > 1
    inactive = np.asarray(params, dtype=float) - np.asarray(active_params, dtype=float)
    lm_inactive = np.maximum(inactive - np.minimum(encoder_params, np.maximum(inactive, 0.0)), 0.0)
    frac = np.asarray(experts_per_token, dtype=float) / np.where(moe, n_experts, 1.0)
    return np.where(moe, lm_inactive / np.where(moe, 1 - frac, 1.0), 0.0)


def combo_weight_values(row: dict, arch: list, expert_step_bytes: float, moe: bool) -> dict[str, float]:
    """The engine's weight fields of one search combination (profile row ``row``; ``arch`` its
    :data:`BF16_KEPT` values; ``expert_step_bytes`` the bytes all its routed experts stream per step):
    weight_total_bytes and expert_total_bytes (:func:`checkpoint_weight_bytes`, :func:`expert_weight_bytes`),
    embedding_matrix_bytes and encoder_bytes (:func:`embedding_stage_bytes`) and tied_embeddings."""
    precision, model, own = row["precision"], row["model"], row.get("weight_layout")
    experts = expert_step_bytes / expert_bytes_per_param(model, precision, own)
    kept, d = kept_params(*arch), arch[1]
    matrix, encoder = embedding_stage_bytes(precision, moe, model, own, *arch)
    return {"weight_total_bytes": checkpoint_weight_bytes(precision, float(row["params_b"]) * 1e9, experts, kept,
                                                          bool(moe), d, model, own),
            "expert_total_bytes": expert_weight_bytes(precision, experts, d, model, own),
            "embedding_matrix_bytes": float(matrix[0]), "encoder_bytes": float(encoder[0]),
            "tied_embeddings": float(np.nan_to_num(arch[2]) > 0)}


def embedding_stage_bytes(precision, moe, models, layouts, vocab_size, d_model, tie_word_embeddings, vision_params_b):
    """Bytes of one vocabulary x d_model matrix (an input embedding or an lm_head) and of a vision encoder
    as :func:`checkpoint_weight_bytes` counts them (bf16 beside a quantised format; 0 where unknown), per row
    (``precision``, ``moe`` and the architecture columns arrays, ``models`` / ``layouts`` as there)."""
    precision, moe = np.atleast_1d(np.asarray(precision, dtype=object)), np.atleast_1d(moe)
    names, cells = _names(models, len(precision)), _names(layouts, len(precision))
    shared = _per_distinct(shared_weight_bytes_per_param, precision, moe.astype(bool), names, cells)
    held = np.maximum(shared, EMBEDDING_BYTES_PER_PARAM)
    return held * embedding_params(vocab_size, d_model, 1.0), held * vision_params(vision_params_b)


def expert_weight_bytes(precision, expert_params, d_model, models=None, layouts=None):
    """Bytes vLLM allocates for the routed experts: ``expert_params`` in the format ``precision`` at the
    checkpoint's own bytes where its group size fixes them (``models``: the checkpoint names, per row or one;
    :func:`energylens.profiles.checkpoints.checkpoint_layout`: Kimi-K2-Thinking's int4 in groups of 32,
    0.5625 B; ``layouts``: the rows' ``weight_layout`` cells, per row or one, which decide first); an mxfp4 checkpoint's padded to a hidden size of a multiple of
    :data:`MXFP4_EXPERT_HIDDEN_MULTIPLE` (gpt-oss: 2880 -> 3072, x 1.067; 0 where d_model is unknown:
    unpadded). ``precision`` per row (array) or a scalar."""
    one = np.ndim(expert_params) == 0
    precision = np.atleast_1d(np.asarray(precision, dtype=object))
    bpp = _per_distinct(_expert_bytes, precision, _names(models, len(precision)), _names(layouts, len(precision)))
    mx = _per_distinct(lambda x: tables.normalize_precision(x) == "mxfp4", precision).astype(bool)
    d = np.asarray(d_model, dtype=float)
    m = MXFP4_EXPERT_HIDDEN_MULTIPLE
    pad = np.where(mx & np.isfinite(d) & (d > 0), np.ceil(np.nan_to_num(d) / m) * m / np.where(d > 0, d, 1.0), 1.0)
    out = bpp * np.asarray(expert_params, dtype=float) * pad
    return float(out[0]) if one else out


def embedding_params(vocab_size, d_model, tie_word_embeddings):
    """Parameters of the input embedding and the lm_head: vocab_size x d_model each, once when tied
    (``tie_word_embeddings`` 1); 0 where the vocabulary is unknown (NaN: every parameter then counts in the
    checkpoint's format). Scalars or arrays."""
    vocab, tied = np.asarray(vocab_size, dtype=float), np.asarray(tie_word_embeddings, dtype=float)
    known = np.isfinite(vocab) & (vocab > 0) & np.isfinite(np.asarray(d_model, dtype=float))
    out = np.where(known, np.nan_to_num(vocab) * np.nan_to_num(d_model) * np.where(tied > 0, 1.0, 2.0), 0.0)
    return float(out) if out.ndim == 0 else out


def checkpoint_weight_bytes(precision, params, expert_params, embeddings, moe, d_model=np.nan, models=None,
                            layouts=None):
    """Bytes of all of a checkpoint's weights as vLLM holds them: the routed experts (``expert_params``,
    :func:`expert_weight_bytes`), the parameters a quantised checkpoint keeps 16-bit (``embeddings``: the
    embedding and lm_head, :func:`embedding_params`, and a vision encoder, :func:`vision_params`) in bf16
    beside a quantised format (:data:`EMBEDDING_BYTES_PER_PARAM`; a 16- or 32-bit format keeps its own), the
    rest as :func:`shared_weight_bytes_per_param` (``models``: the checkpoint names, per row or one, whose
    layout may hold only the experts in the format; ``layouts``: their ``weight_layout`` cells, which decide
    first). ``precision`` and ``moe`` per row (arrays) or scalars."""
    one = np.ndim(params) == 0
    precision, moe = np.atleast_1d(np.asarray(precision, dtype=object)), np.atleast_1d(moe)
    names, cells = _names(models, len(precision)), _names(layouts, len(precision))
    shared = _per_distinct(shared_weight_bytes_per_param, precision, moe.astype(bool), names, cells)
    params, expert_params = np.asarray(params, dtype=float), np.asarray(expert_params, dtype=float)
    emb = np.clip(np.asarray(embeddings, dtype=float), 0.0, np.maximum(params - expert_params, 0.0))
    out = (expert_weight_bytes(precision, expert_params, d_model, names, cells) + shared * (params - expert_params - emb)
           + np.maximum(shared, EMBEDDING_BYTES_PER_PARAM) * emb)
    return float(np.ravel(out)[0]) if one else out


def vision_params(vision_params_b):
    """Parameters of a vision encoder (``vision_params_b``, billions; NaN or 0 = none) that a quantised
    checkpoint keeps in bf16: the published quantised vision-language checkpoints leave the encoder and its
    projector out of the format (Qwen3-VL -FP8: config.json ``modules_to_not_convert`` lists every
    ``model.visual.blocks.*``, the merger and the deepstack mergers; llm-compressor's Llama 4 and Qwen3-VL
    recipes ignore ``re:.*vision_model.*`` / ``re:visual.*`` and the multimodal projector), and vLLM gives
    an ignored layer the unquantised method. Scalars or arrays."""
    v = np.asarray(vision_params_b, dtype=float)
    out = np.where(np.isfinite(v) & (v > 0), np.nan_to_num(v) * 1e9, 0.0)
    return float(out) if out.ndim == 0 else out


#: The architecture columns :func:`kept_params` reads, in its order.
BF16_KEPT = ("vocab_size", "d_model", "tie_word_embeddings", "vision_params_b")
#: The architecture columns :func:`_frame_arch` reads: :data:`BF16_KEPT`, the decoder layers, the audio tower and
#: the MoE layers.
_ARCH = (*BF16_KEPT, "n_layers", "audio_params_b", "n_moe_layers")
#: The columns :func:`weight_parts` needs (beside the optional weight_layout and :data:`_ARCH` ones).
_READ = ("model", "precision", "params_b", "active_params_b", "n_experts", "experts_per_token")


def kept_params(vocab_size, d_model, tie_word_embeddings, vision_params_b):
    """Parameters a quantised checkpoint keeps in bf16: its embedding and lm_head (:func:`embedding_params`)
    and its vision encoder (:func:`vision_params`). Scalars or arrays."""
    return embedding_params(vocab_size, d_model, tie_word_embeddings) + vision_params(vision_params_b)


def _names(models, n: int) -> list:
    """``models`` (None, one name, or one per row) as a list of n names ("" = unknown; a missing cell too)."""
    if models is None or isinstance(models, str) or (np.ndim(models) == 0 and pd.isna(models)):
        return [models if isinstance(models, str) else ""] * n
    cells = np.atleast_1d(np.asarray(models, dtype=object))
    return ["" if missing else str(m) for m, missing in zip(cells, pd.isna(cells), strict=True)]  # isna: at once


def _per_distinct(fn, *columns) -> np.ndarray:
    """``fn`` of each row of ``columns`` (equal-length sequences), called once per distinct row and its value reused:
    the weight-format lookups normalise the precision name, and row by row a 42k-row ``energylens predict`` made
    672k such calls (0.42-0.45 s of its 1.9 s; 0.20-0.22 s once per distinct row)."""
    seen: dict = {}
    out = [seen[k] if k in seen else seen.setdefault(k, fn(*k)) for k in zip(*columns, strict=True)]
    return np.array(out, dtype=float)


def _expert_bytes(precision: str, model: str, layout: str = "") -> float:
    """Bytes per routed-expert parameter: the row's or the checkpoint's layout's, else the format's."""
    own = row_layout(model, precision, layout).expert_bytes if model or layout else np.nan
    return own if np.isfinite(own) else tables.bytes_per_param(precision)


def _frame_arch(frame: pd.DataFrame, model_specs: dict | None = None) -> dict[str, np.ndarray]:
    """vocab_size, d_model, tie_word_embeddings, vision_params_b, n_layers, audio_params_b and n_moe_layers of each row: its own
    column where given, else its model's spec's (``model_specs[name]``, else the model table's row; NaN for a
    model neither knows)."""
    cols = _ARCH
    out = {c: np.full(len(frame), np.nan) for c in cols}
    names = frame["model"].astype(str).to_numpy()
    for name in np.unique(names):
        at = np.flatnonzero(names == name)
        spec = (model_specs or {}).get(name) or tables.find_model(name)
        for c in cols:
            own = (pd.to_numeric(frame[c].iloc[at], errors="coerce").to_numpy(dtype=float) if c in frame.columns
                   else np.full(len(at), np.nan))
            out[c][at] = np.where(np.isfinite(own), own, float(getattr(spec, c)) if spec is not None else np.nan)
    return out


def shared_weight_bytes_per_param(precision: str, moe: bool, model: str = "", layout: str = "") -> float:
    """Bytes per parameter of the weights outside the routed experts: a MoE checkpoint whose layout holds
    only its experts in the format (:func:`energylens.profiles.checkpoints.checkpoint_layout`: gpt-oss's mxfp4
    whatever the name, Kimi-K2-Thinking's int4 for ``model``, a row's ``weight_layout`` cell ``layout`` first) keeps attention, shared experts, dense layers,
    router and embeddings in bf16 (gpt-oss-120b: 114.7e9 x 0.53125 + 2.1e9 x 2 B = 65.2 GB, the checkpoint's
    size); any other checkpoint stores them as the experts."""
    if moe and row_layout(model or "", tables.normalize_precision(precision), layout or "").experts_only:
        return tables.bytes_per_param("bf16")
    return tables.bytes_per_param(precision)


def nvls_capable(spec) -> bool:
    """Whether NCCL runs NVLink SHARP (NVLS) on GPU ``spec`` (a :class:`GpuSpec`): NVSwitch's multicast, on an
    NVIDIA GPU with NVLink 4 or later (``interconnect_bw_gbs`` >= 900: H100 / H200 / H20 SXM, B100 / B200 / B300,
    GB200) whose scale-up domain is a switch of 8 or more GPUs (not the 2- / 4-GPU NVLink bridges of H100 / H200
    NVL, not GH200's single GPU); A100's third-generation NVSwitch has no SHARP, and AMD's RCCL no NVLS."""
    return (str(spec.vendor).lower() == "nvidia" and float(spec.interconnect_bw_gbs) >= 900.0
            and spec.domain_gpus() >= 8)


def runtime_reserve(group, nvls, options=None):
    """Runtime reserve per GPU, bytes (the engine's ``kernel::runtime_reserve``): ``runtime_reserve_bytes`` (1.5 GiB:
    CUDA graphs and the non-torch memory vLLM counts against ``gpu_memory_utilization``, docs/search.md) plus,
    where ``nvls`` (:func:`nvls_capable`) and the GPU's largest collective ``group`` (:func:`collective_group`)
    spans n > 2 GPUs, NCCL's NVLS buffers: ``nvls_reserve_bytes_per_gpu`` x min(n, :data:`NVLS_MAX_HEADS`)
    (:data:`NVLS_BYTES_PER_GPU`). ``options`` override :data:`MEMORY_DEFAULTS`; scalars or arrays."""
    o = {**MEMORY_DEFAULTS, **(options or {})}
    n = np.asarray(group, dtype=float)
    heads = np.minimum(n, NVLS_MAX_HEADS)
    return o["runtime_reserve_bytes"] + np.where(np.asarray(nvls, dtype=bool) & (n > 2), o["nvls_reserve_bytes_per_gpu"] * heads, 0.0)


def collective_group(tp, dp, ep, moe, domain=np.inf):
    """GPUs of the largest group a GPU's collectives span inside its NVLink ``domain`` (NVLS's reach; the GPU
    table's ``scale_up_domain_gpus``): its TP group, or for a MoE model (``moe``) the GPUs its MoE layers exchange
    tokens over (:func:`topology.moe_group_gpus`: the EP group, else tp x dp)."""
    group = np.where(np.asarray(moe, dtype=bool), topology.moe_group_gpus(tp, dp, ep), np.asarray(tp, dtype=float))
    return np.minimum(group, np.asarray(domain, dtype=float))


def activation_bytes(d_model, options=None):
    """Bytes per GPU of the activations of an ``activation_tokens``-token forward pass (``options`` override
    :data:`MEMORY_DEFAULTS`): ``activation_bytes_per_token_dmodel`` x ``d_model`` per token."""
    o = {**MEMORY_DEFAULTS, **(options or {})}
    return o["activation_tokens"] * d_model * o["activation_bytes_per_token_dmodel"]


def gpu_sides(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row of ``frame``: its GPU's memory_gb, whether NCCL runs NVLS on it (:func:`nvls_capable`) and the GPUs
    of its NVLink domain, from the GPU table, the user's table or the rows' own gpu_* spec columns."""
    specs = tables.gpu_specs_for_profiles(frame)
    at, names = pd.factorize(frame["gpu"].astype(str).str.strip(), use_na_sentinel=False)  # each GPU looked up once
    sides = [(specs[g].memory_gb, nvls_capable(specs[g]), specs[g].domain_gpus()) for g in names]
    return tuple(np.array([row[k] for row in sides], dtype=t)[at] for k, t in enumerate((float, bool, float)))


def gpu_memory(frame: pd.DataFrame, feats, rank_batch, input_tokens, output_tokens, options=None,
               model_specs: dict | None = None) -> GpuMemory:
    """:class:`GpuMemory` of validated profile rows ``frame`` (model, precision, GPU, tp, pp, ep, the
    architecture columns) with their features ``feats``, each data-parallel rank running ``rank_batch``
    sequences of ``input_tokens`` / ``output_tokens``; ``options`` override :data:`MEMORY_DEFAULTS`;
    ``model_specs`` as :func:`weights_per_gpu`'s."""
    o = {**MEMORY_DEFAULTS, **(options or {})}
    tp, pp = frame["tp"].to_numpy(dtype=float), frame["pp"].to_numpy(dtype=float)
    dp, ep = frame["dp"].to_numpy(dtype=float), frame["ep"].to_numpy(dtype=float)
    li, lo = np.asarray(input_tokens, dtype=float), np.asarray(output_tokens, dtype=float)
    batch = np.asarray(rank_batch, dtype=float)
    memory_gb, nvls, domain = gpu_sides(frame)
    usable = o["gpu_memory_utilization"] * memory_gb * GIB  # NaN where the GPU's memory is unknown
    group = collective_group(tp, dp, ep, frame["n_experts"].to_numpy(dtype=float) > 1, domain)
    parts = weight_parts(frame, model_specs)
    first, fullest, stages = parts_stage_weights(parts, tp, pp, dp, ep)
    weights = np.maximum(first, fullest)
    fixed = weights + runtime_reserve(group, nvls, o) + activation_bytes(feats["d_model"], o)
    # the features' KV bytes count every GPU's copy (heads replicated beyond their count), so per GPU it is
    # a rank's tokens x that total over tp GPUs x the stage's share of the layers (n_layers / its layers; pp
    # at pp 1 and on even stages): the running batch at the mean context, at least one whole sequence; plus
    # each sequence's recurrent state. vLLM sizes every worker's KV cache from the most constrained one (its
    # block count is the minimum over workers), so the check holds on each stage: the first, and a fuller
    # middle one (:func:`stage_layers`), each counted beyond the fullest stage's weights
    tokens = np.maximum(batch * (li + 0.5 * lo), li + lo)
    state = feats["state_bytes_per_seq"] / STATE_TRAFFIC_PER_STEP
    seqs = np.maximum(batch, 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        spread = np.where(pp > 1, stages["n_layers"] / stages["first_layers"], pp)
        kv = tokens * feats["kv_bytes_per_token"] / (tp * spread) + seqs * state / (tp * spread)
        other = stages["n_layers"] / np.where(stages["fullest_layers"] > 0, stages["fullest_layers"], 1.0)
        at_first = (first - weights) + kv
        at_fullest = (fullest - weights) + (tokens * feats["kv_bytes_per_token"] / (tp * other)
                                            + seqs * state / (tp * other))
    kv = np.where(stages["fullest_layers"] > 0, np.where(at_first > at_fullest, at_first, at_fullest), kv)
    # a model whose attention / state / sliding-window layers its layer_pattern places: each stage by its own
    # (stage_cache.py)
    specs = {n: (model_specs or {}).get(n) or tables.find_model(n) for n in frame["model"].astype(str).unique()}
    hybrid = pattern_cache(row_patterns(frame, specs, parts[5]), parts, tp, pp, topology.moe_group_gpus(tp, dp, ep),
                           weights, feats["kv_bytes_per_token"], state, tokens, seqs, li + 0.5 * lo,
                           row_windows(frame, specs))
    kv = np.where(np.isnan(hybrid), kv, hybrid)
    return GpuMemory(fixed=np.asarray(fixed, dtype=float), kv=np.asarray(kv, dtype=float),
                     usable=np.asarray(usable, dtype=float))
