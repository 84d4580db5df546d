"""EnergyModel.params gave a bootstrap interval for every parameter even where the training rows cannot
identify them (no more distinct configurations than parameters): 20 copies of one row gave eta_compute
[0.039, 0.039], a parameter the data cannot pin down shown as known exactly, while `energylens fit` prints
'[no interval: not identified]'. The Python API now agrees: such a parameter's interval is NaN, its
Param says identified=False and the model lists it in unidentified_params, also after a save and load.
The fitted values are unchanged."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from energylens.model import EnergyModel, load_model

ROW = {"model": "meta-llama/Meta-Llama-3.1-8B-Instruct", "gpu": "NVIDIA H100 80GB HBM3", "tp": 1,
       "batch_size": 16.0, "input_tokens": 512.0, "output_tokens": 256.0, "energy_j": 40.0, "tpot_s": 0.012}


def _fit(rows) -> EnergyModel:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return EnergyModel(bootstrap=20).fit(pd.DataFrame(rows))


@pytest.fixture(scope="module")
def copies():
    return _fit([ROW] * 20)


def _identified_rows():
    return [dict(ROW, tp=tp, batch_size=b, input_tokens=i, energy_j=40.0 * tp * 64 / b, tpot_s=0.01 + b / 1e4)
            for tp in (1, 2, 4) for b in (8.0, 32.0, 128.0) for i in (256.0, 1024.0)]


def _check_not_identified(model):
    assert not model.summary.identifiable
    for m in (model, model.latency_model):
        assert m.unidentified_params == m.param_names
        for p in m.params.values():
            assert math.isnan(p.ci_low) and math.isnan(p.ci_high), p  # was [0.039, 0.039] for eta_compute
            assert p.identified is False, p


def test_params_of_unidentifiable_rows_have_no_interval(copies):
    _check_not_identified(copies)


def test_fitted_values_and_replicates_are_kept(copies):
    assert [p.value for p in copies.params.values()] == copies.theta.tolist()
    assert len(copies.bootstrap_params) == 20


def test_model_file_agrees(copies, tmp_path):
    copies.save(tmp_path / "m.json")
    loaded = load_model(tmp_path / "m.json")
    _check_not_identified(loaded)
    assert np.array_equal(loaded.theta, copies.theta)


def test_identified_rows_keep_their_intervals():
    model = _fit(_identified_rows())
    assert model.summary.identifiable
    assert model.unidentified_params == model.summary.unidentified
    for p in model.params.values():
        assert p.identified == (p.name not in model.summary.unidentified)
        assert math.isfinite(p.ci_low) == p.identified, p


def test_unfitted_model_says_it_is_not_fitted():
    with pytest.raises(ValueError, match="not fitted"):
        EnergyModel().unidentified_params  # noqa: B018
