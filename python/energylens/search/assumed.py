"""What a search assumed, said in one line of its summary (``assumed: ...``): the workload (a point, several
points, or a distribution with its expected tokens), the mode (fixed batch, or a request rate with the
replicas' utilisation, Little's law and the idle GPUs' static power), the latency limits and the objective
with its inputs (grid intensity, prices per GPU-hour). Before 2026-12-06 the printed result named none of
these: a table of replicas and joules could not be read back to the rate, tokens or limits it answered.

And, for an empty result whose weights fit nowhere, how many GPUs the weights alone need
(:func:`weights_room`): the fixed remedy "--pp 2,4" left a 405B model on L4s as empty as before.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from energylens.outputs import plural
from energylens.profiles import tables
from energylens.search.labels import gpu_labels
from energylens.search.memory import (
    GIB,
    MEMORY_DEFAULTS,
    NVLS_MAX_HEADS,
    WEIGHT_PARTS,
    activation_bytes,
    collective_group,
    gpu_memory,
    gpu_sides,
    nvls_capable,
    parts_stage_weights,
    runtime_reserve,
    weight_parts,
    weights_per_gpu,
)
from energylens.search.remedies import given_name, model_shape, node_tp_values, rejected_combos

__all__ = ["assumed_line", "remedy_detail", "weights_room", "weights_room_sentence"]


def _tokens(s: dict[str, Any]) -> str:
    li, lo = s.get("input_tokens") or [], s.get("output_tokens") or []
    weights = s.get("workload_distribution")
    if s.get("explicit_candidates"):
        return "the candidate table's own workload per row"
    if weights:
        mean_in = sum(w * x for w, x in zip(weights, li, strict=True))
        mean_out = sum(w * x for w, x in zip(weights, lo, strict=True))
        points = ", ".join(f"{x:g}/{y:g} x {w:.3g}" for x, y, w in zip(li, lo, weights, strict=True))
        return (f"a workload distribution of {plural(len(li), 'point')} (input/output tokens x weight: {points}; expected "
                f"{mean_in:.4g} input / {mean_out:.4g} output tokens; energy the expected value, latency and memory "
                "at the worst point)")
    if len(li) == 1:
        return f"{li[0]:g} input / {lo[0]:g} output tokens per request (means)"
    pairs = ", ".join(f"{x:g}/{y:g}" for x, y in zip(li, lo, strict=True))
    return f"{len(li)} separate workload points (input/output tokens {pairs})"


def _mode(s: dict[str, Any]) -> str:
    rate = s.get("rate_per_s")
    if rate is None:
        return ("fixed batch: each deployment runs max_num_seqs sequences at all times (no request rate; --rate "
                "sizes replicas for a load)")
    u = s.get("max_utilization") or 1.0
    return (f"{rate:g} requests/s spread over the replicas, each sized to run at most {u:.0%} of the throughput "
            "its max_num_seqs allows" + (" (no headroom)" if u == 1.0 else "") + "; running batch by Little's law; "
            "every provisioned GPU's static power charged, idle or not; queueing delay not modelled")


def _limits(s: dict[str, Any]) -> str:
    parts = [f"{n.upper()} <= {s[f'{n}_limit_s']:.4g} s" for n in ("tpot", "ttft") if s.get(f"{n}_limit_s") is not None]
    p = s.get("limit_confidence", 0.5)
    how = "predicted" if p == 0.5 else f"met at confidence {p:g}: next line"
    rows = s.get("measured_latency_rows") if s.get("measured_latency") else None
    if rows is None:
        return f"limits {', '.join(parts)} ({how})" if parts else "no latency limit"
    how = "predicted" if p == 0.5 else f"predicted at confidence {p:g}: next line"
    mode = (f"TTFT / TPOT measured where the candidate table gives it (TTFT of {rows['ttft']}, TPOT of {rows['tpot']} "
            f"rows), else {how}; energy predicted")
    return f"limits {', '.join(parts)} (checked against the {mode})" if parts else f"no latency limit; {mode}"


def _objective(s: dict[str, Any], objective: str) -> str:
    out = f"minimising {objective}"
    if s.get("objective") == "carbon":
        out += f" at {s['carbon_g_per_kwh']:g} g CO2/kWh"
    elif s.get("objective") == "cost":
        price = s.get("price_per_gpu_hour")
        each = (", ".join(f"{g} {p:g}" for g, p in price.items()) if isinstance(price, dict) else f"{price:g}")
        out += f" at {each} per GPU-hour"
    return out


def _reserve(s: dict[str, Any]) -> str:
    """The runtime reserve the memory check charged per GPU: the user's flat figure, or the model's (a flat part
    and NCCL's NVLS buffers per GPU of a TP / MoE group of more than 2 GPUs on the searched GPUs that run NVLS, named,
    with its value at the largest searched tp; :func:`energylens.search.memory.runtime_reserve`, ``nvls_capable``)."""
    gib = s.get("runtime_reserve_gib")
    if gib is not None:
        return f"runtime reserve {gib:g} GiB per GPU (flat, as given)"
    base, nvls = (MEMORY_DEFAULTS[k] / GIB for k in ("runtime_reserve_bytes", "nvls_reserve_bytes_per_gpu"))
    specs = {label: tables.gpu_spec(name) for name, label in gpu_labels(s.get("gpus") or []).items()}
    on = [label for label, spec in specs.items() if nvls_capable(spec)]
    if not on:  # (L40S, A100: "on NVSwitch GPUs" read as charged there)
        return f"runtime reserve {base:g} GiB per GPU"
    tp = max([int(v) for v in s.get("tp") or []] or [1])
    held = nvls * min(tp, NVLS_MAX_HEADS, max(specs[label].domain_gpus() for label in on))  # what the check charges
    example = f": {held:.4g} GiB at TP {tp}, {base + held:.4g} GiB of reserve in all" if tp > 2 else ""
    return (f"runtime reserve {base:g} GiB per GPU, plus {nvls:.4g} GiB x the GPUs (at most {NVLS_MAX_HEADS}) of a TP / "
            f"MoE group of more than 2 on {', '.join(on)} (NCCL's NVLS buffers{example})")


def assumed_line(s: dict[str, Any], objective: str) -> str:
    """``"\\nassumed: ..."``: workload, mode, limits and objective of a result's ``settings`` (``objective``: the
    result's objective with its unit), the vLLM memory settings and the runtime reserve the memory check charged."""
    return (f"\nassumed: {_tokens(s)}; {_mode(s)}; {_limits(s)}; {_objective(s, objective)}; vLLM "
            f"gpu_memory_utilization {s.get('gpu_memory_utilization', 0.9):g}, {_reserve(s)}")


