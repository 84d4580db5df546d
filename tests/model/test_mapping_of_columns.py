"""A mapping given to predict / fit is one configuration (column -> value). A user who passed columns instead, as
pandas' DataFrame constructor takes them (``{"model": [...], "tp": [1, 2], ...}``), got pandas' "TypeError:
unhashable type: 'list'" from deep inside the model-table lookup, naming no column; now the error names the
column, how many values it holds and the two ways to give several rows."""

import warnings

import numpy as np
import pandas as pd
import pytest

from energylens.model import EnergyModel
from energylens.profiles.datasets import mlenergy_v2

REQUEST = dict(model="meta-llama/Llama-3.1-8B-Instruct", gpu="H100", tp=1, batch_size=64, input_tokens=512,
               output_tokens=256)


@pytest.fixture(scope="module")
def model() -> EnergyModel:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return EnergyModel(bootstrap=20).fit(mlenergy_v2().head(60))


@pytest.mark.parametrize("columns", [
    {k: [v, v] for k, v in REQUEST.items()},
    {k: np.array([v, v]) for k, v in REQUEST.items()},
    {k: pd.Series([v, v]) for k, v in REQUEST.items()},
    dict(REQUEST, model=["meta-llama/Llama-3.1-8B-Instruct", "meta-llama/Llama-3.1-70B-Instruct"]),
])
@pytest.mark.parametrize("call", ["predict", "predict_phases", "predict_interval", "extrapolated", "latency", "fit"])
def test_a_mapping_of_columns_is_named(model, columns, call):
    fns = {"predict": model.predict, "predict_phases": model.predict_phases, "extrapolated": model.extrapolated,
           "predict_interval": model.predict_interval, "latency": model.latency_model.predict,
           "fit": lambda c: EnergyModel(bootstrap=0).fit(dict(c, energy_j=[100.0, 200.0]))}
    with pytest.raises(TypeError) as info:
        fns[call](columns)
    text = str(info.value)
    assert "'model'" in text and "2 values" in text, text
    assert "one configuration" in text and "list of mappings" in text and "pandas.DataFrame" in text, text


def test_the_same_columns_as_a_frame_or_as_rows_are_priced(model):
    columns = {k: [v, v] for k, v in REQUEST.items()}
    rows = [dict(REQUEST), dict(REQUEST)]
    np.testing.assert_array_equal(model.predict(pd.DataFrame(columns)), model.predict(rows))
    assert model.predict(dict(REQUEST, tp=np.int64(1), batch_size=np.float64(64))).shape == (1,)  # NumPy scalars


def test_zero_dimensional_arrays_are_the_scalars_they_hold(model):
    """A value a scheduler took from NumPy as a 0-d array (``np.asarray(2)``, ``a.sum(keepdims=False)[()]`` done
    halfway) crashed the schema with pandas' "TypeError: len() of unsized object"; it is the number it holds."""
    zero_d = dict(REQUEST, tp=np.asarray(2), batch_size=np.asarray(64.0), output_tokens=np.asarray(256))
    plain = dict(REQUEST, tp=2, batch_size=64.0, output_tokens=256)
    np.testing.assert_array_equal(model.predict(zero_d), model.predict(plain))
    np.testing.assert_array_equal(model.predict([plain, zero_d]), model.predict([plain, plain]))


@pytest.mark.parametrize("value", [[2], (2,), np.array([2]), pd.Series([2])])
def test_a_value_wrapped_in_a_list_is_named_as_such(model, value):
    # tp=[2] read "the mapping's 'tp' holds 1 values, but a mapping is one configuration": one value, said as many,
    # with the remedy for several rows; it now says the value is wrapped and how to give it
    with pytest.raises(TypeError) as info:
        model.predict(dict(REQUEST, tp=value))
    text = str(info.value)
    assert "'tp' holds one value in a" in text and "tp=2" in text and "1 values" not in text, text
