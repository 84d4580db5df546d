"""The plain NumPy brute force: the search's test oracle and benchmark baseline.

Materialises every candidate of a :class:`~energylens.search.space.SearchSpace` (or a given subset; every
point of a workload distribution) as a schema-v1 table (:meth:`SearchSpace.point_profiles`: dp, ep and the
deployment's batch as :meth:`energylens.model.EnergyModel.predict` takes them), builds its features with
:func:`~energylens.profiles.features.build_features`, evaluates the NumPy twin
of the templates (:mod:`energylens.model.reference`), checks feasibility with its own (independent)
memory and divisibility arithmetic, filters and sorts. Memory and time grow with the space: use it on
spaces up to about 1e6 candidates. The native engine must return the same top-k, Pareto fronts and
rejection counts (docs/search.md).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from energylens.model import reference
from energylens.profiles import tables
from energylens.search.layout import LAYOUT_REASONS, layout_reason, tp_limit
from energylens.search.memory import MEMORY_DEFAULTS, gpu_memory
from energylens.search.serving_limits import fp8_block_misfit
from energylens.search.space import COMBO_FIELDS, SearchSpace, combo_features

__all__ = ["brute_force", "REASONS"]

#: Rejection reasons in the engine's order (the first that applies is counted).
REASONS = (*LAYOUT_REASONS, "fp8_block_shape", "memory_weights", "context_length", "memory_kv_cache", "ttft_limit",
           "tpot_limit")

_DEFAULTS = {**MEMORY_DEFAULTS, "node_size": 0, "ttft_limit_s": np.inf,
             "tpot_limit_s": np.inf, "rate_per_s": 0.0, "max_utilization": 1.0, "objective": "energy", "per_token": False,
             "carbon_g_per_kwh": 0.0, "top_k": 10, "bisection_iterations": 48}


def _domains(frame: pd.DataFrame, node_size) -> np.ndarray:
    """GPUs per scale-up domain per row: the override when > 0, else each GPU's (the GPU table's)."""
    if node_size and node_size > 0:
        return np.full(len(frame), float(node_size))
    return frame["gpu"].map(lambda g: tables.gpu_spec(g).domain_gpus()).to_numpy(dtype=float)


def _combo_field(space: SearchSpace, c, name: str) -> np.ndarray:
    return space.combo_values[c, COMBO_FIELDS.index(name)]


def _fp8_misfit(space: SearchSpace, c, tp, dp, ep) -> np.ndarray:
    """vLLM's block rule for block-scaled fp8 weights: the dense FFN's tp shard (tp > 1) and the experts' shard
    (over tp x dp without EP, whole with EP) must be whole blocks; a width or block of 0 is not checked."""
    return fp8_block_misfit(*(_combo_field(space, c, n) for n in ("fp8_weight_block", "intermediate_size",
                                                                   "moe_intermediate_size")), tp, dp, ep)


def _structural(frame: pd.DataFrame, tp, dp, ep, limit, fp8_misfit) -> np.ndarray:
    """The layout reason (:func:`.layout.layout_reason`), else fp8_block_shape where the blocks misfit, else -1."""
    reason = layout_reason(*(frame[c].to_numpy(dtype=float) for c in ("n_heads", "n_kv_heads", "n_experts")),
                           tp, dp, ep, limit)
    return np.where((reason < 0) & fp8_misfit, len(LAYOUT_REASONS), reason)


def _evaluate(frame, theta, phi, rank_batch, factors, model_specs, lo):
    """Features, energy phases, latency and time in the system (TTFT + ``lo`` TPOT + sigma B_r t_p) of the
    rows at ``rank_batch``; ``factors``: the rows' latency calibration (TTFT, TPOT) and prefill_stall sigma;
    ``model_specs``: the space's (:func:`~energylens.search.space.combo_features`)."""
    frame = frame.assign(batch_size=frame["dp"].to_numpy() * rank_batch)  # the template's batch: all dp ranks
    feats = combo_features(frame, model_specs)
    e_pf, e_dec = reference.energy_phases(feats, theta)
    ttft, tpot = reference.latency(feats, phi)
    ttft, tpot = ttft * factors[0], tpot * factors[1]
    w = ttft + lo * tpot + factors[2] * (factors[0] * reference.prefill_stall(feats, phi))
    return feats, e_pf, e_dec, ttft, tpot, w


