"""Pairwise counts in O(n log n): equal to the direct count over all pairs (ties, NaN predictions), and
a million-row group counted without the n^2 pair arrays."""

from __future__ import annotations

import numpy as np
import pytest

from energylens.compare.metrics import pairwise_counts


def direct_counts(pred, meas):
    """The definition, over every pair (the former implementation)."""
    p, m = np.asarray(pred, float), np.asarray(meas, float)
    i, j = np.triu_indices(p.size, k=1)
    dm = np.sign(m[i] - m[j])
    dp = np.sign(p[i] - p[j])
    ok = dm != 0
    conc = np.where(dp[ok] == 0, 0.5, (dp[ok] == dm[ok]).astype(float))
    return float(conc.sum()), int(ok.sum())


@pytest.mark.parametrize("seed", range(25))
def test_equals_direct_count_with_ties_and_nan(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(0, 300))
    levels = int(rng.integers(1, 12))
    meas = rng.integers(0, levels, n).astype(float) if seed % 2 else rng.normal(size=n)
    pred = rng.integers(0, levels, n).astype(float) if seed % 3 else meas + rng.normal(scale=0.5, size=n)
    if seed % 5 == 0 and n:
        pred[rng.integers(0, n, max(1, n // 10))] = np.nan
    conc, comparable = pairwise_counts(pred, meas)
    want_conc, want_comparable = direct_counts(pred, meas)
    assert comparable == want_comparable
    assert conc == want_conc


def test_perfect_and_reversed():
    m = np.arange(100.0)
    assert pairwise_counts(m, m) == (4950.0, 4950)
    assert pairwise_counts(-m, m) == (0.0, 4950)
    assert pairwise_counts(np.zeros(100), m) == (2475.0, 4950)


def test_million_rows_in_linear_memory():
    rng = np.random.default_rng(0)
    meas = rng.normal(size=1_000_000)
    pred = meas + rng.normal(scale=0.1, size=meas.size)
    conc, comparable = pairwise_counts(pred, meas)
    assert comparable == meas.size * (meas.size - 1) // 2
    assert 0.9 < conc / comparable < 1.0


def test_measurements_must_be_finite():
    with pytest.raises(ValueError, match="finite"):
        pairwise_counts([1.0, 2.0], [1.0, np.nan])
