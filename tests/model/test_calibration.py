"""Opt-in calibration (energylens.model.calibration): the shrinkage estimate on hand-computed cases,
unseen keys, persistence, the default left alone, the light predict path, intervals and the CLI flags."""
from __future__ import annotations

import copy
import json
import math
import warnings

import numpy as np
import pandas as pd
import pytest

from energylens.cli.main import main as cli_main
from energylens.errors import ModelFileError
from energylens.model import EnergyModel, load_model
from energylens.model.calibration import row_keys, shrunk_offsets
from energylens.profiles import read_profiles
from energylens.profiles.schema import REQUIRED_COLUMNS
from energylens.profiles.tables import find_model


@pytest.fixture(scope="module")
def v2() -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return read_profiles("bundled")


def raw(frame: pd.DataFrame) -> pd.DataFrame:
    """The required columns as a freshly read table would hold them (the light predict path takes it)."""
    return pd.DataFrame({c: (frame[c].astype(object).to_numpy() if c in ("model", "gpu")
                             else frame[c].to_numpy(dtype=float)) for c in REQUIRED_COLUMNS})


def family(frame: pd.DataFrame) -> np.ndarray:
    return np.array([find_model(m).family for m in frame["model"]])


@pytest.fixture(scope="module")
def biased(v2) -> pd.DataFrame:
    """The bundled rows with the mistral family's energy scaled by 1.6: a bias the shared parameters cannot
    absorb, which the family offset should find."""
    d = raw(v2)
    d.loc[family(v2) == "mistral", "energy_j"] *= 1.6
    return d


@pytest.fixture(scope="module")
def fitted(biased):
    train = biased.iloc[::2].reset_index(drop=True)
    plain = EnergyModel(seed=0, bootstrap=30).fit(train, latency=False)
    cal = EnergyModel(seed=0, bootstrap=30, calibration="family").fit(train, latency=False)
    return train, plain, cal


def test_shrinkage_matches_the_hand_computed_estimate():
    # A: 0.1, 0.3 (mean 0.2); B: -0.1, -0.3, -0.2 (mean -0.2). sigma^2 = 0.04 / 3 = 1/75,
    # tau^2 = (2 * 0.04 + 3 * 0.04 - 2 / 75) / 5 = 13/375, k = 5/13,
    # offsets 0.4 / (2 + 5/13) = 5.2/31 and -0.6 / (3 + 5/13) = -7.8/44.
    r = np.array([0.1, 0.3, -0.1, -0.3, -0.2])
    c = np.array([0, 0, 1, 1, 1])
    off, n, k, within, between, note = shrunk_offsets(r, c)
    assert within == pytest.approx(1 / 75)
    assert between == pytest.approx(13 / 375)
    assert k == pytest.approx(5 / 13)
    np.testing.assert_allclose(off, [5.2 / 31, -7.8 / 44])
    np.testing.assert_array_equal(n, [2, 3])
    assert note == ""


def test_no_between_key_variance_leaves_offsets_at_zero():
    off, _n, k, within, between, note = shrunk_offsets(np.array([0.1, -0.1, 0.1, -0.1]), np.array([0, 0, 1, 1]))
    assert math.isinf(k) and between == 0.0 and within == pytest.approx(0.04 / 2)
    np.testing.assert_array_equal(off, [0.0, 0.0])
    assert "no between-key variance" in note


def test_one_row_per_key_cannot_be_separated():
    off, _n, k, _w, _b, note = shrunk_offsets(np.array([0.5, -0.5]), np.array([0, 1]))
    assert math.isinf(k) and not off.any() and "one training row" in note


def test_no_row_with_a_known_family_is_said_as_such(biased):
    assert "no training row has a key" in shrunk_offsets(np.empty(0), np.empty(0, np.intp))[5]
    d = biased.iloc[:60].reset_index(drop=True)
    d["model"] = [f"acme/custom-{i % 3}" for i in range(len(d))]  # models the model table does not know
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cal = EnergyModel(bootstrap=0, calibration="family").fit(d, latency=False).calibration
    assert cal.keys == () and "one training row" not in cal.note
    assert cal.note.startswith("no training row has a known family (the model table's `family` column")
    assert "no offsets, every row keeps the shared model's prediction" in cal.note