def _points(space: SearchSpace, frame: pd.DataFrame, digits, theta, phi, o) -> dict:
    """Every workload point evaluated: energy, latency, GPU-seconds, memory reason."""
    c, t, p, d, e, b, w = digits
    tp, pp, dp, ep = space.tp[t], space.pp[p], space.dp[d], space.ep[e]
    li, lo = space.workloads[w, 0], space.workloads[w, 1]
    cap = space.max_num_seqs[b]
    n = tp * pp
    domain = _domains(frame, o["node_size"])
    reason = _structural(frame, tp, dp, ep, tp_limit(domain, o["node_size"]), _fp8_misfit(space, c, tp, dp, ep))
    frame = frame.assign(scale_up_domain_gpus=domain)  # the features price crossings at this domain
    fac = tuple(_combo_field(space, c, name) for name in ("ttft_factor", "tpot_factor", "prefill_stall"))
    # structurally rejected rows are never priced; ep = 1 keeps them inside the profile schema
    frame = frame.assign(ep=np.where(reason >= 0, 1.0, ep))
    replicas = np.ones(len(frame))
    served = np.minimum(1.0, cap)  # below one running sequence a request is served alone (load mode)
    rate = float(o["rate_per_s"])
    if rate > 0:
        capacity = dp * cap / _evaluate(frame, theta, phi, cap, fac, space.model_specs, lo)[5]
        replicas = np.maximum(1.0, np.ceil(rate / (o["max_utilization"] * capacity)))
        rank_rate = rate / (replicas * dp)
        low, high = np.zeros(len(frame)), cap.copy()
        for _ in range(int(o["bisection_iterations"])):
            mid = 0.5 * (low + high)
            w = _evaluate(frame, theta, phi, np.maximum(mid, served), fac, space.model_specs, lo)[5]
            up = rank_rate * w - mid > 0.0
            low, high = np.where(up, mid, low), np.where(up, high, mid)
        batch = high
    else:
        batch = cap
    feats, e_pf, e_dec, ttft, tpot, w = _evaluate(frame, theta, phi, np.maximum(batch, served), fac,
                                                  space.model_specs, lo)
    factor = space.combo_values[c, COMBO_FIELDS.index("energy_factor")]  # energy calibration (1: none)
    energy = (e_pf + e_dec) * factor
    if rate > 0:
        static = np.add(*reference.energy_phases(feats, np.where(np.isin(np.arange(12), (5, 6)), 0.0, theta)))
        static = static * factor  # the calibrated template's static part; idle headroom tops it up
        energy = energy + np.maximum(0.0, n * feats["tdp_w"] * theta[4] / rank_rate - static)
        gpus = replicas * dp * n
        gpu_s = gpus / rate
    else:
        gpus = dp * n
        gpu_s = n * w / batch  # GPU-seconds per request: the time in the system over the running batch
    mem = gpu_memory(frame, feats, batch, li, lo, {k: o[k] for k in MEMORY_DEFAULTS}, space.model_specs)
    window = _combo_field(space, c, "context_window_tokens")
    beyond = (window > 0) & (li + lo > window)
    later = [~mem.weights_fit, beyond, ~mem.fits, ~(ttft <= o["ttft_limit_s"]), ~(tpot <= o["tpot_limit_s"])]
    for code, cond in zip(range(REASONS.index("memory_weights"), len(REASONS)), later, strict=True):
        reason = np.where((reason < 0) & cond, code, reason)
    return {"energy": energy, "ttft": ttft, "tpot": tpot, "gpu_s": gpu_s, "gpus": gpus, "batch": batch,
            "lo": lo, "reason": reason, "memory": mem.fixed + mem.kv,
            "price": space.combo_values[c, COMBO_FIELDS.index("price_per_gpu_hour")]}


