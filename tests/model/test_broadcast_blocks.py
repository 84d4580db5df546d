"""Broadcast (single-value) feature columns are evaluated block by block against values expanded once
per thread (cpp/src/closed_form.cpp, kBroadcastBlockRows): every row count around the block and chunk
edges, float64 and float32, the summed path with the fused domain check (``predict_features``) and the
plain one, give the same bits as the same columns expanded to full length."""
from __future__ import annotations

import numpy as np
import pytest

from energylens import _core
from energylens.model import EnergyModel
from energylens.profiles.datasets import mlenergy_v2
from energylens.profiles.features import build_features, domain_lower_bounds

# block edges (128), chunk edges (1024), and past the serial threshold (2 x 131072: two threads)
SIZES = [1, 127, 128, 129, 1023, 1024, 1025, 1151, 2 * 131072 + 129]


@pytest.fixture(scope="module")
def model():
    return EnergyModel(n_starts=1, bootstrap=0).fit(mlenergy_v2())


def _sweep(model, n: int, dtype) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """(columns with the model and GPU specs as one value each, the same columns at full length)."""
    one = build_features(mlenergy_v2().iloc[[0]])
    rng = np.random.default_rng(n)
    varying = {"tp": rng.choice([1.0, 2.0, 4.0, 8.0], n), "pp": rng.choice([1.0, 2.0], n),
               "batch_size": rng.uniform(1, 1024, n), "input_tokens": rng.uniform(16, 4096, n),
               "output_tokens": rng.uniform(16, 2048, n)}
    short = [np.ascontiguousarray(varying[k] if k in varying else one[k][:1], dtype=dtype)
             for k in model.feature_names]
    full = [np.ascontiguousarray(np.broadcast_to(c, (n,))) for c in short]
    return short, full


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n", SIZES)
def test_broadcast_blocks_equal_full_columns(model, n, dtype):
    short, full = _sweep(model, n, dtype)
    kind = np.dtype(dtype).name
    domain = domain_lower_bounds(model.feature_names, np.dtype(dtype))
    summed = [_core.evaluate("energy", cols, model.theta, dtype=kind, domain=domain, sum=True).out0
              for cols in (short, full)]
    np.testing.assert_array_equal(summed[0], summed[1])
    plain = [_core.evaluate("energy", cols, model.theta, dtype=kind, aux=True) for cols in (short, full)]
    for part in ("out0", "out1", "out2"):
        np.testing.assert_array_equal(getattr(plain[0], part), getattr(plain[1], part))
    np.testing.assert_array_equal(summed[0], plain[0].out0 + plain[0].out1)  # summed as adding the arrays


def test_broadcast_blocks_still_find_a_bad_streamed_value(model):
    n = 1025
    short, _ = _sweep(model, n, np.float64)
    feats = dict(zip(model.feature_names, short, strict=True))
    feats["batch_size"] = feats["batch_size"].copy()
    feats["batch_size"][n - 1] = -1.0  # the last row of the second chunk
    with pytest.raises(ValueError, match="batch_size"):
        model.predict_features(feats)
