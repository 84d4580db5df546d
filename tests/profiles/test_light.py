"""The light path (energylens.profiles.light) against the full path: the same features bit for bit where it
accepts a frame, and no acceptance of anything the schema would reject, warn about or rewrite (the full
path then raises its usual message)."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from feature_parity import assert_light_matches_full

from data_paths import V3 as V3_CSV
from energylens.model import EnergyModel, LatencyModel
from energylens.profiles import load_profiles
from energylens.profiles.datasets import mlenergy_v2
from energylens.profiles.features import features_of
from energylens.profiles.light import light_profiles

RAW = ("model", "params_b", "gpu", "tp", "pp", "batch_size", "input_tokens", "output_tokens")
V3 = V3_CSV


def _raw(frame: pd.DataFrame, columns, n: int | None = None, seed: int = 0) -> pd.DataFrame:
    """A user's table: the given columns as plain arrays (no attrs), optionally n rows drawn with replacement."""
    idx = np.arange(len(frame)) if n is None else np.random.default_rng(seed).integers(0, len(frame), n)
    return pd.DataFrame({c: frame[c].to_numpy()[idx] for c in columns})


def _assert_same_features(raw: pd.DataFrame) -> None:
    light = assert_light_matches_full(raw)
    np.testing.assert_equal(light.features(), features_of(light, light.gpu_specs, light.model_specs))


@pytest.fixture(scope="module")
def bundled() -> pd.DataFrame:
    return mlenergy_v2()


@pytest.mark.parametrize("extra", [(), ("energy_j",), ("energy_j", "tpot_s", "ttft_s"), ("precision",),
                                   ("precision", "energy_j", "prefill_energy_j", "notes")])
def test_light_features_equal_the_full_path_bit_for_bit(bundled, extra):
    frame = bundled.assign(notes="x") if "notes" in extra else bundled
    _assert_same_features(_raw(frame, (*RAW, *extra)))
    _assert_same_features(_raw(frame, (*RAW, *extra), n=5000, seed=3))


def test_light_features_on_v3_rows_equal_the_full_path():
    if not V3.is_file():
        pytest.skip("ML.ENERGY v3 export not present")
    from energylens.profiles.mlenergy_v3 import mlenergy_v3

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        v3 = mlenergy_v3(V3)
    raw = _raw(v3, (*RAW, "precision"))
    # the shared export is fixed data: every row of it is a light-path row (a skip here hid a decline)
    assert light_profiles(raw, require_energy=False) is not None, "the light path declined the v3 rows"
    _assert_same_features(raw)


def test_categorical_and_object_text_columns_take_the_light_path(bundled):
    raw = _raw(bundled, RAW)
    for kind in ("category", object):
        typed = raw.astype({"model": kind, "gpu": kind})
        _assert_same_features(typed)
    # categories no row uses (a filtered categorical frame) are codes no key may point at
    part = raw.astype({"model": "category", "gpu": "category"}).iloc[:12].reset_index(drop=True)
    assert len(part["model"].cat.categories) > part["model"].nunique()
    _assert_same_features(part)


@pytest.mark.parametrize("spoil", [
    lambda f: f.assign(tp=f["tp"].astype(float).where(f.index != 3, 1.5)),        # not an integer
    lambda f: f.assign(batch_size=f["batch_size"].where(f.index != 2, np.nan)),   # NaN in a required column
    lambda f: f.assign(params_b=f["params_b"].where(f.index != 1, -1.0)),         # out of range
    lambda f: f.assign(output_tokens=f["output_tokens"].where(f.index != 1, np.inf)),
    lambda f: f.assign(model=f["model"].where(f.index != 4, " " + str(f["model"][4]))),  # stripped by the schema
    lambda f: f.assign(model=f["model"].where(f.index != 4, None)),                # blank name
    lambda f: f.assign(model=f["model"].where(f.index != 4, "no-such-model/7B")),  # estimated, with a warning
    lambda f: f.assign(gpu=f["gpu"].where(f.index != 4, "NoSuchGPU")),             # unknown GPU
    lambda f: f.assign(precision="BF16 "),                                         # canonicalised by the schema
    lambda f: f.assign(precision="nope"),
    lambda f: f.assign(energy_j=-1.0),
    lambda f: f.assign(n_gpus=f["tp"] * f["pp"]),                                 # derived columns: full path
    lambda f: f.assign(dp=np.nan),                                                 # derived where blank
    lambda f: f.assign(modality="text"),                                           # (dp / ep / kv: test_light_parallel)
    lambda f: f.assign(gpu_tdp_w=700.0),                                           # inline GPU spec
    lambda f: f.assign(mamba_ssm_cache_dtype="float32"),                          # read by the features
    lambda f: f.assign(tp=f["tp"].astype(str)),                                    # numbers as text
    lambda f: f.assign(tp=True),
    lambda f: f.assign(tp=2 ** 19, pp=4),                                          # each in range, tp x pp not
])
def test_anything_the_schema_would_reject_or_rewrite_takes_the_full_path(bundled, spoil):
    raw = spoil(_raw(bundled, RAW))
    assert light_profiles(raw, require_energy=False) is None