def _aggregate(space: SearchSpace, pt: dict, n: int) -> dict:
    """Distribution mode: per candidate the weighted mean energy, GPU-seconds and output tokens, the
    largest TTFT / TPOT and memory, and the first reason (check order) any point fails."""
    if not space.distribution:
        return pt
    q = space.workload_weights
    shaped = {k: v.reshape(n, -1) for k, v in pt.items()}
    mean = {k: shaped[k] @ q for k in ("energy", "gpu_s", "lo")}
    reason = np.where(shaped["reason"] < 0, 99, shaped["reason"]).min(axis=1)
    return {**mean, "ttft": shaped["ttft"].max(axis=1), "tpot": shaped["tpot"].max(axis=1),
            "gpus": shaped["gpus"].max(axis=1), "memory": shaped["memory"].max(axis=1),
            "batch": shaped["batch"][:, 0], "price": shaped["price"][:, 0],
            "reason": np.where(reason == 99, -1, reason)}


def brute_force(space: SearchSpace, energy_theta, latency_phi, indices=None, **options) -> dict:
    """Every candidate (or only ``indices``) evaluated; returns ``top`` (DataFrame: index, objective,
    energy_j, ttft_s, tpot_s, batch, gpus, memory_bytes: per GPU of the fullest stage), ``front_tpot`` /
    ``front_ttft`` (DataFrames, increasing x),
    ``rejected`` (dict name -> count) and ``feasible``. ``options`` as for the engine (``top_k``, limits,
    ``rate_per_s`` ...)."""
    unknown = set(options) - set(_DEFAULTS)
    if unknown:
        raise TypeError(f"brute_force: unknown option(s) {sorted(unknown)}")
    o = {**_DEFAULTS, **options}
    theta = np.asarray(energy_theta, dtype=np.float64)
    phi = np.asarray(latency_phi, dtype=np.float64)
    cand = np.arange(space.size) if indices is None else np.sort(np.asarray(indices, dtype=np.int64))
    flat = space.points(cand).reshape(-1)
    frame = space.point_profiles(flat)
    r = _aggregate(space, _points(space, frame, np.unravel_index(flat, space.point_shape), theta, phi, o), len(cand))
    energy = r["energy"]
    if o["objective"] == "carbon":
        objective = energy * o["carbon_g_per_kwh"] / 3.6e6
    elif o["objective"] == "cost":
        objective = r["gpu_s"] * r["price"] / 3600.0
    else:
        objective = energy
    if o["per_token"]:
        objective = objective / r["lo"]
    reason = r["reason"]
    ok = reason < 0
    pos = np.flatnonzero(ok)
    table = pd.DataFrame({"index": cand[pos], "objective": objective[pos], "energy_j": energy[pos],
                          "ttft_s": r["ttft"][pos], "tpot_s": r["tpot"][pos], "batch": r["batch"][pos],
                          "gpus": r["gpus"][pos], "memory_bytes": r["memory"][pos]})
    top = table.iloc[np.lexsort((table["index"], table["objective"]))[: int(o["top_k"])]].reset_index(drop=True)
    return {"top": top, "front_tpot": _front(table, "tpot_s"), "front_ttft": _front(table, "ttft_s"),
            "rejected": {name: int(np.sum(reason == k)) for k, name in enumerate(REASONS)},
            "feasible": int(ok.sum())}


def _front(table: pd.DataFrame, x: str) -> pd.DataFrame:
    """Pareto front of (x, objective): sorted by (x, objective, index), kept where the objective is below
    every earlier one."""
    order = np.lexsort((table["index"], table["objective"], table[x]))
    s = table.iloc[order].reset_index(drop=True)
    y = s["objective"].to_numpy()
    prev_min = np.concatenate([[np.inf], np.minimum.accumulate(y)[:-1]])
    return s[y < prev_min].reset_index(drop=True)
