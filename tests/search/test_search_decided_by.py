"""``decided_by`` (the largest energy term of each row) is computed without a DataFrame where no term is NaN;
it equals ``DataFrame.idxmax(axis=1)`` of the terms, value, first-of-equal choice, dtype and index."""

import numpy as np
import pandas as pd

from energylens.search.terms import TERMS, _largest


def test_largest_term_is_idxmax():
    rng = np.random.default_rng(0)
    for _ in range(300):
        n = int(rng.integers(1, 6))
        terms = rng.choice([0.0, -0.0, 1.0, 2.0, np.inf, -1.0, np.nan if rng.random() < 0.2 else 3.0], size=(n, 5))
        terms[:, 0] = np.where(np.isnan(terms[:, 0]), 1.0, terms[:, 0])  # a row of NaN only: idxmax's error
        index = pd.Index(rng.integers(0, 100, n))
        want = pd.DataFrame(terms, index=index, columns=list(TERMS)).idxmax(axis=1)
        got = _largest(terms, index)
        pd.testing.assert_series_equal(got, want)
        assert got.dtype == want.dtype
