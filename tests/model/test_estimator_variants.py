"""The estimator-variant bench (bench/estimator_variants.py, docs/model.md "Accuracy round 5"): its transfer
prior and its bagged predictions on the bundled v2 rows, where the answer is known; the measured table is
the bench's."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("scipy")
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import estimator_variants as EV  # noqa: E402
from energylens.model import EnergyModel  # noqa: E402
from energylens.profiles import read_profiles  # noqa: E402


@pytest.fixture(scope="module")
def rows():
    v2 = read_profiles("bundled").reset_index(drop=True)
    idx = np.random.default_rng(3).permutation(len(v2))
    return v2.iloc[idx[:50]].reset_index(drop=True), v2.iloc[idx[50:90]].reset_index(drop=True), v2


@pytest.fixture(scope="module")
def prior(rows):
    _train, _test, v2 = rows
    EV._PRIOR["theta"] = EnergyModel(bootstrap=0, seed=1).fit(v2.iloc[::2], latency=False).theta
    return EV._PRIOR["theta"]


def _objective(model, frame, theta, lam):
    fun = EV._prior_residuals(model, model._columns(frame), frame["energy_j"].to_numpy(float),
                              frame["tpot_s"].to_numpy(float), EV._PRIOR["theta"], lam)
    r = fun(theta)
    return float(r @ r), r[-len(theta):]


def test_prior_strength_zero_is_the_native_fit_bit_for_bit(rows, prior):
    train, _test, _v2 = rows
    m = EnergyModel(bootstrap=0, seed=0).fit(train, latency=False)
    assert np.array_equal(EV.prior_fit(m, train, 0.0), m.theta)


def test_the_prior_pulls_the_parameters_toward_it_and_lowers_its_own_objective(rows, prior):
    train, _test, _v2 = rows
    m = EnergyModel(bootstrap=0, seed=0).fit(train, latency=False)
    # the data part of the objective equals the native fit's cost x 2 at lam 0 (the same residuals)
    cost0, _ = _objective(m, train, m.theta, 0.0)
    assert cost0 == pytest.approx(2.0 * m.summary.cost, rel=1e-9)
    gaps = []
    for lam in (0.1, 1e6):
        theta = EV.prior_fit(m, train, lam)
        assert _objective(m, train, theta, lam)[0] <= _objective(m, train, m.theta, lam)[0] + 1e-12
        gaps.append(np.linalg.norm(_objective(m, train, theta, 1.0)[1]))
    assert gaps[1] < gaps[0] < np.linalg.norm(_objective(m, train, m.theta, 1.0)[1])
    assert gaps[1] < 1e-2  # a very strong prior lands on the prior


def test_cv_strength_picks_from_the_grid_deterministically(rows, prior):
    train, _test, _v2 = rows
    lam = EV.cv_strength(train, seed=0)
    assert lam in EV.PRIOR_GRID
    assert EV.cv_strength(train, seed=0) == lam


def test_bagged_predictions_are_the_bootstrap_median_and_geometric_mean(rows):
    train, test, _v2 = rows
    med = EV.Variant(EV.VARIANTS["bag_median"], seed=0).fit(train)
    boot = med._model.predict_bootstrap(test)
    assert boot.shape == (len(med._model.bootstrap_params), len(test)) and len(boot) >= 150
    np.testing.assert_array_equal(med.predict_energy(test), np.median(boot, axis=0))
    geo = EV.Variant(EV.VARIANTS["bag_geomean"], seed=0).fit(train)
    np.testing.assert_allclose(geo.predict_energy(test), np.exp(np.log(boot).mean(axis=0)), rtol=1e-12)
    point = EV.Variant(EV.VARIANTS["point"], seed=0).fit(train).predict_energy(test)
    assert not np.array_equal(point, med.predict_energy(test))  # not the point fit under another name


def test_log_mean_parameters_lie_inside_the_bootstrap_cloud(rows):
    train, _test, _v2 = rows
    v = EV.Variant(EV.VARIANTS["param_logmean"], seed=0).fit(train)
    boot = v._model.bootstrap_params
    theta = v._model.theta
    assert np.all(theta >= boot.min(axis=0) * (1 - 1e-12)) and np.all(theta <= boot.max(axis=0) * (1 + 1e-12))
