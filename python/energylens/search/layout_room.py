"""The layouts an empty result's remedy names, followed through the engine's own checks: the fewest GPUs per
deployment whose weights and one sequence's KV cache fit (:func:`layout_room`; before 2026-12-06 the remedy
read "add GPUs per deployment (--tp, --pp)" or "store them in a smaller format ... or add GPUs with more
memory", whatever those would do), and the --tp / --dp that make a searched --ep's group (:func:`ep_room`;
before, "pick --ep values equal to tp x dp (or 1)"). The sentences are :mod:`.remedies`'."""

from __future__ import annotations

from typing import Any

import numpy as np

from energylens.profiles import tables
from energylens.search.kv_fp8 import respec_space
from energylens.search.limit_check import LimitCheck
from energylens.search.remedies import (
    _REASONS,
    _binds,
    _evaluate,
    _free,
    _label,
    _tp_values,
    cheapest_passing,
    rejected_combos,
)
from energylens.search.space import SearchSpace

__all__ = ["ep_room", "layout_room"]

_MORE_MEMORY = 3  # GPUs with more memory the remedy names, the fewest GPUs per deployment first


def _fewest(space: SearchSpace, theta, phi, options: dict[str, Any], spread: str) -> list[dict[str, Any]]:
    """Per combo of ``space``, the fewest GPUs tp x ``spread`` (pp, or dp > 1 for a MoE, whose data-parallel ranks
    share the experts) that pass every check of the engine (no latency limits) at max_num_seqs 1 or a searched
    one, as a record: tp, the spread, GPUs, the largest searched max_num_seqs that fits there (0: only 1) and
    the configuration; tp takes every value a model's heads allow within a node, the spread 1 to the fewest
    layers of a searched model (a pipeline stage needs one). On a tie the larger tp; where a larger tp fits, the
    fewest GPUs at the largest such tp too (``widest_tp``). Combos where none fits are left out."""
    layers = min(int(s.n_layers) for s in space.model_specs.values()) if space.model_specs else 1
    tp, other = _tp_values(space), np.arange(1.0, max(layers, 2) + 1)
    caps = np.union1d(space.max_num_seqs, [1.0])
    axes = {"tp": tp, "pp": other if spread == "pp" else [1.0], "dp": other[1:] if spread == "dp" else [1.0],
            "ep": [1.0], "max_num_seqs": caps}
    sub, ev = _evaluate(space, theta, phi, _free(options), **axes)
    if ev is None:
        return []
    d = sub.digits(np.arange(sub.size))
    ok = np.asarray(ev.reason) < 0
    t, s, cap = tp[d[1]], np.asarray(axes[spread])[d[2] if spread == "pp" else d[3]], caps[d[5]]
    n = t * s

    def record(where) -> dict[str, Any]:  # the fewest GPUs of ``where``, the larger tp, the largest cap
        best = where & (n == n[where].min())
        best &= t == t[best].max()
        i = int(np.flatnonzero(best & (cap == cap[best].max()))[0])
        searched = cap[best & np.isin(cap, space.max_num_seqs)]
        return {"gpu": sub.combos[d[0][i]].gpu, "precision": sub.combos[d[0][i]].precision, "tp": int(t[i]),
                spread: int(s[i]), "gpus": int(n[i]), "max_num_seqs": int(searched.max()) if searched.size else 0,
                "config": _label(sub, i)}

    out = []
    for c in np.unique(d[0][ok]):
        here = ok & (d[0] == c)
        out.append(record(here))
        if t[here].max() > out[-1]["tp"]:  # 405B on L4: 45 GPUs as tp 1 x pp 45, or 48 as tp 8 x pp 6
            out[-1]["widest_tp"] = record(here & (t == t[here].max()))
    return sorted(out, key=lambda r: (r["gpus"], -r["tp"]))


def _respecced(space: SearchSpace, **change) -> SearchSpace | None:
    try:
        return respec_space(space, **change)
    except ValueError:  # a format the GPU or the model cannot take
        return None


