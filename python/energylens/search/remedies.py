"""What an empty search result tells its user to change, computed from the run rather than canned: the
largest max_num_seqs whose KV cache fits (:func:`kv_room`), the tp values each model's heads take
(:func:`tp_heads_sentence`), and which tp x pp keeps TP inside a node
(:func:`tp_node_sentence`); what reaches an unmet latency limit is :mod:`.reach`'s. Before 2026-12-06 these read "lower --max-num-seqs ... or add GPUs (--tp, --pp)",
"widen the axes that shorten it (--tp, smaller --max-num-seqs, faster GPUs)" and "keep --tp within one node",
whatever the run had searched: a 70B search that had tried every TP and max_num_seqs 1 was told to add --tp.

Each record is computed by the engine itself (``_core.search_evaluate`` on the space with one axis
replaced), so it agrees with the checks that rejected the candidates. The sentences read each model's heads,
experts and context window from ``settings["model_shapes"]`` (:func:`model_shapes`: the spec the search priced),
not from the model table by name: a model given as a ``ModelSpec`` the table lacks got the canned line (before
2026-12-06).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import pandas as pd

from energylens import _core
from energylens.outputs import plural
from energylens.profiles import tables
from energylens.search.axes import engine_kv_heads, tp_heads_ok
from energylens.search.frames import evaluated_twin_eps
from energylens.search.kv_fp8 import fp8_kv_space, searched_fp8_kv
from energylens.search.labels import config_label, gpu_labels
from energylens.search.limit_check import LimitCheck
from energylens.search.remedy_wording import candidate_wording
from energylens.search.space import SearchSpace

__all__ = ["candidate_wording", "computed_remedy", "ep_experts_sentence", "ep_group_sentence", "fp8_room", "given_name", "fp8_room_sentence", "moe_dp_clause",
           "kv_room", "layout_room_sentence", "model_shape", "model_shapes", "node_tp_values", "tp_heads_sentence", "tp_node_sentence",
           "kv_room_sentence", "cheapest_passing", "rejected_combos"]

_REASONS = tuple(_core.search_reason_names())
_MAX_EVALUATED = 2_000_000  # candidates one record may evaluate (a few hundred ms at most)


def _spec(space: SearchSpace, name: str):
    """The ModelSpec the search priced for model ``name``: the space's, else (a candidate table's model estimated
    from params_b) the model table's row, as the space's features look it up; None when neither has one."""
    return space.model_specs.get(name) or tables.find_model(name)


def _kv_heads(spec) -> int:
    """The KV heads the engine splits or replicates (the space's combo value): an MLA latent (kv_lora_rank) is one
    head, as vLLM counts it; 0 where unknown. Before 2026-12-06 the spec's n_kv_heads: an MLA spec of 96 heads
    and 16 in n_kv_heads was refused tp 24 and 48, which the engine takes."""
    kv = engine_kv_heads(spec)
    return int(kv) if math.isfinite(kv) and kv > 0 else 0


def model_shapes(space: SearchSpace) -> dict[str, dict[str, Any]]:
    """``settings["model_shapes"]``: per searched model, what the remedies read of its architecture (attention and
    KV heads as the engine counts them, :func:`_kv_heads`; experts, context window in tokens or None), from the
    spec the search priced (:func:`_spec`)."""
    out = {}
    for name in dict.fromkeys(c.model for c in space.combos):
        spec = _spec(space, name)
        if spec is not None:
            window = float(getattr(spec, "context_window_tokens", math.nan))
            out[name] = {"n_heads": int(spec.n_heads or 0), "n_kv_heads": _kv_heads(spec),
                         "n_experts": int(spec.n_experts or 1),
                         "context_window_tokens": window if window > 0 else None}
    return out


def model_shape(settings: dict[str, Any], name: str, field: str):
    """Model ``name``'s ``field`` of :func:`model_shapes` as recorded in ``settings``; for settings without the
    record (written by hand, or before 2026-12-06) the model table's value. None where neither knows it."""
    shape = (settings.get("model_shapes") or {}).get(name)
    if shape is not None:
        return shape.get(field)
    value = getattr(tables.find_model(name), field, None)
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def given_name(settings: dict[str, Any], name: str) -> str:
    """Searched model ``name`` as the user gave it (``settings["model_names_given"]``: an alias such as
    Qwen/Qwen3-235B-A22B-FP8 for the table's Qwen/Qwen3-235B-A22B), so a remedy names the checkpoint asked for (until
    2026-12-07 the table row's: the bf16 checkpoint's name to a user of the fp8 one)."""
    return (settings.get("model_names_given") or {}).get(name, name)


def _node(settings: dict[str, Any]) -> int:
    """The largest TP group of the searched GPUs: the node-size override, or max(8, each GPU's scale-up domain)."""
    node = settings.get("node_size")
    return int(node or max([8, *(tables.gpu_spec(g).domain_gpus() for g in settings.get("gpus") or [])]))


def _splits(heads: int, kv: int, tp: int) -> bool:
    """Whether ``tp`` passes the engine's tp_heads check (vLLM's rule): it divides the attention heads, and the KV
    heads divide tp or tp divides them (a 28-head model with 4 KV heads refuses tp 7). A count 0 is unknown: it
    refuses nothing (taken as tp itself, which the rule accepts)."""
    return tp_heads_ok(float(heads or tp), float(kv or tp), float(tp))


def node_tp_values(settings: dict[str, Any], name: str, node: int) -> list[int]:
    """The tp values up to ``node`` that model ``name``'s heads allow (:func:`_splits`, the engine's tp_heads)."""
    heads, kv = int(model_shape(settings, name, "n_heads") or 0), int(model_shape(settings, name, "n_kv_heads") or 0)
    return [t for t in range(1, node + 1) if _splits(heads, kv, t)]


def _evaluate(space: SearchSpace, theta, phi, options: dict[str, Any], **axes):
    """The space with ``axes`` replaced, and the engine's evaluation of every candidate of it (None when the
    space would exceed :data:`_MAX_EVALUATED`)."""
    sub = dataclasses.replace(space, **{k: np.asarray(v, dtype=np.float64) for k, v in axes.items()})
    if sub.size > _MAX_EVALUATED:
        return sub, None
    idx = np.arange(sub.size, dtype=np.uint64)
    return sub, _core.search_evaluate(*sub.native_args(), np.asarray(theta, np.float64), np.asarray(phi, np.float64),
                                      options, idx)


def rejected_combos(space: SearchSpace, theta, phi, options: dict[str, Any], reasons, indices=None) -> SearchSpace:
    """``space`` cut to the combos (model, GPU, format) the engine rejected a candidate of for one of ``reasons``
    (``indices``: the candidates searched, None: all), so a remedy for those reasons describes those models (Kimi-K2
    beside Qwen3-235B-A22B-FP8 at --ep 3 got Qwen's weights and layouts until 2026-12-07); ``space`` itself where
    none is cut (one combo: not evaluated) or the space exceeds :data:`_MAX_EVALUATED`."""
    idx = np.arange(space.size, dtype=np.uint64) if indices is None else np.asarray(indices, dtype=np.uint64)
    if idx.size > _MAX_EVALUATED or not idx.size or len(space.combos) < 2:
        return space
    ev = _core.search_evaluate(*space.native_args(), np.asarray(theta, np.float64), np.asarray(phi, np.float64),
                               options, idx)
    hit = np.isin(np.asarray(ev.reason), [_REASONS.index(r) for r in reasons])
    keep = np.unique(space.digits(idx)[0][hit])
    if not keep.size or keep.size == len(space.combos):
        return space
    combos = [space.combos[i] for i in keep]
    return dataclasses.replace(space, combos=combos, combo_values=space.combo_values[keep],
                               profile_rows=[space.profile_rows[i] for i in keep],
                               prefill_extra_flops=space.prefill_extra_flops[keep],
                               model_specs={c.model: space.model_specs.get(c.model) for c in combos})


def _label(sub: SearchSpace, i: int, ev=None, searched_ep=None) -> str:
    """A candidate's configuration, short, as the result's table names it (:func:`.labels.config_label`):
    ``Meta-Llama-3.1-70B-Instruct H100 bf16 TP2 PP1 DP1 B8``, with the workload point where ``sub`` holds several;
    ``ev``: the engine's evaluation of every candidate of ``sub`` (:func:`_evaluate`), to name a MoE deployment
    priced alike with and without expert parallelism as the result's rows do, ``EP1/8``, among the ep values
    ``searched_ep`` (the user's; default ``sub``'s), as a search following the remedy lists it (until 2026-12-07
    the remedies named it "TP8 PP1 DP1 B1" where the closest configuration and the rows read "TP8 PP1 DP1 EP1/8")."""
    row = {k: v[0] for k, v in sub.decode_columns([i]).items()}
    searched = set((sub.ep if searched_ep is None else searched_ep).tolist())
    if ev is not None and max(searched) > 1:  # as frames.ep_twins: the rows merge EP twins
        row["ep_equivalent"] = [e for e in evaluated_twin_eps(sub, ev, i) if e in searched or e == row["ep"]]
    return config_label(pd.Series(row), len(sub.workloads) > 1 and not sub.distribution,
                        gpu_labels(c.gpu for c in sub.combos))  # the table's GPU names


def _binds(reason: str, rejected: dict[str, int], feasible: int, indices) -> bool:
    """Whether an axis search (no explicit candidates) found nothing feasible and ``reason`` rejected the most, or
    as many as the most (a tie: the empty result gives each tied reason its remedy; until 2026-12-07 only the one
    the engine checks first got its record)."""
    return not feasible and indices is None and any(rejected.values()) and \
        rejected.get(reason, 0) == max(rejected.values())


def _free(options: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in options.items() if k not in ("tpot_limit_s", "ttft_limit_s")}


def kv_room(space: SearchSpace, theta, phi, options: dict[str, Any], rejected: dict[str, int], feasible: int,
            indices, check: LimitCheck | None = None) -> dict[str, Any] | None:
    """When nothing is feasible and ``memory_kv_cache`` rejected the most (an axis search), on the combos it rejected
    (:func:`rejected_combos`; until 2026-12-07 every searched one): the largest max_num_seqs below the smallest
    searched whose KV cache passes the engine's memory check on some searched layout, and that configuration
    (``max_num_seqs`` 0: not even one sequence fits); where no fp8 KV cache was searched, ``fp8``: the same check on
    the space in an fp8 KV cache (:func:`.kv_fp8.fp8_kv_space`), up to the largest searched cap (0: it does not fit
    either). None otherwise, and where the smallest searched cap passes the KV check on some layout. ``limits_unmet``
    (:func:`_limits_unmet`) checks the room's cap against the limits as ``check`` applies them (default: ``options``'
    at confidence 0.5), ``limits_applied`` the limits that check applied at the room's cap, always (None: no limit
    checked; until 2026-12-07 None too where they equalled the given ones, and the sentence then quoted the searched
    space's effective limit, derived from other candidates)."""
    if not _binds("memory_kv_cache", rejected, feasible, indices):
        return None
    space = rejected_combos(space, theta, phi, options, ("memory_kv_cache",))
    smallest = float(np.min(space.max_num_seqs))
    found = _largest_fit(space, theta, phi, options, smallest)
    if found is None or found[0] >= smallest:  # a searched layout holds the smallest cap's KV cache: other checks
        return None
    fp8 = fp8_kv_space(space)
    fp8 = None if fp8 is None else _largest_fit(fp8, theta, phi, options, float(np.max(space.max_num_seqs)))
    applied: dict[str, float] = {}
    unmet = _limits_unmet(space, theta, phi, options, found[0], check, applied)
    return {"max_num_seqs": int(found[0]), "config": found[1], "smallest_searched": smallest,
            "fp8": None if fp8 is None else {"max_num_seqs": int(fp8[0]), "config": fp8[1]},
            "limits_unmet": unmet, "limits_applied": applied or None}


def _limits_unmet(space: SearchSpace, theta, phi, options: dict[str, Any], cap: float, check: LimitCheck | None = None,
                  applied: dict[str, float] | None = None) -> dict[str, float] | None:
    """At max_num_seqs ``cap`` (the KV cache's room), the lowest predicted TTFT / TPOT of the candidates that pass
    every other check, per latency limit, where none meets the limits as ``check`` applies them to that space
    (:meth:`.limit_check.LimitCheck.within`, from one evaluation; default: the limits of ``options`` as given);
    None where one does, or the search has no limit. ``applied`` (a dict) receives the limits applied. The room
    was found without the limits (until 2026-12-07 its remedy said "finds configurations" where the limits then
    rejected every one). None too where not one sequence fits (``cap`` 0: the layouts' remedy; until 2026-12-07 a
    search with a latency limit then stopped with "axis 'max_num_seqs' value 0" instead of its empty result)."""
    check = check or LimitCheck.of(options)
    if not check.limits or cap < 1:
        return None
    sub, ev = _evaluate(space, theta, phi, _free(options), max_num_seqs=[cap])
    meets, limits = (None, {}) if ev is None else check.within(sub, ev)
    if applied is not None:
        applied.update(limits)
    if meets is None or meets.any():
        return None
    ok = np.asarray(ev.reason) < 0
    return {n: float(np.min(np.asarray(getattr(ev, f"{n}_s"))[ok])) for n in ("tpot", "ttft")
            if n in limits and ok.any()}


def _largest_fit(space: SearchSpace, theta, phi, options: dict[str, Any], upper: float) -> tuple[float, Any] | None:
    """The largest max_num_seqs up to ``upper`` whose KV cache passes the engine's memory check on some layout of
    ``space``, and that configuration ((0, None): none; None: the space is too large to evaluate)."""
    grid = np.unique(np.r_[np.arange(1.0, min(upper, 64.0)), np.floor(np.geomspace(64.0, max(upper, 64.0), 40))])
    grid = np.union1d(grid[grid < upper], [upper])  # upper too: is the KV cache what binds?
    best, config = 0.0, None
    for caps in (grid, None):  # the grid, then every whole number between its best and the next grid value
        if caps is None:
            above = grid[grid > best]
            caps = np.arange(best + 1, above[0]) if best and above.size else np.zeros(0)
        if not caps.size:
            continue
        sub, ev = _evaluate(space, theta, phi, _free(options), max_num_seqs=caps)
        if ev is None:
            return None
        reason = np.asarray(ev.reason)
        fits = (reason < 0) | (reason > _REASONS.index("memory_kv_cache"))
        cap = caps[sub.digits(np.arange(sub.size))[5]]
        if fits.any() and cap[fits].max() > best:
            i = int(np.flatnonzero(fits & (cap == cap[fits].max()))[0])
            best, config = float(cap[i]), _label(sub, i, ev)
    return best, config


def kv_room_sentence(settings: dict[str, Any]) -> str:
    """The remedy of ``settings["kv_room"]`` ("" without one), ending "; "; an fp8 KV cache is offered with what
    the engine's check found for it (``kv_room["fp8"]``), or, in a record without that, as before."""
    room = settings.get("kv_room")
    if not room:
        return ""
    tokens = ", ".join(f"{a:g}+{b:g}" for a, b in zip(settings.get("input_tokens") or [],
                                                      settings.get("output_tokens") or [], strict=True))
    half = "" if searched_fp8_kv(settings.get("kv_cache_dtypes")) else \
        ", or store the KV cache in fp8 (--kv-cache-dtype fp8: half the bytes per token)"
    if room.get("fp8"):  # computed: say what fp8 does
        n, top = room["fp8"]["max_num_seqs"], max(settings.get("max_num_seqs") or [0])
        half = (f", or store the KV cache in fp8: with --kv-cache-dtype fp8 it fits at up to {plural(n, 'sequence')} per rank"
                f"{' (the largest max_num_seqs searched)' if n >= top else ''} "
                f"({room['fp8']['config']})" if n else "; an fp8 KV cache (--kv-cache-dtype fp8) would not fit "
                "either, not even one sequence")
    if room["max_num_seqs"] < 1:  # the layouts that hold one (.layout_room), else (a record without it) as before
        more = _layout_room_text(settings)
        half = half.replace(", or store", "; or store", 1) if more else half  # after the layouts' list
        return (f"not even one sequence's KV cache ({tokens} tokens) fits beside the weights on any searched layout: "
                f"{more or 'add GPUs per deployment (--tp, --pp)'}{half}; ")
    n, unmet = room["max_num_seqs"], room.get("limits_unmet")
    finds = f"--max-num-seqs {n} finds configurations"
    if unmet is not None:  # the room holds the KV cache; the latency limits reject what it holds
        def limit(k: str) -> str:  # the given limit, and what the room's check applied it as at that cap (None: as
            given = settings.get(f"{k}_limit_s", math.nan)  # given), never the searched space's effective limit
            applied = (room.get("limits_applied") or {}).get(k, given)
            return f"{given:.4g} s" + (f", applied as {applied:.4g} s at confidence {settings['limit_confidence']:g}"
                                       if applied != given else "")
        lowest = "; ".join(f"the lowest predicted {k.upper()} {v:.4g} s against the limit {limit(k)}"
                           for k, v in unmet.items())
        finds = (f"--max-num-seqs {n} holds the KV cache, but no configuration there meets the latency limits"
                 + (f" ({lowest})" if lowest else ""))
    return (f"at {tokens} tokens per request the KV cache fits at most {plural(n, 'sequence')} per rank on "
            f"any searched layout ({room['config']}), fewer than the smallest max_num_seqs searched "
            f"({room['smallest_searched']:g}): {finds}{half}; ")


def _layout(r: dict[str, Any], gpu: str = "", wide: bool = False) -> str:
    """A :func:`.layout_room.layout_room` record as flags: "20 GPUs as --tp 4 --pp 5 (config)"; ``wide``: with the
    fewest GPUs at the largest tp that fits, where the fewest take a pipeline at a smaller tp."""
    spread = "dp" if "dp" in r else "pp"
    flags = " ".join(f for f in (gpu, f"--tp {r['tp']}", f"--{spread} {r[spread]}" if r[spread] > 1 else "",
                                 "" if r["max_num_seqs"] else "--max-num-seqs 1") if f)
    more = (f" (or with TP {r['widest_tp']['tp']}, {_layout(r['widest_tp'], gpu)})"
            if wide and r.get("widest_tp") and r.get("pp", 1) > 1 else "")  # 405B on L4: tp 1 x pp 45, or tp 8 x pp 6
    return f"{r['gpus']} GPU{'s' if r['gpus'] > 1 else ''} as {flags} ({r['config']}){more}"


def _layout_room_text(settings: dict[str, Any]) -> str:
    """What ``settings["layout_room"]`` found ("" without it): the fewest GPUs per deployment whose weights and one
    sequence's KV cache pass the engine's memory check as tp x pp (for a MoE also tp x dp), in each smaller weight
    format, and on the table's GPUs with more memory."""
    room = settings.get("layout_room")
    if not room:
        return ""
    parts = [f"the fewest GPUs per deployment whose weights and one sequence's KV cache fit are {_layout(room['pp'][0], wide=True)}"
             if room["pp"] else "no tp x pp on the searched GPUs holds the weights and one sequence's KV cache (tp "
             "within a node, pp up to the model's layers)"]
    if room["dp"]:
        parts.append(f"with data-parallel ranks sharing a MoE's experts instead of pipeline stages, {_layout(room['dp'][0])}")
    for fmt, r in room["formats"].items():
        parts.append(f"in {fmt} weights {_layout(r, f'--precision {fmt}')}" if r else
                     f"in {fmt} weights no tp x pp holds them either")
    more = room["more_memory"]
    if more:
        label = gpu_labels(r["gpu"] for r in more)
        parts.append("on a GPU with more memory, " + ", ".join(
            f"{label[r['gpu']]} ({r['memory_gb']:g} GB): {_layout(r, '--gpus ' + label[r['gpu']])}" for r in more))
    return "; or ".join(parts)


def layout_room_text(settings: dict[str, Any]) -> str:
    """What ``settings["layout_room"]`` found, as the remedies say it ("" without it): :func:`_layout_room_text`."""
    return _layout_room_text(settings)


def layout_room_sentence(settings: dict[str, Any]) -> str:
    """The memory_weights remedy of ``settings["layout_room"]`` ("" without one), ending "; "."""
    text = _layout_room_text(settings)
    return text + "; " if text else ""


def _tp_values(space: SearchSpace) -> np.ndarray:
    """Every TP value a searched model's heads allow (the engine's tp_heads check, :func:`_splits`), up to the largest
    node of the searched GPUs."""
    node = space.node_size or max(max(8.0, tables.gpu_spec(c.gpu).domain_gpus()) for c in space.combos)
    heads = {(int(getattr(s, "n_heads", 0) or 0), _kv_heads(s))
             for s in (_spec(space, c.model) for c in space.combos)}
    return np.array(sorted({t for h, kv in heads if h > 0 for t in range(1, int(node) + 1) if _splits(h, kv, t)}),
                    dtype=float)


def tp_node_sentence(settings: dict[str, Any]) -> str:
    """The tp_node remedy in numbers ("" where the settings lack the axes): each searched GPU's largest TP (the
    node-size override, or max(8, its scale-up domain)), the searched tp values above it and the same GPU count
    as tp x pp inside the node; where a MoE was searched with an --ep that such a tp made up (ep = tp x dp), the
    same GPUs as tp x dp, which keep it (tp x pp leaves the EP group short, rejected by ep_group)."""
    tps, gpus = settings.get("tp") or [], settings.get("gpus") or []
    if not tps or not gpus:
        return ""
    node, label = settings.get("node_size"), gpu_labels(gpus)  # the table's GPU names
    limit = {g: int(node or max(8, tables.gpu_spec(g).domain_gpus())) for g in gpus}
    moe = any((model_shape(settings, m, "n_experts") or 1) > 1 for m in settings.get("models") or [])
    parts = []
    for g, n in limit.items():
        over = [t for t in tps if t > n]
        if over:
            t = max(over)
            groups = {t * d for t in over for d in settings.get("dp") or [1]}
            ep = [e for e in settings.get("ep") or [] if moe and e in groups and e % n == 0]
            parts.append(f"on {label[g]} TP stays within {n} GPUs, so tp {','.join(map(str, over))} cannot be used: "
                         f"--tp {n} --pp {math.ceil(t / n)} spans the same {n * math.ceil(t / n)} GPUs"
                         + (f", and for MoE models --tp {n} --dp {max(ep) // n} keeps --ep {max(ep)} (expert "
                            "parallelism spans tp x dp)" if ep else ""))
    return "; ".join(parts) + ("; " if parts else "")


def tp_heads_sentence(settings: dict[str, Any]) -> str:
    """Per searched model, the searched tp values its heads refuse and those they take (the engine's check,
    :func:`_splits`; where none does, the tp values within a node that do, :func:`node_tp_values`), ending "; ".
    Before 2026-12-06 only the attention heads were counted: a 28-head model with 7 KV heads was told that tp 2
    and 4, which the KV heads refuse, "do"."""
    tps, parts = settings.get("tp") or [], []
    for m in settings.get("models") or []:
        heads, kv = int(model_shape(settings, m, "n_heads") or 0), int(model_shape(settings, m, "n_kv_heads") or 0)
        bad = [t for t in tps if heads and not _splits(heads, kv, t)]
        if bad:
            good, node = [t for t in tps if t not in bad], _node(settings)
            by_kv = any(heads % t == 0 for t in bad)  # the KV heads refuse one: say so, and vLLM's rule
            what, verb = ((f"{heads} attention heads and {kv} KV heads", "cannot split them (tp must divide the "
                           "heads, and the KV heads divide tp or tp divide them)") if by_kv else
                          (f"{heads} attention heads", "do not divide them"))
            parts.append(f"{given_name(settings, m)} has {what}: tp {','.join(map(str, bad))} {verb}"
                         + (f" (--tp {','.join(map(str, good))} do)" if good else
                            f" (within a node of {node} GPUs --tp "
                            f"{','.join(map(str, node_tp_values(settings, m, node)))} do)"))
    return "; ".join(parts) + ("; " if parts else "")


def fp8_room(space: SearchSpace, theta, phi, options: dict[str, Any], rejected: dict[str, int], feasible: int,
             indices, check: LimitCheck | None = None) -> dict[str, Any] | None:
    """When nothing is feasible and ``fp8_block_shape`` rejected the most (an axis search), on the combos it rejected
    (:func:`rejected_combos`; until 2026-12-07 every searched one): the tp values (every one a model's heads allow
    within a node) whose split holds the fp8 checkpoint's weight blocks, without expert parallelism and with ep = tp x
    dp, and the cheapest of those that passes every check (None: none does), the latency limits as ``check`` applies
    them (:meth:`.limit_check.LimitCheck.within`; default: ``options``')."""
    if not _binds("fp8_block_shape", rejected, feasible, indices):
        return None
    space = rejected_combos(space, theta, phi, options, ("fp8_block_shape",))
    tp = np.union1d(_tp_values(space), space.tp)
    ep = np.union1d([1.0], [t * d for t in tp for d in space.dp])
    sub, ev = _evaluate(space, theta, phi, _free(options), tp=tp, ep=ep)
    if ev is None:
        return None
    reason = np.asarray(ev.reason)
    blocks = (reason < 0) | (reason > _REASONS.index("fp8_block_shape"))
    d = sub.digits(np.arange(sub.size))
    with_ep = ep[d[4]] > 1
    ok = reason < 0
    i, meets = cheapest_passing(np.asarray(ev.objective), ok, (check or LimitCheck.of(options)).within(sub, ev)[0])
    return {"tp_without_ep": sorted({int(t) for t in tp[d[1]][blocks & ~with_ep]}),
            "tp_with_ep": sorted({int(t) for t in tp[d[1]][blocks & with_ep]}),
            "passes": _label(sub, i, ev, space.ep) if ok.any() else None, "misses_limits": bool(ok.any() and not meets)}


def cheapest_passing(objective: np.ndarray, ok: np.ndarray, meets: np.ndarray | None) -> tuple[int, bool]:
    """The candidate of the lowest ``objective`` among ``ok`` (passing the checks but the latency limits) that also
    meets the limits (``meets``, :meth:`.limit_check.LimitCheck.within`; None: no limits), else among ``ok``; and whether it meets
    them. A remedy said "which passes every check" of a configuration the limits reject until 2026-12-07."""
    pool = ok & meets if meets is not None and (ok & meets).any() else ok
    i = int(np.flatnonzero(pool)[np.argmin(objective[pool])]) if pool.any() else 0
    return i, meets is None or bool(meets[i])


def fp8_room_sentence(settings: dict[str, Any]) -> str:
    """The remedy of ``settings["fp8_room"]`` ("" without one), ending "; "."""
    room = settings.get("fp8_room")
    if not room:
        return ""
    parts = [f"tp {','.join(map(str, room['tp_without_ep']))} without expert parallelism" if room["tp_without_ep"] else "",
             f"tp {','.join(map(str, room['tp_with_ep']))} with --ep equal to tp x dp" if room["tp_with_ep"] else ""]
    split = " and ".join(p for p in parts if p) or "no tp within a node"
    found = (f"; {room['passes']} passes every check" + (" but the latency limits, which no configuration of these tp "
                                                          "values meets" if room.get("misses_limits") else "")
             if room["passes"] else
             "; none of them passes the other checks (memory) on the searched GPUs")
    return f"the fp8 checkpoint's weight blocks split over {split}{found}; "


def ep_group_sentence(settings: dict[str, Any]) -> str:
    """The --ep values the searched tp x dp allow (expert parallelism spans a deployment's tp x dp GPUs), per model
    those that divide its experts, ending "; "."""
    tps, dps, parts = settings.get("tp") or [], settings.get("dp") or [1], []
    groups = sorted({t * d for t in tps for d in dps if t * d > 1})
    for m in settings.get("models") or []:
        experts = int(model_shape(settings, m, "n_experts") or 1)
        fit = [g for g in groups if experts > 1 and experts % g == 0]
        if fit:
            parts.append(f"{given_name(settings, m)}: --ep {','.join(map(str, fit))} (tp x dp of the searched tp "
                         f"{','.join(map(str, tps))} and dp {','.join(map(str, dps))})")
    keep = [e for e in settings.get("ep") or [] if e > 1 and e % min(tps or [1]) == 0]
    made = (f"expert parallelism spans a deployment's tp x dp GPUs, which the searched tp {','.join(map(str, tps))} "
            f"and dp {','.join(map(str, dps))} make {','.join(map(str, groups)) or '1'}")
    room = "; ".join(  # each asked ep the searched tp x dp do not make: the engine's cheapest group (.layout_room)
        f"--ep {r['ep']} needs tp x dp = {r['ep']}, e.g. --tp {r['tp']} --dp {r['dp']}, which passes every check "
        + (f"but the latency limits, which no tp x dp = {r['ep']} meets " if r.get("misses_limits") else "")
        + f"({r['config']})" if r["tp"] else f"no tp x dp = {r['ep']} passes the other checks with --ep {r['ep']}"
        + (f" (most fail {r['rejected_by']})" if r.get("rejected_by") else "")
        for r in settings.get("ep_room") or [] if r["ep"] not in groups)
    if not parts and keep and not room:  # no group searched ('--tp 1 --ep 2') and no engine record: the dp that
        # makes one (until 2026-12-07 said even where ep_room found that no such tp x dp passes)
        return f"{made}: --ep {keep[0]} needs e.g. --tp {min(tps or [1])} --dp {keep[0] // min(tps or [1])}; "
    if not parts:
        return made + ": " + room + "; " if room else ""
    # '--tp 8 --ep 16' offered only '--ep 8', dropping the ep asked for, until 2026-12-07
    return ("expert parallelism spans a deployment's tp x dp GPUs: " + "; ".join(parts)
            + (f"; or, to keep the --ep asked for: {room}" if room else "") + "; ")


def ep_experts_sentence(settings: dict[str, Any]) -> str:
    """Per searched MoE model, its experts and the searched ep values that divide them (where none does, ep 1
    and the ep values within a node that do), ending "; "."""
    eps, parts = [e for e in settings.get("ep") or [] if e > 1], []
    for m in settings.get("models") or []:
        experts = int(model_shape(settings, m, "n_experts") or 1)
        if experts > 1 and any(experts % e for e in eps):
            good, node = [e for e in eps if experts % e == 0], _node(settings)
            within = ",".join(str(e) for e in range(2, node + 1) if experts % e == 0)
            parts.append(f"{given_name(settings, m)} has {experts} experts: ep {','.join(str(e) for e in eps if experts % e)} do not divide "
                         "them" + (f" (--ep {','.join(map(str, good))} do)" if good else
                                   " (--ep 1 does" + (f", and within a node of {node} GPUs --ep {within} with tp x dp "
                                                      "equal to it)" if within else ")")))
    return "; ".join(parts) + ("; " if parts else "")


def computed_remedy(reason: str, settings: dict[str, Any]) -> str:
    """The remedy for ``reason`` in this run's numbers, ending "; " ("" where none is computed)."""
    sentence = {"memory_kv_cache": kv_room_sentence, "memory_weights": layout_room_sentence, "tp_node": tp_node_sentence, "tp_heads": tp_heads_sentence,
                "fp8_block_shape": fp8_room_sentence, "ep_group": ep_group_sentence, "ep_experts": ep_experts_sentence}
    return sentence[reason](settings) if reason in sentence else ""


def moe_dp_clause(settings: dict[str, Any]) -> str:
    """"or " and, where a searched model is a MoE, that data-parallel ranks hold its experts as pipeline stages
    would (vLLM shards the MoE layers over tp x dp), the weights' remedy after its computed layout."""
    moe = [m for m in settings.get("models") or [] if (model_shape(settings, m, "n_experts") or 1) > 1]
    return ("or, for MoE models, the same GPUs as --dp instead of --pp (the data-parallel ranks share one copy of the "
            "experts, each holding its own attention weights; --ep only regroups the same GPUs), or ") if moe else "or "
