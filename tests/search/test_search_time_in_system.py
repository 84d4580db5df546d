"""The search prices a request's time in the system W = TTFT + L_out TPOT + sigma B_r t_p (the latency model's
prefill_stall sigma, per combo as the calibration factors): the engine against the NumPy oracle with sigma != 1
for 1, 2 and 3 threads in load mode and in fixed-batch mode's cost objective; and sigma leaves everything but
GPU-seconds per request (and the cost objective) as it was."""

import numpy as np
import pytest
from test_search_exact import _compare, _random_params, _random_space

from energylens.search.api import calibrate_latency, native_options, run_engine
from energylens.search.space import COMBO_FIELDS, build_space

STALL = COMBO_FIELDS.index("prefill_stall")


def _with_sigma(space, sigma):
    """``space`` with prefill_stall ``sigma`` (a number, or one value per combo)."""
    space.combo_values[:, STALL] = sigma
    return space


@pytest.mark.parametrize("threads", [1, 2, 3])
@pytest.mark.parametrize("seed", range(2))
def test_load_mode_with_a_fitted_sigma_matches_the_oracle(model, seed, threads):
    rng = np.random.default_rng(500 + seed)
    for _ in range(20):
        space = _random_space(rng, 1500)
        _with_sigma(space, rng.uniform(0.0, 2.0, len(space.combos)))  # per combo, as from several models' fits
        theta, phi = _random_params(model, rng)
        opts = {"top": 10, "tpot_limit_s": 0.2, "rate_per_s": float(rng.uniform(0.5, 50))}
        out, _ = _compare(space, theta, phi, opts, threads)
        if out.feasible > 0:
            break
    assert out.feasible > 0


@pytest.mark.parametrize("threads", [1, 2, 3])
@pytest.mark.parametrize("sigma", [0.37, 1.8])
def test_cost_objective_with_sigma_matches_the_oracle(model, sigma, threads):
    space = build_space(["llama-3.1-8b", "llama-3.1-70b", "Qwen/Qwen3-30B-A3B"], ["H100", "H200"],
                        input_tokens=[512, 2000], output_tokens=[256, 100], tp=[1, 2, 4, 8], pp=[1, 2],
                        max_num_seqs=[1, 16, 64, 256], price_per_gpu_hour={"H100": 2.5, "H200": 3.5})
    _compare(_with_sigma(space, sigma), model.theta, model.latency_model.theta, {"objective": "cost", "top": 8}, threads)


def _fixed(model, sigma, **opts):
    """(space, engine outcome) of a fixed-batch search at prefill_stall ``sigma``."""
    space = build_space(["llama-3.1-70b", "mixtral-8x7b"], ["H100", "B200"], input_tokens=[700, 3000],
                        output_tokens=[300, 80], tp=[1, 2, 4, 8], pp=[1, 2], max_num_seqs=[4, 32, 128, 512],
                        price_per_gpu_hour={"H100": 2.5, "B200": 5.0})
    return space, run_engine(_with_sigma(space, sigma), model.theta, model.latency_model.theta,
                             {**native_options(top=20, tpot_limit_s=0.1, **opts), "threads": 2})


def test_sigma_changes_only_gpu_seconds_in_fixed_batch_mode(model):
    """Energy objective: the same candidates, objective, energy, TTFT, TPOT and memory bit for bit at sigma 0 and
    1.5; sigma 0 gives the GPU-seconds of before the term exactly (tp pp (TTFT + L_out TPOT) / batch); sigma 1.5
    gives more."""
    (space, old), (_, new) = _fixed(model, 0.0), _fixed(model, 1.5)
    for name in ("top", "front_tpot", "front_ttft"):
        a, b = getattr(old, name), getattr(new, name)
        for field in ("index", "objective", "energy_j", "ttft_s", "tpot_s", "memory_bytes", "batch", "gpus"):
            np.testing.assert_array_equal(getattr(a, field), getattr(b, field), err_msg=f"{name} {field}")
    np.testing.assert_array_equal(old.rejected, new.rejected)
    top = old.top
    digits = np.unravel_index(np.asarray(top.index, dtype=np.int64), space.point_shape)
    tp, pp, lo = space.tp[digits[1]], space.pp[digits[2]], space.workloads[digits[6], 1]
    expected = tp * pp * (np.asarray(top.ttft_s) + lo * np.asarray(top.tpot_s)) / np.asarray(top.batch)
    np.testing.assert_array_equal(np.asarray(top.gpu_s_per_request), expected)
    assert np.all(np.asarray(new.top.gpu_s_per_request) > expected)


def test_the_cost_objective_follows_the_time_in_system(model):
    """Cost per request = GPU-seconds x price / 3600, and the GPU-seconds grow with sigma."""
    (space, old), (_, new) = _fixed(model, 0.0, objective="cost"), _fixed(model, 2.0, objective="cost")
    assert new.top.objective[0] > old.top.objective[0]
    for out in (old, new):
        combo = np.unravel_index(np.asarray(out.top.index, dtype=np.int64), space.point_shape)[0]
        price = space.combo_values[combo, COMBO_FIELDS.index("price_per_gpu_hour")]
        assert set(price) == {2.5, 5.0} or set(price) <= {2.5, 5.0}
        np.testing.assert_allclose(out.top.objective, np.asarray(out.top.gpu_s_per_request) * price / 3600.0,
                                   rtol=1e-12)


def test_the_search_writes_the_latency_models_sigma(model):
    space = build_space("llama-3.1-8b", "H100", input_tokens=512, output_tokens=256)
    assert np.all(space.combo_values[:, STALL] == 1.0)  # a space alone: the default
    calibrate_latency(space, model.latency_model)
    assert 0.0 <= model.latency_model.prefill_stall <= 2.0
    assert np.all(space.combo_values[:, STALL] == model.latency_model.prefill_stall)
