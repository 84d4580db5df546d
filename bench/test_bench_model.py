"""pytest-benchmark pairs for the closed-form model: each native call next to its baseline.

    python -m pytest bench/test_bench_model.py --benchmark-enable --benchmark-group-by=group

Rows are the bundled real configurations, resampled (bench_model.py documents the set-up); the
ratio of each pair is what bench/README.md reports. Not collected by the default test run.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pytest_benchmark")

from bench_model import _features_at  # noqa: E402
from energylens import _core  # noqa: E402
from energylens.model import reference as _reference  # noqa: E402

N_EVAL = 1_000_000


@pytest.fixture(scope="module")
def eval_inputs():
    desc = _core.describe_template("energy")
    feats = _features_at(N_EVAL)
    cols = [feats[name] for name in desc.feature_names]
    return desc, feats, cols, desc.init


@pytest.mark.benchmark(group="evaluate-1e6")
def test_evaluate_native_float64(benchmark, eval_inputs):
    _, _, cols, theta = eval_inputs
    benchmark(_core.evaluate, "energy", cols, theta)


@pytest.mark.benchmark(group="evaluate-1e6")
def test_evaluate_numpy_reference(benchmark, eval_inputs):
    _, feats, _, theta = eval_inputs
    benchmark(_reference.energy_phases, feats, theta)


@pytest.fixture(scope="module")
def sweep_inputs():
    from bench_model import _sweep_features

    desc = _core.describe_template("energy")
    feats, _ = _sweep_features(N_EVAL)
    short = [np.atleast_1d(np.asarray(feats[k], dtype=np.float64)) for k in desc.feature_names]
    return feats, short, desc.init


@pytest.mark.benchmark(group="evaluate-sweep-broadcast-1e6")
def test_evaluate_native_broadcast(benchmark, sweep_inputs):
    _, short, theta = sweep_inputs
    benchmark(_core.evaluate, "energy", short, theta)


@pytest.mark.benchmark(group="evaluate-sweep-broadcast-1e6")
def test_evaluate_numpy_reference_broadcast(benchmark, sweep_inputs):
    feats, _, theta = sweep_inputs
    benchmark(_reference.energy_phases, feats, theta)


@pytest.fixture(scope="module")
def fit_inputs():
    from energylens.profiles.datasets import mlenergy_v2
    from energylens.profiles.features import build_features

    frame = mlenergy_v2()
    feats = build_features(frame)
    desc = _core.describe_template("energy")
    idx = np.random.default_rng(0).choice(len(frame), size=50, replace=False)
    sub = {k: np.ascontiguousarray(v[idx]) for k, v in feats.items()}
    y = frame["energy_j"].to_numpy(dtype=np.float64)[idx]
    return desc, sub, [sub[n] for n in desc.feature_names], y


@pytest.mark.benchmark(group="fit-50")
def test_fit_native(benchmark, fit_inputs):
    _, _, cols, y = fit_inputs
    benchmark(_core.fit, "energy", cols, [y], None, _core.FitOptions(n_starts=1))


@pytest.mark.benchmark(group="fit-50")
def test_fit_scipy_least_squares(benchmark, fit_inputs):
    from scipy.optimize import least_squares

    desc, sub, _, y = fit_inputs
    lower, upper, x0 = desc.lower, desc.upper, desc.init
    benchmark(least_squares, lambda t: _reference.energy(sub, t) / y - 1.0, x0,
              jac=lambda t: _reference.energy_jacobian(sub, t) / y[:, None], bounds=(lower, upper),
              method="trf")
