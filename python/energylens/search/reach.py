"""What reaches an unmet latency limit, followed through the engine's own checks: the lowest predicted TPOT / TTFT
over every TP value a model's heads allow and max_num_seqs down to 1 (:func:`latency_reach`), and the same on each
GPU of the table with more of what bounds it (memory bandwidth for TPOT, bf16 compute for TTFT; :func:`faster_reach`),
so the empty result's advice (:func:`reach_sentence`) names a faster GPU only where the model predicts it meets the
limit. Before 2026-12-06 the faster GPUs were named from their figures alone: a TTFT limit 300x below the lowest
reachable on B200 was told "what could: GPUs with more bf16 compute (GB200, GB300, MI355X ...)", which have 1.1x its
compute and are predicted to miss it as far.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from energylens.outputs import plural
from energylens.profiles import tables
from energylens.profiles.limits import MAX_GPU_COUNT
from energylens.search.kv_fp8 import respec_space
from energylens.search.labels import gpu_labels
from energylens.search.limit_check import LimitCheck
from energylens.search.options import OBJECTIVES
from energylens.search.remedies import _evaluate, _free, _label, _tp_values
from energylens.search.space import SearchSpace

__all__ = ["faster_reach", "latency_reach", "reach_sentence"]

#: What bounds each latency on a GPU: the GPU table's column, in words, its unit and the column's units per unit.
_BOUND = {"tpot": ("hbm_bw_gbs", "memory bandwidth", "TB/s", 1000.0),
          "ttft": ("peak_bf16_tflops", "bf16 compute", "TFLOP/s", 1.0)}
#: What else lowers each latency, beside a higher limit (a prefill's time grows with the prompt).
_ALSO = {"tpot": " or a smaller model", "ttft": ", shorter prompts (--input-tokens) or a smaller model"}
_NAMED = 3  # GPUs a sentence names, the rest counted


def _faster(gpus, name: str) -> list[tuple[float, str]]:
    """The GPUs of the table with more of what bounds latency ``name`` than every one of ``gpus``, least first, with
    their figure (a GPU without the figure is left out)."""
    column = _BOUND[name][0]
    searched = [float(getattr(tables.gpu_spec(g), column)) for g in gpus]
    table = tables.gpus()
    return sorted((float(v), str(n)) for n, v in zip(table["name"], table[column], strict=True)
                  if searched and float(v) > max(searched))


def _lowest(space: SearchSpace, theta, phi, options: dict[str, Any], names, caps=None):
    """The engine's evaluation of ``space`` over every TP value a model's heads allow within a node (and the
    searched ones) and max_num_seqs ``caps`` (default: the searched ones and 1), no latency limits: the evaluated
    space, whether each candidate passes every other check, per latency of ``names`` its values there (inf
    where a check fails), and the engine's outcome. None: too large."""
    tp = np.union1d(_tp_values(space), space.tp)
    caps = np.union1d(space.max_num_seqs, [1.0]) if caps is None else caps
    sub, ev = _evaluate(space, theta, phi, _free(options), tp=tp, max_num_seqs=caps)
    if ev is None:
        return None
    ok = np.asarray(ev.reason) < 0
    return sub, ok, {n: np.where(ok, np.asarray(getattr(ev, f"{n}_s")), np.inf) for n in names}, ev


def _widened_caps(space: SearchSpace) -> np.ndarray:
    """The searched max_num_seqs and the default axis' powers of two below the largest of them (down to 1): a
    latency limit the searched caps miss is met at a smaller running batch, and the cheapest cap that meets it
    is rarely 1 (70B at 20 requests/s: B64 on 24 GPUs against B1 on 1,020)."""
    top = float(np.max(space.max_num_seqs))
    return np.union1d(space.max_num_seqs, 2.0 ** np.arange(int(np.floor(np.log2(top))) + 1))


