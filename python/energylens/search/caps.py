"""Load mode's max_num_seqs caps that do not bind: one row per deployment, not one per cap.

In load-driven mode (``rate_per_s``) the cap sizes the replicas (R = ceil(rate / (dp x capacity at the
cap))) and bounds each rank's running batch B, which solves Little's law by bisection on (0, cap]: when
the batch reaches the cap the bisection never leaves it (B == cap exactly); below it, B is the same fixed
point for every cap above it. So candidates that differ only in the cap, with the same replicas and B below
each cap (same combination, tp, pp, dp, ep, workload point) are one deployment: their outcomes are equal up
to where each bisection stopped (last bits of B), which used to fill the top-k with copies and split
P(best) among them by that rounding. :func:`collapse_caps` keeps the first of each group (the engine's
order: objective, then candidate index) and lists the group's caps in ``max_num_seqs_equivalent``.
``cap_binds`` says whether the row's cap limits the deployment at all: it sized the replicas (R > 1) or
the running batch reaches it; when it does not, any larger cap serves the same. The engine is unchanged:
the search asks it for enough rows that k groups survive (:func:`engine_top_k`), and
:func:`complete_caps` lists every cap of a kept row's group, also those the engine ranked below its cut.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["collapse_caps", "collapse_dp", "ep_groups", "complete_caps", "engine_top_k", "caps_text", "TIE_RTOL"]

#: Objectives this close (relative) are one value: configurations the model prices alike in exact arithmetic
#: (a dense model's dp replicas at one batch per rank: n = tp pp dp GPUs over dp B sequences) differ in the
#: last bits, as float64 rounds each dp differently.
TIE_RTOL = 1e-12

#: Columns that identify a deployment apart from its max_num_seqs cap (workload: the tokens).
_KEY = ("model", "gpu", "precision", "kv_cache_dtype", "tp", "pp", "dp", "ep", "input_tokens", "output_tokens",
        "replicas")


def engine_top_k(top: int, n_caps: int, load_mode: bool, space_size: int | None = None, n_dp: int = 1,
                 ep_twins: bool = False) -> int:
    """How many rows to ask the engine for so that ``top`` deployments remain after :func:`collapse_caps`
    (each group holds at most one row per cap), :func:`collapse_dp` (one per dp value) and, with ``ep_twins``,
    :func:`ep_groups` (two per deployment: ep 1 and ep = tp x dp), never more than the space holds
    (``space_size``): 100 000 deployments over 10 000 caps asked for 10**9 rows of a 10 000-candidate space
    (std::bad_alloc)."""
    k = int(top) * max(int(n_caps), 1) * max(int(n_dp), 1) if load_mode else int(top)
    k *= 2 if ep_twins else 1
    return max(1, min(k, int(space_size))) if space_size is not None else k


def collapse_caps(df: pd.DataFrame, top: int | None = None) -> pd.DataFrame:
    """Rows of a load-mode table (engine order) with the caps of one deployment that its running batch stays
    below merged into its first row (:data:`_KEY` equal, replicas included); adds ``cap_binds`` (the cap sizes
    the replicas or the batch reaches it) and ``max_num_seqs_equivalent`` (the caps the row stands for,
    ascending) and keeps the first ``top`` rows."""
    out = df.copy()
    full = (out["batch"].to_numpy(dtype=float) >= out["max_num_seqs"].to_numpy(dtype=float)) if len(out) else []
    full = np.asarray(full, dtype=bool)
    out["cap_binds"] = full | (out["replicas"].to_numpy() > 1) if len(out) else np.zeros(0, dtype=bool)
    key = [tuple(r) for r in out[list(_KEY)].itertuples(index=False)] if len(out) else []
    first: dict[tuple, int] = {}
    caps: list[list] = []
    keep = []
    cap_of = out["max_num_seqs"].tolist()  # plain numbers in the lists (JSON); not .iloc per row: ~30 us each
    for pos, (k, at_cap) in enumerate(zip(key, full, strict=True)):
        cap = cap_of[pos]
        if not at_cap and k in first:  # another cap of a deployment already listed, the batch below both
            caps[first[k]].append(cap)
            continue
        if not at_cap:
            first[k] = len(keep)
        keep.append(pos)
        caps.append([cap])
    out = out.iloc[keep].reset_index(drop=True)
    out["max_num_seqs_equivalent"] = [sorted(c) for c in caps]
    return out if top is None else out.head(top).reset_index(drop=True)


#: Columns that identify a fleet apart from how its ranks are grouped (dp x replicas of them on ``gpus`` GPUs).
_FLEET = ("model", "gpu", "precision", "kv_cache_dtype", "tp", "pp", "ep", "input_tokens", "output_tokens", "gpus")
#: What one fleet's dp values price alike: the objective, and energy, latency and memory, as a cost objective ties
#: wherever the GPU count does (a MoE's TP2 DP1 x 4 and DP2 x 2 on 8 GPUs, whose energy differs, were one row until
#: 2026-12-07).
_PRICED = ("energy_j", "ttft_s", "tpot_s", "memory_gib_per_gpu")


def collapse_dp(df: pd.DataFrame, top: int | None = None) -> pd.DataFrame:
    """Rows of a load-mode table (engine order) that are one fleet merged into one: a dense model's "DP1 x 4
    replicas" and "DP2 x 2 replicas" are the same GPUs running the same ranks at the same batch (the same
    objective, within :data:`TIE_RTOL`), and were two rows splitting P(best) by rounding. :data:`_FLEET` equal
    (``gpus`` included: a dp that rounds the replicas up to more ranks is another fleet) and the objective tied
    with the group's first row, and energy, latency and memory too (:data:`_PRICED`: a cost ties wherever the GPU
    count does): the group's row of the smallest dp (no --data-parallel-size: fewest settings)
    takes the group's first place; ``dp_equivalent`` lists the group's dp values, ascending. A MoE's dp ranks share
    one expert copy and price apart, so they do not tie and stay apart. Keeps the first ``top`` rows."""
    dp = df["dp"].to_numpy()
    if len(df) < 2 or (dp == dp[0]).all():  # one dp value (the default axis): nothing to merge
        return _with_dp(df.iloc[:len(df) if top is None else top], [[int(d)] for d in dp[:top]])
    key = list(zip(*(df[c].tolist() for c in _FLEET), strict=True))  # not itertuples: ~10x the time
    obj = df["objective"].to_numpy(dtype=float).tolist()  # lists: a NumPy scalar per comparison took ~3x the time
    rest = list(zip(*(df[c].to_numpy(dtype=float).tolist() for c in _PRICED if c in df.columns), strict=True)) \
        or [()] * len(df)  # a table without them (written by hand): the objective alone

    def ties(p: int, q: int) -> bool:  # the objective first; then the rest, as a cost ties wherever the GPU count does
        return abs(obj[p] - obj[q]) <= TIE_RTOL * abs(obj[q]) and \
            all(abs(x - y) <= TIE_RTOL * abs(y) for x, y in zip(rest[p], rest[q], strict=True))
    order = _tied_groups(key, ties, top)
    keep = [min(g, key=lambda p: (dp[p], p)) for g in order]
    return _with_dp(df.iloc[keep], [sorted({int(dp[p]) for p in g}) for g in order])


def ep_groups(key, ep, priced, top: int | None = None) -> tuple[list[int], list[list[int]]]:
    """One MoE deployment with and without expert parallelism, merged where the model prices the two alike:
    vLLM's --enable-expert-parallel makes the stage's TP x DP GPUs one EP group, so each GPU holds 1 / (tp x dp)
    of the experts either way and the template (not modelling the expert kernels' shapes or EP's load imbalance)
    gives both the same energy, latency and memory; listed twice they split P(best) by rounding and took two
    top-k places. Over rows in engine order, ``key`` (one hashable per row: the deployment apart from its ep),
    ``ep`` and ``priced`` (per row the values that must tie within :data:`TIE_RTOL`: objective, energy, TTFT,
    TPOT, memory per GPU): rows of one key whose every value ties with the group's first row are one group;
    returns the position of each group's row of the smallest ep (no --enable-expert-parallel: fewest settings),
    in the order of the groups' first rows, and each group's ep values, ascending; the first ``top`` groups.
    Rows that differ in any priced value stay apart, so the table shows why."""
    ep, priced = [int(e) for e in ep], np.asarray(priced, dtype=float).tolist()  # Python: ~5 us a row in NumPy

    def alike(p: int, q: int) -> bool:
        return all(abs(x - y) <= TIE_RTOL * abs(y) for x, y in zip(priced[p], priced[q], strict=True))
    order = _tied_groups(key, alike, top)
    return [min(g, key=lambda p: (ep[p], p)) for g in order], [sorted({ep[p] for p in g}) for g in order]


def _tied_groups(key, ties, top: int | None) -> list[list[int]]:
    """Row positions grouped: rows of one ``key`` (one hashable per row) go to the first of that key's groups
    whose first row they tie with (``ties(pos, first)``), else open a new group; the groups in the order of their
    first rows, the first ``top``. Shared by :func:`collapse_dp` and :func:`ep_groups`."""
    groups: dict = {}  # key -> its groups of tied rows (positions)
    order: list[list[int]] = []
    for pos, k in enumerate(key):
        group = next((g for g in groups.get(k, []) if ties(pos, g[0])), None)
        if group is None:
            group = []
            groups.setdefault(k, []).append(group)
            order.append(group)
        group.append(pos)
    return order if top is None else order[:top]


def _with_dp(rows: pd.DataFrame, lists: list) -> pd.DataFrame:
    """``rows`` (a new frame: iloc's) renumbered, with ``dp_equivalent``; set in place, not by assign: a copy of
    the ~40 columns was most of :func:`collapse_dp`'s time."""
    out = rows.reset_index(drop=True)
    out["dp_equivalent"] = lists
    return out


def complete_caps(space, df: pd.DataFrame, evaluate) -> pd.DataFrame:
    """``max_num_seqs_equivalent`` of each collapsed row whose cap does not bind, from all its siblings (the
    same deployment at every cap of the space's axis, ``evaluate(indices)`` giving the engine's ``reason``,
    ``batch`` and ``replicas``): the feasible ones with the row's replicas and the batch below the cap. The
    engine's top rows hold only the siblings ranked above its cut, so the list (and the label) depended on
    ``top``. ``space``: the :class:`~energylens.search.space.SearchSpace` (the cap is axis 5)."""
    rows = np.flatnonzero(~df["cap_binds"].to_numpy(dtype=bool)) if len(df) else np.zeros(0, dtype=np.int64)
    caps = np.asarray(space.max_num_seqs, dtype=float)
    if rows.size == 0 or caps.size < 2:
        return df
    digits = np.stack(space.digits(df["index"].to_numpy(dtype=np.int64)[rows]), axis=1)
    sib = np.repeat(digits, caps.size, axis=0)
    sib[:, 5] = np.tile(np.arange(caps.size), rows.size)
    ev = evaluate(np.ravel_multi_index(tuple(sib.T), space.shape).astype(np.uint64))
    cap = np.tile(caps, rows.size)
    replicas = np.repeat(df["replicas"].to_numpy(dtype=float)[rows], caps.size)
    same = ((np.asarray(ev.reason) < 0) & (np.asarray(ev.batch) < cap) & (np.asarray(ev.replicas) == replicas))
    out = df.copy()
    lists = list(out["max_num_seqs_equivalent"])
    for k, pos in enumerate(rows):
        got = np.asarray(space.max_num_seqs)[same[k * caps.size:(k + 1) * caps.size]]
        lists[pos] = sorted({int(c) if float(c).is_integer() else float(c) for c in got} | set(lists[pos]))
    out["max_num_seqs_equivalent"] = lists
    return out


def caps_text(caps) -> str:
    """The caps a collapsed row stands for, short: ``8``, ``8/16/32``, ``1..256 (9 caps)``."""
    caps = sorted(caps)
    if len(caps) <= 3:
        return "/".join(f"{c:g}" for c in caps)
    return f"{caps[0]:g}..{caps[-1]:g} ({len(caps)} caps)"
