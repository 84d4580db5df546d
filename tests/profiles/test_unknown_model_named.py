"""A configuration of a model the model table does not know, without ``params_b``, is refused naming the model: the
error said "column 'params_b': missing value ... (the model table does not know the model, ...) in data row 2;
value(s): nan", so a user who predicted ``{"model": "acme/chat-x", ...}`` (and gave no params_b) was not told which
of their models was unknown; among many rows, only the row numbers led to it."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from energylens.errors import ProfileSchemaError
from energylens.model import EnergyModel
from energylens.profiles import load_profiles
from energylens.profiles.datasets import mlenergy_v2

KNOWN = "meta-llama/Llama-3.1-8B-Instruct"
REQUEST = dict(model=KNOWN, gpu="H100", tp=1, batch_size=64, input_tokens=512, output_tokens=256)


def test_the_unknown_models_are_named_once_each_and_the_known_ones_not():
    rows = pd.DataFrame([dict(REQUEST, model=m, energy_j=100.0) for m in
                         ("acme/chat-x", KNOWN, "acme/chat-x", "other/tiny", None)])
    with pytest.raises(ProfileSchemaError) as exc:
        load_profiles(rows)
    text = str(exc.value)
    said = next(line for line in text.splitlines() if "params_b" in line)
    assert "the model table does not know the models 'acme/chat-x', 'other/tiny', so" in said, text
    assert "data rows 1, 3, 4" in said and KNOWN not in said, text
    assert "column 'model': missing value" in text  # the blank model cell: its own problem


def test_more_than_five_are_cut_short():
    rows = pd.DataFrame([dict(REQUEST, model=f"acme/m{i}", energy_j=1.0) for i in range(7)])
    with pytest.raises(ProfileSchemaError, match=r"does not know the models 'acme/m0', .*'acme/m4' \(and 2 more\), so"):
        load_profiles(rows)


def test_a_prediction_names_the_model():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = EnergyModel(bootstrap=0, n_starts=1).fit(mlenergy_v2().head(60))
    with pytest.raises(ProfileSchemaError, match=r"does not know the model 'acme/chat-x', so .* request 2 of 2"):  # (was 'data row 2')
        model.predict([REQUEST, dict(REQUEST, model="acme/chat-x")])
    with pytest.warns(UserWarning, match="acme/chat-x"):  # its architecture estimated from the count given
        assert np.isfinite(model.predict([REQUEST, dict(REQUEST, model="acme/chat-x", params_b=8.0)])).all()
