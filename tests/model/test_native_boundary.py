"""The typed native boundary of the model (docs/binding-conventions.md): FitOptions, ClosedFormFit /
FitResult, BootstrapResult, Evaluation and TemplateDescriptor are classes with read-only properties, and
an unknown or mistyped fit option raises TypeError naming it."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from energylens import _core
from energylens.model import EnergyModel
from energylens.model import reference as R
from energylens.profiles.features import build_features

ACCEPTED = ("target", "residual", "aux_weight", "loss", "loss_scale", "max_iterations", "ftol", "xtol", "gtol",
            "initial_damping", "n_starts", "start_spread", "seed", "prior", "prior_weight")


@pytest.fixture(scope="module")
def problem():
    rows = [dict(model=m, params_b=pb, gpu=g, tp=tp, pp=1, batch_size=b, input_tokens=500, output_tokens=200)
            for (m, pb), g, tp, b in itertools.product(
                (("meta-llama/Meta-Llama-3.1-8B-Instruct", 8.03), ("mistralai/Mixtral-8x7B-Instruct-v0.1", 46.70)),
                ("A100-SXM4-40GB", "H100 SXM"), (1, 2, 4), (8, 64, 512))]
    feats = build_features(pd.DataFrame(rows))
    desc = _core.describe_template("energy")
    cols = [feats[n] for n in desc.feature_names]
    return cols, R.energy(feats, desc.init * 1.1)


def test_unknown_fit_option_is_a_type_error_naming_it_and_the_accepted_ones():
    with pytest.raises(TypeError, match=r"unknown option 'n_start'; accepted: target, residual, .*n_starts") as exc:
        _core.FitOptions(n_start=3)
    for name in ACCEPTED:
        assert name in str(exc.value)
    assert _core.FitOptions.option_names == ACCEPTED


def test_fit_option_of_the_wrong_type_names_the_option():
    with pytest.raises(TypeError, match="option 'max_iterations' must be an int, got str"):
        _core.FitOptions(max_iterations="many")
    with pytest.raises(TypeError, match="option 'loss' must be a str, got NoneType"):
        _core.FitOptions(loss=None)
    with pytest.raises(ValueError, match="loss must be 'linear', 'soft_l1' or 'huber', got 'cauchy'"):
        _core.FitOptions(loss="cauchy")
    with pytest.raises(ValueError, match="max_iterations must be >= 1"):
        _core.FitOptions(max_iterations=0)


def test_fit_options_are_read_only_values_with_the_native_defaults():
    o = _core.FitOptions()
    assert (o.target, o.residual, o.loss, o.n_starts, o.max_iterations, o.seed) == ("sum", "relative", "linear", 1,
                                                                                    200, 0)
    o = _core.FitOptions(target="sum_with_aux", residual="log", loss="huber", n_starts=3, seed=7, aux_weight=0.5)
    assert (o.target, o.residual, o.loss, o.n_starts, o.seed, o.aux_weight) == ("sum_with_aux", "log", "huber", 3,
                                                                                 7, 0.5)
    assert "target='sum_with_aux'" in repr(o) and "n_starts=3" in repr(o)
    with pytest.raises(AttributeError):
        o.n_starts = 5


def test_fit_takes_only_fit_options_not_dicts(problem):
    cols, y = problem
    with pytest.raises(TypeError, match="incompatible function arguments"):
        _core.fit("energy", cols, [y], None, {"n_starts": 1})


def test_fit_returns_a_closed_form_fit(problem):
    cols, y = problem
    f = _core.fit("energy", cols, [y], None, _core.FitOptions(n_starts=2, seed=1))
    assert isinstance(f, _core.ClosedFormFit) and isinstance(f.best, _core.FitResult)
    assert f.starts == 2 and 0 <= f.starts_converged <= 2
    assert f.best.params.shape == (12,) and f.best.params.dtype == np.float64
    assert f.best.cost >= 0 and f.best.iterations >= 1 and f.best.evaluations >= f.best.iterations
    assert isinstance(f.best.converged, bool) and isinstance(f.best.status, str)
    assert f.best.status in repr(f) and f.best.status in repr(f.best)
    with pytest.raises(AttributeError):
        f.best.cost = 0.0
    # params is a copy: changing it leaves the result alone
    f.best.params[0] = -1.0
    assert f.best.params[0] != -1.0


def test_bootstrap_returns_a_bootstrap_result(problem):
    cols, y = problem
    opts = _core.FitOptions(seed=3)
    theta = _core.fit("energy", cols, [y], None, opts).best.params
    b = _core.bootstrap("energy", cols, [y], theta, 5, opts)
    assert isinstance(b, _core.BootstrapResult) and b.replicates == 5
    assert b.params.shape == (5, 12) and b.converged.shape == (5,) and b.costs.shape == (5,)
    assert b.converged.dtype == np.bool_
    again = _core.bootstrap("energy", cols, [y], theta, 5, opts)
    np.testing.assert_array_equal(b.params, again.params)  # seeded


def test_evaluate_returns_one_type_whatever_is_asked(problem):
    cols, _ = problem
    theta = _core.describe_template("energy").init
    plain = _core.evaluate("energy", cols, theta)
    aux = _core.evaluate("energy", cols, theta, aux=True)
    jac = _core.evaluate("energy", cols, theta, jacobian=True)
    for ev in (plain, aux, jac):
        assert type(ev) is _core.Evaluation
        assert ev.output_names == ("prefill_energy_j", "decode_energy_j", "step_time_s")
        np.testing.assert_allclose(ev.out0, plain.out0, rtol=1e-14)  # the Jacobian path rounds on its own
        np.testing.assert_allclose(ev.out1, plain.out1, rtol=1e-14)
    assert aux.has_aux and not aux.has_jacobian and aux.out2.shape == plain.out0.shape
    assert jac.has_jacobian and jac.jacobian0.shape == (len(cols[0]), 12) == jac.jacobian1.shape
    with pytest.raises(ValueError, match=r"out2: .*aux=True"):
        _ = plain.out2
    with pytest.raises(ValueError, match=r"jacobian0: .*jacobian=True"):
        _ = aux.jacobian0
    with pytest.raises(AttributeError):
        plain.out0 = None
    assert "energylens.energy.v2" in repr(plain)


def test_template_descriptor_is_a_read_only_class():
    d = _core.describe_template("latency")
    assert isinstance(d, _core.TemplateDescriptor)
    assert d.id == "energylens.latency.v3" and d.n_params == 10 == len(d.param_names)
    assert d.n_features == len(d.feature_names) == len(d.feature_units) == len(d.feature_descriptions)
    assert isinstance(d.param_names, tuple) and isinstance(d.lower, np.ndarray)
    with pytest.raises(AttributeError):
        d.param_names = ()
    d.init[0] = -1.0  # a copy per access: the native table is untouched
    assert d.init[0] > 0
    assert "10 parameters" in repr(d)


def test_model_options_typo_raises_before_any_work():
    with pytest.raises(TypeError, match="n_start"):
        EnergyModel(n_start=3)
