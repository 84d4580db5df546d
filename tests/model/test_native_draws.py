"""The interval draws and quantiles run natively (``_core.draw_indices``, ``_core.drawn_quantiles``): NumPy's
hash of 200 x 20,000 draws was ~50 ms of a 20,000-row ExpressionEnergyModel.predict_interval (~145 ms, its
np.quantile ~90 ms), and of the search's limit-confidence quantiles. Both must give NumPy's bits exactly:
the draws :func:`energylens.model.intervals._draw_indices_numpy` (the definition), the bounds
``np.quantile(values * factors[draws], [q_lo, q_hi], axis=0)`` (method 'linear', NaN for a row holding one).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from energylens import _core
from energylens.model import EnergyModel
from energylens.model.intervals import _draw_indices_numpy, _row_keys_numpy, draw_indices, drawn_quantiles
from energylens.profiles.datasets import load_profiles_or_bundled

SEEDS = (0, 1, 7, 12345, 2**31 - 1, 2**32 + 3, 2**62 + 11, 2**63 - 1, 2**63, 2**64 + 5, 3**50, -1, -(2**63) - 9)


@pytest.mark.parametrize("seed", SEEDS)
def test_native_draws_equal_numpy_bit_for_bit(seed):
    rng = np.random.default_rng(abs(seed) % 1000)
    for replicates, start, stop, n in ((1, 0, 1, 1), (3, 0, 50, 1), (5, 7, 300, 2), (200, 0, 1000, 2048),
                                       (17, 10**6, 10**6 + 777, 37), (4, 2**40, 2**40 + 99, 10**9 + 7),
                                       (2, 5, 5, 10), (0, 0, 10, 3), (6, 3, 40, 0)):
        keys = np.arange(start, stop, dtype=np.uint64)  # any row keys: here consecutive ones
        want = _draw_indices_numpy(seed, replicates, keys, n)
        got = draw_indices(seed, replicates, keys, n)
        assert got.shape == want.shape and got.dtype == np.intp
        np.testing.assert_array_equal(got, want)
    for _ in range(5):  # random sizes, starts and sample lengths
        b, m, n = int(rng.integers(1, 64)), int(rng.integers(1, 3000)), int(rng.integers(1, 5000))
        keys = rng.integers(0, 2**63, m, dtype=np.uint64) * np.uint64(2) + np.uint64(1)  # (the full range)
        np.testing.assert_array_equal(draw_indices(seed, b, keys, n), _draw_indices_numpy(seed, b, keys, n))


def test_native_draws_threaded_equal_numpy():
    # 200 x 40,000 draws: above the size the native pass threads at
    keys = np.arange(123, 40123, dtype=np.uint64)
    np.testing.assert_array_equal(draw_indices(99, 200, keys, 2048), _draw_indices_numpy(99, 200, keys, 2048))


def test_draw_indices_refuses_keys_not_1d():
    with pytest.raises(ValueError, match="1-D array of row keys"):
        _core.draw_indices(1, 2, np.zeros((2, 2), dtype=np.uint64), 3)


def _numpy_quantiles(values, factors, keys, seed, q_lo, q_hi):
    draws = factors[_draw_indices_numpy(seed, len(values), keys, len(factors))] \
        if len(factors) else 1.0
    return np.quantile(values * draws, [q_lo, q_hi], axis=0)


def _same_bits(a, b):
    return np.asarray(a).tobytes() == np.asarray(b).tobytes()


@pytest.mark.parametrize("replicates", [1, 2, 3, 10, 199, 200])
def test_drawn_quantiles_equal_np_quantile_bit_for_bit(replicates):
    rng = np.random.default_rng(replicates)
    m = 700
    values = rng.lognormal(3.0, 1.0, size=(replicates, m))
    values[:, :40] = np.round(values[:, :40])  # ties
    values[:, 40:50] = 5.0  # every replicate equal
    values[0, 50] = np.nan
    values[-1, 51] = np.inf
    values[:, 52] = np.inf
    values[0, 53], values[-1, 53] = -np.inf, np.inf
    values[:, 54:60] = -values[:, 54:60]  # negative predictions
    factors = np.sort(rng.lognormal(0.0, 0.3, size=333))
    for q_lo, q_hi in ((0.05, 0.95), ((1.0 - 0.9) / 2.0, 1.0 - (1.0 - 0.9) / 2.0), (0.0, 1.0), (0.5, 0.5),
                       (0.9, 0.9), (0.123456789, 0.987654321), (0.025, 0.975)):
        for f in (factors, factors[:1], np.zeros(0)):
            for start, seed in ((0, 0), (4321, 2**63 - 1), (10**9, 77)):
                keys = np.arange(start, start + m, dtype=np.uint64)
                lo, hi = drawn_quantiles(values, f, keys=keys, seed=seed, q_lo=q_lo, q_hi=q_hi)
                want_lo, want_hi = _numpy_quantiles(values, f, keys, seed, q_lo, q_hi)
                assert _same_bits(lo, want_lo) and _same_bits(hi, want_hi), (q_lo, q_hi, len(f), start)


def test_drawn_quantiles_threaded_and_split_rows():
    rng = np.random.default_rng(5)
    values = rng.lognormal(2.0, 0.5, size=(200, 3000))  # 600,000 draws: threaded
    factors = np.sort(rng.lognormal(0.0, 0.2, size=2048))
    keys = rng.integers(0, 2**62, 3000, dtype=np.uint64)
    lo, hi = drawn_quantiles(values, factors, keys=keys, seed=3, q_lo=0.05, q_hi=0.95)
    want_lo, want_hi = _numpy_quantiles(values, factors, keys, 3, 0.05, 0.95)
    assert _same_bits(lo, want_lo) and _same_bits(hi, want_hi)
    lo2, hi2 = drawn_quantiles(values[:, 1000:], factors, keys=keys[1000:], seed=3, q_lo=0.05, q_hi=0.95)
    assert _same_bits(lo2, lo[1000:]) and _same_bits(hi2, hi[1000:])


def test_drawn_quantiles_refuses_bad_arguments():
    with pytest.raises(ValueError, match="no bootstrap replicates"):
        drawn_quantiles(np.zeros((0, 4)), np.ones(3), keys=np.zeros(4), seed=0, q_lo=0.1, q_hi=0.9)
    with pytest.raises(ValueError, match="probabilities"):
        drawn_quantiles(np.ones((2, 4)), np.ones(3), keys=np.zeros(4), seed=0, q_lo=0.1, q_hi=1.5)
    with pytest.raises(ValueError, match="replicates, rows"):
        drawn_quantiles(np.ones(4), np.ones(3), keys=np.zeros(4), seed=0, q_lo=0.1, q_hi=0.9)
    with pytest.raises(ValueError, match="one row key per column of values"):
        drawn_quantiles(np.ones((2, 4)), np.ones(3), keys=np.zeros(3), seed=0, q_lo=0.1, q_hi=0.9)


@pytest.fixture(scope="module")
def bundled():
    return load_profiles_or_bundled("bundled").reset_index(drop=True)


def test_expression_intervals_on_random_frames_equal_numpy(bundled):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = EnergyModel.from_expression("1.0*tp*pp*tdp_w*output_tokens/batch_size + 0.01*input_tokens + 5.0",
                                            bootstrap=120, n_starts=1, seed=2**63 - 17).fit(bundled)
        for n, rs, level in ((1, 0, 0.9), (333, 1, 0.8), (5000, 2, 0.95)):
            rows = bundled.sample(n, replace=True, random_state=rs).reset_index(drop=True)
            got = model.predict_interval(rows, level, check_range=False)
            cols = model._columns(rows)
            values = np.array([model.compiled.evaluate(cols, tb) for tb in model.bootstrap_params])
            alpha = (1.0 - level) / 2.0
            lo, hi = _numpy_quantiles(values, model.measurement_factors(), _row_keys_numpy(cols), model.options["seed"],
                                      alpha, 1.0 - alpha)
            assert _same_bits(got["energy_j_lo"].to_numpy(), np.maximum(lo, 0.0))
            assert _same_bits(got["energy_j_hi"].to_numpy(), hi)


def test_numpy_integers_are_taken():
    # np.int64(5) % 2**63 overflowed in int64 before the wrapper took the seed as a Python int
    keys = np.arange(2, 9, dtype=np.int64)
    got = draw_indices(np.int64(5), np.int64(3), keys, np.int32(4))
    np.testing.assert_array_equal(got, _draw_indices_numpy(5, 3, keys, 4))
    lo, hi = drawn_quantiles(np.ones((3, 4)), np.array([1.0, 2.0]), keys=np.arange(4), seed=np.int64(3),
                             q_lo=np.float64(0.1), q_hi=0.9)
    assert lo.shape == hi.shape == (4,)
