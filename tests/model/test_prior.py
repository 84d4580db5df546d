"""EnergyModel(prior=..., prior_weight=w): the native fit minimises the energy and TPOT log residuals plus
sqrt(w) (log(theta + c) - log(prior + c)) per parameter (checked against SciPy on the same residuals), w = 0
is the plain fit bit for bit, a large w returns the prior, fewer rows than parameters fit with a prior, the
prior resolves from 'bundled', a model file, a fitted model or values, persists, and bad priors are named."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from energylens import _core
from energylens.cli.main import main as cli_main
from energylens.errors import DegenerateFitWarning
from energylens.model import reference as R
from energylens.model.closed_form import EnergyModel, LatencyModel, bundled_prior, load_model
from energylens.model.prior import DEFAULT_PRIOR_WEIGHT
from energylens.profiles.datasets import mlenergy_v2
from energylens.profiles.features import build_features


@pytest.fixture(scope="module")
def data():
    return mlenergy_v2()


@pytest.fixture(scope="module")
def a100(data):
    """A100 rows: the prior (fitted on H100 rows) has not seen them."""
    return data[data["gpu"].str.contains("A100") & np.isfinite(data["tpot_s"])].reset_index(drop=True)


@pytest.fixture(scope="module")
def h100_prior(data):
    return EnergyModel(bootstrap=0).fit(data[data["gpu"].str.contains("H100")], latency=False)


def _augmented(rows, prior, w, desc):
    f = build_features(rows)
    e, t = rows["energy_j"].to_numpy(float), rows["tpot_s"].to_numpy(float)
    c = 1e-3 * np.asarray(desc.upper)

    def fun(theta):
        return np.concatenate([np.log(R.energy(f, theta) / e), np.log(R.energy_tpot(f, theta) / t),
                               np.sqrt(w) * (np.log(theta + c) - np.log(np.asarray(prior) + c))])
    return fun


def test_the_fit_minimises_the_augmented_residuals(a100, h100_prior):
    scipy = pytest.importorskip("scipy.optimize")
    rows = a100.sample(30, random_state=1)
    w = 0.1
    m = EnergyModel(bootstrap=0, prior=h100_prior, prior_weight=w).fit(rows, latency=False)
    desc = m._desc
    fun = _augmented(rows, h100_prior.theta, w, desc)
    cost = 0.5 * float(fun(m.theta) @ fun(m.theta))
    ref = scipy.least_squares(fun, m.theta, bounds=(np.asarray(desc.lower), np.asarray(desc.upper)),
                              method="trf", x_scale="jac", max_nfev=500)
    assert cost <= ref.cost * (1 + 1e-6) + 1e-12            # SciPy, started there, finds nothing lower
    plain = EnergyModel(bootstrap=0).fit(rows, latency=False)
    assert cost < 0.5 * float(fun(plain.theta) @ fun(plain.theta))  # the plain fit is not its optimum


def test_weight_zero_is_the_plain_fit_and_a_large_weight_returns_the_prior(a100, h100_prior):
    rows = a100.sample(40, random_state=2)
    plain = EnergyModel(bootstrap=0).fit(rows, latency=False)
    zero = EnergyModel(bootstrap=0, prior=h100_prior, prior_weight=0.0).fit(rows, latency=False)
    assert np.array_equal(zero.theta, plain.theta)
    heavy = EnergyModel(bootstrap=0, prior=h100_prior, prior_weight=1e8).fit(rows, latency=False)
    c = 1e-3 * np.asarray(heavy._desc.upper)
    np.testing.assert_allclose(heavy.theta + c, h100_prior.theta + c, rtol=1e-3)
    some = EnergyModel(bootstrap=0, prior=h100_prior).fit(rows, latency=False)
    assert some.options["prior_weight"] == DEFAULT_PRIOR_WEIGHT
    # in between: closer to the prior than the plain fit, in the prior's log distance
    dist = lambda t: float(np.sum((np.log(t + c) - np.log(h100_prior.theta + c)) ** 2))  # noqa: E731
    assert dist(some.theta) < dist(plain.theta)


def test_a_prior_lets_fewer_rows_than_parameters_fit(a100, h100_prior):
    rows = a100.sample(6, random_state=3)
    with pytest.raises(ValueError, match=r"6 measurements for 12 parameters.*or a prior"):
        EnergyModel(bootstrap=0).fit(rows)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        m = EnergyModel(bootstrap=50, prior=h100_prior).fit(rows)
    # the prior identifies the energy parameters; the one warning is the latency model's, fitted without a prior
    assert [str(w.message) for w in caught if issubclass(w.category, DegenerateFitWarning)] == [
        "EnergyModel.fit: no latency model fitted: the profiles carry 6 latency measurement(s) (ttft_s / tpot_s) "
        "for its 10 parameters; predictions get no TTFT / TPOT (profile more rows with ttft_s or tpot_s)"]
    assert m.summary.identifiable and m.summary.n_rows == 6
    assert m.latency_model is None                          # 6 TPOT rows for its 10 parameters: not fitted
    assert np.all(np.isfinite(m.predict(a100, check_range=False)))
    assert len(m.bootstrap_params) >= 10                    # the refits carry the prior too
    # but 6 residuals cannot tell the scatter of a new measurement: no (zero-width) interval
    assert "6 distinct row(s) for 12 parameters" in m.intervals_unavailable()


def test_the_latency_models_too_few_rows_error_offers_no_prior(a100):
    """LatencyModel takes no prior: its error names the remedy it has, more rows that measure latency."""
    with pytest.raises(ValueError, match=r"^LatencyModel.fit: 6 measurements for 10 parameters; the closed form "
                                         r"needs at least 10 \(about 50 are recommended\): more rows with a measured "
                                         r"ttft_s or tpot_s \(the latency model takes no prior\)$"):
        LatencyModel(bootstrap=0).fit(a100.sample(6, random_state=3))



def test_the_prior_resolves_and_persists(tmp_path, a100, h100_prior):
    path = tmp_path / "prior.json"
    h100_prior.save(path)
    rows = a100.sample(30, random_state=4)
    from_file = EnergyModel(bootstrap=0, prior=str(path)).fit(rows)
    from_values = EnergyModel(bootstrap=0, prior=list(h100_prior.theta)).fit(rows)
    assert np.array_equal(from_file.theta, from_values.theta)
    for mapping in (h100_prior.params, {n: p.value for n, p in h100_prior.params.items()}):  # name -> Param / value
        assert EnergyModel(prior=mapping).options["prior"] == tuple(h100_prior.theta)
    assert EnergyModel(prior="bundled").options["prior"] == bundled_prior()
    np.testing.assert_array_equal(bundled_prior(), EnergyModel(bootstrap=0).fit("bundled", latency=False).theta)
    from_file.save(tmp_path / "m.json")
    back = load_model(tmp_path / "m.json")
    assert back.options["prior"] == from_file.options["prior"] and back.options["prior_weight"] == DEFAULT_PRIOR_WEIGHT
    assert np.array_equal(EnergyModel(bootstrap=0, **{k: back.options[k] for k in ("prior", "prior_weight")})
                          .fit(rows).theta, from_file.theta)   # a refit from the file's options is the same fit
    assert from_file.latency_model is not None and "prior" not in from_file.latency_model.options


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"prior": [0.5] * 11}, "11 values for the 12 parameters"),
    ({"prior": [0.5] * 11 + [99.0]}, r"prefill_stall_per_kseq = 99.0 is outside its bounds \[0, 50\]"),
    ({"prior_weight": 0.1}, "prior_weight must be finite and >= 0, and > 0 only with a prior"),
    ({"prior": "bundled", "prior_weight": -1.0}, "prior_weight must be finite"),
    ({"prior": EnergyModel()}, "not fitted yet"),
    ({"prior": "bundle"}, r"prior 'bundle': no such model file; a prior is 'bundled'"),
    ({"prior": {"eta_compute": 0.5}}, r"exactly the parameters of energylens.energy.*missing \['"),
    ({"prior": {"nope": 1.0}}, r"unknown \['nope'\]"),
    ({"prior": object()}, "prior must be 'bundled', a model file, a fitted EnergyModel, 12 numbers"),
])
def test_bad_priors_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        EnergyModel(**kwargs)


def test_native_options_check_the_prior():
    with pytest.raises(ValueError, match="prior_weight > 0 needs prior values"):
        _core.fit("energy", [np.ones(3)] * 26, [np.ones(3)], None, _core.FitOptions(prior_weight=1.0))
    assert _core.FitOptions(prior=None).prior is None
    assert "prior=[" in repr(_core.FitOptions(prior=list(range(12)), prior_weight=0.5))


def test_cli_fit_and_evaluate_with_a_prior(tmp_path, a100, h100_prior, capsys):
    prior = tmp_path / "h100.json"
    h100_prior.save(prior)
    few = tmp_path / "few.csv"
    a100.sample(8, random_state=5).to_csv(few, index=False)
    assert cli_main(["fit", str(few), "-o", str(tmp_path / "m.json"), "--prior", str(prior), "--bootstrap", "0"]) == 0
    assert f"prior: {prior} at weight 0.01" in capsys.readouterr().out
    assert load_model(tmp_path / "m.json").options["prior"] == tuple(h100_prior.theta)
    assert cli_main(["fit", str(few), "-o", str(tmp_path / "n.json"), "--prior-weight", "0.1"]) == 2
    assert "--prior-weight needs --prior" in capsys.readouterr().err
    rows = tmp_path / "a100.csv"
    a100.to_csv(rows, index=False)
    assert cli_main(["evaluate", str(rows), "--splits", "random", "--repeats", "2", "--methods", "energylens",
                     "--prior", str(prior), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "energylens+prior" in out and "\nenergylens " in out
    assert cli_main(["evaluate", str(rows), "--splits", "random", "--repeats", "2", "--methods", "energylens",
                     "--prior", str(prior), "--calibrate", "model", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert all(f"\n{m} " in out for m in ("energylens", "energylens+model", "energylens+prior", "energylens+model+prior"))
    assert cli_main(["evaluate", "bundled", "--prior", "bundled", "--no-progress"]) == 2
    assert "the prior was fitted on the rows it would be scored on" in capsys.readouterr().err
    # the same rows under another name (a copy of the bundled CSV, the shared ML.ENERGY v2 file): by content
    copy = tmp_path / "copy.csv"
    mlenergy_v2().iloc[[5, 9, 2]].to_csv(copy, index=False)
    assert cli_main(["evaluate", str(copy), "--prior", "bundled", "--no-progress"]) == 2
    assert "3 of the 3 rows of" in capsys.readouterr().err