def _cheapest(space: SearchSpace, sub: SearchSpace, ev, within: np.ndarray) -> dict[str, Any] | None:
    """The candidate of the widened space ``sub`` (evaluated as ``ev``) with the lowest objective among those that
    meet every latency limit (``within``: :meth:`.limit_check.LimitCheck.within`, the engine's check
    ``kernel::limit_reason``, value <= limit, at the limits a search of ``sub`` applies) and need at most 2**20 GPUs
    (a result leaves out the rest); with the tp and max_num_seqs values it needs that ``space`` did not search.
    None where none meets them; ``config`` None and ``past_gpu_bound`` (their count) where those that do all need
    more GPUs."""
    meets = within & (np.asarray(ev.gpus) <= MAX_GPU_COUNT)
    if not meets.any():  # past the bound only: said so (a high rate at small batches), not named
        return {"config": None, "past_gpu_bound": int(within.sum())} if within.any() else None
    i = int(np.flatnonzero(meets)[np.argmin(np.asarray(ev.objective)[meets])])  # the first of equal ones
    row = sub.decode_columns([i])
    tp, cap = float(row["tp"][0]), float(row["max_num_seqs"][0])
    return {"config": _label(sub, i, ev), "objective": float(ev.objective[i]), "tpot_s": float(ev.tpot_s[i]),
            "ttft_s": float(ev.ttft_s[i]), "replicas": int(ev.replicas[i]), "gpus": int(ev.gpus[i]),
            "tp_added": [int(tp)] if tp not in space.tp else [],
            "max_num_seqs_added": [int(cap)] if cap not in space.max_num_seqs else []}


def faster_reach(space: SearchSpace, theta, phi, options: dict[str, Any], name: str, check: LimitCheck | None = None
                 ) -> list[dict[str, Any]] | None:
    """Per GPU of the table with more of what bounds latency ``name`` than every searched one (:func:`_faster`), the
    searched models, formats and axes on it, with every TP value a model's heads allow within a node as
    :func:`latency_reach` takes them and max_num_seqs the searched ones and 1 (:func:`_lowest`'s default, not
    :func:`_widened_caps`: TPOT and TTFT never fall as the running batch grows, so the lowest is at the smallest
    cap that passes the other checks, and a smaller cap only frees memory; the powers of two between serve
    latency_reach's ``cheapest``, which this does not look for): the GPU, its figure, the lowest predicted value
    and its configuration (None: nothing there passes the other checks, e.g. memory) and whether it meets the
    limit as a search of that GPU applies it (``limit_s``; ``check``: :meth:`.limit_check.LimitCheck.applied`;
    default: the limit of ``options`` as given). A GPU that cannot take a searched format is left out; None where a model has no spec of its own
    (a candidate table's estimate) or a space is too large to evaluate."""
    out = []
    for figure, gpu in _faster({c.gpu for c in space.combos}, name):
        try:
            sub = respec_space(space, gpus=[tables.gpu_spec(gpu)])
        except ValueError:  # the GPU lacks a searched format's peak (A10G and bf16)
            continue
        low = None if sub is None else _lowest(sub, theta, phi, options, (name,))
        if low is None:
            return None
        sub, ok, value, ev = low
        i = int(np.argmin(value[name]))
        found = bool(ok[i])
        limit = (check or LimitCheck.of(options)).applied(sub, ev)[name] if found else None
        out.append({"gpu": gpu, "figure": figure, "value_s": float(value[name][i]) if found else None,
                    "config": _label(sub, i, ev) if found else None, "meets": found and bool(value[name][i] <= limit),
                    "limit_s": limit})
    return out


