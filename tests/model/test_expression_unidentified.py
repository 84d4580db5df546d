"""ExpressionEnergyModel.params (a discovered formula's constants) gave a bootstrap interval for every constant
even where the training rows cannot identify them: 20 copies of one row gave zero-width intervals (c0
[11.06, 11.06]), constants the data cannot pin down shown as known exactly, and predict_interval [40, 40].
As EnergyModel.params does since b762e04: where the rows hold no more distinct configurations than constants,
every constant has a NaN interval and identified=False and unidentified_params lists them all; where they
do, a constant no training row depends on (its derivative zero on every row: c1 of c1*log(pp) with pp = 1
everywhere) is listed alone. The same after save / load; the fitted values are unchanged."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from energylens.errors import ModelFileError
from energylens.model import EnergyModel, load_model

ROW = {"model": "meta-llama/Meta-Llama-3.1-8B-Instruct", "gpu": "NVIDIA H100 80GB HBM3", "tp": 1,
       "batch_size": 16.0, "input_tokens": 512.0, "output_tokens": 256.0, "energy_j": 40.0}
COPIES_EXPR = "0.01*input_tokens + 0.05*output_tokens*tp + 3.0"
LOG_PP_EXPR = "0.01*input_tokens*tp/batch_size + 2.0*log(pp) + 1.0"


def _rows():
    return [dict(ROW, tp=tp, batch_size=b, input_tokens=i, energy_j=40.0 * tp * 64 / b + i / 50)
            for tp in (1, 2, 4) for b in (8.0, 32.0, 128.0) for i in (256.0, 1024.0)]


@pytest.fixture(scope="module")
def copies():
    return EnergyModel.from_expression(COPIES_EXPR, bootstrap=20).fit(pd.DataFrame([ROW] * 20))


@pytest.fixture(scope="module")
def log_pp():
    return EnergyModel.from_expression(LOG_PP_EXPR, bootstrap=20).fit(pd.DataFrame(_rows()))


def _check_not_identified(model):
    s = model.summary
    assert not s.identifiable and s.n_distinct_configs == 1 and s.n_distinct_rows == 1
    assert model.unidentified_params == model.param_names == ("c0", "c1", "c2")
    for p in model.params.values():
        assert math.isnan(p.ci_low) and math.isnan(p.ci_high), p  # was [value, value]
        assert p.identified is False, p
    with pytest.raises(ValueError, match="1 distinct configuration.* for 3 constants"):
        model.predict_interval(pd.DataFrame([ROW]))  # was [40, 40]


def test_copies_of_one_row_identify_no_constant(copies):
    _check_not_identified(copies)


def test_fitted_values_and_replicates_are_kept(copies):
    again = EnergyModel.from_expression(COPIES_EXPR, bootstrap=20).fit(pd.DataFrame([ROW] * 20))
    assert [p.value for p in copies.params.values()] == copies.theta.tolist() == again.theta.tolist()
    assert len(copies._boot) == 20


def test_model_file_agrees(copies, tmp_path):
    copies.save(tmp_path / "m.json")
    loaded = load_model(tmp_path / "m.json")
    _check_not_identified(loaded)
    assert np.array_equal(loaded.theta, copies.theta)


def test_constant_no_row_depends_on_is_not_identified(log_pp, tmp_path):
    assert log_pp.summary.identifiable and log_pp.summary.n_distinct_configs == 18
    assert log_pp.unidentified_params == log_pp.summary.unidentified == ("c1",)  # the log(pp) term's
    for p in log_pp.params.values():
        assert p.identified == (p.name != "c1"), p
        assert math.isfinite(p.ci_low) == p.identified, p
    assert log_pp.predict_interval(pd.DataFrame(_rows()[:2])).notna().all().all()
    log_pp.save(tmp_path / "m.json")
    assert load_model(tmp_path / "m.json").unidentified_params == ("c1",)


def test_identified_constants_keep_their_intervals():
    model = EnergyModel.from_expression("0.01*input_tokens*tp/batch_size + 1.0", bootstrap=20).fit(
        pd.DataFrame(_rows()))
    assert model.unidentified_params == ()
    assert all(p.identified and p.ci_low < p.ci_high for p in model.params.values())


def test_file_naming_an_unknown_constant_unidentified_is_refused(log_pp, tmp_path):
    import json

    log_pp.save(tmp_path / "m.json")
    doc = json.loads((tmp_path / "m.json").read_text())
    doc["energy"]["fit"]["unidentified"] = ["c9"]
    (tmp_path / "bad.json").write_text(json.dumps(doc))
    with pytest.raises(ModelFileError, match="unidentified"):
        load_model(tmp_path / "bad.json")


def test_unfitted_model_lists_nothing():
    assert EnergyModel.from_expression(COPIES_EXPR).unidentified_params == ()