def weights_room(space, theta, phi, options: dict[str, Any], rejected: dict[str, int], feasible: int,
                 indices=None) -> list[dict] | None:
    """When nothing is feasible and ``memory_weights`` rejected the most: per combo (model, GPU, format) of which it
    rejected a candidate (:func:`~energylens.search.remedies.rejected_combos`; ``indices``: the candidates searched), the
    checkpoint's weight bytes, the room one GPU has for weights (usable memory less the reserve and activations,
    as the memory check counts them at the combo's first searched layout), the fewest GPUs that hold the weights
    (their bytes over the room: a lower bound, as whole layers per pipeline stage may need more; tp x pp; a MoE's
    experts also spread over dp), the model's layers (pp's bound) and what the memory check weighs a layout by
    (``stages``: :func:`_stages`), which the example layout follows (:func:`_stage_pp`). None otherwise."""
    if feasible or not any(rejected.values()) or rejected.get("memory_weights", 0) != max(rejected.values()):  # or tied
        return None
    space = rejected_combos(space, theta, phi, options, ("memory_weights",), indices)
    per_combo = int(np.prod(space.point_shape[1:]))
    idx = np.arange(space.point_shape[0]) * per_combo  # combo is the slowest digit: each combo's first point
    frame = space.point_profiles(idx)
    feats = space.point_features(idx)
    axes = [frame[a].to_numpy(dtype=float) for a in ("tp", "pp", "dp", "ep")]
    one = np.ones(len(frame))
    total = weights_per_gpu(frame, one, one, one, one, space.model_specs)
    o = {k: options.get(k, v) for k, v in MEMORY_DEFAULTS.items()}
    mem = gpu_memory(frame, feats, one, one, one, o, space.model_specs)
    room = mem.usable - (mem.fixed - weights_per_gpu(frame, *axes, space.model_specs))
    stages = _stages(frame, feats, mem.usable, o, space.model_specs)
    return [{"model": str(m), "gpu": str(g), "precision": str(p), "weights_gb": float(w) / 1e9,
             "room_gb_per_gpu": float(r) / 1e9, "min_gpus": math.ceil(w / r) if r > 0 else None,
             "n_layers": int(getattr(space.model_specs.get(str(m)), "n_layers", 0) or 0) or None, "stages": st}
            for m, g, p, w, r, st in zip(frame["model"], frame["gpu"], frame["precision"], total, room, stages,
                                         strict=True)]


