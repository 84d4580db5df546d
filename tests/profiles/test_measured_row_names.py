"""Rows given to ``fit`` as a list of mappings are measurements, not requests: until 2026-12-07 a bad one was named
``<requests>`` / "request 3 of 8", the words of a scheduler's predict call. fit now names them ``<measurements>`` /
"row 3 of 8 (1-based, in the list's order)" (one mapping: ``<measurement>`` / "the measured row"); predict keeps
"request". A mapping lacking a required key said "missing required column(s) 'tp'": of a mapping or a list of them it
now says key(s), a file and a DataFrame keep "column(s)"."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

from energylens.errors import ProfileSchemaError
from energylens.model import EnergyModel
from energylens.profiles import load_profiles
from energylens.profiles.datasets import mlenergy_v2

GOOD = dict(model="meta-llama/Llama-3.1-8B-Instruct", gpu="H100", tp=1, batch_size=64, input_tokens=512,
            output_tokens=256, energy_j=100.0)


@pytest.fixture(scope="module")
def model() -> EnergyModel:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return EnergyModel(bootstrap=0).fit(mlenergy_v2().head(60))


def test_fit_names_a_list_entry_as_a_measured_row():
    rows = [dict(GOOD) for _ in range(8)]
    rows[2]["batch_size"] = -3
    with pytest.raises(ProfileSchemaError) as info:
        EnergyModel(bootstrap=0).fit(rows)
    text = str(info.value)
    assert text.startswith("<measurements>: ") and " in row 3 of 8 (1-based, in the list's order)" in text, text
    assert "request" not in text and info.value.source == "<measurements>"
    with pytest.raises(ProfileSchemaError, match=r"^<measurement>: .*'batch_size'.* in the measured row;") as one:
        EnergyModel(bootstrap=0).fit(dict(GOOD, batch_size=-3))
    assert "request" not in str(one.value)


def test_predict_still_names_requests(model):
    requests = [{k: v for k, v in GOOD.items() if k != "energy_j"}] * 3
    requests[1] = dict(requests[0], batch_size=-3)
    with pytest.raises(ProfileSchemaError, match=r"^<requests>: .* in request 2 of 3 "):
        model.predict(requests)


@pytest.mark.parametrize("call", ["predict_one", "predict_list", "fit_list"])
def test_a_missing_key_is_a_key(model, call):
    given = {k: v for k, v in GOOD.items() if k != "tp"}
    with pytest.raises(ProfileSchemaError) as info:
        if call == "fit_list":
            EnergyModel(bootstrap=0).fit([given] * 3)
        else:
            model.predict(given if call == "predict_one" else [given] * 2)
    text = str(info.value)
    assert "missing required key(s) 'tp'" in text and "column" not in text, text


def test_a_file_and_a_frame_keep_column(tmp_path):
    frame = pd.DataFrame([{k: v for k, v in GOOD.items() if k != "tp"}] * 2)
    path = tmp_path / "runs.csv"
    frame.to_csv(path, index=False)
    for given in (frame, str(path)):
        with pytest.raises(ProfileSchemaError, match=r"missing required column\(s\) 'tp'"):
            load_profiles(given)
