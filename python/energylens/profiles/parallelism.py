"""Schema v1 rules on parallelism (docs/profile-schema.md): GPU count n_gpus = tp * pp * dp, and the
expert-parallel group size ep divides n_gpus and needs a mixture-of-experts model. Used by
:func:`energylens.profiles.load_profiles`; every violation is reported by column and row through its
problem collector."""
from __future__ import annotations

import numpy as np
import pandas as pd

from energylens.profiles import tables

__all__ = ["check_parallelism", "check_expert_parallel_model"]


def check_parallelism(out: dict[str, pd.Series], raw: pd.DataFrame, problems, index) -> None:
    """GPU counts: n_gpus = tp * pp * dp (dp derived as n_gpus / (tp * pp) when absent), and the
    expert-parallel group ep divides n_gpus (vLLM: ep = tp * dp with --enable-expert-parallel)."""
    def col(name: str) -> np.ndarray:
        return out[name].to_numpy(dtype="float64", na_value=np.nan) if name in out else np.full(len(index), np.nan)

    tp, pp, dp, g = col("tp"), col("pp"), col("dp"), col("n_gpus")
    ep = np.where(np.isnan(col("ep")), 1.0, col("ep"))
    with np.errstate(invalid="ignore", divide="ignore"):
        if "n_gpus" in out and "dp" in out:
            problems.add(~np.isnan(g) & ~np.isnan(dp) & (g != tp * pp * dp), "n_gpus",
                         "must equal tp * pp * dp", raw["n_gpus"])
        if "n_gpus" in out:
            per = g / (tp * pp)
            problems.add(~np.isnan(g) & np.isnan(dp) & ~np.isnan(per) & (per != np.round(per)), "n_gpus",
                         "must be a multiple of tp * pp (n_gpus = tp * pp * dp)", raw["n_gpus"])
        n = np.where(np.isnan(g), tp * pp * np.where(np.isnan(dp), 1.0, dp), g)
        share = n / ep
        if "ep" in out:
            problems.add(~np.isnan(share) & (share != np.round(share)), "ep",
                         "must divide n_gpus (= tp * pp * dp; in vLLM ep = tp * dp with expert parallelism)",
                         raw["ep"])


def check_expert_parallel_model(out: dict[str, pd.Series], raw: pd.DataFrame, problems) -> None:
    """ep > 1 needs a mixture-of-experts model: an explicit dense/hybrid architecture or n_experts = 1 is an
    error, and so is a row that says neither whose model the model table knows as dense or hybrid, or does
    not know at all (its architecture would be estimated as a dense model's)."""
    if "ep" not in out:
        return
    ep = out["ep"].to_numpy(dtype="float64", na_value=np.nan)
    multi = ~np.isnan(ep) & (ep > 1)
    if not multi.any():
        return
    n = len(ep)
    a = out["architecture"].astype(object).to_numpy() if "architecture" in out else np.full(n, None, dtype=object)
    e = out["n_experts"].to_numpy(dtype="float64", na_value=np.nan) if "n_experts" in out else np.full(n, np.nan)
    said = np.array([isinstance(v, str) for v in a], dtype=bool) | ~np.isnan(e)
    not_moe = np.array([isinstance(v, str) and v in ("dense", "hybrid") for v in a], dtype=bool)
    not_moe |= ~np.isnan(e) & (e == 1)
    problems.add(multi & not_moe, "ep", "expert parallelism (ep > 1) needs a MoE model (architecture moe, "
                 "n_experts > 1)", raw["ep"])
    unsaid = multi & ~said
    if unsaid.any() and "model" in out:
        names = out["model"].astype(object).to_numpy()
        kinds = {m: _table_kind(m) for m in set(names[unsaid])}
        kind = np.array([kinds.get(m, "moe") for m in names], dtype=object)
        problems.add(unsaid & (kind != "moe") & (kind != "unknown"), "ep",
                     "expert parallelism (ep > 1) needs a MoE model, and the model table has this model as dense "
                     "or hybrid", raw["ep"])
        problems.add(unsaid & (kind == "unknown"), "ep",
                     "expert parallelism (ep > 1) on a model the model table lacks: say it is a MoE (columns "
                     "architecture = moe and n_experts; docs/profile-schema.md)", raw["ep"])


def _table_kind(model: object) -> str:
    spec = tables.find_model(str(model)) if isinstance(model, str) else None
    return "unknown" if spec is None else spec.architecture