def _stages(frame, feats, usable, o: dict[str, Any], model_specs) -> list[dict[str, Any]]:
    """Per row, what the memory check weighs a layout by, as JSON writes it: the weight parts its stages are made
    of (:func:`.memory.weight_parts`, bytes; None where unknown), the usable bytes
    and the activations of a GPU, whether NCCL runs NVLS on it, its NVLink domain, whether the model is a MoE
    and the runtime reserve's settings (:func:`.memory.runtime_reserve`)."""
    parts = weight_parts(frame, model_specs)
    _, nvls, domain = gpu_sides(frame)
    moe = frame["n_experts"].to_numpy(dtype=float) > 1
    activations = activation_bytes(feats["d_model"], o)
    kept = {k: float(o[k]) for k in ("runtime_reserve_bytes", "nvls_reserve_bytes_per_gpu")}
    return [{"parts": {k: (float(v[i]) if np.isfinite(v[i]) else None) for k, v in zip(WEIGHT_PARTS, parts, strict=True)},
             "usable_bytes": float(usable[i]), "activation_bytes": float(activations[i]), "nvls": bool(nvls[i]),
             "domain_gpus": float(domain[i]), "moe": bool(moe[i]), "reserve": kept} for i in range(len(frame))]


def _stage_pp(r: dict[str, Any], tp: int, pp: int) -> int:
    """The fewest pp from ``pp`` at which ``tp`` x pp GPUs (dp 1, no expert parallelism) hold the weights of a
    :func:`weights_room` record as the memory check weighs them: every pipeline stage, whole layers each, the
    routed experts of the MoE layers it holds, the embedding on the first and the lm_head on the last
    (:func:`.memory.parts_stage_weights`), with the runtime reserve of that tp's group (NCCL's NVLS buffers,
    :func:`.memory.runtime_reserve`); up to the model's layers (its layers + 1 where none does). ``pp`` itself
    for a record without the ``stages``. Before 2026-12-06 the experts were spread evenly over the layers and
    the reserve was the searched tp's: DeepSeek-V3 fp8 on L40S was told --tp 8 --pp 2, which the search rejects."""
    layers, st = int(r.get("n_layers") or 0), r.get("stages")
    if not layers or not st:
        return pp
    p = np.arange(max(pp, 1), layers + 1, dtype=float)
    t = np.full(p.shape, float(tp))
    parts = tuple(np.full(p.shape, math.nan if st["parts"][k] is None else float(st["parts"][k])) for k in WEIGHT_PARTS)
    heavy, other, _ = parts_stage_weights(parts, t, p, np.ones(p.shape), np.ones(p.shape))
    group = collective_group(t, 1.0, 1.0, st["moe"], st["domain_gpus"])
    fixed = np.maximum(heavy, other) + runtime_reserve(group, st["nvls"], st["reserve"]) + st["activation_bytes"]
    fits = np.flatnonzero(fixed <= st["usable_bytes"])  # the engine's memory_weights: fixed > usable
    return int(p[fits[0]]) if fits.size else layers + 1


