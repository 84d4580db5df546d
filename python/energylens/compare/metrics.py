"""Metrics of configuration choice on one group of candidates (pure functions on arrays), and the
scoring of every group of a held-out frame (:func:`score_groups`).

Owns: Top-1, regret, pairwise concordance, Spearman, the per-group record. Imports numpy, pandas and
:mod:`energylens.compare.names` (one group per GPU or model, however spelled).
Definitions are in the module docstring of :mod:`energylens.compare.runner`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from energylens import _core
from energylens.compare.names import canonical_names

__all__ = ["METRICS", "SLO_METRICS", "top1_hit", "regret_pct", "pairwise_counts", "group_spearman",
           "group_metrics", "serving_metrics", "score_groups", "batch_setting", "choice_counts"]

METRICS = ("top1", "pairwise", "mape", "spearman", "regret_pct", "top1_tpot", "parallelism")
SLO_METRICS = ("top1_strict", "slo_violation")


def _as_float(a: Sequence[float] | np.ndarray) -> np.ndarray:
    return np.asarray(a, dtype=float).reshape(-1)


def _paired(pred: Sequence[float], meas: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """``pred`` and ``meas`` as float arrays of one length (ValueError naming both lengths otherwise)."""
    p, m = _as_float(pred), _as_float(meas)
    if p.shape != m.shape:
        raise ValueError(f"pred and meas differ in length ({p.size} vs {m.size})")
    return p, m


def _choice_set(pred: np.ndarray) -> np.ndarray:
    """Indices the method would choose: every candidate tied at the predicted minimum."""
    return np.flatnonzero(pred == pred.min())


def top1_hit(pred: Sequence[float], meas: Sequence[float]) -> float:
    """Top-1 hit of one group: 1.0 if the predicted cheapest is a measured cheapest.

    Measured ties count as hits. A tie in prediction is broken at random in expectation: the
    result is the share of the predicted-minimum set that is measured-minimal (so in [0, 1]).
    NaN for fewer than two candidates.
    """
    p, m = _paired(pred, meas)
    if p.size < 2:
        return float("nan")
    chosen = _choice_set(p)
    return float(np.mean(m[chosen] <= m.min()))


def regret_pct(pred: Sequence[float], meas: Sequence[float]) -> float:
    """Measured energy of the chosen configuration over the measured optimum, in percent.

    Expectation over predicted ties, as in :func:`top1_hit`. NaN for fewer than two candidates.
    """
    p, m = _paired(pred, meas)
    if p.size < 2:
        return float("nan")
    chosen = _choice_set(p)
    return float(np.mean(m[chosen] / m.min() - 1.0) * 100.0)


def pairwise_counts(pred: Sequence[float], meas: Sequence[float]) -> tuple[float, int]:
    """(concordant, comparable) pairs of one group.

    A pair is comparable when its measured energies differ; it is concordant when the prediction
    orders it the same way; a predicted tie counts one half. A NaN prediction orders nothing: its
    comparable pairs count, none as concordant. Counted natively in O(n log n) time and O(n) memory
    (a merge-sort count of discordant pairs), exactly equal to the direct count over all pairs.
    """
    p, m = _paired(pred, meas)
    if not np.isfinite(m).all():
        raise ValueError(f"measured values must be finite (rows {np.flatnonzero(~np.isfinite(m))[:10].tolist()})")
    bad = ~np.isfinite(p)
    if not bad.any():
        conc, comparable = _core.pairwise_counts(p, m)
        return float(conc), int(comparable)
    conc, comparable = _core.pairwise_counts(p[~bad], m[~bad])
    # Pairs with at least one unusable prediction: comparable when the measurements differ, never concordant.
    _, counts = np.unique(m, return_counts=True)
    all_comparable = m.size * (m.size - 1) // 2 - int(np.sum(counts * (counts - 1) // 2))
    return float(conc), all_comparable


def _avg_ranks(x: np.ndarray) -> np.ndarray:
    """Ranks 1..n with ties given their average rank (as scipy.stats.rankdata)."""
    _, inv, counts = np.unique(x, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    return ((ends - counts + 1 + ends) / 2.0)[inv]


def group_spearman(pred: Sequence[float], meas: Sequence[float]) -> float:
    """Spearman rank correlation of one group; NaN for < 3 candidates or a constant side.

    Pearson correlation of average ranks (ties share their mean rank), as ``scipy.stats.spearmanr``.
    """
    p, m = _as_float(pred), _as_float(meas)
    if p.size < 3 or np.ptp(p) == 0 or np.ptp(m) == 0:
        return float("nan")
    rp, rm = _avg_ranks(p), _avg_ranks(m)
    rp -= rp.mean()
    rm -= rm.mean()
    return float(np.dot(rp, rm) / np.sqrt(np.dot(rp, rp) * np.dot(rm, rm)))


def group_metrics(pred: Sequence[float], meas: Sequence[float],
                  pred_tpot: Sequence[float] | None = None,
                  meas_tpot: Sequence[float] | None = None,
                  tpot_slo: float | None = None,
                  energy_scale: bool = True) -> dict[str, float]:
    """All metrics of one group of held-out candidates.

    Returns ``n_rows``, ``n_candidates`` (after the TPOT SLO filter), ``top1``, ``regret_pct``,
    ``pairs_concordant``, ``pairs_total``, ``spearman`` and ``ape_sum`` (sum of absolute percentage
    errors over the rows, NaN when ``energy_scale`` is false). Pairwise, Spearman and APE use every
    held-out row of the group; Top-1 and regret use the SLO candidates.

    With ``tpot_slo`` also ``top1_strict`` and ``slo_violation``: the method chooses among the
    candidates *it predicts* meet the limit (as it would in deployment); a hit needs the choice to
    meet the limit when measured and to be the measured cheapest of those that do; a violation is
    a choice that misses the limit when measured. Choosing nothing while a feasible candidate
    exists is a miss. NaN where fewer than two rows or no candidate meets the limit when measured.
    """
    p, m = _as_float(pred), _as_float(meas)
    conc, tot = pairwise_counts(p, m)
    ape = float(np.sum(np.abs(p - m) / m) * 100.0) if energy_scale else float("nan")
    cand = np.ones(p.size, dtype=bool)
    strict: dict[str, float] = {}
    if tpot_slo is not None:
        if pred_tpot is None or meas_tpot is None:
            raise ValueError("tpot_slo needs pred_tpot and meas_tpot")
        ok_pred = _as_float(pred_tpot) <= tpot_slo
        ok_meas = _as_float(meas_tpot) <= tpot_slo
        cand = ok_pred & ok_meas
        hit = viol = float("nan")
        if p.size >= 2 and ok_meas.any():
            if not ok_pred.any():
                hit, viol = 0.0, 0.0
            else:
                pool = np.flatnonzero(ok_pred)
                chosen = pool[_choice_set(p[pool])]
                best = m[ok_meas].min()
                hit = float(np.mean(ok_meas[chosen] & (m[chosen] <= best)))
                viol = float(np.mean(~ok_meas[chosen]))
        strict = {"top1_strict": hit, "slo_violation": viol}
    return {
        "n_rows": int(p.size),
        "n_candidates": int(cand.sum()),
        "top1": top1_hit(p[cand], m[cand]),
        "regret_pct": regret_pct(p[cand], m[cand]),
        "pairs_concordant": conc,
        "pairs_total": tot,
        "spearman": group_spearman(p, m),
        "ape_sum": ape,
        **strict,
    }


def serving_metrics(pred: Sequence[float], meas: Sequence[float],
                    meas_tpot: Sequence[float] | None, n_gpus: Sequence[float] | None,
                    max_num_seqs: Sequence[float] | None) -> dict[str, float]:
    """The two choices a serving operator makes inside one group (task x model x GPU).

    * ``top1_tpot``: Top-1 among the rows whose measured TPOT meets the group's median measured TPOT
      (the limit; the rows an operator could deploy under it). The deployment view, where the
      method's own predicted TPOT decides feasibility, is ``top1_strict`` with ``tpot_slo``. Rows without a
      measured TPOT are not candidates (nor counted in the median); NaN with fewer than two rows that have one.
    * ``par_hits`` / ``par_total``: parallelism choice. Rows with the same ``max_num_seqs`` (in
      :func:`score_groups`: else ``max_batch_size``) but different GPU counts form one choice (how many
      GPUs to serve this load on); a hit is :func:`top1_hit` of that choice. ``par_total`` counts the choices with >= 2 distinct GPU counts.
    """
    p, m = _as_float(pred), _as_float(meas)
    out = {"top1_tpot": float("nan"), "par_hits": float("nan"), "par_total": 0}
    if meas_tpot is not None and p.size >= 2:
        mt = _as_float(meas_tpot)
        known = np.isfinite(mt)  # a row without a measured TPOT cannot be said to meet the limit: not a candidate
        if known.sum() >= 2:  # (one such row used to drop the whole group)
            keep = known & (mt <= float(np.median(mt[known])))
            out["top1_tpot"] = top1_hit(p[keep], m[keep])
    if n_gpus is not None and max_num_seqs is not None:
        g, q = _as_float(n_gpus), _as_float(max_num_seqs)
        hits = 0.0
        total = 0
        for value in np.unique(q[np.isfinite(q)]):
            idx = np.flatnonzero(q == value)
            if np.unique(g[idx]).size >= 2:
                hits += top1_hit(p[idx], m[idx])
                total += 1
        out["par_hits"] = hits if total else float("nan")
        out["par_total"] = total
    return out


def _group_codes(df: pd.DataFrame, group_by: Sequence[str]) -> np.ndarray:
    """Group numbers; the spellings of one GPU or model are one (:mod:`energylens.compare.names`)."""
    return canonical_names(df[list(group_by)]).groupby(list(group_by), sort=True, dropna=False).ngroup().to_numpy()


def _mixed_label(values: np.ndarray, column: str) -> Any:
    """The ``column`` (task, modality) of a group's rows: the one value they share, else ``mixed (a, b)`` naming
    each, sorted (a blank one as ``(no task)``; in row order one set read two ways, two keys of a break-down), so a
    break-down by task or modality puts such a group under neither (it took its first row's)."""
    distinct = list(dict.fromkeys(values.tolist()))
    if len(distinct) == 1:
        return distinct[0]
    names = {str(v) if isinstance(v, str) and v.strip() else f"(no {column})" for v in distinct}
    return f"mixed ({', '.join(sorted(names))})"


def _label_part(value: Any, column: str) -> str:
    """One column's part of a group label: a missing number as ``(no max_num_seqs)`` (the run's note calls it so;
    it read 'nan'), a whole float as an integer ('64', not '64.0')."""
    if isinstance(value, float):
        return f"(no {column})" if value != value else (f"{value:.0f}" if value.is_integer() else str(value))
    return str(value)


class _Groups:
    """The groups of one held-out frame, computed once and shared by every method of a split."""

    def __init__(self, test_df: pd.DataFrame, group_by: Sequence[str]) -> None:
        codes = _group_codes(test_df, group_by)
        order = np.argsort(codes, kind="stable")
        bounds = np.flatnonzero(np.diff(codes[order])) + 1
        self.members = np.split(order, bounds) if len(order) else []
        extra = [c for c in ("modality", "task") if c not in group_by and c in test_df.columns]
        firsts = [int(idx[0]) for idx in self.members]
        named = canonical_names(test_df[[*dict.fromkeys((*group_by, *extra))]])
        head = named.iloc[firsts]  # a group's label
        cols = {c: head[c].tolist() for c in (*group_by, *extra)}
        for c in extra:  # a group spanning several (--group-by without task): all of them, not its first row's
            values = named[c].to_numpy()
            cols[c] = [_mixed_label(values[idx], c) for idx in self.members]
        self.meta = []
        for i in range(len(firsts)):
            rec: dict[str, Any] = {c: cols[c][i] for c in group_by}
            rec["group"] = " | ".join(_label_part(cols[c][i], c) for c in group_by)
            for c in extra:
                rec[c] = cols[c][i]
            self.meta.append(rec)


def score_groups(test_df: pd.DataFrame, pred: np.ndarray, group_by: Sequence[str],
                 pred_tpot: np.ndarray | None = None, tpot_slo: float | None = None,
                 energy_scale: bool = True, _groups: _Groups | None = None) -> pd.DataFrame:
    """:func:`group_metrics` for every group of the held-out rows (one row per group).

    Groups absent from ``test_df`` produce no row; single-candidate groups produce a row with NaN
    Top-1 (they still count for MAPE). Also carries ``group`` (the key joined with ``" | "``),
    the ``group_by`` columns, ``modality`` and ``task`` (when present).
    """
    meas = test_df["energy_j"].to_numpy(dtype=float)
    pred = np.asarray(pred, dtype=float)
    if pred.shape != meas.shape:
        raise ValueError(f"{pred.size} predictions for {meas.size} held-out rows")
    meas_tpot = test_df["tpot_s"].to_numpy(dtype=float) if "tpot_s" in test_df.columns else None
    slo_tpot = None
    if tpot_slo is not None:
        if meas_tpot is None:
            raise ValueError("tpot_slo needs a tpot_s column")
        slo_tpot = meas_tpot if pred_tpot is None else np.asarray(pred_tpot, dtype=float)
    n_gpus = _column_or_none(test_df, "n_gpus")
    max_seqs = batch_setting(test_df)
    groups = _groups or _Groups(test_df, group_by)
    rows = []
    for idx, meta in zip(groups.members, groups.meta, strict=True):
        rec = dict(meta)
        rec.update(group_metrics(
            pred[idx], meas[idx],
            None if slo_tpot is None else slo_tpot[idx],
            None if tpot_slo is None else meas_tpot[idx],
            tpot_slo, energy_scale))
        rec.update(serving_metrics(
            pred[idx], meas[idx], None if meas_tpot is None else meas_tpot[idx],
            None if n_gpus is None else n_gpus[idx], None if max_seqs is None else max_seqs[idx]))
        rows.append(rec)
    return pd.DataFrame(rows)


def choice_counts(df: pd.DataFrame, group_by: Sequence[str]) -> dict[str, Any]:
    """What the whole profile table offers each choice metric, whatever a split holds out: ``largest_group``
    (rows of the largest ``group_by`` group; below 2 no split can score Top-1), ``tpot_rows`` (rows with a
    measured TPOT), ``batch_setting`` (whether a ``max_num_seqs`` / ``max_batch_size`` is filled anywhere) and
    ``parallelism_choices`` (groups' settings measured at two GPU counts or more). The report and the terminal
    say from these why a metric is n/a for every method."""
    codes = _group_codes(df, group_by) if len(df) else np.zeros(0, dtype=int)
    tpot = _column_or_none(df, "tpot_s")
    seqs, gpus = batch_setting(df), _column_or_none(df, "n_gpus")
    choices = 0
    if seqs is not None and gpus is not None:
        key = pd.DataFrame({"g": codes, "q": seqs, "n": gpus}).dropna()
        choices = int((key.groupby(["g", "q"])["n"].nunique() >= 2).sum())
    return {"largest_group": int(np.bincount(codes).max()) if codes.size else 0,
            "tpot_rows": 0 if tpot is None else int(np.isfinite(tpot).sum()),
            "batch_setting": bool(seqs is not None and np.isfinite(seqs).any()),
            "parallelism_choices": choices}


def batch_setting(df: pd.DataFrame) -> np.ndarray | None:
    """The configured batch limit per row: ``max_num_seqs``, else ``max_batch_size`` (the same vLLM setting; the
    ML.ENERGY v2 converter's name, which a schema-v1 file of its rows carries alone: the parallelism metric
    was n/a there); None when the frame has neither."""
    seqs, batch = _column_or_none(df, "max_num_seqs"), _column_or_none(df, "max_batch_size")
    if seqs is None or batch is None:
        return seqs if batch is None else batch
    return np.where(np.isfinite(seqs), seqs, batch)


def _column_or_none(df: pd.DataFrame, name: str) -> np.ndarray | None:
    """A numeric column as float (NaN where missing), or None when the frame lacks it."""
    if name not in df.columns:
        return None
    return pd.to_numeric(df[name], errors="coerce").to_numpy(dtype=float)


