"""The layout rules the search checks before memory (docs/search.md, "Feasibility"), in NumPy: the engine's
``search_kernel.hpp`` checks, used by the brute-force oracle and by ``energylens predict`` (its ``fits_layout``
column), so a configuration vLLM would refuse is named the same way by both.

Tensor parallelism must divide the attention heads, and split the KV heads (tp <= KV heads: tp divides them)
or replicate them (KV heads divide tp); it stays within one server's 8 GPUs or the GPU's larger scale-up
domain (NVL72). Expert parallelism needs a mixture-of-experts model whose experts it divides, over one group
of tp x dp GPUs (vLLM's ``--enable-expert-parallel``).
"""

from __future__ import annotations

import numpy as np

__all__ = ["LAYOUT_REASONS", "LAYOUT_RULES", "SERVER_GPUS", "layout_reason", "tp_limit", "tp_beyond_domain"]

#: The layout rejection reasons, in the engine's order (the first that applies is counted).
LAYOUT_REASONS = ("tp_heads", "tp_node", "ep_without_moe", "ep_experts", "ep_group")
#: Each reason's rule, as a message says it.
LAYOUT_RULES = {
    "tp_heads": "tp does not divide the attention heads (or neither splits nor replicates the KV heads evenly)",
    "tp_node": "tp spans more than one server's 8 GPUs or the GPU's scale-up domain",
    "ep_without_moe": "ep > 1 on a dense model",
    "ep_experts": "ep does not divide the number of experts",
    "ep_group": "ep > 1 is not tp x dp (vLLM's expert-parallel group is every GPU of a stage)",
}
#: GPUs of one server: the largest tp where a GPU's scale-up domain is smaller (search_kernel.hpp kServerGpus).
SERVER_GPUS = 8.0


def tp_limit(domain, node_size: float = 0) -> np.ndarray:
    """The largest tp per row: ``node_size`` when > 0 (the search's override), else a server's GPUs or the
    GPU's scale-up domain where that is larger (``domain``: GPUs per domain per row)."""
    domain = np.asarray(domain, dtype=float)
    return np.full(domain.shape, float(node_size)) if node_size and node_size > 0 else np.maximum(SERVER_GPUS, domain)


def layout_reason(heads, kv_heads, experts, tp, dp, ep, limit) -> np.ndarray:
    """Per row, the index into :data:`LAYOUT_REASONS` of the first rule it breaks, -1 where none (arrays or
    scalars, broadcast; ``limit``: :func:`tp_limit`)."""
    heads, kvh, n_exp, tp, dp, ep, limit = np.broadcast_arrays(
        *(np.asarray(x, dtype=float) for x in (heads, kv_heads, experts, tp, dp, ep, limit)))
    kv_ok = np.where(tp <= kvh, np.mod(kvh, tp) == 0, np.mod(tp, kvh) == 0)
    conds = [(np.mod(heads, tp) != 0) | ~kv_ok, tp > limit, (ep > 1) & (n_exp <= 1),
             (ep > 1) & (np.mod(n_exp, ep) != 0), (ep > 1) & (tp * dp != ep)]
    return np.select(conds, list(range(len(conds))), -1)


def tp_beyond_domain(heads, kv_heads, domain, tp, node_size: float = 0) -> np.ndarray:
    """(combos x tp values) True where the engine rejects the pair as ``tp_node`` (the heads rule passes, tp is
    over :func:`tp_limit`): ``heads``, ``kv_heads``, ``domain`` per combo, ``tp`` the axis. Every candidate of
    such a pair gets that reason, whatever its other axes (the checks before it read only heads and tp)."""
    heads, kv_heads, domain = (np.asarray(x, dtype=float)[:, None] for x in (heads, kv_heads, domain))
    limit = tp_limit(domain, node_size)
    reason = layout_reason(heads, kv_heads, 1.0, np.asarray(tp, dtype=float)[None, :], 1.0, 1.0, limit)
    return reason == LAYOUT_REASONS.index("tp_node")
