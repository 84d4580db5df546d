"""A model fitted on some GPUs predicting for another: an H200 lies within a factor 2 of an H100 in every
specification the formulas read, so the feature-range check never flagged it, and EnergyModel.predict priced it
without a word (the CLI alone noted it). Python predict now warns once (UnseenGpuWarning, an ExtrapolationWarning)
naming the GPU, its rows and which of its specifications lie outside the fitted GPUs' [min, max];
``model.unseen_gpu(configs)`` gives the per-row flags and that text."""

from __future__ import annotations

import dataclasses
import warnings

import pandas as pd
import pytest

import energylens
from energylens.errors import ExtrapolationWarning, UnseenGpuWarning
from energylens.model import EnergyModel
from energylens.profiles.datasets import mlenergy_v2

COLUMNS = ["model", "params_b", "gpu", "tp", "pp", "batch_size", "input_tokens", "output_tokens"]


@pytest.fixture(scope="module")
def fitted():
    data = mlenergy_v2()  # A100-SXM4-40GB and H100-SXM5-80GB rows
    model = EnergyModel(bootstrap=20, n_starts=1).fit(data.sample(80, random_state=0))
    rows = data[data["model"].str.contains("Llama-3.1-8B")][COLUMNS].head(3).reset_index(drop=True)
    return model, rows


def _caught(call):
    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always")
        out = call()
    return out, [w for w in got if issubclass(w.category, UnseenGpuWarning)]


def test_predict_on_an_h200_names_it_and_its_specs_outside_the_fitted_range(fitted):
    model, rows = fitted
    assert model.summary.gpus == ("A100-SXM4-40GB", "H100-SXM5-80GB")
    h200 = rows.assign(gpu=["H100", "H200", "H200"])
    assert not model.extrapolated(h200).any()  # within the feature ranges' factor: the old check was silent
    _, got = _caught(lambda: model.predict(h200))
    assert len(got) == 1 and issubclass(UnseenGpuWarning, ExtrapolationWarning)
    assert energylens.UnseenGpuWarning is UnseenGpuWarning
    text = str(got[0].message)
    assert text.startswith("EnergyModel.predict: 2 of 3 rows are on GPUs the model was not fitted on "
                           "(H200-SXM-141GB: 2 row(s); "), text
    assert "memory bandwidth 4800 GB/s above the fitted 1555-3350" in text
    assert "memory 141 GB above the fitted 40-80" in text
    assert "peak bf16, peak fp8, TDP, interconnect within the fitted range" in text
    assert "it was fitted on A100-SXM4-40GB, H100-SXM5-80GB" in text
    assert got[0].filename == __file__  # attributed to the caller of predict
    flags, detail = model.unseen_gpu(h200)
    assert flags.tolist() == [False, True, True] and detail is not None and "H200-SXM-141GB: 2 row(s)" in detail


def test_every_prediction_call_warns_and_none_for_fitted_gpus(fitted):
    model, rows = fitted
    l40s = rows.assign(gpu="L40S")
    for call in (model.predict, model.predict_phases, model.predict_interval, model.latency_model.predict,
                 lambda r: model.predict(r.iloc[0].to_dict())):
        _, got = _caught(lambda c=call: c(l40s))
        assert len(got) == 1, call
        assert "L40S: " in str(got[0].message) and "TDP 350 W below the fitted 400-700" in str(got[0].message)
    _, got = _caught(lambda: model.predict(rows.assign(gpu="NVIDIA H100 80GB HBM3")))  # a spelling of a fitted GPU
    assert got == []
    _, got = _caught(lambda: model.predict(l40s, check_range=False))
    assert got == []
    flags, detail = model.unseen_gpu(rows)
    assert not flags.any() and detail is None
    flags, detail = model.unseen_gpu(dict(rows.iloc[0].to_dict(), gpu="B200"))  # a scheduler's request
    assert flags.tolist() == [True] and "B200: 1 row(s); peak bf16 2250 TFLOP/s above the fitted 312-989" in detail


def test_a_model_without_recorded_gpus_says_nothing(fitted):
    model, rows = fitted
    older = EnergyModel()
    vars(older).update(vars(model))
    older.summary = dataclasses.replace(model.summary, gpus=())
    _, got = _caught(lambda: older.predict(rows.assign(gpu="H200")))
    assert got == []
    flags, detail = older.unseen_gpu(rows.assign(gpu="H200"))
    assert not flags.any() and detail is None


def test_chunks_and_a_validated_frame_count_every_row(fitted):
    model, rows = fitted
    many = pd.concat([rows.assign(gpu="H200")] * 5 + [rows], ignore_index=True)
    _, got = _caught(lambda: model.predict(many, chunk_rows=4))
    assert len(got) == 1 and "15 of 18 rows" in str(got[0].message)
    flags, _ = model.unseen_gpu(many)
    assert flags.tolist() == [True] * 15 + [False] * 3
