"""Workload-distribution mode indexes configurations, not (configuration, workload) points: a space whose
size fits in 64 bits while size x workload points does not is still decoded exactly."""

import numpy as np

from energylens import _core
from energylens.search.api import bundled_model, native_options
from energylens.search.space import build_space


def test_a_distribution_past_2_64_points_decodes_every_candidates_batch():
    model = bundled_model()
    dist = build_space(["llama-3.1-8b"], "H100", input_tokens=[200, 1000, 6000], output_tokens=[100, 400, 1500],
                       workload_weights=[0.5, 0.3, 0.2], tp=[1], max_num_seqs=[8])
    combos, _tp, _pp, _dp, _ep, _mns, wl, pre, ww = dist.native_args()
    n = 1400  # every axis n long: size n^6 < 2^64, size x 3 workloads > 2^64
    combos = np.repeat(np.asarray(combos), n, axis=0)
    ones = np.ones(n)
    if pre is not None:
        pre = np.repeat(np.asarray(pre).reshape(1, -1), n, axis=0).ravel()
    mns = np.arange(1, n + 1, dtype=np.float64)  # the batch digit b shows as Candidate.batch b + 1
    size = n**6
    assert size < 2**64 <= size * 3
    idx = np.array([0, 1, n - 1, size // 2 + 5, size - 2, size - 1], dtype=np.uint64)
    out = _core.search_evaluate(combos, ones, ones, ones, ones, mns, wl, pre, ww, model.theta,
                                model.latency_model.theta, native_options(), idx)
    assert out.batch.tolist() == [float(i % n + 1) for i in idx.tolist()]