def test_a_validated_frame_or_a_path_is_not_the_light_paths(bundled, tmp_path):
    assert light_profiles(bundled, require_energy=False) is None
    assert light_profiles(str(tmp_path / "x.csv"), require_energy=False) is None
    assert light_profiles(_raw(bundled, RAW), require_energy=True) is None  # no energy_j to fit on


def test_fit_and_predict_on_a_raw_frame_equal_the_validated_frame(bundled):
    raw = _raw(bundled, (*RAW, "energy_j", "tpot_s", "ttft_s"))
    assert light_profiles(raw, require_energy=True) is not None
    validated = load_profiles(raw)
    light = EnergyModel(n_starts=1, bootstrap=20).fit(raw)
    full = EnergyModel(n_starts=1, bootstrap=20).fit(validated)
    np.testing.assert_array_equal(light.theta, full.theta)
    np.testing.assert_array_equal(light.bootstrap_params, full.bootstrap_params)
    assert light.summary == full.summary.__class__(**{**vars(full.summary), "fit_seconds": light.summary.fit_seconds})
    np.testing.assert_array_equal(light.latency_model.theta, full.latency_model.theta)
    np.testing.assert_array_equal(full.predict(raw, check_range=False), full.predict(validated, check_range=False))
    lat = LatencyModel(n_starts=1, bootstrap=0)
    np.testing.assert_array_equal(lat.fit(raw).theta, LatencyModel(n_starts=1, bootstrap=0).fit(validated).theta)


def test_predict_chunks_mixing_light_and_full_paths_agree(bundled):
    model = EnergyModel(n_starts=1, bootstrap=0).fit(bundled)
    raw = _raw(bundled, (*RAW, "precision"), n=3000, seed=5)
    raw.loc[2500:, "precision"] = "BF16"  # the last chunk needs the full path (an alias the schema rewrites)
    whole = model.predict(raw, check_range=False)
    np.testing.assert_array_equal(model.predict(raw, chunk_rows=1000, check_range=False), whole)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        np.testing.assert_array_equal(model.predict(load_profiles(raw, require_energy=False), check_range=False), whole)


def test_a_table_without_params_b_takes_the_light_path_with_the_tables_counts(bundled):
    # the schema fills an absent params_b with the model table's count of each known model; the light
    # path fills it the same way instead of sending a scheduler's request ({"model": ..., "gpu": ...}) to it
    raw = _raw(bundled, tuple(c for c in RAW if c != "params_b"), n=400, seed=7)
    light = light_profiles(raw, require_energy=False)
    assert light is not None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        full = load_profiles(raw, require_energy=False)
    np.testing.assert_array_equal(light["params_b"], full["params_b"].to_numpy(dtype=np.float64))
    _assert_same_features(raw)
    model = EnergyModel(n_starts=1, bootstrap=0).fit(bundled)
    np.testing.assert_array_equal(model.predict(raw, check_range=False), model.predict(full, check_range=False))
    request = raw.iloc[0].to_dict()
    np.testing.assert_array_equal(model.predict(request, check_range=False), model.predict(full.iloc[:1], check_range=False))


def test_a_table_without_params_b_of_a_model_the_table_lacks_takes_the_full_path(bundled):
    raw = _raw(bundled, tuple(c for c in RAW if c != "params_b"), n=5).assign(model="no-such-model/7B")
    assert light_profiles(raw, require_energy=False) is None
    with pytest.raises(ValueError, match="params_b"):
        load_profiles(raw, require_energy=False)
