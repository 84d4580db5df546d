"""``search(..., limit_confidence=P)`` on a GPU the latency model was not fitted on: the upper P-quantile the search
checks a TPOT limit against is ``LatencyModel.predict_interval``'s bound on the same rows, whose TPOT on such a GPU
draws the GPU transfer factor (:data:`energylens.model.intervals.TPOT_TRANSFER_LOG_SD`). Before, neither drew it: the
quantile of an unseen GPU's candidate was as narrow as a fitted GPU's, and a TPOT limit "met with 90 % confidence"
there was met by about 0.7-0.8 of the rows (bench/unseen_gpu_coverage.py). Candidates on fitted GPUs keep their
quantiles bit for bit."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pandas as pd
import pytest

from energylens import _core
from energylens.model import EnergyModel
from energylens.profiles.datasets import mlenergy_v2
from energylens.search import build_space
from energylens.search.api import native_options
from energylens.search.confidence import confidence_limits, upper_quantiles

L8 = "meta-llama/Llama-3.1-8B-Instruct"
FITTED, OTHER = "A100-SXM4-40GB", "H100-SXM5-80GB"


@pytest.fixture(scope="module")
def a100_model():
    data = mlenergy_v2()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return EnergyModel(bootstrap=40, n_starts=1).fit(data[data["gpu"].str.contains("A100")])


def _as_if_seen(em):
    """The same fitted models with both GPUs recorded as fitted (what every candidate's quantile was before)."""
    other = type(em.latency_model).__new__(type(em.latency_model))
    vars(other).update(vars(em.latency_model))
    other.summary = dataclasses.replace(em.latency_model.summary, gpus=(FITTED, OTHER))
    return other


def _space():
    return build_space(L8, f"{FITTED},H100", input_tokens=[512, 2048], output_tokens=[256, 128], tp=[1, 2, 4],
                       max_num_seqs=[1, 8, 32, 128])


def _frame_and_unseen(space):
    idx = np.arange(space.size)
    frame = space.point_profiles(space.points(idx))
    return idx, frame, (frame["gpu"] == OTHER).to_numpy()


@pytest.mark.parametrize("p", [0.9, 0.2])
def test_quantile_on_an_unseen_gpu_is_the_widened_interval_bound(a100_model, p):
    em = a100_model
    assert em.latency_model.summary.gpus == (FITTED,)
    space = _space()
    idx, frame, unseen = _frame_and_unseen(space)
    assert unseen.any() and not unseen.all()
    q = upper_quantiles(space, em.theta, em.latency_model, native_options(), idx, p)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        interval = em.latency_model.predict_interval(frame, level=abs(2 * p - 1), check_range=False)
    side = "hi" if p > 0.5 else "lo"
    np.testing.assert_allclose(q["tpot_q"], interval[f"tpot_s_{side}"], rtol=1e-9)
    narrow = upper_quantiles(space, em.theta, _as_if_seen(em), native_options(), idx, p)["tpot_q"]
    assert np.array_equal(q["tpot_q"][~unseen], narrow[~unseen])  # fitted GPU: bit for bit
    further = q["tpot_q"][unseen] > narrow[unseen] if p > 0.5 else q["tpot_q"][unseen] < narrow[unseen]
    # the unseen GPU's quantile lies further out (per row up to the draws' noise: 40 refits, a few hundred factors)
    assert further.mean() >= 0.8, further


def test_every_admitted_unseen_gpu_candidate_meets_the_limit_at_p(a100_model):
    em, p = a100_model, 0.9
    space = _space()
    idx, frame, unseen = _frame_and_unseen(space)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hi = em.latency_model.predict_interval(frame, level=2 * p - 1, check_range=False)["tpot_s_hi"].to_numpy()
    evaluate = _core.search_evaluate(*space.native_args(), em.theta, em.latency_model.theta, native_options(), idx)
    base = evaluate.reason < 0
    limit = float(np.quantile(evaluate.tpot_s[base & unseen], 0.7))
    opts, _ = confidence_limits(space, em.theta, em.latency_model, native_options(tpot_limit_s=limit), p)
    ok = _core.search_evaluate(*space.native_args(), em.theta, em.latency_model.theta, opts, idx).reason < 0
    assert (ok & unseen).any() and (hi[ok] <= limit).all()


def test_a_gpu_with_energy_rows_but_no_latency_rows_is_unseen_for_the_quantile():
    """H100 rows with energy but NaN ttft_s / tpot_s beside the A100 rows: the latency model's fit reads no H100 row,
    so its H100 candidates' TPOT quantile draws the transfer factor (before, summary.gpus listed H100 and it did not)."""
    data = mlenergy_v2()
    timed = data[data["gpu"].str.contains("A100")]
    untimed = data[data["gpu"].str.contains("H100")].assign(tpot_s=np.nan, ttft_s=np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        em = EnergyModel(bootstrap=40, n_starts=1).fit(pd.concat([timed, untimed], ignore_index=True))
    assert em.summary.gpus == (FITTED, OTHER) and em.latency_model.summary.gpus == (FITTED,)
    space = _space()
    idx, frame, unseen = _frame_and_unseen(space)
    q = upper_quantiles(space, em.theta, em.latency_model, native_options(), idx, 0.9)["tpot_q"]
    narrow = upper_quantiles(space, em.theta, _as_if_seen(em), native_options(), idx, 0.9)["tpot_q"]
    assert np.array_equal(q[~unseen], narrow[~unseen])
    assert (q[unseen] > narrow[unseen]).mean() >= 0.8


def test_a_few_row_gpu_draws_its_share_as_predict_interval_does():
    """H100 with 5 rows in the latency fit beside every A100 row: predict_interval draws its TPOT transfer factor at
    1 - w of the unseen GPU's log sd (intervals.few_row_scales, since 876cbae2); the search's quantile drew none there
    (unseen_candidates read the unseen flags alone), so a limit 'met with 90 % confidence' was checked against a
    narrower quantile than predict's."""
    data = mlenergy_v2()
    a100, h100 = data[data["gpu"].str.contains("A100")], data[data["gpu"].str.contains("H100")]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        em = EnergyModel(bootstrap=40, n_starts=1).fit(pd.concat([a100, h100.head(5)], ignore_index=True))
    shares = em.latency_model.transfer_shares(pd.DataFrame({"gpu": [FITTED, OTHER]}))
    assert shares[0] == 0 and 0 < shares[1] < 1
    space = _space()
    idx, frame, few = _frame_and_unseen(space)
    q = upper_quantiles(space, em.theta, em.latency_model, native_options(), idx, 0.9)["tpot_q"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        interval = em.latency_model.predict_interval(frame, level=0.8, check_range=False)
    np.testing.assert_allclose(q, interval["tpot_s_hi"], rtol=1e-9)
    plain = type(em.latency_model).__new__(type(em.latency_model))  # the same fit without its row counts: no share
    vars(plain).update(vars(em.latency_model))
    plain.summary = dataclasses.replace(em.latency_model.summary, gpu_rows=())
    narrow = upper_quantiles(space, em.theta, plain, native_options(), idx, 0.9)["tpot_q"]
    assert np.array_equal(q[~few], narrow[~few]) and (q[few] > narrow[few]).mean() >= 0.8
