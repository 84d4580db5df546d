"""Schema v1 rules on parallelism (docs/profile-schema.md): GPU count n_gpus = tp * pp * dp (pp 1 where not
given, :func:`pipeline_stages`), and the expert-parallel group size ep divides n_gpus and needs a mixture-of-experts
model. Used by :func:`energylens.profiles.load_profiles`; every violation is reported by column and row through its
problem collector."""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from energylens.profiles import tables

__all__ = ["DEFAULT_PP", "pipeline_stages", "check_parallelism", "check_expert_parallel_model"]

#: ``pp`` of a row whose cell is blank, or of every row of a table without a ``pp`` column: vLLM's
#: ``--pipeline-parallel-size`` default (until 2026-12-06 the column was required).
DEFAULT_PP = 1
#: What an n_gpus message adds on a row whose pp is the default, so a pipelined row that left pp out is named so.
_PP_DEFAULTED = " (pp is not given on this row, so it is 1, the default: give pp for a pipeline-parallel deployment)"


def pipeline_stages(out: Mapping[str, np.ndarray], n_rows: int) -> tuple[np.ndarray, np.ndarray]:
    """``pp`` per row as float64, :data:`DEFAULT_PP` where the parsed cell is NaN (blank; a non-numeric cell has
    its own problem) or the table has no ``pp`` column, and the mask of those rows. The one place of the rule:
    the schema's checks, its limits and the validated frame read ``pp`` through it."""
    pp = np.asarray(out["pp"], dtype=np.float64) if "pp" in out else np.full(n_rows, np.nan)
    defaulted = np.isnan(pp)
    return np.where(defaulted, float(DEFAULT_PP), pp), defaulted


def check_parallelism(out: Mapping[str, np.ndarray], problems, n_rows: int) -> None:
    """GPU counts: n_gpus = tp * pp * dp (pp 1 where not given; dp derived as n_gpus / (tp * pp) when absent), and the
    expert-parallel group ep divides n_gpus (vLLM: ep = tp * dp with --enable-expert-parallel). ``out``: the
    parsed float64 values per column; the problems' example values come from the problem collector's columns."""
    def col(name: str) -> np.ndarray:
        return np.asarray(out[name], dtype=np.float64) if name in out else np.full(n_rows, np.nan)

    tp, dp, g = col("tp"), col("dp"), col("n_gpus")
    pp, defaulted = pipeline_stages(out, n_rows)
    defaulted = defaulted & ~problems.reported("pp")  # a non-numeric pp cell is named as such, not as not given
    ep = np.where(np.isnan(col("ep")), 1.0, col("ep"))
    with np.errstate(invalid="ignore", divide="ignore"):
        if "n_gpus" in out and "dp" in out:
            bad = ~np.isnan(g) & ~np.isnan(dp) & (g != tp * pp * dp)
            problems.add(bad & ~defaulted, "n_gpus", "must equal tp * pp * dp")
            problems.add(bad & defaulted, "n_gpus", "must equal tp * pp * dp" + _PP_DEFAULTED)
        if "n_gpus" in out:
            per = g / (tp * pp)
            bad = ~np.isnan(g) & np.isnan(dp) & ~np.isnan(per) & (per != np.round(per))
            reason = "must be a multiple of tp * pp (n_gpus = tp * pp * dp)"
            problems.add(bad & ~defaulted, "n_gpus", reason)
            problems.add(bad & defaulted, "n_gpus", reason + _PP_DEFAULTED)
        n = np.where(np.isnan(g), tp * pp * np.where(np.isnan(dp), 1.0, dp), g)
        share = n / ep
        if "ep" in out:
            problems.add(~np.isnan(share) & (share != np.round(share)), "ep",
                         "must divide n_gpus (= tp * pp * dp; in vLLM ep = tp * dp with expert parallelism)")


def check_expert_parallel_model(out: Mapping[str, np.ndarray], problems) -> None:
    """ep > 1 needs a mixture-of-experts model: an explicit dense/hybrid architecture or n_experts = 1 is an
    error, and so is a row that says neither whose model the model table knows as dense or hybrid, or does
    not know at all (its architecture would be estimated as a dense model's)."""
    if "ep" not in out:
        return
    ep = np.asarray(out["ep"], dtype=np.float64)
    multi = ~np.isnan(ep) & (ep > 1)
    if not multi.any():
        return
    n = len(ep)
    a = np.asarray(out["architecture"], dtype=object) if "architecture" in out else np.full(n, None, dtype=object)
    e = np.asarray(out["n_experts"], dtype=np.float64) if "n_experts" in out else np.full(n, np.nan)
    said = np.array([isinstance(v, str) for v in a], dtype=bool) | ~np.isnan(e)
    not_moe = np.array([isinstance(v, str) and v in ("dense", "hybrid") for v in a], dtype=bool)
    not_moe |= ~np.isnan(e) & (e == 1)
    problems.add(multi & not_moe, "ep", "expert parallelism (ep > 1) needs a MoE model (architecture moe, "
                 "n_experts > 1)")
    unsaid = multi & ~said
    if unsaid.any() and "model" in out:
        names = np.asarray(out["model"], dtype=object)
        kinds = {m: _table_kind(m) for m in set(names[unsaid])}
        kind = np.array([kinds.get(m, "moe") for m in names], dtype=object)
        problems.add(unsaid & (kind != "moe") & (kind != "unknown"), "ep",
                     "expert parallelism (ep > 1) needs a MoE model, and the model table has this model as dense "
                     "or hybrid")
        problems.add(unsaid & (kind == "unknown"), "ep",
                     "expert parallelism (ep > 1) on a model the model table lacks: say it is a MoE (columns "
                     "architecture = moe and n_experts; docs/profile-schema.md)")


def _table_kind(model: object) -> str:
    spec = tables.find_model(str(model)) if isinstance(model, str) else None
    return "unknown" if spec is None else spec.architecture