def test_jacobian_of_a_calibrated_model_is_the_derivative_of_predict(fitted):
    """predict = factor x template energy with the offsets fixed once fitted: its derivative, checked against
    central differences of predict itself."""
    train, _plain, cal = fitted
    rows = train.iloc[::7].reset_index(drop=True)
    factors = cal.calibration.factors(rows)
    assert np.ptp(factors) > 0.1  # the mistral offset: a Jacobian without the factors would be off by it
    jac = cal.jacobian(rows)
    for j in range(len(cal.param_names)):
        h = 1e-6 * max(1.0, abs(cal.theta[j]))
        up, down = copy.deepcopy(cal), copy.deepcopy(cal)
        up._theta = cal.theta.copy()
        down._theta = cal.theta.copy()
        up._theta[j] += h
        down._theta[j] -= h
        fd = (up.predict(rows, check_range=False) - down.predict(rows, check_range=False)) / (2 * h)
        scale = np.max(np.abs(fd)) + 1e-300
        assert np.max(np.abs(jac[:, j] - fd)) / scale < 1e-5, cal.param_names[j]


def test_many_rows_give_the_group_mean_and_few_are_pulled_to_zero():
    rng = np.random.default_rng(0)
    r = np.concatenate([0.3 + 0.05 * rng.standard_normal(400), -0.3 + 0.05 * rng.standard_normal(400),
                        [0.3], 0.05 * rng.standard_normal(400)])
    c = np.concatenate([np.zeros(400, int), np.ones(400, int), [2], np.full(400, 3)])
    off, _n, k, *_ = shrunk_offsets(r, c)
    assert off[0] == pytest.approx(r[:400].mean(), rel=1e-3)
    assert abs(off[2]) < 0.3 and off[2] == pytest.approx(0.3 / (1 + k))


def test_family_offset_finds_the_bias_and_leaves_the_shared_parameters(fitted):
    train, plain, cal = fitted
    np.testing.assert_array_equal(plain.theta, cal.theta)  # the 12 parameters are fitted as without it
    c = cal.calibration
    assert c.by == "family" and math.isfinite(c.k) and c.k > 0
    assert c.keys[int(np.argmax(c.offsets))] == "mistral"
    assert math.exp(c.offsets[c.keys.index("mistral")]) > 1.2
    test = raw(read_profiles("bundled")).iloc[1::2]  # the held-out rows, with the same bias
    biased_test = test.assign(energy_j=test["energy_j"] * np.where(family(test) == "mistral", 1.6, 1.0))
    e = biased_test["energy_j"].to_numpy()
    ape = lambda m: np.mean(np.abs(m.predict(biased_test, check_range=False) / e - 1))  # noqa: E731
    assert ape(cal) < ape(plain)


def test_default_is_unchanged(fitted, tmp_path):
    train, plain, _cal = fitted
    assert plain.calibration is None and plain.calibration_by is None
    again = EnergyModel(seed=0, bootstrap=30, calibration=None).fit(train, latency=False)
    np.testing.assert_array_equal(again.predict(train, check_range=False), plain.predict(train, check_range=False))
    plain.save(tmp_path / "m.json")
    assert "calibration" not in json.loads((tmp_path / "m.json").read_text())["energy"]


def test_unseen_key_gets_offset_zero(biased):
    fam = family(biased)
    train, unseen = biased[fam != "gemma-2"], biased[fam == "gemma-2"]
    plain = EnergyModel(seed=0, bootstrap=0).fit(train, latency=False)
    cal = EnergyModel(seed=0, bootstrap=0, calibration="family").fit(train, latency=False)
    assert "gemma-2" not in cal.calibration.keys
    assert not cal.calibration.seen(unseen).any()
    np.testing.assert_array_equal(cal.calibration.factors(unseen), 1.0)
    np.testing.assert_array_equal(cal.predict(unseen, check_range=False), plain.predict(unseen, check_range=False))


def test_light_path_path_and_validated_frame_agree(fitted, tmp_path):
    train, _plain, cal = fitted
    path = tmp_path / "rows.csv"
    train.to_csv(path, index=False)
    fast = cal.predict(train, check_range=False)  # raw frame: the light path
    full = cal.predict(read_profiles(str(path)), check_range=False)
    from_path = cal.predict(str(path), check_range=False)
    np.testing.assert_allclose(fast, full, rtol=1e-12)
    np.testing.assert_allclose(fast, from_path, rtol=1e-12)
    base = _native(cal, train)
    np.testing.assert_allclose(fast, base * cal.calibration.factors(train), rtol=1e-12)
    phases = cal.predict_phases(train, check_range=False)
    np.testing.assert_allclose(phases["energy_j_pred"], fast, rtol=1e-12)


def _native(model, frame):
    from energylens import _core
    ev = _core.evaluate("energy", model._columns(read_profiles_frame(frame)), model.theta)
    return ev.out0 + ev.out1


def read_profiles_frame(frame):
    from energylens.model.base import load_configs
    return load_configs(frame, require_energy=False)


