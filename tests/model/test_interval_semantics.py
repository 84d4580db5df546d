"""What a prediction interval promises: the measurement a training residual r = predicted / measured - 1
stands for is predicted / (1 + r), so a skewed scatter keeps its long tail on its own side; too few
bootstrap refits for the level are said; too few distinct rows give no interval, prior or not."""

import warnings

import numpy as np
import pandas as pd
import pytest

from energylens.cli.main import main
from energylens.errors import IntervalLevelWarning
from energylens.model.closed_form import EnergyModel
from energylens.model.intervals import measurement_factors, replicates_note
from energylens.profiles.datasets import load_profiles_or_bundled


@pytest.fixture(scope="module")
def bundled() -> pd.DataFrame:
    return load_profiles_or_bundled("bundled")


@pytest.fixture(scope="module")
def model(bundled) -> EnergyModel:
    return EnergyModel(bootstrap=200, seed=5).fit(bundled)


def test_measurement_factors_invert_the_residual():
    r = np.array([-0.5, 0.0, 0.25])  # predicted half / equal to / 1.25x the measurement
    np.testing.assert_allclose(measurement_factors(r, 1e9, 12), [2.0, 1.0, 0.8])
    inflated = measurement_factors(r, 24, 12)  # log scatter x sqrt(2), still positive
    np.testing.assert_allclose(np.log(inflated), -np.sqrt(2) * np.log1p(r))
    assert np.all(measurement_factors(np.array([-0.9, 3.0]), 13, 12) > 0)
    np.testing.assert_array_equal(measurement_factors(np.zeros(0), 10, 12), [1.0])


def test_a_skewed_scatter_keeps_its_tail_above_the_prediction(model, bundled):
    """20 % of runs cost 1.8x the model (throttling), the rest exactly what it says: measured / predicted is
    1 or 1.8, so the 90 % interval must reach 1.8x above the prediction and stay at it below (the draws as
    1 + r put the tail at 0.56x below instead)."""
    skew = model.__class__(**model.options, bootstrap=model.bootstrap_replicates)
    skew.__dict__.update({k: v for k, v in model.__dict__.items() if k != "latency_model"})
    skew.latency_model = None
    skew._boot = np.tile(model.theta, (200, 1))  # no parameter scatter: only the measurement's
    ratio = np.where(np.arange(10_000) % 5 == 0, 1.8, 1.0)
    skew._res_samples, skew._res_counts = [np.sort(1.0 / ratio - 1.0)], [10**9]
    rows = bundled.head(50)
    iv = skew.predict_interval(rows, 0.9, check_range=False)
    pred = skew.predict(rows, check_range=False)
    rel_lo = iv["energy_j_lo"].to_numpy() / pred
    rel_hi = iv["energy_j_hi"].to_numpy() / pred
    np.testing.assert_allclose(rel_lo, 1.0, rtol=1e-6)  # (the inflation for 12 of 1e9 residuals)
    np.testing.assert_allclose(rel_hi, 1.8, rtol=1e-6)


def test_too_few_refits_for_the_level_are_said(model, bundled):
    rows = bundled.head(5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.predict_interval(rows, 0.9, check_range=False)  # 200 refits: 5 draws beyond each bound
    with pytest.warns(IntervalLevelWarning, match=r"0.99 interval from 200 bootstrap refits .* bootstrap >= 1000"):
        model.predict_interval(rows, 0.99, check_range=False)
    assert replicates_note(0.9, 100) is None and "bootstrap >= 100" in replicates_note(0.9, 99)


def test_fewer_than_ten_refits_are_named(bundled):
    m = EnergyModel(bootstrap=5).fit(bundled)
    assert m.intervals_unavailable() == "only 5 bootstrap refits: fit with bootstrap >= 10 to get intervals"


def test_no_ttft_interval_without_measured_ttft(model, bundled):
    """The bundled rows carry TPOT only: TTFT is the roofline's start-value estimate, and no residual sizes
    an interval around it."""
    lat = model.latency_model
    assert lat.ttft_fitted is False
    iv = lat.predict_interval(bundled.head(20), check_range=False)
    assert iv["ttft_s_lo"].isna().all() and iv["ttft_s_hi"].isna().all()
    assert (iv["tpot_s_lo"] < iv["tpot_s_hi"]).all()


def test_predict_counts_rows_the_latency_calibration_never_saw(tmp_path, bundled, capsys):
    a100 = bundled[bundled["gpu"].str.contains("A100")]
    h100 = bundled[bundled["gpu"].str.contains("H100")]
    model_path, rows, out = tmp_path / "m.json", tmp_path / "h100.csv", tmp_path / "pred.csv"
    EnergyModel(bootstrap=12, latency_calibration="model").fit(a100).save(model_path)
    h100.to_csv(rows, index=False)
    assert main(["predict", str(model_path), str(rows), "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert f"latency calibrated by model; {len(h100)} of {len(h100)} rows have a key not seen" in err
