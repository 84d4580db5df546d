"""energylens.search with a model fitted on A100 and H100 rows ranked an H200 deployment first ("Energy decided by
static power during decode") without a word that the model never saw an H200: its specification lies within the
range check's factor 2, so ``extrapolated`` was False, though static and dynamic power there are carried from other
GPUs through the specification. The result now has ``unseen_gpu`` and a note naming the GPU and which of its
specifications lie outside the fitted GPUs' (as predict's UnseenGpuWarning)."""

from __future__ import annotations

import dataclasses
import json
import warnings

import pytest

import energylens
from energylens.model import EnergyModel
from energylens.profiles.datasets import mlenergy_v2

L8 = "meta-llama/Llama-3.1-8B-Instruct"


@pytest.fixture(scope="module")
def model():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return EnergyModel(bootstrap=0, n_starts=1).fit(mlenergy_v2())


def test_a_search_over_an_unseen_gpu_flags_and_names_it(model):
    r = energylens.search(L8, ["H100", "H200"], input_tokens=500, output_tokens=300, energy_model=model,
                          bootstrap=False, top=6, max_num_seqs=[64, 128, 256])
    unseen = (r.top["gpu"] == "H200-SXM-141GB").tolist()
    assert r.top["unseen_gpu"].tolist() == unseen and any(unseen) and not all(unseen)
    assert not r.top["extrapolated"].any()  # within the factor: the range check alone was silent
    n = sum(unseen)
    assert (f"note: {n} of the 6 listed configurations are on GPUs the model was not fitted on (H200-SXM-141GB: "
            f"{n} row(s); memory bandwidth 4800 GB/s above the fitted 1555-3350") in r.summary(), r.summary()
    doc = json.loads(r.to_json())
    assert [row["unseen_gpu"] for row in doc["top"]] == unseen


def test_no_note_on_fitted_gpus_or_for_a_model_without_its_gpus(model):
    r = energylens.search(L8, "H100", input_tokens=500, output_tokens=300, energy_model=model, bootstrap=False,
                          max_num_seqs=[64, 256])
    assert not r.top["unseen_gpu"].any() and "not fitted on" not in r.summary()
    older = EnergyModel()
    vars(older).update(vars(model))
    older.summary = dataclasses.replace(model.summary, gpus=())
    r = energylens.search(L8, "H200", input_tokens=500, output_tokens=300, energy_model=older, bootstrap=False,
                          max_num_seqs=[64, 256])
    assert not r.top["unseen_gpu"].any() and "not fitted on" not in r.summary()
