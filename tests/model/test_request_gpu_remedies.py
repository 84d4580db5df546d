"""An unknown or ambiguous GPU in a scheduler's request (``predict(dict(gpu="A100", ...))``) was told to "Write the
one you mean in the file" and to "describe it inline with GPU spec columns in the profile file": a Python caller has no
file. The remedies now say where the name came from: the request's (or requests', measured rows') keys, or the
DataFrame's columns; a file keeps its wording. The inline remedy holds for a mapping: spec keys price the GPU."""

import warnings

import pandas as pd
import pytest

from energylens.errors import UnknownGpuError
from energylens.model import EnergyModel
from energylens.profiles.datasets import mlenergy_v2

REQUEST = dict(model="meta-llama/Llama-3.1-8B-Instruct", gpu="H100", tp=1, batch_size=64, input_tokens=512,
               output_tokens=256)
SPEC_KEYS = dict(gpu_hbm_bw_gbs=3350, gpu_tdp_w=700, gpu_interconnect_bw_gbs=900, gpu_peak_bf16_tflops=989)


@pytest.fixture(scope="module")
def model() -> EnergyModel:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return EnergyModel(bootstrap=0).fit(mlenergy_v2().head(60))


def _message(call, configs) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(UnknownGpuError) as info:
            call(configs)
    return str(info.value)


@pytest.mark.parametrize("gpu", ["A100", "H1000"])
@pytest.mark.parametrize("configs, place, cells", [
    (lambda g: dict(REQUEST, gpu=g), "the request", "keys"),
    (lambda g: [dict(REQUEST), dict(REQUEST, gpu=g)], "the requests", "keys"),
    (lambda g: pd.DataFrame([dict(REQUEST, gpu=g)]), "the DataFrame", "columns"),
])
def test_the_remedy_names_where_the_gpu_came_from(model, gpu, configs, place, cells):
    for call in (model.predict, model.latency_model.predict):
        text = _message(call, configs(gpu))
        assert "in the file" not in text and "profile file" not in text, text
        assert f"GPU spec {cells} in {place}" in text, text
        if gpu == "A100":
            assert f"Write the one you mean in {place} (e.g. A100-SXM4-40GB)" in text, text


def test_fit_names_its_measured_rows(model):
    rows = [dict(r) for r in mlenergy_v2().head(20).to_dict("records")]
    rows[3]["gpu"] = "H1000"
    text = _message(EnergyModel(bootstrap=0).fit, rows)
    assert "GPU spec keys in the measured rows" in text and "profile file" not in text, text


def test_several_unknown_gpus_in_requests(model):
    text = _message(model.predict, [dict(REQUEST, gpu="H1000"), dict(REQUEST, gpu="X9")])
    assert "GPU spec keys in the requests" in text and "profile file" not in text, text


def test_a_file_keeps_its_wording(model, tmp_path):
    path = tmp_path / "configs.csv"
    pd.DataFrame([dict(REQUEST, gpu="H1000")]).to_csv(path, index=False)
    text = _message(model.predict, str(path))
    assert "GPU spec columns in the profile file" in text, text


def test_the_inline_remedy_prices_a_request(model):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert model.predict(dict(REQUEST, gpu="MyGPU", **SPEC_KEYS)) == model.predict(dict(REQUEST, gpu="H100"))