def latency_reach(space: SearchSpace, theta, phi, options: dict[str, Any], closest: dict[str, Any] | None,
                  indices, check: LimitCheck | None = None) -> dict[str, Any] | None:
    """When a latency limit is unmet by every candidate (``closest["unmet"]``, an axis search): the lowest
    predicted TPOT / TTFT over every TP value a model's heads allow within a node and the default max_num_seqs
    down to 1 (:func:`_widened_caps`; the searched GPUs, precisions and other axes), with its configuration, which
    of those axis values were not searched, and ``cheapest`` (:func:`_cheapest`: the lowest objective there within
    every limit, or None); where a lowest does not meet its limit, ``faster``: the lowest on each GPU with more of
    what bounds it (:func:`faster_reach`, the same TP values and the searched caps and 1, where the lowest is).
    Limits as ``check`` applies them to each space (:class:`.limit_check.LimitCheck`; default: ``options``' as
    given). None otherwise."""
    if not closest or not closest.get("unmet") or indices is not None:
        return None
    low = _lowest(space, theta, phi, options, closest["unmet"], _widened_caps(space))
    if low is None or not low[1].any():
        return None
    sub, ok, values, ev = low
    check = check or LimitCheck.of(options)
    within, limits = check.within(sub, ev)
    out = {"tp_tried": [int(t) for t in sub.tp if t not in space.tp],
           "max_num_seqs_tried": [int(c) for c in sub.max_num_seqs if c not in space.max_num_seqs],
           "cheapest": _cheapest(space, sub, ev, within)}
    for name in closest["unmet"]:
        i = int(np.argmin(values[name]))
        out[name] = {"value_s": float(values[name][i]), "config": _label(sub, i, ev),
                     "meets": bool(values[name][i] <= limits[name])}
        if not out[name]["meets"]:
            out[name]["faster"] = faster_reach(space, theta, phi, options, name, check)
    return out


def _figure(name: str, value: float) -> str:
    return f"{value / _BOUND[name][3]:.3g} {_BOUND[name][2]}"


def _figures_only(settings: dict[str, Any], name: str, gap: float) -> tuple[list[str], str]:
    """A record without ``faster`` (written by hand, or before 2026-12-06): the faster GPUs by their figures, named
    only where the largest figure's ratio to the searched GPUs' covers the gap; else why they are not."""
    faster = _faster(settings.get("gpus") or [], name)
    if not faster:
        return [], ""
    most = faster[-1][0] / float(max(getattr(tables.gpu_spec(g), _BOUND[name][0]) for g in settings["gpus"]))
    if gap > most:
        return [], (f"the most, {faster[-1][1]} {_figure(name, faster[-1][0])}, has {most:.2g}x the searched GPUs' "
                    f"{_BOUND[name][1]} while the lowest {name.upper()} is {gap:.2g}x the limit")
    more = f" and {len(faster) - _NAMED} more" if len(faster) > _NAMED else ""
    return [f"GPUs with more {_BOUND[name][1]} ("
            f"{', '.join(f'{n} {_figure(name, v)}' for v, n in faster[:_NAMED])}{more})"], ""


def _faster_text(settings: dict[str, Any], name: str, reach: dict[str, Any], gap: float) -> tuple[list[str], str]:
    """What the faster GPUs do for an unmet ``name``: the remedies they give (those predicted to meet the limit,
    least figure first) and, where none does, what they reach instead ("" where the table has none faster)."""
    faster = reach.get("faster")
    if faster is None:
        return _figures_only(settings, name, gap)
    what, label = _BOUND[name][1], gpu_labels(f["gpu"] for f in faster)
    meet = [f for f in faster if f["meets"]]
    if meet:
        more = f" and {len(meet) - _NAMED} more" if len(meet) > _NAMED else ""
        return [f"GPUs with more {what} predicted within the limit (" + ", ".join(
            f"{label[f['gpu']]} {_figure(name, f['figure'])}: {f['value_s']:.4g} s at {f['config']}"
            for f in meet[:_NAMED]) + f"{more})"], ""
    held = [f for f in faster if f["value_s"] is not None]
    if not held:
        return [], (f"none of the {len(faster)} GPUs with more {what} holds a configuration that passes the other "
                    "checks" if faster else "")
    best = min(held, key=lambda f: f["value_s"])
    limit = best.get("limit_s") or settings.get(f"effective_{name}_limit_s") or settings.get(f"{name}_limit_s")
    ratio = f", {best['value_s'] / limit:.3g}x the limit" if limit else ""  # as a search on that GPU applies it
    return [], (f"nor do the {len(faster)} GPUs with more {what} (the lowest, {best['value_s']:.4g} s at "
                f"{best['config']}{ratio})")


