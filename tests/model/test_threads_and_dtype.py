"""``n_threads=`` reaches every native loop the public API runs (fit, bootstrap, predict, predict_features,
LatencyModel, measure's attribution) and thread counts give the same numbers; ``dtype=np.float32`` runs
the float32 native loop end to end and agrees with float64 within 1e-5 relative."""

from __future__ import annotations

import numpy as np
import pytest

from energylens import _core, parallel
from energylens.measure import attribution_design as attribution_module
from energylens.measure.attribution import attribute
from energylens.measure.trace import synthetic_trace
from energylens.model import EnergyModel, LatencyModel, closed_form
from energylens.profiles.datasets import mlenergy_v2
from energylens.profiles.features import build_features


@pytest.fixture(scope="module")
def profiles():
    return mlenergy_v2()


@pytest.fixture(scope="module")
def model(profiles):
    return EnergyModel(n_starts=1, bootstrap=10).fit(profiles.iloc[:60])


def _recording(monkeypatch, module, name: str) -> list[tuple[int, dict]]:
    """Wrap ``module._core.<name>`` (or ``module.<name>``): record the thread cap and keywords per call."""
    calls: list[tuple[int, dict]] = []
    real = getattr(_core, name)

    def wrapper(*args, **kwargs):
        calls.append((parallel.num_threads(), {"args": args, **kwargs}))
        return real(*args, **kwargs)

    monkeypatch.setattr(module._core, name, wrapper)
    return calls


def test_n_threads_reaches_fit_bootstrap_and_predict(monkeypatch, profiles, model):
    before = parallel.num_threads()
    fits = _recording(monkeypatch, closed_form, "fit")
    boots = _recording(monkeypatch, closed_form, "bootstrap")
    evals = _recording(monkeypatch, closed_form, "evaluate")
    rows = profiles.iloc[:60]
    fitted = EnergyModel(n_starts=1, bootstrap=10).fit(rows, n_threads=1)
    assert fitted.latency_model is not None  # the bundled rows carry latency: its fit is covered too
    fitted.predict(rows, n_threads=1)
    fitted.predict_features(build_features(rows), n_threads=1)
    fitted.latency_model.predict(rows, n_threads=1)
    LatencyModel(n_starts=1, bootstrap=0).fit(rows, n_threads=1)
    assert len(fits) >= 3 and len(boots) >= 2 and len(evals) >= 5
    assert {n for n, _ in fits + boots + evals} == {1}
    assert parallel.num_threads() == before  # the cap is restored after each call


def test_n_threads_reaches_attribution(monkeypatch):
    calls = _recording(monkeypatch, attribution_module, "attribution_fit")
    busy = _recording(monkeypatch, attribution_module, "attribution_busy_time")
    trace, _ = synthetic_trace(seed=3, duration_s=10, noise_w=5, kernel_power_cv=0.1)
    attribute(trace, source="nvml_instant", bootstrap=20, n_threads=1)
    assert calls and busy and {n for n, _ in calls + busy} == {1}


def test_bad_n_threads_is_an_error(model, profiles):
    with pytest.raises(ValueError, match="n_threads"):
        model.predict(profiles.iloc[:5], n_threads=0)


def test_thread_counts_give_the_same_numbers(model, profiles):
    feats = build_features(profiles)
    big = {k: np.tile(v, 200) for k, v in feats.items()}  # > 64k rows: several threads may run
    one = model.predict_features(big, n_threads=1)
    for n in (2, 3, 8):
        np.testing.assert_array_equal(model.predict_features(big, n_threads=n), one)
    np.testing.assert_array_equal(model.predict(profiles, n_threads=2), model.predict(profiles, n_threads=1))


def test_float32_runs_the_float32_loop_end_to_end(monkeypatch, model, profiles):
    feats32 = {k: v.astype(np.float32) for k, v in build_features(profiles).items()}
    evals = _recording(monkeypatch, closed_form, "evaluate")
    out = model.predict_features(feats32, dtype=np.float32)
    assert out.dtype == np.float32
    (_, call), = evals
    assert call["dtype"] == "float32"
    assert all(c.dtype == np.float32 for c in call["args"][1])
    # the caller's float32 columns are used as they are (no cast, no copy)
    assert any(np.shares_memory(c, feats32["tp"]) for c in call["args"][1])


def test_float32_agrees_with_float64(model, profiles):
    feats = build_features(profiles)
    rng = np.random.default_rng(0)
    idx = rng.integers(0, len(profiles), 100_000)
    big = {k: v[idx] * (rng.uniform(0.5, 1.5, len(idx)) if k in ("batch_size", "input_tokens") else 1.0)
           for k, v in feats.items()}
    e64 = model.predict_features(big)
    e32 = model.predict_features({k: v.astype(np.float32) for k, v in big.items()}, dtype=np.float32)
    assert e64.dtype == np.float64 and e32.dtype == np.float32
    np.testing.assert_allclose(e32, e64, rtol=1e-5)
    # scalars broadcast in float32 as well
    spec = {k: (float(v[0]) if k in ("peak_flops_per_s", "hbm_bytes_per_s", "tdp_w", "link_bytes_per_s") else v)
            for k, v in feats.items()}
    np.testing.assert_allclose(model.predict_features(spec, dtype=np.float32),
                               model.predict_features(spec), rtol=1e-5)


def test_unsupported_dtype_is_an_error(model, profiles):
    with pytest.raises(ValueError, match="float32"):
        model.predict_features(build_features(profiles.iloc[:3]), dtype=np.float16)
