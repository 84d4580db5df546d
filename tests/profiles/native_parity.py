"""The native row path against the NumPy features, bit for bit (shared by the accuracy-round tests whose feature
changes exist in both: test_step_weights.py, test_token_flops.py)."""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from energylens import _core
from energylens.profiles.features import FEATURE_NAMES, build_features, features_of
from energylens.profiles.light import light_profiles
from energylens.profiles.native_rows import feature_rows, row_inputs


def assert_native_rows_match(df: pd.DataFrame, full_path: Iterable[str]) -> None:
    """Every feature of ``df``'s rows: what fit stacks (feature_rows) equals features_of bit for bit, the C++
    row_features alone within 1e-14, and the named features equal the full (schema) path's."""
    light = light_profiles(df, require_energy=False)
    assert light is not None and row_inputs(light) is not None
    want = features_of(light, light.gpu_specs, light.model_specs)
    stacked = feature_rows(light)  # what fit stacks (NumPy's touched fraction): bit for bit
    ri = row_inputs(light)
    alone = _core.row_features(ri.numbers, ri.codes, ri.n_gpu, ri.n_precision, ri.combos, ri.kv_head_replication)
    for k, name in enumerate(FEATURE_NAMES):
        np.testing.assert_array_equal(stacked[k], want[name], err_msg=name)
        np.testing.assert_allclose(alone[k], want[name], rtol=1e-14, atol=0, err_msg=name)
    reference = build_features(df)
    for name in full_path:
        np.testing.assert_array_equal(stacked[FEATURE_NAMES.index(name)], reference[name], err_msg=name)