def layout_room(space: SearchSpace, theta, phi, options: dict[str, Any], rejected: dict[str, int], feasible: int,
                indices) -> dict[str, Any] | None:
    """When nothing is feasible and ``memory_weights`` rejected the most, or ``memory_kv_cache`` did and not
    even one sequence of the combos it rejected fits on a searched layout (an axis search; where the two tie and one
    sequence fits, the weights' alone), for the combos they rejected a candidate of
    (:func:`.remedies.rejected_combos`): the fewest GPUs per deployment as tp x pp
    that pass the memory checks (:func:`_fewest`), for a MoE also as tp x dp; the same in each smaller
    weight format than every one searched (fp8, int4), and on the GPUs of the table with more memory than
    every searched one (the :data:`_MORE_MEMORY` needing the fewest). None otherwise."""
    if indices is not None or feasible:
        return None
    binding = [r for r in ("memory_weights", "memory_kv_cache") if _binds(r, rejected, 0, None)]
    if "memory_kv_cache" in binding:  # on the combos it rejected (until 2026-12-07 of any model)
        kv = rejected_combos(space, theta, phi, options, ("memory_kv_cache",))
        _, ev = _evaluate(kv, theta, phi, _free(options), max_num_seqs=[1.0])
        if ev is None or (np.asarray(ev.reason) < 0).any():  # one sequence fits: kv_room's lower cap answers it
            binding.remove("memory_kv_cache")  # (until 2026-12-07 a tied memory_weights lost its layouts with it)
    if not binding:
        return None
    space = rejected_combos(space, theta, phi, options, tuple(binding))  # the models those checks rejected
    moe = any(int(s.n_experts or 1) > 1 for s in space.model_specs.values())
    out = {"pp": _fewest(space, theta, phi, options, "pp"),
           "dp": _fewest(space, theta, phi, options, "dp") if moe else [], "formats": {}, "more_memory": []}
    searched = min(tables.bytes_per_param(c.precision) for c in space.combos)
    for fmt in ("fp8", "int4"):
        sub = _respecced(space, precision=fmt) if tables.bytes_per_param(fmt) < searched else None
        fits = _fewest(sub, theta, phi, options, "pp") if sub is not None else []
        if sub is not None:
            out["formats"][fmt] = fits[0] if fits else None
    most = max(tables.gpu_spec(c.gpu).memory_gb for c in space.combos)
    table = tables.gpus()
    bigger = [tables.gpu_spec(n) for n, m in zip(table["name"], table["memory_gb"], strict=True) if float(m) > most]
    sub = _respecced(space, gpus=bigger) if bigger else None
    if sub is not None:
        fits = _fewest(sub, theta, phi, options, "pp")
        out["more_memory"] = [dict(r, memory_gb=float(tables.gpu_spec(r["gpu"]).memory_gb))
                              for r in fits[:_MORE_MEMORY]]
    return out


def ep_room(space: SearchSpace, theta, phi, options: dict[str, Any], rejected: dict[str, int], feasible: int,
            indices, check: LimitCheck | None = None) -> list[dict[str, Any]] | None:
    """When nothing is feasible and ``ep_group`` rejected the most (an axis search): per searched ep > 1, of the
    combos ep_group rejected a candidate of (:func:`.remedies.rejected_combos`), the cheapest configuration with
    that ep whose tp x dp makes its group (vLLM's EP group is a stage's tp x dp
    GPUs) and that passes every check but the latency limits: tp every value a model's heads allow within a
    node, dp each ep / tp, pp as searched; its tp, dp and configuration (tp None: none passes; ``rejected_by``: then the
    check that rejected most of them), the latency limits as ``check`` applies them (:meth:`.limit_check.LimitCheck.within`; default: ``options``'). None otherwise."""
    if not _binds("ep_group", rejected, feasible, indices):
        return None
    space = rejected_combos(space, theta, phi, options, ("ep_group",))  # (until 2026-12-07 every searched model)
    eps = [float(e) for e in space.ep if e > 1]
    tp = np.union1d(_tp_values(space), space.tp)
    dp = np.unique([e / t for e in eps for t in tp if e % t == 0])
    sub, ev = _evaluate(space, theta, phi, _free(options), tp=tp, dp=dp, ep=eps)
    if ev is None:
        return None
    d, ok = sub.digits(np.arange(sub.size)), np.asarray(ev.reason) < 0
    meets = (check or LimitCheck.of(options)).within(sub, ev)[0]
    group = tp[d[1]] * dp[d[3]]  # a candidate's tp x dp: the group its ep must equal
    out = []
    for k, e in enumerate(eps):
        i, met = cheapest_passing(np.asarray(ev.objective), ok & (d[4] == k), meets)
        passes = bool(ok[i] and d[4][i] == k)
        out.append({"ep": int(e), "tp": int(tp[d[1][i]]) if passes else None,
                    "dp": int(dp[d[3][i]]) if passes else None, "config": _label(sub, i) if passes else None,
                    "misses_limits": passes and not met,
                    "rejected_by": None if passes else _most_rejected(ev.reason, (d[4] == k) & (group == e))})
    return out


def _most_rejected(reason, rows: np.ndarray) -> str | None:
    """The engine's reason that rejected most of ``rows`` (None: none of them was rejected, or there are none)."""
    why = np.asarray(reason)[rows]
    why = why[why >= 0]
    return _REASONS[int(np.bincount(why).argmax())] if len(why) else None
