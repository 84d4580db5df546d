"""A search's result tables from the engine's outcome: one row per configuration (:func:`candidate_frame`),
and the top-k with its Pareto fronts (:func:`result_tables`), the fronts built when first read.

A scheduler calling ``energylens.search`` in a loop reads ``top``; the two fronts were a third of the frames
it paid for (each ~0.4 ms on a one-candidate search). :func:`result_tables` hands them to
:class:`~energylens.search.result.SearchResult` as :class:`~energylens.search.deferred.Deferred` tables that
build on first access from what the call had (the engine's outcome, the space, the models' parameters as
they were), the same frames as built at once.
"""

from __future__ import annotations

import warnings
from types import SimpleNamespace

import numpy as np
import pandas as pd

from energylens import _core
from energylens.errors import user_stacklevel
from energylens.profiles.schema import MAX_GPU_COUNT
from energylens.search.caps import collapse_caps, collapse_dp, complete_caps, engine_top_k, ep_groups
from energylens.search.compute import combo_compute_precisions
from energylens.search.deferred import Deferred
from energylens.search.space import COMBO_FIELDS, GIB, SearchSpace

__all__ = ["candidate_frame", "engine_rows", "ep_twins", "evaluated_twin_eps", "lowest_row", "merge_ep", "over_gpu_count", "result_tables",
           "short_top_note"]

#: The most rows the device pass (cuda/search.cu kMaxTopK) keeps.
DEVICE_MAX_TOP_K = 32


def candidate_frame(space: SearchSpace, cands, labels: dict | None = None, best_first: bool = False,
                    priced: bool = True, utilization: float = 1.0, extra: dict | None = None) -> pd.DataFrame:
    """The engine's candidates as a table. Load mode: rows whose replicas would need more than 2**20 GPUs
    are left out (``attrs["over_gpu_count"]`` counts them; a Pareto front's lowest-TPOT end at batch 1 can
    need 1e6 GPUs where the best needs 1e4), and an error when the best itself does (``best_first``; naming
    ``utilization``, the replicas' max_utilization, where below 1 it multiplies the fleet).
    ``priced`` False (no price given): ``price_per_gpu_hour`` is NaN, not the engine's 0 (a free GPU-hour).
    ``extra``: more columns, one value per candidate (``ep_equivalent``: :func:`merge_ep`)."""
    cols = space.decode_columns(cands.index)  # one frame built at the end (each column added costs ~0.1 ms)
    if labels is not None:  # candidates=...: the row label of each configuration in the given table
        cols = {"index": cols.pop("index"), "candidate": [labels[int(i)] for i in cands.index], **cols}
    names = list(cols)  # the GEMM precision priced, beside the weight format (int8 w8a16: bf16)
    names.insert(names.index("precision") + 1, "compute_precision")
    cols["compute_precision"] = combo_compute_precisions(space.profile_rows, space.model_specs)[
        space.digits(cands.index)[0]]
    cols = {c: cols[c] for c in names}
    for name in ("objective", "energy_j", "prefill_j", "decode_j", "idle_j", "static_j", "ttft_s", "tpot_s",
                 "batch", "replicas", "gpus", "gpu_s_per_request"):
        cols[name] = np.asarray(getattr(cands, name))
    cols["memory_gib_per_gpu"] = cands.memory_bytes / GIB
    # scale-up domains one deployment spans (> 1: its PP boundaries / EP group use scale-out; docs/search.md)
    combo = space.combo_values[space.digits(cands.index)[0]]
    domain = space.node_size or combo[:, COMBO_FIELDS.index("scale_up_domain_gpus")]
    cols["domains"] = np.ceil(cols["tp"] * cols["pp"] * cols["dp"] / domain).astype(int)
    cols["price_per_gpu_hour"] = combo[:, COMBO_FIELDS.index("price_per_gpu_hour")] if priced else np.nan
    for c, v in (extra or {}).items():  # before the frame (~0.4 ms a column after); lists stay cells, not a 2-D array
        cols[c] = np.empty(len(v), dtype=object)
        for i, cell in enumerate(v):
            cols[c][i] = cell
    over = ~(cols["gpus"] <= MAX_GPU_COUNT)
    if best_first and len(over) and over[0]:  # load mode: a rate no deployment of this space can serve
        headroom = (f" or raise max_utilization (--max-utilization; now {utilization:g}: the replicas are sized for "
                    f"{1 / utilization:.3g}x the rate)") if utilization < 1 else ""
        raise ValueError(f"rate_per_s (--rate) needs {cols['gpus'][0]:.3g} GPUs for the best configuration (replicas "
                         f"{cols['replicas'][0]:.3g}); energylens counts at most {MAX_GPU_COUNT:,} (2**20): lower the "
                         f"rate{headroom}")
    whole = ("replicas", "gpus")  # whole numbers, cast before the frame is built (a column set later costs ~0.4 ms)
    cols.update({} if over.any() else {c: cols[c].astype(np.int64) for c in whole})
    df = pd.DataFrame(cols)
    if over.any():
        df = df[~over].reset_index(drop=True).astype(dict.fromkeys(whole, np.int64))
    df.attrs["over_gpu_count"] = int(over.sum())
    return df


