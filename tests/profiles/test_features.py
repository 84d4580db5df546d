"""Rows are validated and architectures filled once, in energylens.profiles: build_features takes what
load_profiles validated (or validates through it), and the model adds no checks of its own."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from energylens.errors import ProfileSchemaError
from energylens.profiles import features as FE
from energylens.profiles import schema
from energylens.profiles.schema import as_profiles, load_profiles

ROWS = [dict(model="meta-llama/Meta-Llama-3.1-8B-Instruct", params_b=8.03, gpu="H100 SXM", tp=tp, pp=1,
             batch_size=b, input_tokens=500, output_tokens=200)
        for tp in (1, 2) for b in (8, 64)]
ROWS.append(dict(model="llava-hf/llava-1.5-7b-hf", params_b=7.06, gpu="A100-SXM4-40GB", tp=1, pp=1, batch_size=16,
                 input_tokens=700, output_tokens=100, modality="image"))
ROWS.append(dict(model="mistralai/Mixtral-8x7B-Instruct-v0.1", params_b=46.7, gpu="H100 SXM", tp=2, pp=1,
                 batch_size=32, input_tokens=300, output_tokens=300))


def test_raw_rows_are_validated_by_load_profiles_with_its_messages():
    bad = pd.DataFrame(ROWS).assign(tp=[1, 0, 2, 2, 1, 2])
    with pytest.raises(ProfileSchemaError, match=r"column 'tp': must be an integer >= 1 in data row 2 of the DataFrame \(1-based"):
        FE.build_features(bad)
    with pytest.raises(ProfileSchemaError, match="missing required column.*batch_size"):
        FE.build_features(pd.DataFrame(ROWS).drop(columns=["batch_size"]))


def test_a_validated_frame_is_not_validated_again(monkeypatch):
    frame = load_profiles(pd.DataFrame(ROWS), require_energy=False)

    def fail(*args, **kwargs):
        raise AssertionError("load_profiles ran twice")

    monkeypatch.setattr(schema, "load_profiles", fail)
    assert as_profiles(frame, require_energy=False) is frame
    feats = FE.build_features(frame)
    assert tuple(feats) == FE.FEATURE_NAMES


def test_as_profiles_requires_energy_where_asked():
    frame = load_profiles(pd.DataFrame(ROWS), require_energy=False)
    with pytest.raises(ProfileSchemaError, match="'energy_j': missing value"):
        as_profiles(frame, require_energy=True)
    with pytest.raises(TypeError, match="path .* or a pandas.DataFrame"):
        as_profiles([1, 2, 3])


def test_architecture_is_filled_by_load_profiles_alone():
    raw = pd.DataFrame(ROWS)
    via_raw = FE.build_features(raw)
    via_loaded = FE.build_features(load_profiles(raw, require_energy=False))
    for name in FE.FEATURE_NAMES:
        np.testing.assert_array_equal(via_raw[name], via_loaded[name], err_msg=name)
    assert via_raw["prefill_extra_flops"][4] > 0 and via_raw["prefill_extra_flops"][0] == 0  # the image row



def test_feature_domain_check_names_feature_and_row():
    FE.check_feature_domain("tp", np.array([1.0, 2.0]))
    FE.check_feature_domain("prefill_extra_flops", np.array([0.0]))
    with pytest.raises(ValueError, match=r"feature 'pp' row 1 is 0.5; it must be finite and >= 1"):
        FE.check_feature_domain("pp", np.array([1.0, 0.5]))
    with pytest.raises(ValueError, match=r"feature 'tdp_w' row 0 is 0.0; it must be finite and > 0"):
        FE.check_feature_domain("tdp_w", np.array([0.0]))
