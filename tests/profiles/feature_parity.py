"""Feature dicts compared bit for bit, and the light path against the full one: the checks that test_light,
test_light_parallel, test_frame_columns, test_paths_differential and test_validated_edits_differential each kept a
copy of."""
from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np
import pandas as pd

from energylens.profiles import load_profiles
from energylens.profiles.features import build_features, features_of
from energylens.profiles.light import LightProfiles, light_profiles


def assert_same_features(got: Mapping[str, np.ndarray], want: Mapping[str, np.ndarray]) -> None:
    """The same feature names in the same order, and each feature's values equal bit for bit (NaN where NaN)."""
    assert list(got) == list(want)
    for name in want:
        np.testing.assert_array_equal(got[name], want[name], err_msg=name)


def assert_light_matches_full(raw: pd.DataFrame) -> LightProfiles:
    """The light path takes ``raw`` (``require_energy=False``) and gives the features the full path
    (``load_profiles`` then ``build_features``, its warnings silenced) gives; the light frame returned."""
    light = light_profiles(raw, require_energy=False)
    assert light is not None, "the light path declined a frame it should take"
    got = features_of(light, light.gpu_specs, light.model_specs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = build_features(load_profiles(raw, require_energy=False))
    assert_same_features(got, want)
    return light
