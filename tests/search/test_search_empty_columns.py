"""An empty result's tables have the columns a non-empty one has, each once. ``energylens search --json`` with
nothing feasible printed pandas' "UserWarning: DataFrame columns are not unique, some columns will be omitted"
on stderr: the empty top-k got the energy terms added with ``idle_j`` a second time (the engine's frame has it),
so ``r.top["idle_j"]`` was a two-column frame rather than a column."""

import warnings

import pytest

import energylens
from energylens.search.api import bundled_model

KW = dict(input_tokens=512, output_tokens=256, top=3)


@pytest.fixture(scope="module")
def results():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the bundled model's range notes
        model = bundled_model()
        empty = energylens.search("meta-llama/Llama-3.1-70B-Instruct", "H100", tpot_limit_s=0.001,
                                  energy_model=model, **KW)
        full = energylens.search("meta-llama/Llama-3.1-70B-Instruct", "H100", energy_model=model, **KW)
    return empty, full


@pytest.mark.parametrize("rate", [None, 5.0])
def test_an_empty_top_has_each_column_once(rate):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = energylens.search("meta-llama/Llama-3.1-70B-Instruct", "H100", tpot_limit_s=0.001, rate_per_s=rate,
                              energy_model=bundled_model(), **KW)
    assert r.empty
    assert r.top.columns.is_unique, r.top.columns[r.top.columns.duplicated()].tolist()
    assert r.to_frame().columns.is_unique


def test_an_empty_top_has_the_columns_of_a_full_one(results):
    empty, full = results
    assert empty.empty and not full.empty
    assert sorted(empty.top.columns) == sorted(full.top.columns)


def test_json_of_an_empty_result_warns_nothing(results):
    empty, _ = results
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        text = empty.to_json()
    assert '"top": []' in text
