"""Scale-up domains and scale-out bandwidth: which communication of a deployment leaves its NVLink /
Infinity Fabric / PCIe domain, and the bandwidth each collective then sees (docs/search.md, "Topology").

Placement rule (one replica of tp x pp GPUs, then the dp replicas): the tp ranks of a stage are contiguous
inside one scale-up domain of D GPUs (``scale_up_domain_gpus`` of the GPU table, or the profile column of
that name, or the search's node-size override); a domain holds floor(D / tp) whole stages, so of the
pp - 1 stage boundaries floor((pp - 1) / floor(D / tp)) cross to another domain and send their activations
over the scale-out NIC (``scale_out_bw_gbs``). A MoE group (:func:`moe_group_gpus`) of G > D GPUs sends the
fraction 1 - D / G of its dispatch / combine bytes over scale-out (the rest over the scale-up link, one after
the other: per byte 1 / bw = (D/G) / link + (1 - D/G) / out). A TP group larger than its domain (a measured row; the
search rejects it, reason ``tp_node``) all-reduces over scale-out. Inside one domain every value is the
scale-up link's, bit for bit (``np.where`` selects, no arithmetic on it), so rows of up to D GPUs keep
their features.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["DOMAIN_COLUMN", "domain_override", "domains", "moe_group_gpus", "comm_features"]

#: Optional profile column: GPUs per scale-up domain the row was served on (blank: the GPU table's).
DOMAIN_COLUMN = "scale_up_domain_gpus"


def domain_override(df) -> np.ndarray | None:
    """The profile's ``scale_up_domain_gpus`` column as float64 (NaN where blank), or None when absent.

    Raises:
        ValueError: a cell that is not a whole number >= 1 (column and first bad row named).
    """
    if DOMAIN_COLUMN not in df.columns:
        return None
    raw = pd.Series(np.asarray(df[DOMAIN_COLUMN], dtype=object))
    v = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64)
    given = ~(raw.isna() | (raw.astype(str).str.strip() == "")).to_numpy()
    bad = given & ~(np.isfinite(v) & (v >= 1.0) & (v == np.floor(v)))
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise ValueError(f"profile column {DOMAIN_COLUMN!r} row {row} (0-based) is {raw.iloc[row]!r}; it must "
                         "be a whole number of GPUs >= 1 (blank: the GPU table's scale_up_domain_gpus)")
    return v


def domains(df, table_domain: np.ndarray) -> np.ndarray:
    """GPUs per scale-up domain per row: the profile column where given, else the GPU table's (``table_domain``)."""
    given = domain_override(df)
    return table_domain if given is None else np.where(np.isfinite(given), given, table_domain)


def moe_group_gpus(tp: np.ndarray, dp: np.ndarray, ep: np.ndarray) -> np.ndarray:
    """GPUs of a stage that one copy of a MoE layer's routed experts is spread over, and whose tokens its
    dispatch / combine exchange: the expert-parallel group (``ep`` > 1, whole experts per GPU), else all
    ``tp x dp`` GPUs, tensor-sliced: vLLM's MoE layers flatten TP across DP (its
    ``FusedMoEParallelConfig.make``), so the dp replicas of a MoE model share one expert copy."""
    return np.where(ep > 1.0, ep, tp * dp)


def comm_features(tp: np.ndarray, pp: np.ndarray, ep: np.ndarray, link: np.ndarray, domain: np.ndarray,
                  out: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(TP all-reduce bytes/s, EP all-to-all bytes/s, PP boundaries over scale-out) per row, from the
    scale-up ``link`` and scale-out ``out`` bandwidths (bytes/s per direction) and the ``domain`` size."""
    tp_link = np.where(tp > domain, np.minimum(link, out), link)
    inside = domain / ep
    with np.errstate(divide="ignore", invalid="ignore"):
        a2a = np.where(ep > domain, 1.0 / (inside / link + (1.0 - inside) / out), link)
    stages_per_domain = np.maximum(np.floor(domain / tp), 1.0)
    hops = np.floor((pp - 1.0) / stages_per_domain)
    return tp_link, a2a, hops
