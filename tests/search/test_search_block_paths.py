"""The fixed-batch block's two fill paths against the NumPy brute force: candidate by candidate (fewer
than 8 workload points, the random spaces of test_search_exact) and by vectorised runs of one batch value
(8 points or more), with runs in which the KV cache fits for some points only, outers that straddle blocks
(batch x workload not dividing the 128-row block), and 1, 2 and 3 threads (each thread keeps its own
per-(combo, tp) tables and per-row column caches, so a stale cache would show as a thread-dependent result)."""

import numpy as np
import pytest
from test_search_exact import MODELS, _compare, _random_params

from energylens import _core
from energylens.search.api import REASONS, native_options
from energylens.search.space import build_space


def _long_context_space(rng, n_work: int, n_batch: int):
    """Prompts from 64 to 30k tokens at every batch value: the KV cache fits for the short prompts and not
    for the long ones at the same batch, so a run of one batch value is partly rejected by memory."""
    inputs = rng.integers(64, 30_000, n_work).tolist()  # unsorted: the points that fit are not a prefix
    return build_space(list(rng.choice(MODELS[:4], 2, replace=False)), ["H100", "A100-SXM4-40GB", "L40S"],
                       input_tokens=inputs, output_tokens=rng.integers(16, 2048, n_work).tolist(),
                       tp=[1, 2, 4, 8], pp=[1, 2], dp=[1, 2], ep=[1, 2],
                       max_num_seqs=sorted(rng.choice(np.arange(1, 600), n_batch, replace=False).tolist()),
                       precision=["bf16", "fp8"])


@pytest.mark.parametrize("n_work", [7, 8, 13])  # below, at and above the vectorised-run threshold
@pytest.mark.parametrize("threads", [1, 2, 3])
def test_both_fill_paths_match_brute_force(model, n_work, threads):
    rng = np.random.default_rng(n_work)
    space = _long_context_space(rng, n_work, 5)
    assert 128 % (5 * n_work) != 0  # outers straddle the 128-row blocks
    theta, phi = _random_params(model, rng)
    out, ref = _compare(space, theta, phi, {"top": 15, "tpot_limit_s": 0.2, "ttft_limit_s": 20.0}, threads)
    kv = ref["rejected"]["memory_kv_cache"]
    assert 0 < kv and out.feasible > 15, (kv, out.feasible)


@pytest.mark.parametrize("n_work", [8, 13])
def test_partly_fitting_runs_occur(model, n_work):
    """The spaces above hold runs of one batch value (one outer) in which some workload points fit in memory
    and some do not (the case the vectorised path compacts), from the engine's per-candidate reasons."""
    space = _long_context_space(np.random.default_rng(n_work), n_work, 5)
    opts = native_options()
    ev = _core.search_evaluate(*space.native_args(), model.theta, model.latency_model.theta, opts,
                               np.arange(space.size, dtype=np.uint64))
    kv = REASONS.index("memory_kv_cache")
    runs = np.asarray(ev.reason).reshape(-1, n_work)  # one row per (outer, batch value)
    fits = (runs == -1) | (runs > kv)  # passed the memory check (feasible, or a latency limit)
    assert np.any((runs == kv).any(axis=1) & fits.any(axis=1))


@pytest.mark.parametrize("threads", [1, 2])
def test_single_workload_point_matches_brute_force(model, threads):
    """One workload point (the CLI's case): every run of one batch value is a single candidate."""
    space = build_space(MODELS[:4], ["H100", "H200", "A100-SXM4-40GB"], input_tokens=[3000], output_tokens=[400],
                        tp=[1, 2, 4, 8], pp=[1, 2], dp=[1, 2], ep=[1, 2], max_num_seqs=list(range(1, 300, 7)),
                        precision=["bf16", "fp8"], kv_cache_dtype=["auto", "fp8"])
    _compare(space, model.theta, model.latency_model.theta, {"top": 12, "tpot_limit_s": 0.08}, threads)


@pytest.mark.parametrize("threads", [1, 2])
def test_block_path_objectives_equal_the_scalar_paths_bit_for_bit(model, threads):
    """The vectorised block path (its AVX2 / AVX-512 clones) rounds as the scalar per-candidate path: no FMA
    contraction (cpp/CMakeLists.txt), so the objectives and latencies it reports are the scalar path's bits,
    not only the same selections."""
    rng = np.random.default_rng(3)
    space = _long_context_space(rng, 13, 5)
    theta, phi = _random_params(model, rng)
    options = {**native_options(top=25, tpot_limit_s=0.15), "threads": threads}
    from energylens.search.api import run_engine

    out = run_engine(space, theta, phi, options)
    for table in (out.top, out.front_tpot, out.front_ttft):
        ev = _core.search_evaluate(*space.native_args(), theta, phi, options, np.asarray(table.index, dtype=np.uint64))
        np.testing.assert_array_equal(table.objective, ev.objective)
        np.testing.assert_array_equal(table.tpot_s, ev.tpot_s)
