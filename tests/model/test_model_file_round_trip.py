"""A scheduler saves a model once and predicts from the file for ever: for every kind of model a file holds
(the template, calibrated, fitted toward a prior, with a latency model and a latency calibration, a latency
model alone, an expression model) load gives back the same model, so that predict, predict_interval and the
latency predictions are bit-identical to the fitted model's, and saving the loaded model writes the same file
(all but its creation time)."""

import json

import numpy as np
import pandas as pd
import pytest

from energylens.model import EnergyModel, ExpressionEnergyModel, LatencyModel, load_model
from energylens.profiles.datasets import load_profiles_or_bundled


@pytest.fixture(scope="module")
def rows():
    """The bundled rows with a measured TTFT added (the bundled release measures TPOT only)."""
    b = load_profiles_or_bundled("bundled").reset_index(drop=True)
    noise = np.random.default_rng(0).standard_normal(len(b))
    return b.assign(ttft_s=0.05 * b["input_tokens"] / 1000 * (1 + 0.1 * noise))


KINDS = {
    "template": lambda b: EnergyModel(bootstrap=12).fit(b, latency=False),
    "calibrated": lambda b: EnergyModel(bootstrap=12, calibration="family").fit(b, latency=False),
    "prior": lambda b: EnergyModel(bootstrap=12, prior="bundled", prior_weight=0.01).fit(b.head(30), latency=False),
    "latency": lambda b: EnergyModel(bootstrap=12, latency_calibration="family").fit(b),
    "latency only": lambda b: LatencyModel(bootstrap=12).fit(b),
    "expression": lambda b: EnergyModel.from_expression("2.0*tp*pp*tdp_w*output_tokens/batch_size + 5.0",
                                                        bootstrap=12).fit(b),
}


def _same(a, b):
    if isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b, check_exact=True)
    else:
        np.testing.assert_array_equal(a, b)


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("kind", list(KINDS))
def test_save_load_predict_is_bit_identical(rows, tmp_path, kind):
    model = KINDS[kind](rows)
    path = tmp_path / "m.json"
    model.save(path)
    back = load_model(path)
    assert type(back) is type(model) and back.summary == model.summary
    few = rows.head(40)
    _same(back.predict(rows), model.predict(rows))
    _same(back.predict_interval(few), model.predict_interval(few))
    if kind == "latency":
        assert back.latency_model is not None and back.latency_model.calibration is not None
        _same(back.latency_model.predict(rows), model.latency_model.predict(rows))
        _same(back.latency_model.predict_interval(few), model.latency_model.predict_interval(few))
    if not isinstance(model, (LatencyModel, ExpressionEnergyModel)):
        _same(back.predict_phases(rows), model.predict_phases(rows))
    back.save(tmp_path / "again.json")
    first, again = json.loads(path.read_text()), json.loads((tmp_path / "again.json").read_text())
    assert first.pop("created_unix_s") <= again.pop("created_unix_s")
    assert first == again
