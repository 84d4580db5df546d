"""ExpressionEnergyModel.predict_interval held every bootstrap replicate's prediction of every row at once:
a list of replicates x rows draws, stacked into a second replicates x rows array and copied again by
np.quantile (about 1.6 GB per copy for a million rows at the default 200 replicates), where
EnergyModel.predict_interval works ``chunk_rows`` rows at a time (DEFAULT_CHUNK_ROWS, memory O(rows) +
O(replicates x chunk_rows)). It now takes the same ``chunk_rows`` (and predict takes PREDICT_CHUNK_ROWS'),
and draws each residual from a hash of the seed, the replicate and the row's feature values (intervals.row_keys,
the template's convention), so any chunking gives the same bits.
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pandas as pd
import pytest
from tests.model.expression_fixtures import bundled_rows, fitted_expression

from energylens.model import EnergyModel
from energylens.model.intervals import (
    DEFAULT_CHUNK_ROWS,
    PREDICT_CHUNK_ROWS,
    _draw_indices_numpy,
    _row_keys_numpy,
)


@pytest.fixture(scope="module")
def bundled() -> pd.DataFrame:
    return bundled_rows()


@pytest.fixture(scope="module")
def model(bundled):
    return fitted_expression(bundled, bootstrap=200)


def _rows(bundled: pd.DataFrame, n: int) -> pd.DataFrame:
    """``n`` rows of the bundled configurations (resampled, so they are all inside the fitted range)."""
    return bundled.sample(n, replace=True, random_state=3).reset_index(drop=True)


def test_chunk_defaults_are_the_templates():
    import inspect

    from energylens.model.expression import ExpressionEnergyModel

    for name, default in (("predict_interval", DEFAULT_CHUNK_ROWS), ("predict", PREDICT_CHUNK_ROWS)):
        ours = inspect.signature(getattr(ExpressionEnergyModel, name)).parameters
        theirs = inspect.signature(getattr(EnergyModel, name)).parameters
        assert ours["chunk_rows"].default == theirs["chunk_rows"].default == default
        assert ours["check_range"].default is True and ours["n_threads"].default is None


def test_chunked_interval_equals_the_unchunked_computation_bit_for_bit(model, bundled):
    rows = _rows(bundled, 9000)  # many of the native pass's 128-row blocks, and chunks cutting through them
    whole = model.predict_interval(rows, 0.9, chunk_rows=10**6)
    for chunk, n in ((1, 40), (257, 2000), (1000, 9000), (5000, 9000)):
        small = model.predict_interval(rows.iloc[:n], 0.9, chunk_rows=chunk)
        np.testing.assert_array_equal(small.to_numpy(), whole.iloc[:n].to_numpy())
    # ... and both are the definition, computed here on the whole table in NumPy: every replicate's values
    # times the factor drawn for (replicate, the row's values' key), the quantiles over the replicates
    cols = model._columns(rows)
    boot, factors = model.bootstrap_params, model.measurement_factors()
    values = np.array([model.compiled.evaluate(cols, tb) for tb in boot])
    values *= factors[_draw_indices_numpy(model.options["seed"], len(boot), _row_keys_numpy(cols), len(factors))]
    alpha = (1.0 - 0.9) / 2.0  # (0.04999999999999999, as predict_interval computes it from the level)
    lo, hi = np.quantile(values, [alpha, 1.0 - alpha], axis=0)
    np.testing.assert_array_equal(whole["energy_j_lo"].to_numpy(), np.maximum(lo, 0.0))
    np.testing.assert_array_equal(whole["energy_j_hi"].to_numpy(), hi)
    assert list(whole.index) == list(rows.index)


def test_chunked_predict_equals_the_whole_table(model, bundled):
    rows = _rows(bundled, 3000)
    whole = model.predict(rows)
    np.testing.assert_array_equal(model.predict(rows, chunk_rows=113), whole)
    raw = pd.DataFrame(rows.to_dict("list"))  # not validated yet: validated chunk by chunk
    np.testing.assert_array_equal(model.predict(raw, chunk_rows=113), whole)
    np.testing.assert_array_equal(model.predict_interval(raw, chunk_rows=113).to_numpy(),
                                  model.predict_interval(rows).to_numpy())
    with pytest.raises(ValueError, match="chunk_rows must be a positive integer"):
        model.predict_interval(rows, chunk_rows=0)


def _peak(model, rows: pd.DataFrame, chunk_rows: int) -> int:
    tracemalloc.start()
    try:
        model.predict_interval(rows, chunk_rows=chunk_rows)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_interval_memory_stays_bounded_as_rows_grow(model, bundled):
    small, large = _rows(bundled, 2000), _rows(bundled, 8000)
    _peak(model, small, 1000)  # (first-call caches out of the measurement)
    grown = _peak(model, large, 1000) - _peak(model, small, 1000)
    # The outputs and their frame are a few dozen bytes a row; holding every replicate's value of a row is
    # 200 x 8 = 1600 bytes a row per copy (before: three copies, ~5 kB a row, 30 MB more for 6000 rows).
    assert grown < 6000 * 200, f"peak grew by {grown / 6000:.0f} bytes per added row"