def over_gpu_count(*cands) -> int:
    """Configurations among the engine's candidate lists ``cands`` (the top-k, the fronts) whose replicas would need
    more than 2**20 GPUs (:func:`candidate_frame` leaves them out), each counted once: one in the top-k and both
    fronts was three, so a search of 2 candidates said 3 were left out."""
    over = [np.asarray(c.index)[~(np.asarray(c.gpus) <= MAX_GPU_COUNT)] for c in cands]
    return int(np.unique(np.concatenate(over)).size) if any(o.size for o in over) else 0


#: What :func:`candidate_frame` reads of the engine's candidates.
_FIELDS = ("index", "objective", "energy_j", "prefill_j", "decode_j", "idle_j", "static_j", "ttft_s", "tpot_s", "batch",
           "replicas", "gpus", "gpu_s_per_request", "memory_bytes")


def lowest_row(space: SearchSpace, cands, column: str, labels: dict | None = None, priced=None) -> pd.DataFrame:
    """The row of the engine's candidates ``cands`` with the lowest ``column`` (the first of equal ones; rows
    past 2**20 GPUs left out), as :func:`candidate_frame` builds it: a one-row table (empty when none). An
    empty result's "the lowest predicted TPOT is ..." built the whole front to keep one row (~1 ms a call).
    ``priced``: (theta, phi, options) of the engine's pass, to find the row's EP twins (:func:`_twin_eps`): the
    row then stands for the ep values priced alike (``ep_equivalent``), labelled EP1/2 as the result's rows are
    (a Pareto front keeps one of two equal points; until 2026-12-07 the note named the deployment without EP)."""
    values = {f: np.asarray(getattr(cands, f)) for f in _FIELDS}
    keep = np.flatnonzero(values["gpus"] <= MAX_GPU_COUNT)
    pick = keep[np.argmin(values[column][keep])] if keep.size else None
    one = SimpleNamespace(**{f: v[[] if pick is None else [pick]] for f, v in values.items()})
    twins = priced is not None and pick is not None and ep_twins(space, labels)
    return candidate_frame(space, one, labels,
                           extra={"ep_equivalent": [_twin_eps(space, one, *priced)]} if twins else None)


def _twin_eps(space: SearchSpace, one, theta, phi, options: dict) -> list[int]:
    """The ep values the deployment of ``one`` (one engine candidate, feasible under ``options``) takes with its
    price, energy, latency and memory alike (:func:`.caps.ep_groups`, as :func:`merge_ep`), its own first."""
    sib, idx = _ep_siblings(space, int(one.index[0]))
    ev = _core.search_evaluate(*space.native_args(), np.asarray(theta, dtype=np.float64),
                               np.asarray(phi, dtype=np.float64), options, idx.astype(np.uint64))
    return _alike_eps(space, sib, ev, np.arange(len(idx)))


def evaluated_twin_eps(space: SearchSpace, ev, index: int) -> list[int]:
    """:func:`_twin_eps` of candidate ``index`` of ``space`` from ``ev``, the engine's evaluation of every candidate
    of the space (position = index, as the remedies evaluate a widened space): the ep values whose deployment
    the engine checks alike (the same reason) and prices alike, ``index``'s own first."""
    sib, idx = _ep_siblings(space, index)
    return _alike_eps(space, sib, ev, idx)


def _ep_siblings(space: SearchSpace, index: int) -> tuple[np.ndarray, np.ndarray]:
    """The digits of candidate ``index`` at each ep value of the space (the candidate itself first) and their
    candidate indices."""
    digits = np.array([d[0] for d in space.digits(np.asarray([index], dtype=np.int64))])
    sib = np.repeat(digits[None, :], len(space.ep), axis=0)
    sib[:, 4] = np.arange(len(space.ep))
    sib = np.vstack([digits[None, :], sib[sib[:, 4] != digits[4]]])  # the row itself first
    return sib, np.ravel_multi_index(tuple(sib.T), space.shape)


def _alike_eps(space: SearchSpace, sib: np.ndarray, ev, rows: np.ndarray) -> list[int]:
    """The ep values of the siblings ``sib`` (evaluated at positions ``rows`` of ``ev``) that the engine checks as
    the first (same reason: -1, or the check that stops both) and prices alike (:func:`.caps.ep_groups`)."""
    reason = np.asarray(ev.reason)[rows]
    ok = np.flatnonzero(reason == reason[0])
    priced = np.column_stack([np.asarray(getattr(ev, f))[rows][ok] for f in ("objective", "energy_j", "ttft_s", "tpot_s",
                                                                            "memory_bytes")])
    _, eps = ep_groups(np.asarray(ev.replicas)[rows][ok].tolist(), np.asarray(space.ep)[sib[ok, 4]], priced)
    return eps[0]


def ep_twins(space: SearchSpace, labels: dict | None) -> bool:
    """Whether the space holds MoE deployments with and without expert parallelism (an ep axis above 1, on the
    axes: a candidate table's rows are the user's own), which :func:`merge_ep` merges where priced alike."""
    return labels is None and bool(np.any(np.asarray(space.ep) > 1))


