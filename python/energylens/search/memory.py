"""GPU memory of a deployment, per GPU: what the search's feasibility checks and ``energylens predict`` report.

Per GPU of one data-parallel rank (vLLM's accounting, docs/search.md "Feasibility"):

* **fixed**: the weights it holds (dense weights over tp x pp; routed experts over ep x pp with expert
  parallelism, else over tp x dp x pp: vLLM's MoE layers flatten TP across DP), a runtime reserve (CUDA graphs, NCCL buffers; 1.5 GiB) and the activations
  of a ``activation_tokens``-token forward pass (``activation_bytes_per_token_dmodel`` x d_model per token);
* **kv**: the KV cache of the rank's running batch at the mean context (input + output / 2, at least one whole
  sequence), the features' KV bytes per token spread over its tp x pp GPUs, plus each sequence's recurrent
  state (hybrids);
* **usable**: ``gpu_memory_utilization`` x the GPU's memory.

The engine (cpp/include/energylens/search_kernel.hpp) computes the same in C++; the NumPy brute force
(:mod:`energylens.search.oracle`) calls this module, and the exactness tests compare the two.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from energylens.profiles import tables, topology
from energylens.profiles.features import EXPERT_ONLY_PRECISIONS, STATE_TRAFFIC_PER_STEP

__all__ = ["MEMORY_DEFAULTS", "GpuMemory", "weights_per_gpu", "shared_weight_bytes_per_param", "gpu_memory"]

#: Bytes in a GiB: the GPU table's memory_gb is read as GiB, within 0.4 % of what nvidia-smi reports for the
#: HBM parts (H100 80 GB: 81559 MiB = 79.65 GiB; docs/search.md); ``energylens.search.space.GIB`` is this one.
GIB = float(2**30)

#: The memory check's settings (the search's options of the same names, docs/search.md).
MEMORY_DEFAULTS = {"gpu_memory_utilization": 0.9, "runtime_reserve_bytes": 1.5 * GIB, "activation_tokens": 8192.0,
                   "activation_bytes_per_token_dmodel": 24.0}


@dataclass(frozen=True)
class GpuMemory:
    """Bytes per GPU, one entry per row: ``fixed`` (weights, reserve, activations), ``kv`` (KV cache and state of
    the running batch) and ``usable`` (the GPU's memory x gpu_memory_utilization)."""

    fixed: np.ndarray
    kv: np.ndarray
    usable: np.ndarray

    @property
    def weights_fit(self) -> np.ndarray:
        return self.fixed <= self.usable

    @property
    def fits(self) -> np.ndarray:
        return self.fixed + self.kv <= self.usable


def weights_per_gpu(frame: pd.DataFrame, tp, pp, dp, ep) -> np.ndarray:
    """Weight bytes one GPU holds: dense weights over tp x pp, routed experts over (ep if > 1, else tp x dp:
    vLLM's MoE layers shard them over every GPU of a stage, :func:`topology.moe_group_gpus`) x pp."""
    precision = frame["precision"].to_numpy()
    bpp = np.array([tables.bytes_per_param(x) for x in precision])
    params = frame["params_b"].to_numpy(dtype=float) * 1e9
    n_exp = frame["n_experts"].to_numpy(dtype=float)
    k = frame["experts_per_token"].to_numpy(dtype=float)
    moe = n_exp > 1
    inactive = params - frame["active_params_b"].to_numpy(dtype=float) * 1e9
    expert_params = np.where(moe, inactive / np.where(moe, 1 - k / n_exp, 1.0), 0.0)
    experts = bpp * expert_params
    shared = np.array([shared_weight_bytes_per_param(x, m) for x, m in zip(precision, moe, strict=True)])
    shard = topology.moe_group_gpus(tp, dp, ep)
    return shared * (params - expert_params) / (tp * pp) + experts / (shard * pp)


def shared_weight_bytes_per_param(precision: str, moe: bool) -> float:
    """Bytes per parameter of the weights outside the routed experts: a format that quantises only a MoE
    checkpoint's experts (gpt-oss's mxfp4, ``features.EXPERT_ONLY_PRECISIONS``) keeps attention, router and
    embeddings in bf16 (gpt-oss-120b: 114.7e9 x 0.53125 + 2.1e9 x 2 B = 65.2 GB, the checkpoint's size);
    any other format stores them as the experts."""
    if moe and tables.normalize_precision(precision) in EXPERT_ONLY_PRECISIONS:
        return tables.bytes_per_param("bf16")
    return tables.bytes_per_param(precision)


def gpu_memory(frame: pd.DataFrame, feats, rank_batch, input_tokens, output_tokens, options=None) -> GpuMemory:
    """:class:`GpuMemory` of validated profile rows ``frame`` (model, precision, GPU, tp, pp, ep, the
    architecture columns) with their features ``feats``, each data-parallel rank running ``rank_batch``
    sequences of ``input_tokens`` / ``output_tokens``; ``options`` override :data:`MEMORY_DEFAULTS`."""
    o = {**MEMORY_DEFAULTS, **(options or {})}
    tp, pp = frame["tp"].to_numpy(dtype=float), frame["pp"].to_numpy(dtype=float)
    dp, ep = frame["dp"].to_numpy(dtype=float), frame["ep"].to_numpy(dtype=float)
    li, lo = np.asarray(input_tokens, dtype=float), np.asarray(output_tokens, dtype=float)
    batch = np.asarray(rank_batch, dtype=float)
    specs = tables.gpu_specs_for_profiles(frame)  # table, user table, or the rows' own gpu_* spec columns
    memory_gb = frame["gpu"].astype(str).str.strip().map(lambda g: specs[g].memory_gb).to_numpy(dtype=float)
    usable = o["gpu_memory_utilization"] * memory_gb * GIB  # NaN where the GPU's memory is unknown
    fixed = (weights_per_gpu(frame, tp, pp, dp, ep) + o["runtime_reserve_bytes"]
             + o["activation_tokens"] * feats["d_model"] * o["activation_bytes_per_token_dmodel"])
    # the features' KV bytes count every GPU's copy (heads replicated beyond their count), so per GPU it is
    # a rank's tokens x that total over tp x pp GPUs (= the unreplicated KV over min(tp, kv heads) x pp): the
    # running batch at the mean context, at least one whole sequence; plus each sequence's recurrent state
    tokens = np.maximum(batch * (li + 0.5 * lo), li + lo)
    state = feats["state_bytes_per_seq"] / STATE_TRAFFIC_PER_STEP
    kv = tokens * feats["kv_bytes_per_token"] / (tp * pp) + np.maximum(batch, 1.0) * state / (tp * pp)
    return GpuMemory(fixed=np.asarray(fixed, dtype=float), kv=np.asarray(kv, dtype=float),
                     usable=np.asarray(usable, dtype=float))
