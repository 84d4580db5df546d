"""The domain check fused into the native pass (``_core.evaluate(..., domain=)``, used by
``predict_features(validate=True)``) accepts and rejects exactly what ``check_feature_domain`` does, with
the same message; and the chunk pool behind every native loop (parallel.hpp ``run_chunks``) gives the same
numbers for any thread count, under concurrent callers and in a forked child."""
from __future__ import annotations

import multiprocessing
import threading

import numpy as np
import pytest

from energylens import _core, parallel
from energylens.model import EnergyModel
from energylens.profiles.datasets import mlenergy_v2
from energylens.profiles.features import build_features, check_feature_domain, domain_lower_bounds


@pytest.fixture(scope="module")
def fitted():
    data = mlenergy_v2()
    model = EnergyModel(n_starts=1, bootstrap=0).fit(data)
    feats = {k: np.tile(v, 800) for k, v in build_features(data).items()}  # ~2.8e5 rows: many chunks, 2 threads
    return model, feats


def _expected_message(model, feats) -> str | None:
    for name in model.feature_names:
        try:
            check_feature_domain(name, np.asarray(feats[name]))
        except ValueError as exc:
            return str(exc)
    return None


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf, 0.0, -1.0, 0.5])
def test_fused_check_names_the_same_feature_and_row(fitted, dtype, bad):
    model, feats = fitted
    rng = np.random.default_rng(0)
    for name in rng.choice(model.feature_names, 6, replace=False):
        spoilt = {k: v.astype(dtype) for k, v in feats.items()}
        row = int(rng.integers(len(spoilt[name])))
        spoilt[name][row] = bad
        expected = _expected_message(model, spoilt)
        if expected is None:  # e.g. 0.5 is fine for most features, 0 for an inclusive-at-0 one
            out = model.predict_features(spoilt, dtype=dtype)
            assert np.isfinite(out).all()
            continue
        with pytest.raises(ValueError) as err:
            model.predict_features(spoilt, dtype=dtype)
        assert str(err.value) == expected


def test_fused_check_of_a_broadcast_scalar_and_boundaries(fitted):
    model, feats = fitted
    at_bounds = dict(feats, tp=1.0, pp=np.ones(len(feats["pp"])), prefill_extra_flops=0.0)
    model.predict_features(at_bounds)  # inclusive bounds are in the domain
    with pytest.raises(ValueError, match="feature 'tp' row 0"):
        model.predict_features(dict(feats, tp=0.999))
    with pytest.raises(ValueError, match="feature 'd_model'"):
        model.predict_features(dict(feats, d_model=np.float64(0.0)))
    tiny = np.nextafter(0.0, 1.0)
    model.predict_features(dict(feats, d_model=tiny))  # > 0, however small


def test_out_arrays_are_untouched_when_validation_fails(fitted):
    model, feats = fitted
    n = len(feats["tp"])
    out = (np.full(n, 7.0), np.full(n, 7.0))
    with pytest.raises(ValueError, match="feature 'batch_size'"):
        model.evaluate_features(dict(feats, batch_size=-1.0), out=out)
    assert (out[0] == 7.0).all() and (out[1] == 7.0).all()


def test_domain_bounds_match_the_check():
    names = ("tp", "d_model", "prefill_extra_flops")
    lo = domain_lower_bounds(names)
    assert lo[0] == 1.0 and lo[1] == np.nextafter(0.0, 1.0) and lo[2] == 0.0
    lo32 = domain_lower_bounds(names, np.float32)
    assert lo32[1] == float(np.nextafter(np.float32(0), np.float32(1)))


def test_native_domain_keyword_rejects_jacobian_and_wrong_sizes(fitted):
    model, feats = fitted
    cols = [feats[k] for k in model.feature_names]
    with pytest.raises(ValueError, match="domain"):
        _core.evaluate("energy", cols, model.theta, jacobian=True, domain=domain_lower_bounds(model.feature_names))
    with pytest.raises(ValueError, match="domain bounds"):
        _core.evaluate("energy", cols, model.theta, domain=np.zeros(3))


def test_thread_counts_and_concurrent_callers_agree(fitted):
    model, feats = fitted
    one = model.predict_features(feats, n_threads=1)
    np.testing.assert_array_equal(model.predict_features(feats, n_threads=2), one)
    results: list[np.ndarray] = []

    def call():
        for _ in range(5):
            results.append(model.predict_features(feats, n_threads=2))

    workers = [threading.Thread(target=call) for _ in range(3)]  # a busy pool runs a second caller inline
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert len(results) == 15
    for r in results:
        np.testing.assert_array_equal(r, one)


def test_bootstrap_is_the_same_on_any_thread_count():
    data = mlenergy_v2().sample(60, random_state=2)
    a = EnergyModel(n_starts=1, bootstrap=30).fit(data, n_threads=1, latency=False)
    b = EnergyModel(n_starts=1, bootstrap=30).fit(data, n_threads=2, latency=False)
    np.testing.assert_array_equal(a.bootstrap_params, b.bootstrap_params)


_FORKED: dict = {}


def _child() -> None:
    model, feats, expected = _FORKED["args"]  # inherited through fork, not pickled
    raise SystemExit(0 if np.array_equal(model.predict_features(feats, n_threads=2), expected) else 3)


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="no fork on this platform")
def test_a_forked_child_starts_its_own_helpers(fitted):
    model, feats = fitted
    expected = model.predict_features(feats, n_threads=2)  # the parent's helpers exist now
    assert _core.pool_helpers() >= 1 or parallel.num_threads() == 1
    _FORKED["args"] = (model, feats, expected)
    child = multiprocessing.get_context("fork").Process(target=_child)
    child.start()
    child.join(timeout=120)
    assert child.exitcode == 0


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_summed_pass_equals_adding_the_two_outputs_bit_for_bit(fitted, dtype):
    model, feats = fitted
    feats = {k: v.astype(dtype) for k, v in feats.items()}
    e_pf, e_dec = model.evaluate_features(feats, dtype=dtype)
    np.testing.assert_array_equal(model.predict_features(feats, dtype=dtype), e_pf + e_dec)
    sweep = dict(feats, tdp_w=700.0, d_model=4096.0)  # broadcast columns take the smaller chunks
    e_pf, e_dec = model.evaluate_features(sweep, dtype=dtype)
    np.testing.assert_array_equal(model.predict_features(sweep, dtype=dtype), e_pf + e_dec)
    ev = _core.evaluate("energy", [feats[k] for k in model.feature_names], model.theta, dtype=np.dtype(dtype).name,
                        sum=True)
    with pytest.raises(ValueError, match="sum=True"):
        _ = ev.out1