def engine_rows(space: SearchSpace, top: int, collapse: bool, labels: dict | None, device: str) -> int:
    """How many rows to ask the engine for so that ``top`` remain after the result's merges
    (:func:`.caps.engine_top_k`); on the device pass at most its :data:`DEVICE_MAX_TOP_K` (or ``top``, which it
    refuses above that in its own words)."""
    k = engine_top_k(top, len(space.max_num_seqs), collapse, space.size, len(space.dp), ep_twins(space, labels))
    return max(top, min(k, DEVICE_MAX_TOP_K)) if device == "cuda" else k


def short_top_note(space: SearchSpace, top: int, shown: int, kept: int, labels: dict | None, device: str) -> str | None:
    """What a result of ``shown`` rows, fewer than the ``top`` asked, lost to the device pass's row cap: the engine
    kept ``kept`` rows, :func:`engine_rows` asked it for fewer than the merges need, and MoE deployments priced alike
    with and without EP (EP1/k) then became one row each; None where nothing was lost to it. Until 2026-12-07 a
    device search returned the short table without a word (top=20: 16 rows, 18 on the CPU). A note is also warned,
    at ``search``'s caller."""
    if device != "cuda" or shown >= top:  # (the CPU pass, a scheduler's loop: two comparisons)
        return None
    asked = engine_rows(space, top, False, labels, device)
    if kept < asked or asked >= engine_rows(space, top, False, labels, "cpu"):
        return None
    note = (f"{shown} rows of the {top} asked: the device pass (device='cuda') keeps at most {DEVICE_MAX_TOP_K} "
            f"rows, and a MoE deployment priced alike with and without expert parallelism is one row (EP1/k), so "
            f"rows past them may be missing; device='cpu' gives all {top}, or ask for top <= {shown}")
    warnings.warn(note, UserWarning, stacklevel=user_stacklevel())
    return note


def merge_ep(space: SearchSpace, cands, top: int | None = None) -> tuple[SimpleNamespace, list[list[int]]]:
    """The engine's candidates ``cands`` (engine order) with each MoE deployment priced alike with and without
    expert parallelism kept once (:func:`.caps.ep_groups`: its ep 1 row at the pair's first place; the first
    ``top``), as :func:`candidate_frame` reads them, and the ep values each row stands for (``ep_equivalent``).
    Merged before the frame is built: the twins share caps, batch and replicas exactly, and a frame built and
    cut costs ~5 ms of pandas where this costs ~0.1 ms."""
    values = {f: np.asarray(getattr(cands, f)) for f in _FIELDS}
    digits = list(space.digits(values["index"].astype(np.int64)))
    ep = np.asarray(space.ep)[digits[4]]
    digits[4] = np.zeros_like(digits[4])  # the deployment apart from its ep
    key = zip(np.ravel_multi_index(tuple(digits), space.shape).tolist(), values["replicas"].tolist(), strict=True)
    priced = np.column_stack([values[f] for f in ("objective", "energy_j", "ttft_s", "tpot_s", "memory_bytes")])
    keep, eps = ep_groups(list(key), ep, priced, top)
    return SimpleNamespace(**{f: v[keep] for f, v in values.items()}), eps


def result_tables(space: SearchSpace, out, theta, phi, options: dict, labels: dict | None, collapse: bool):
    """(top-k table, (Pareto front by TPOT, by TTFT) as :class:`Deferred` tables, rows left out for needing more
    than 2**20 GPUs) of the engine's outcome ``out``; ``collapse``: load mode on the axes, the caps that do not
    bind merged, and the dp values of one fleet (:mod:`.caps`), re-evaluated with ``theta`` / ``phi`` (copied: a model refitted before a
    front is read does not change it) and ``options``. On the axes with an ep above 1, in either mode, a MoE
    deployment with and without EP priced alike is one row, merged before the frame is built (:func:`merge_ep`).
    A price is given only with the cost objective (any other objective refuses one): the other tables' price
    column is NaN, as JSON's null."""
    theta, phi = np.array(theta, dtype=np.float64), np.array(phi, dtype=np.float64)
    twins = ep_twins(space, labels)

    def evaluate(idx):
        return _core.search_evaluate(*space.native_args(), theta, phi, options, idx)

    def table(cands, best_first: bool = False, top: int | None = None) -> pd.DataFrame:
        cands, eps = merge_ep(space, cands, None if collapse else top) if twins else (cands, None)
        df = candidate_frame(space, cands, labels, best_first=best_first, priced=options["objective"] == "cost",
                             utilization=options.get("max_utilization", 1.0),
                             extra=None if eps is None else {"ep_equivalent": eps})
        if not collapse:
            return df
        return complete_caps(space, collapse_dp(collapse_caps(df), top), evaluate)  # one row per fleet (:mod:`.caps`)

    top = table(out.top, best_first=True, top=options["top_k"])
    fronts = tuple(Deferred(lambda c=c: table(c)) for c in (out.front_tpot, out.front_ttft))
    return top, fronts, over_gpu_count(out.top, out.front_tpot, out.front_ttft)