def reach_sentence(settings: dict[str, Any], bundled: bool = False) -> str:
    """How to widen the space for an unmet latency limit, from ``settings["latency_reach"]`` (a generic line
    without one); ``bundled``: the result's model is the bundled 2024 fit, whose latencies are 2024's. A faster GPU
    is named only where the engine predicts it meets the limit (:func:`faster_reach`); else only a higher limit, a
    shorter prompt (TTFT) or a smaller model is said to find one."""
    reach = settings.get("latency_reach")
    if not reach:
        return "or widen the axes that shorten it (--tp, smaller --max-num-seqs, other GPUs)"
    tried = " and ".join(t for t in (f"--tp {','.join(map(str, reach['tp_tried']))}" if reach["tp_tried"] else "",
                                     f"--max-num-seqs {','.join(map(str, reach['max_num_seqs_tried']))}"
                                     if reach["max_num_seqs_tried"] else "") if t)
    stack = "a model fitted on today's serving stack (--model-file: the bundled model's latencies are 2024's vLLM)"
    parts, limited, said = [], False, False  # limited: a limit only a higher value (or a smaller job) reaches
    cheapest = reach.get("cheapest")
    if cheapest and cheapest["config"] is None:  # load mode: within the limits only on more than 2**20 GPUs
        parts.append(f"adding {tried} meets the limits only with more than 2**20 GPUs at this rate "
                     f"({plural(cheapest['past_gpu_bound'], 'configuration')}): lower the rate or raise the limit")
    elif cheapest:  # every limit met at once: the configuration a search with those values would rank first
        parts.append(_cheapest_sentence(settings, cheapest))
    for name in ("tpot", "ttft"):
        if name not in reach or (cheapest and reach[name]["meets"]):
            continue
        r = reach[name]
        if r["meets"]:
            parts.append(f"or add {tried}: {r['config']} is predicted at {r['value_s']:.4g} s {name.upper()}, within "
                         "the limit")
            continue
        limit = settings.get(f"effective_{name}_limit_s") or settings.get(f"{name}_limit_s")  # the one applied
        gpus, short = _faster_text(settings, name, r, r["value_s"] / limit if limit else 0.0)
        where = (f"adding {tried} does not reach it either (lowest {name.upper()} {r['value_s']:.4g} s at "
                 f"{r['config']}); " if tried else "" if said else "every tp a model's heads allow within a node, "
                 "and max_num_seqs 1, were searched; ")  # said once for both limits (it stood twice before 2026-12-07)
        said = said or not tried
        if gpus:
            parts.append(f"{where}what could: {' or '.join(gpus + ([stack] if bundled else []))}")
            continue
        only = f"only a higher --{name}-limit{_ALSO[name]} finds one"
        parts.append(where + (f"{short}: {only}" if short else f"among these GPUs {only}"))
        limited = True
    note = ("these are the bundled model's predictions, whose latencies are 2024's vLLM: a model fitted on today's "
            "serving stack (--model-file) predicts yours")
    return "; ".join(parts + ([note] if bundled and limited else []))


def _cheapest_sentence(settings: dict[str, Any], c: dict[str, Any]) -> str:
    """"or add --tp 4 and --max-num-seqs 64: the cheapest configuration then within the limits is ..., 543.9 J per
    request (TPOT 0.1078 s, TTFT 1.861 s; 12 replicas, 24 GPUs)" from ``latency_reach["cheapest"]``. Before
    2026-12-07 only the lowest-latency configuration was named, at max_num_seqs 1: a 70B search at 20 requests/s
    was told to add --max-num-seqs 1, whose best deployment takes 1,020 GPUs at 12.3 kJ a request where B64 meets
    the limit on 24 at 0.54 kJ."""
    added = " and ".join(f"--{flag} {','.join(map(str, c[key]))}" for flag, key in
                         (("tp", "tp_added"), ("max-num-seqs", "max_num_seqs_added")) if c[key])
    unit = f"{OBJECTIVES.get(settings.get('objective') or 'energy', '')} per " + (
        "output token" if settings.get("per_token") else "request")
    latency = ", ".join(f"{n.upper()} {c[f'{n}_s']:.4g} s" for n in ("tpot", "ttft")
                        if settings.get(f"{n}_limit_s") is not None)
    fleet = f"; {c['replicas']:,} replicas, {c['gpus']:,} GPUs" if settings.get("rate_per_s") is not None else ""
    return (f"or add {added}: the cheapest configuration then within the limits is {c['config']}, "
            f"{c['objective']:.4g} {unit} ({latency}{fleet})")
