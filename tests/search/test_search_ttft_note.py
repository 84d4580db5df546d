"""The search says when its TTFT is not fitted: a latency model that saw no measured TTFT (ML.ENERGY v2
and v3 measure TPOT only) leaves the prefill terms at their start values."""
from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

import energylens
from energylens.model import EnergyModel
from energylens.profiles.datasets import mlenergy_v2

KW = dict(input_tokens=512, output_tokens=256, top=2, bootstrap=False)


@pytest.fixture(scope="module")
def models():
    v2 = mlenergy_v2()
    rows = v2[np.isfinite(v2["tpot_s"])].head(80).copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain = EnergyModel(bootstrap=0).fit(rows)
        timed = rows.assign(ttft_s=0.05 + 2e-4 * rows["input_tokens"] * rows["params_b"] / rows["tp"])
        with_ttft = EnergyModel(bootstrap=0).fit(timed)
    return plain, with_ttft


def test_default_and_tpot_only_models_say_ttft_is_not_fitted(models):
    plain, with_ttft = models
    for em in (None, plain):
        r = energylens.search("meta-llama/Llama-3.1-8B-Instruct", "H100", energy_model=em, **KW)
        assert "TTFT not fitted" in r.model_source
    r = energylens.search("meta-llama/Llama-3.1-8B-Instruct", "H100", energy_model=with_ttft, **KW)
    assert "TTFT not fitted" not in r.model_source


def test_a_file_from_before_the_count_is_not_called_unfitted(models, tmp_path):
    path = tmp_path / "m.json"
    models[0].save(path)
    doc = json.loads(path.read_text())
    del doc["latency"]["measured_rows"]
    path.write_text(json.dumps(doc))
    r = energylens.search("meta-llama/Llama-3.1-8B-Instruct", "H100", energy_model=str(path), **KW)
    assert "TTFT not fitted" not in r.model_source
