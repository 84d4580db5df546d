"""The attention heads of an estimated architecture (``tables.estimate_architecture``, docs/reference-tables.md)
form a layout a real checkpoint could have, for any size and kind: the query heads a multiple of the KV heads
(grouped-query attention shares each KV head among n_heads / n_kv_heads query heads, so they must divide), ``d_model
= n_heads x head_dim``, heads 64 to 128 wide, and tensor parallelism 2, 4 and 8 dividing both head counts from 8 heads
on. Regression: the estimate gave 1 B 13 heads and 8 B 30 heads over 8 KV heads (any size from ~0.3 B to ~8 B)."""
from __future__ import annotations

import math

import pytest

from energylens.profiles.tables import estimate_architecture

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

#: Sizes in billions, log-uniform from a million parameters to 100 trillion (params_b's plausibility limit).
SIZES = st.floats(-3.0, 5.0).map(lambda x: 10.0 ** x)


def check_heads(spec) -> None:
    assert spec.n_heads % spec.n_kv_heads == 0, (spec.n_heads, spec.n_kv_heads)
    assert spec.d_model == spec.n_heads * spec.head_dim, (spec.d_model, spec.n_heads, spec.head_dim)
    assert 64 < spec.head_dim <= 128 and spec.d_model % 128 == 0
    if spec.n_heads >= 8:
        assert spec.n_kv_heads == 8 and all(spec.n_heads % tp == 0 for tp in (2, 4, 8))
    else:  # a tiny model: one KV head per query head
        assert spec.n_kv_heads == spec.n_heads and spec.head_dim == 128


@settings(max_examples=300, deadline=None, derandomize=True)
@given(SIZES, st.sampled_from(("dense", "moe", "hybrid")), st.floats(0.01, 1.0))
def test_estimated_heads_are_a_gqa_layout(params_b, kind, active_share):
    check_heads(estimate_architecture(params_b, kind, params_b * active_share if kind == "moe" else None))


@pytest.mark.parametrize("params_b", [0.3, 0.5, 1.0, 2.0, 3.0, 4.0, 7.0, 8.0, 8.2, 8.5, 14.0, 70.0, 405.0])
def test_the_width_is_the_fitted_one_and_heads_are_as_few_as_fit_128(params_b):
    """d_model (the power law, so the accuracy bounds of test_tables.py hold) is what it was; the heads split it into
    the fewest of 8, 16, 32 (or, from 32 heads of 128, that many) no wider than 128."""
    spec = estimate_architecture(params_b)
    width = 1633.0 * params_b ** 0.406 / 128
    step = 8 if width >= 32 else 2 if width >= 16 else 1
    assert spec.d_model == 128 * max(1, step * round(width / step))
    check_heads(spec)
    assert spec.n_heads == 8 or spec.head_dim * 2 > 128 or spec.n_heads > 32  # one head fewer step would be > 128
    assert math.log2(spec.n_heads / 8).is_integer() or spec.n_heads >= 32