def test_persistence_round_trip(fitted, tmp_path):
    train, _plain, cal = fitted
    cal.save(tmp_path / "m.json")
    back = load_model(tmp_path / "m.json")
    assert back.calibration is not None and back.calibration.keys == cal.calibration.keys
    np.testing.assert_array_equal(back.calibration.offsets, cal.calibration.offsets)
    assert back.calibration.k == cal.calibration.k
    np.testing.assert_array_equal(back.predict(train, check_range=False), cal.predict(train, check_range=False))
    pd.testing.assert_frame_equal(back.predict_interval(train, check_range=False),
                                  cal.predict_interval(train, check_range=False))
    doc = json.loads((tmp_path / "m.json").read_text())
    doc["energy"]["calibration"]["offsets"] = doc["energy"]["calibration"]["offsets"][:-1]
    (tmp_path / "bad.json").write_text(json.dumps(doc))
    with pytest.raises(ModelFileError, match="calibration"):
        load_model(tmp_path / "bad.json")


def test_intervals_scale_with_the_offset_and_unseen_rows_keep_the_default(biased):
    fam = family(biased)
    train, unseen = biased[fam != "gemma-2"].iloc[::2], biased[fam == "gemma-2"]
    plain = EnergyModel(seed=1, bootstrap=30).fit(train, latency=False)
    cal = EnergyModel(seed=1, bootstrap=30, calibration="family").fit(train, latency=False)
    pd.testing.assert_frame_equal(cal.predict_interval(unseen, check_range=False),
                                  plain.predict_interval(unseen, check_range=False))
    iv = cal.predict_interval(train, check_range=False)
    point = cal.predict(train, check_range=False)
    assert np.all(iv["energy_j_lo"].to_numpy() <= point) and np.all(point <= iv["energy_j_hi"].to_numpy())


def test_bad_key_and_missing_column_are_named(fitted):
    with pytest.raises(ValueError, match=r"'famly'.*'family'.*`family` column"):
        EnergyModel(calibration="famly")
    with pytest.raises(ValueError, match="column 'model'"):
        row_keys({"gpu": ["H100"]}, "family")
    with pytest.raises(ValueError, match="calibrated by 'family'"):
        fitted[2].predict_features({n: 1.0 for n in fitted[2].feature_names})


def test_cli_fit_predict_and_evaluate(biased, tmp_path, capsys):
    data = tmp_path / "rows.csv"
    biased.to_csv(data, index=False)
    model = tmp_path / "m.json"
    assert cli_main(["fit", str(data), "-o", str(model), "--calibrate", "family", "--bootstrap", "0"]) == 0
    assert "calibration by family (opt-in)" in capsys.readouterr().out
    m = load_model(model)
    assert m.calibration is not None and m.calibration.by == "family"
    out = tmp_path / "pred.csv"
    assert cli_main(["predict", str(model), str(data), "-o", str(out)]) == 0
    written = pd.read_csv(out)
    np.testing.assert_allclose(written["energy_j_pred"], m.predict(str(data), check_range=False), rtol=1e-9)
    assert written["calibration_key_seen"].all()
    np.testing.assert_allclose(written["calibration_factor"], m.calibration.factors(biased), rtol=1e-12)
    capsys.readouterr()
    assert cli_main(["evaluate", str(data), "--repeats", "1", "--splits", "random", "--methods", "energylens",
                     "--calibrate", "family", "--json", "--no-progress"]) == 0
    methods = {r["method"] for r in json.loads(capsys.readouterr().out)["summary"]}
    assert methods == {"energylens", "energylens+family"}
    with pytest.raises(SystemExit) as exc:
        cli_main(["fit", str(data), "-o", str(model), "--calibrate", "famly"])
    assert exc.value.code == 2
    assert "famly" in capsys.readouterr().err


def test_offset_uncertainty_widens_seen_rows_in_quadrature():
    from energylens.model.calibration import widened, z_of

    assert z_of(0.9) == pytest.approx(1.6448536, rel=1e-6)
    point = np.array([100.0, 100.0, 100.0])
    lo, hi = np.array([80.0, 80.0, 0.0]), np.array([125.0, 125.0, 150.0])
    sd = np.array([0.1, 0.1, 0.1])
    seen = np.array([True, False, True])
    new_lo, new_hi = widened(lo, hi, point, seen, sd, 0.9)
    w = (z_of(0.9) * 0.1) ** 2
    assert new_lo[0] == pytest.approx(100 * math.exp(-math.sqrt(math.log(100 / 80) ** 2 + w)))
    assert new_hi[0] == pytest.approx(100 * math.exp(math.sqrt(math.log(125 / 100) ** 2 + w)))
    assert (new_lo[1], new_hi[1]) == (80.0, 125.0)  # unseen: the default's interval, untouched
    assert new_lo[2] == 0.0 and new_hi[2] > 150.0
    np.testing.assert_array_equal(lo, [80.0, 80.0, 0.0])  # inputs not modified
