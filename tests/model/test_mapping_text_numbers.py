"""A number given as text in a Python mapping (``dict(tp="2", ...)``) is a caller's bug (a value read from an
HTTP query or an environment variable and never converted), not a CSV cell: predict and fit priced it as 2 because
the profile schema reads numbers written as text in CSV files. A mapping's text number is now a TypeError naming
the key, the value and the request (or measured row); CSV files and DataFrames keep parsing text numbers. The other
way round, a number where a name belongs (``model=5``, an index into the caller's own list) was an error on
``params_b`` that never named the value ("the model table does not know the model"); it is now a TypeError too."""

import warnings

import numpy as np
import pandas as pd
import pytest

from energylens.model import EnergyModel
from energylens.profiles.datasets import mlenergy_v2

REQUEST = dict(model="meta-llama/Llama-3.1-8B-Instruct", gpu="A100-SXM4-40GB", tp=1, pp=1, batch_size=64, input_tokens=512,
               output_tokens=256)


@pytest.fixture(scope="module")
def model() -> EnergyModel:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return EnergyModel(bootstrap=20).fit(mlenergy_v2().head(60))


@pytest.mark.parametrize("key, value", [("tp", "2"), ("batch_size", "64"), ("input_tokens", " 512"), ("pp", "1"),
                                        ("params_b", "8"), ("dp", "2"), ("output_tokens", b"256")])
@pytest.mark.parametrize("call", ["predict", "predict_phases", "predict_interval", "extrapolated", "latency"])
def test_a_text_number_in_one_request_is_named(model, key, value, call):
    fns = {"predict": model.predict, "predict_phases": model.predict_phases, "extrapolated": model.extrapolated,
           "predict_interval": model.predict_interval, "latency": model.latency_model.predict}
    with pytest.raises(TypeError) as info:
        fns[call](dict(REQUEST, **{key: value}))
    text = str(info.value)
    assert f"'{key}'" in text and repr(value) in text and "the request" in text, text
    assert "not a number" in text, text


@pytest.mark.parametrize("chunk_rows", [1, 3, 4096])
def test_the_request_of_a_list_is_named(model, chunk_rows):
    rows = [dict(REQUEST), dict(REQUEST), dict(REQUEST, batch_size="64"), dict(REQUEST, tp="2")]
    with pytest.raises(TypeError) as info:
        model.predict(rows, chunk_rows=chunk_rows)
    text = str(info.value)
    assert "request 3 of 4" in text and "'batch_size'" in text and "'64'" in text, text
    assert "request 4 of 4" in text and "'tp'" in text and "'2'" in text, text


def test_fit_names_the_measured_row():
    rows = [dict(r) for r in mlenergy_v2().head(20).to_dict("records")]
    rows[5]["energy_j"] = str(rows[5]["energy_j"])
    with pytest.raises(TypeError) as info:
        EnergyModel(bootstrap=0).fit(rows)
    text = str(info.value)
    assert "row 6 of 20" in text and "'energy_j'" in text, text


def test_numbers_and_text_columns_still_pass(model):
    plain = model.predict(REQUEST)
    for same in (dict(REQUEST, tp=1.0), dict(REQUEST, tp=np.int64(1), batch_size=np.float32(64)),
                 dict(REQUEST, precision="bf16", kv_cache_dtype="auto")):
        assert model.predict(same) == pytest.approx(plain, rel=1e-12)
    # a DataFrame of text cells (a CSV read with dtype=str) is read as a file's cells are
    frame = pd.DataFrame([REQUEST]).astype(str)
    np.testing.assert_array_equal(model.predict(frame), plain)


def test_a_csv_file_keeps_its_text_numbers(model, tmp_path):
    path = tmp_path / "configs.csv"
    path.write_text('model,gpu,tp,batch_size,input_tokens,output_tokens\n'
                    'meta-llama/Llama-3.1-8B-Instruct,A100-SXM4-40GB,"1",64,512,256\n')
    assert model.predict(str(path)) == pytest.approx(model.predict(REQUEST), rel=1e-12)


@pytest.mark.parametrize("key, value", [("model", 5), ("model", 3.0), ("gpu", 3), ("precision", 8), ("model", True),
                                        ("kv_cache_dtype", np.int64(8))])
def test_a_number_where_a_name_belongs_is_named(model, key, value):
    with pytest.raises(TypeError) as info:
        model.predict(dict(REQUEST, **{key: value}))
    text = str(info.value)
    assert f"'{key}' holds the number {value}," in text and "the request" in text and "not a name" in text, text
    with pytest.raises(TypeError) as info:
        model.predict([dict(REQUEST), dict(REQUEST, **{key: value})])
    assert "request 2 of 2" in str(info.value), str(info.value)



@pytest.mark.parametrize("key, value", [("model", b"meta-llama/Llama-3.1-8B-Instruct"), ("model", b"x"),
                                        ("gpu", b"A100-SXM4-40GB"), ("precision", bytearray(b"bf16")),
                                        ("task", memoryview(b"chat"))], ids=["bytes-known", "bytes-unknown", "gpu",
                                                                             "bytearray", "memoryview"])
@pytest.mark.parametrize("call", ["predict", "predict_interval"])
def test_bytes_where_a_name_belongs_is_named(model, key, value, call):
    """model=b"x" was read as the name 'x' and failed on params_b ("the model table does not know the model 'x'"),
    a known name's bytes were priced as the text, a bytearray ended in "unhashable type"; a mapping's bytes name is
    a caller's bug (a value never decoded), refused as a text number is, naming the key and the type."""
    fn = getattr(model, call)
    with pytest.raises(TypeError) as info:
        fn(dict(REQUEST, **{key: value}))
    text = str(info.value)
    assert f"'{key}' holds a {type(value).__name__} value" in text and "not text" in text, text
    assert "the request" in text and "params_b" not in text, text
    with pytest.raises(TypeError) as info:
        fn([dict(REQUEST), dict(REQUEST, **{key: value})])
    assert "request 2 of 2" in str(info.value), str(info.value)

def test_a_row_of_a_text_table_is_read_as_its_table(model):
    # frame.iloc[0] of a table read with dtype=str holds the file's text cells: read as the frame is, not refused
    frame = pd.DataFrame([REQUEST]).astype(str)
    np.testing.assert_array_equal(model.predict(frame.iloc[0]), model.predict(frame))
    np.testing.assert_array_equal(model.predict([frame.iloc[0], frame.iloc[0]]), model.predict(pd.concat([frame] * 2)))


def test_a_table_row_beside_a_dict_does_not_excuse_the_dicts_text(model):
    # one Series row in the list switched the check off for every mapping of it: the dict's tp="2" was priced as 2
    frame = pd.DataFrame([REQUEST]).astype(str)
    with pytest.raises(TypeError) as info:
        model.predict([frame.iloc[0], dict(REQUEST, tp="2")])
    assert "request 2 of 2" in str(info.value) and "'tp' holds the text '2'" in str(info.value), str(info.value)


@pytest.mark.parametrize("value", [[[1, 2]], np.array([[1, 2, 3]])], ids=["nested-list", "2d-array"])
def test_one_nested_value_is_not_called_one_value(model, value):
    # tp=[[1, 2]] read "holds one value in a list ... pass the value itself, tp=[1, 2]": that is not one value either
    with pytest.raises(TypeError) as info:
        model.predict(dict(REQUEST, tp=value))
    assert "pass the value itself" not in str(info.value) and "holds 1 value," in str(info.value), str(info.value)
