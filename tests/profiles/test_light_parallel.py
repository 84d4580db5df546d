"""The light path takes data / expert parallelism and the KV-cache dtype (dp, ep, kv_cache_dtype) where every
cell is as the schema would keep it: the same features as the full path bit for bit, the same predictions, and
every cell the schema would refuse or rewrite left to the full path (which raises or canonicalises as before).
A scheduler pricing a DP / EP deployment had paid the full schema per call (4.8 ms against 0.1 ms)."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from feature_parity import assert_light_matches_full

from data_paths import V3
from energylens.errors import ProfileSchemaError
from energylens.model import EnergyModel
from energylens.profiles import load_profiles
from energylens.profiles.datasets import mlenergy_v2
from energylens.profiles.light import light_profiles
from energylens.profiles.native_rows import row_inputs

MOE = "Qwen/Qwen3-30B-A3B"
DENSE = "meta-llama/Llama-3.1-8B-Instruct"


def _frame(**columns) -> pd.DataFrame:
    n = max(len(v) for v in columns.values() if isinstance(v, list)) if columns else 1
    base = {"model": [MOE] * n, "params_b": [30.5] * n, "gpu": ["H100"] * n, "tp": [2] * n, "pp": [1] * n,
            "batch_size": [32.0] * n, "input_tokens": [512.0] * n, "output_tokens": [256.0] * n}
    return pd.DataFrame({**base, **columns})


@pytest.mark.parametrize("columns", [
    {"dp": [1, 2, 4, 8]},
    {"ep": [1, 2, 2, 1]},
    {"dp": [2, 2, 4, 1], "ep": [4, 2, 8, 1]},
    {"kv_cache_dtype": ["auto", "fp8", "bf16", "fp16"]},
    {"dp": [2, 1, 1, 3], "kv_cache_dtype": ["fp8", "auto", "fp8", "auto"], "precision": ["fp8", "bf16", "fp8", "bf16"]},
])
def test_parallel_columns_give_the_full_paths_features(columns):
    assert_light_matches_full(_frame(**columns))


def test_mixed_models_with_ep_only_on_the_moe_rows():
    raw = _frame(model=[MOE, DENSE, MOE, DENSE], params_b=[30.5, 8.0, 30.5, 8.0], ep=[2, 1, 2, 1], dp=[1, 2, 1, 1])
    assert_light_matches_full(raw)


def test_v3_rows_on_the_light_path_equal_the_full_path():
    if not V3.is_file():
        pytest.skip("ML.ENERGY v3 export not present")
    from energylens.profiles.mlenergy_v3 import mlenergy_v3

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        v3 = mlenergy_v3(V3)
    text = v3[v3["modality"] == "text"]
    raw = pd.DataFrame({c: text[c].to_numpy() for c in ("model", "params_b", "gpu", "tp", "pp", "dp", "ep",
                                                         "batch_size", "input_tokens", "output_tokens", "precision",
                                                         "kv_cache_dtype")})
    # the shared export is fixed data whose text rows are all light-path rows (a skip here hid a decline)
    assert light_profiles(raw, require_energy=False) is not None, "the light path declined the v3 text rows"
    assert_light_matches_full(raw)


@pytest.mark.parametrize("columns", [
    {"ep": [2, 1, 1, 1], "model": [DENSE] * 4, "params_b": [8.0] * 4},  # ep > 1 on a dense model
    {"ep": [3, 1, 1, 1]},                                                # ep does not divide tp * pp * dp
    {"dp": [np.nan, 1, 1, 1]},                                           # a blank dp: the schema derives it
    {"dp": [0, 1, 1, 1]},
    {"dp": [1.5, 1, 1, 1]},
    {"kv_cache_dtype": ["float16", "auto", "auto", "auto"]},            # an alias the schema canonicalises
    {"kv_cache_dtype": [" fp8", "auto", "auto", "auto"]},
    {"dp": [2**20, 1, 1, 1]},                                            # tp * pp * dp beyond 2**20 GPUs
])
def test_cells_the_schema_refuses_or_rewrites_go_to_the_full_path(columns):
    raw = _frame(**columns)
    assert light_profiles(raw, require_energy=False) is None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            load_profiles(raw, require_energy=False)
    except ProfileSchemaError:
        return  # refused, as the full path refuses it
    # accepted by the schema after rewriting it (an alias, a blank derived): the model predicts through it
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert np.isfinite(_model().predict(raw)).all()


_MODEL: list[EnergyModel] = []


def _model() -> EnergyModel:
    if not _MODEL:
        _MODEL.append(EnergyModel(bootstrap=0, n_starts=1).fit(mlenergy_v2().sample(60, random_state=0)))
    return _MODEL[0]


def test_the_native_row_pass_declines_parallel_rows_and_predictions_agree():
    """The native pass counts one replica and no EP group: it must decline such rows (features.py prices them),
    and take rows whose dp / ep are 1 and whose KV dtype is auto."""
    plain = light_profiles(_frame(dp=[1, 1], ep=[1, 1], kv_cache_dtype=["auto", "auto"]), require_energy=False)
    assert plain is not None and row_inputs(plain) is not None
    for columns in ({"dp": [2, 1]}, {"ep": [1, 2]}, {"kv_cache_dtype": ["fp8", "auto"]}):
        light = light_profiles(_frame(**columns), require_energy=False)
        assert light is not None and row_inputs(light) is None
    raw = _frame(dp=[1, 2, 4, 2], ep=[1, 2, 8, 4], kv_cache_dtype=["auto", "fp8", "auto", "fp8"])
    model = _model()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        light_pred = model.predict(raw)
        full_pred = model.predict(load_profiles(raw, require_energy=False))
    np.testing.assert_array_equal(light_pred, full_pred)
