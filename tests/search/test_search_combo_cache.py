"""The memo of per-combination engine values (energylens.search.combo_cache) keys on everything the values
depend on: a GPU registered again under the same name with other figures, or a model spec with other
figures, is searched with its new figures, as a fresh process would search it."""

import dataclasses
import warnings

import numpy as np
import pandas as pd
import pytest

import energylens
from energylens.model import EnergyModel
from energylens.profiles import read_profiles, tables
from energylens.profiles.gpu_table import register_gpu, unregister_gpu
from energylens.search import combo_cache

NAME = "ComboCacheTestGPU"


@pytest.fixture(scope="module")
def model():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return EnergyModel(bootstrap=0, seed=0).fit(read_profiles("bundled").sample(50, random_state=0))


def _search(model, gpu=NAME, spec_model="meta-llama/Meta-Llama-3.1-8B-Instruct"):
    table = pd.DataFrame({"model": [spec_model], "gpu": [gpu], "tp": [1], "batch_size": [32.0],
                          "input_tokens": [512.0], "output_tokens": [256.0]})
    return energylens.search(candidates=table, energy_model=model, bootstrap=False).top


def _register(**figures):
    base = tables.gpu_spec("H100")
    return register_gpu(dataclasses.replace(base, name=NAME, aliases=(), **figures))


def test_reregistered_gpu_is_seen(model):
    try:
        _register(memory_gb=80.0, hbm_bw_gbs=3350.0)
        first = _search(model)
        assert len(combo_cache._CACHE) > 0
        _register(memory_gb=40.0, hbm_bw_gbs=1500.0)
        cached = _search(model)
        combo_cache.clear()
        fresh = _search(model)
    finally:
        unregister_gpu(NAME)
    pd.testing.assert_frame_equal(cached, fresh)  # the memo gives what a fresh computation gives
    assert cached["energy_j"].iloc[0] != first["energy_j"].iloc[0]  # the new figures priced
    assert cached["memory_gib_per_gpu"].iloc[0] == first["memory_gib_per_gpu"].iloc[0]  # weights, KV: same model


def test_calibration_writes_do_not_reach_the_memo(model):
    combo_cache.clear()
    first = _search(model, gpu="H100")
    (entry,) = combo_cache._CACHE.values()
    kept = [a.copy() for a in entry]
    second = _search(model, gpu="H100")
    pd.testing.assert_frame_equal(first, second)
    for a, b in zip(kept, combo_cache._CACHE[next(iter(combo_cache._CACHE))], strict=True):
        np.testing.assert_array_equal(a, b)


def test_model_spec_with_other_figures_is_seen(model):
    spec = tables.model_spec("meta-llama/Meta-Llama-3.1-8B-Instruct")
    other = dataclasses.replace(spec, name="combo-cache-test-model", n_layers=16)
    same = dataclasses.replace(spec, name="combo-cache-test-model")
    kw = dict(gpus="H100", input_tokens=512, output_tokens=256, tp=1, max_num_seqs=[32], energy_model=model,
              bootstrap=False)
    a = energylens.search(model=same, **kw).top
    b = energylens.search(model=other, **kw).top
    combo_cache.clear()
    b_fresh = energylens.search(model=other, **kw).top
    pd.testing.assert_frame_equal(b, b_fresh)
    assert b["energy_j"].iloc[0] < a["energy_j"].iloc[0]  # half the layers


def test_result_rows_features_are_remembered(model, monkeypatch):
    """A scheduler's repeated search pays no feature pass for the same result rows (the explanation's terms and
    range check), and gets the same frame; another running batch is another key."""
    from energylens.search import space as space_module
    passes = []
    real = space_module.combo_features
    monkeypatch.setattr(space_module, "combo_features", lambda frame, specs: passes.append(len(frame)) or real(frame, specs))
    combo_cache.clear()
    first = _search(model, gpu="H100")
    assert passes  # the combos' pass and the result rows' pass
    passes.clear()
    again = _search(model, gpu="H100")
    assert passes == []
    pd.testing.assert_frame_equal(first, again)
    table = pd.DataFrame({"model": ["meta-llama/Meta-Llama-3.1-8B-Instruct"], "gpu": ["H100"], "tp": [1],
                          "batch_size": [16.0], "input_tokens": [512.0], "output_tokens": [256.0]})
    other = energylens.search(candidates=table, energy_model=model, bootstrap=False).top
    assert passes == [1]  # the combo's values remembered; the row at batch 16 is new
    combo_cache.clear()
    fresh = energylens.search(candidates=table, energy_model=model, bootstrap=False).top
    pd.testing.assert_frame_equal(other, fresh)


def test_reregistered_gpu_explanation_is_fresh(model):
    """The result rows' features key on the GPU table's spec by value: the explanation's static terms of a GPU
    registered again with other figures are those of a fresh computation."""
    try:
        _register(memory_gb=80.0, hbm_bw_gbs=3350.0, tdp_w=700.0)
        first = _search(model)
        _register(memory_gb=80.0, hbm_bw_gbs=3350.0, tdp_w=350.0)
        cached = _search(model)
        combo_cache.clear()
        fresh = _search(model)
    finally:
        unregister_gpu(NAME)
    pd.testing.assert_frame_equal(cached, fresh)
    assert cached["prefill_static_j"].iloc[0] != first["prefill_static_j"].iloc[0]


def test_a_feature_switch_set_later_is_seen(model, monkeypatch):
    """An ablation that sets a switch of the feature code (here: no W8A8 quantisation launches) between two
    searches gets what a fresh computation gives, from both memos (combo values, result rows' features)."""
    from energylens.profiles import features
    table = pd.DataFrame({"model": ["meta-llama/Meta-Llama-3.1-8B-Instruct"], "gpu": ["H100"], "tp": [1],
                          "precision": ["fp8"], "batch_size": [32.0], "input_tokens": [512.0], "output_tokens": [256.0]})
    def search():
        return energylens.search(candidates=table, energy_model=model, bootstrap=False).top
    first = search()
    monkeypatch.setattr(features, "ACT_QUANT_LAUNCH_LAYERS", 0.0)
    cached = search()
    combo_cache.clear()
    fresh = search()
    pd.testing.assert_frame_equal(cached, fresh)
    assert cached["energy_j"].iloc[0] != first["energy_j"].iloc[0]


def test_large_result_frames_are_not_remembered(model, monkeypatch):
    """The features of more than MAX_FEATURE_ROWS result rows are computed, not kept (the memo's size bound)."""
    combo_cache.clear()
    monkeypatch.setattr(combo_cache, "MAX_FEATURE_ROWS", 0)
    first = _search(model, gpu="H100")
    assert len(combo_cache._FEATURES) == 0 and len(combo_cache._CACHE) == 1
    monkeypatch.setattr(combo_cache, "MAX_FEATURE_ROWS", 1)
    pd.testing.assert_frame_equal(_search(model, gpu="H100"), first)
    assert len(combo_cache._FEATURES) == 1