def _flags(r: dict[str, Any], tp: int, n: int) -> str:
    """"--tp 8 --pp 3": ``tp`` and the fewest pp at which the memory check passes the weights of record ``r``
    (:func:`_stage_pp`, from the ``n`` GPUs the weights need at least); no --pp where one stage holds them."""
    pp = _stage_pp(r, tp, math.ceil(n / tp))
    return f"--tp {tp}" + (f" --pp {pp}" if pp > 1 else "")


def weights_room_sentence(settings: dict[str, Any]) -> str:
    """The combo of a result's ``settings["weights_room"]`` whose weights need the fewest GPUs, as a sentence ("" without
    one): how many and an example, a tp within the GPU's node (``--node-size``, or max(8, its scale-up domain)) that
    the model's heads allow (:func:`~energylens.search.remedies.node_tp_values`), with pp where one tp is not enough.
    Where a searched tp already holds them (it was rejected for something else: Qwen3-235B-A22B-FP8's weight
    blocks at TP 8), the example keeps a smaller searched tp and adds pp. (Before 2026-12-06 the example was the
    power of two above the count, up to 8: "--tp 8" under --node-size 4, or for a 28-head model.)"""
    fit = [r for r in settings.get("weights_room") or [] if r["min_gpus"]]
    fit = [r for r in fit if r["min_gpus"] > 1] or fit  # weights one GPU holds need no remedy (8B beside a 70B)
    tp_searched = settings.get("tp") or []
    if not fit:
        return ""
    r = min(fit, key=lambda r: r["min_gpus"])
    n = r["min_gpus"]
    below = [int(t) for t in tp_searched if int(t) < n]
    node = int(settings.get("node_size") or max(8, tables.gpu_spec(r["gpu"]).domain_gpus()))
    tps = node_tp_values(settings, r["model"], node) or [1]
    if any(int(t) >= n for t in tp_searched) and below:
        example = _flags(r, max(below), n)
    elif any(t >= n for t in tps):
        example = _flags(r, min(t for t in tps if t >= n), n)
    else:
        example = _flags(r, max(tps), n)
    gpu = gpu_labels(settings.get("gpus") or [r["gpu"]]).get(r["gpu"], r["gpu"])  # as the table names it
    layers = int(r.get("n_layers") or 0)  # a stage needs a layer: 4 layers take no --pp 6
    if layers and int(example.partition("--pp ")[2] or 1) > layers:
        example = (f"more than tp {max(tps)} x pp {layers} (its layers) give" if n > max(tps) * layers
                   or _stage_pp(r, max(tps), math.ceil(n / max(tps))) > layers else _flags(r, max(tps), n))
    example = example if example.startswith("more") else f"e.g. {example}, and more for the KV cache"
    return (f"{given_name(settings, r['model'])} in {r['precision']} holds {r['weights_gb']:.4g} GB of weights and one {gpu} has room "
            f"for {r['room_gb_per_gpu']:.4g} GB of them (usable memory less the runtime reserve and activations), so "
            f"the weights alone need at least {n} GPUs per deployment (tp x pp; a MoE's experts also spread over "
            f"dp), {example}; ")


def remedy_detail(reason: str, settings: dict[str, Any]) -> str:
    """What an empty result's remedy for ``reason`` can say in numbers ("" where nothing): the GPUs the weights
    need (:func:`weights_room_sentence`), or each searched model's context window against the longest request
    (before 2026-12-06: "keep --input-tokens + --output-tokens within the model's context window", no number)."""
    if reason == "memory_weights":
        return weights_room_sentence(settings)
    if reason != "context_length":
        return ""
    longest = max((a + b for a, b in zip(settings.get("input_tokens") or [], settings.get("output_tokens") or [],
                                         strict=True)), default=0.0)
    windows = [(m, model_shape(settings, m, "context_window_tokens")) for m in settings.get("models") or []]
    named = ", ".join(f"{given_name(settings, m)} reads at most {w:,.0f}" for m, w in windows if w and w > 0)  # the priced spec's
    whose = "its context window" if named.count(" reads ") == 1 else "their context windows"
    return f"the longest request is {longest:,.0f} tokens (input + output) and {named} ({whose}); " if named else ""
