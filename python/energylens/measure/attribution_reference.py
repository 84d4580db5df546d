"""NumPy reference of the native attribution numerics (``_core.attribution_busy_time``,
``_core.attribution_fit``): the parity tests compare against it, and ``attribute(backend="numpy")``
runs the whole attribution on it. Different algorithms, same contracts.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from energylens.extras import require

__all__ = ["reference_busy_time", "reference_fit"]


def _cumulative_busy_ns(starts: np.ndarray, ends: np.ndarray, t: np.ndarray) -> np.ndarray:
    """sum_k |[s_k, e_k) ∩ (-inf, t)| for each t, exactly in int64 ns (kernels may overlap)."""
    s = np.sort(starts)
    e = np.sort(ends)
    cs = np.concatenate(([0], np.cumsum(s)))
    ce = np.concatenate(([0], np.cumsum(e)))
    ns = np.searchsorted(s, t, side="left")
    ne = np.searchsorted(e, t, side="left")
    return (ns * t - cs[ns]) - (ne * t - ce[ne])


def reference_busy_time(kernel_start_ns, kernel_end_ns, kernel_class, n_classes, interval_start_ns,
                        interval_end_ns) -> np.ndarray:
    """NumPy reference of ``_core.attribution_busy_time`` (same contract, different algorithm)."""
    ks = np.asarray(kernel_start_ns, dtype=np.int64)
    ke = np.asarray(kernel_end_ns, dtype=np.int64)
    kc = np.asarray(kernel_class, dtype=np.int64)
    a = np.asarray(interval_start_ns, dtype=np.int64)
    b = np.asarray(interval_end_ns, dtype=np.int64)
    out = np.zeros((a.size, int(n_classes)))
    for c in range(int(n_classes)):
        sel = kc == c
        busy = _cumulative_busy_ns(ks[sel], ke[sel], b) - _cumulative_busy_ns(ks[sel], ke[sel], a)
        out[:, c] = busy.astype(np.float64) * 1e-9
    return out


def reference_fit(design: np.ndarray, target: np.ndarray, *, bootstrap: int = 0, block_length: int = 0,
                  seed: int = 0) -> dict[str, Any]:
    """NumPy/SciPy reference of ``_core.attribution_fit`` (bootstrap draws differ, statistics agree)."""
    scipy_nnls = require("scipy.optimize", "test", "reference_fit (the SciPy test oracle)").nnls

    a = np.asarray(design, dtype=np.float64)
    b = np.asarray(target, dtype=np.float64)
    m, n = a.shape
    scale = np.linalg.norm(a, axis=0)
    scale[scale == 0] = 1.0

    def solve(aa, bb):
        x, _ = scipy_nnls(aa / scale, bb)
        return x / scale

    coef = solve(a, b)
    resid = b - a @ coef
    rss = float(resid @ resid)
    act = np.flatnonzero(coef > 0)
    sigma2 = rss / (m - act.size) if m > act.size else np.nan
    sv = np.linalg.svd(a / scale, compute_uv=False)
    rank = int(np.sum(sv**2 > sv.max() ** 2 * 1e-13 * n)) if sv.size else 0
    cond = float(sv.max() / sv.min()) if rank == n else np.inf
    cov = np.full((n, n), np.nan)
    if act.size and rank == n:
        ap = a[:, act]
        cov[np.ix_(act, act)] = sigma2 * np.linalg.inv(ap.T @ ap)
    se = np.sqrt(np.diag(cov))
    if bootstrap > 1 and block_length > 0 and 2 * block_length > m:  # as the native fit: one block, one sample
        raise ValueError(f"block_length {block_length} leaves fewer than two blocks in the {m} rows")
    blen = block_length if block_length > 0 else max(1, int(round(m ** (1 / 3))))
    blen = min(blen, m)
    boots = np.full((bootstrap, n), np.nan)
    rng = np.random.default_rng(seed)
    for r in range(bootstrap):
        starts = rng.integers(0, m - blen + 1, size=-(-m // blen))
        idx = (starts[:, None] + np.arange(blen)[None, :]).ravel()[:m]
        boots[r] = solve(a[idx], b[idx])
    se_boot = boots.std(axis=0, ddof=1) if bootstrap > 1 else np.full(n, np.nan)
    return {"coef": coef, "stderr_analytic": se, "covariance": cov, "residuals": resid, "rss": rss,
            "sigma2": sigma2, "active": int(act.size), "rank": rank, "condition_number": cond,
            "converged": True, "iterations": 0, "block_length": blen, "bootstrap_converged": bootstrap,
            "bootstrap_coef": boots, "stderr_bootstrap": se_boot}

