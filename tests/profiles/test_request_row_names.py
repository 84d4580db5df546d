"""A scheduler's request given to a model's call (``model.predict({...})``, ``predict([{...}, ...])``) was named in
errors as a frame it never made, ``<DataFrame>: ... in data row 3 (1-based, header not counted)``. A mapping is now
``<request>`` / "the request" and a list of them ``<requests>`` / "request 3 of 8", in the schema's errors, the GPU
table's and the model-table messages alike; a file's rows keep their "data row N (1-based, header not counted)"
wording and a DataFrame its own."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

from energylens.errors import ProfileSchemaError, UnknownGpuError
from energylens.model import EnergyModel
from energylens.profiles import load_profiles
from energylens.profiles.datasets import mlenergy_v2

GOOD = dict(model="meta-llama/Llama-3.1-8B-Instruct", gpu="H100", tp=1, batch_size=64, input_tokens=512,
            output_tokens=256)


@pytest.fixture(scope="module")
def model() -> EnergyModel:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return EnergyModel(bootstrap=0).fit(mlenergy_v2().head(60))


@pytest.mark.parametrize("call", ["predict", "predict_phases", "extrapolated", "latency"])
def test_one_mapping_is_the_request(model, call):
    fn = model.latency_model.predict if call == "latency" else getattr(model, call)
    with pytest.raises(ProfileSchemaError) as info:
        fn(dict(GOOD, batch_size=-3))
    text = str(info.value)
    assert text.startswith("<request>: ") and "'batch_size'" in text and " in the request;" in text, text
    assert "data row" not in text and "<DataFrame>" not in text and "drop_invalid" not in text, text
    assert info.value.source == "<request>"


def test_a_list_names_the_request_by_its_place(model):
    requests = [GOOD] * 8
    requests[2] = dict(GOOD, batch_size=-3)
    with pytest.raises(ProfileSchemaError, match=r"^<requests>: .*'batch_size'.* in request 3 of 8 ") as info:
        model.predict(requests)
    assert "data row" not in str(info.value) and "header not counted" not in str(info.value)
    requests[5] = dict(GOOD, gpu="FOO-GPU")
    requests[2] = GOOD
    with pytest.raises(UnknownGpuError, match=r"^<requests>: request 6 of 8 .*column 'gpu'"):
        model.predict(requests)
    with pytest.raises(UnknownGpuError, match=r"^<request>: the request, column 'gpu'"):
        model.predict(dict(GOOD, gpu="FOO-GPU"))


def test_a_file_and_a_frame_keep_their_wording(tmp_path):
    rows = pd.DataFrame([dict(GOOD, energy_j=1.0)] * 3)
    rows.loc[2, "batch_size"] = -3
    path = tmp_path / "runs.csv"
    rows.to_csv(path, index=False)
    with pytest.raises(ProfileSchemaError, match=r"in data row 3 \(1-based, header not counted\)"):
        load_profiles(str(path))
    with pytest.raises(ProfileSchemaError, match=r"^<DataFrame>: .* in data row 3 "):
        load_profiles(rows)
