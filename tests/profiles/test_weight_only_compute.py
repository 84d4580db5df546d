"""A weight-only 8-bit checkpoint named as such (llm-compressor's ``quantized.w8a16``, ``-GPTQ-Int8``) runs its
GEMMs at 16 bits (vLLM's W8A16 kernels): every path that prices it from the name alone (profile rows without a
compute_precision, the light and native row paths, the search by model name and by candidate table) gives it
the 16-bit compute a sweep records from its config.json. Before, the name-only paths priced it as W8A8 (the int8
peak, twice bf16's on an H100, and the activation-quantisation layers)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import energylens
from energylens.profiles import build_features, load_profiles
from energylens.profiles.checkpoints import weight_only_compute
from energylens.search.api import bundled_model

W8A16 = "neuralmagic/Meta-Llama-3.1-8B-Instruct-quantized.w8a16"
W8A8 = "neuralmagic/Meta-Llama-3.1-8B-Instruct-quantized.w8a8"
ROW = {"gpu": "H100", "tp": 1, "batch_size": 64.0, "input_tokens": 2048.0, "output_tokens": 128.0}


def _rows(*cells):
    return pd.DataFrame([{**ROW, "model": m, "precision": p, "compute_precision": c} for m, p, c in cells])


@pytest.fixture(scope="module")
def model():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bundled_model()


def test_the_rule():
    assert weight_only_compute(W8A16, "int8") == "bf16"
    assert weight_only_compute("Qwen/Qwen2.5-72B-Instruct-GPTQ-Int8", "int8") == "bf16"
    assert weight_only_compute(W8A8, "int8") == ""              # W8A8: the precision table's (int8 GEMMs)
    assert weight_only_compute("Qwen/Qwen3-8B-FP8", "fp8") == ""  # the name does not say
    assert weight_only_compute(W8A16, "fp8") == ""               # a what-if format is not the checkpoint's
    assert weight_only_compute("Qwen/Qwen2.5-7B-Instruct-AWQ", "int4") == ""  # 4-bit computes at 16 anyway


def test_features_give_the_named_checkpoint_16_bit_compute():
    f = build_features(_rows((W8A16, "int8", ""), (W8A16, "int8", "bf16"), (W8A8, "int8", ""), (W8A16, "fp8", "")))
    peak = f["peak_flops_per_s"]
    assert peak[0] == peak[1] == pytest.approx(989e12)
    assert peak[2] == pytest.approx(1979e12) and peak[3] == pytest.approx(1979e12)
    for name, values in f.items():  # the blank row is the explicit bf16 row, every feature
        np.testing.assert_array_equal(values[0], values[1], err_msg=name)


def test_every_predict_path_agrees(model):
    blank = _rows((W8A16, "int8", "")).drop(columns="compute_precision")
    explicit = model.predict(_rows((W8A16, "int8", "bf16")))
    w8a8 = model.predict(_rows((W8A8, "int8", "")))
    for got in (model.predict(blank), model.predict(blank.drop(columns="precision")),
                model.predict(blank.to_dict("records")[0]), model.predict(load_profiles(blank, require_energy=False))):
        np.testing.assert_array_equal(got, explicit)
    assert not np.allclose(explicit, w8a8)


def test_search_by_name_and_by_candidates_price_it_as_the_explicit_row(model):
    axes = {"input_tokens": 2048, "output_tokens": 128, "tp": [1], "max_num_seqs": [64], "energy_model": model}
    by_name = energylens.search(W8A16, "H100", **axes).top.iloc[0]
    table = pd.DataFrame([{**ROW, "model": W8A16, "compute_precision": "bf16"}])
    explicit = energylens.search(candidates=table, energy_model=model).top.iloc[0]
    blank = energylens.search(candidates=table.drop(columns="compute_precision"), energy_model=model).top.iloc[0]
    assert by_name["precision"] == "int8"
    for col in ("energy_j", "ttft_s", "tpot_s"):
        assert by_name[col] == explicit[col] == blank[col], col
    what_if = energylens.search(W8A16, "H100", precision=["fp8"], **axes).top.iloc[0]
    fp8 = energylens.search(candidates=table.assign(precision="fp8", compute_precision="fp8"),
                            energy_model=model).top.iloc[0]
    assert what_if["ttft_s"] == fp8["ttft_s"] and what_if["ttft_s"] < by_name["ttft_s"]
