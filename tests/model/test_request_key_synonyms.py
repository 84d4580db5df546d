"""A scheduler speaking vLLM's names (``quantization="fp8"``, ``num_gpus=4``, ``kv_dtype="fp8"``) got a price for
bf16 weights, dp = 1 and an auto KV cache: the schema keeps a column it does not know and never reads it, so the
value was dropped in silence (``pipeline_parallel_size`` and the other parallel degrees were already refused). Such a
key or column, in a table without the schema's own (``precision``, ``n_gpus``, ``kv_cache_dtype``), is now a
ProfileSchemaError naming it and the column to rename it to, for mappings, DataFrames and files alike. A mapping's
name is said to be a key (until 2026-12-07 the message called ``{"quantization": "fp8"}``'s key a column), a
frame's or a file's a column."""

import warnings

import pandas as pd
import pytest

from energylens.errors import ProfileSchemaError
from energylens.model import EnergyModel
from energylens.profiles.datasets import mlenergy_v2

REQUEST = dict(model="meta-llama/Llama-3.1-8B-Instruct", gpu="A100-SXM4-40GB", tp=1, batch_size=64,
               input_tokens=512, output_tokens=256)


@pytest.fixture(scope="module")
def model() -> EnergyModel:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return EnergyModel(bootstrap=0).fit(mlenergy_v2().head(60))


@pytest.mark.parametrize("key, value, column", [
    ("quantization", "fp8", "precision"), ("weight_precision", "fp8", "precision"), ("weight_dtype", "fp8", "precision"),
    ("num_gpus", 2, "n_gpus"), ("gpu_count", 2, "n_gpus"), ("world_size", 2, "n_gpus"),
    ("kv_dtype", "fp8", "kv_cache_dtype"), ("cache_dtype", "fp8", "kv_cache_dtype"), ("Quantization", "fp8", "precision"),
])
@pytest.mark.parametrize("form", ["mapping", "frame", "file"])
def test_another_name_of_a_read_column_is_refused(model, tmp_path, key, value, column, form):
    row = dict(REQUEST, **{key: value})
    configs = {"mapping": row, "frame": pd.DataFrame([row]), "file": tmp_path / "configs.csv"}[form]
    if form == "file":
        pd.DataFrame([row]).to_csv(configs, index=False)
        configs = str(configs)
    with pytest.raises(ProfileSchemaError) as info:
        model.predict(configs)
    text = str(info.value)
    word = "key" if form == "mapping" else "column"  # a request's key is not a column (it was called one)
    assert f"{word} {key!r} looks like" in text and f"a {word} named {column!r}" in text, text
    assert f"rename it to {column!r}" in text and ("column" not in text.replace("schema column", "")
                                                   if form == "mapping" else "key" not in text), text


@pytest.mark.parametrize("key, said", [("precison", "by one letter"), ("Precision", "only in case")])
@pytest.mark.parametrize("form", ["mapping", "mappings", "frame"])
def test_a_slip_in_a_name_says_key_for_a_mapping_and_column_for_a_table(model, key, said, form):
    row = dict(REQUEST, **{key: "fp8"})
    configs = {"mapping": row, "mappings": [REQUEST, row], "frame": pd.DataFrame([row])}[form]
    with pytest.raises(ProfileSchemaError) as info:
        model.predict(configs)
    text = str(info.value)
    word = "column" if form == "frame" else "key"
    assert f"{word}(s) {key!r}" in text and said in text and f"rename the {word}(s)" in text, text
    assert info.value.column == key


def test_beside_the_schema_column_it_is_left_alone(model):
    # the schema's own column is given: the other one is the caller's extra data, as any unknown column
    same = model.predict(dict(REQUEST, precision="fp8"))
    assert model.predict(dict(REQUEST, precision="fp8", quantization="fp8")) == same
    assert model.predict(dict(REQUEST, n_gpus=1, num_gpus=1)) == model.predict(REQUEST)


def test_unrelated_extra_keys_still_pass(model):
    assert model.predict(dict(REQUEST, request_id="abc", priority=3)) == model.predict(REQUEST)


def test_the_bundled_data_sets_still_read():
    from energylens.profiles import load_profiles

    assert len(load_profiles("bundled")) > 0
