"""Schema v1 rules on parallelism (docs/profile-schema.md): GPU count n_gpus = tp * pp * dp, and the
expert-parallel group size ep divides n_gpus and needs a mixture-of-experts model. Used by
:func:`energylens.profiles.load_profiles`; every violation is reported by column and row through its
problem collector."""
from __future__ import annotations

import numpy as np
import pandas as pd

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
    """ep > 1 needs a mixture-of-experts model: an explicit dense/hybrid architecture or n_experts = 1 is an error."""
    if "ep" not in out:
        return
    ep = out["ep"].to_numpy(dtype="float64", na_value=np.nan)
    multi = ~np.isnan(ep) & (ep > 1)
    not_moe = np.zeros(len(ep), dtype=bool)
    if "architecture" in out:
        a = out["architecture"].astype(object).to_numpy()
        not_moe |= np.array([isinstance(v, str) and v in ("dense", "hybrid") for v in a], dtype=bool)
    if "n_experts" in out:
        e = out["n_experts"].to_numpy(dtype="float64", na_value=np.nan)
        not_moe |= ~np.isnan(e) & (e == 1)
    problems.add(multi & not_moe, "ep", "expert parallelism (ep > 1) needs a MoE model (architecture moe, "
                 "n_experts > 1)", raw["ep"])
