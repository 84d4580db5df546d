"""FrameColumns (energylens.profiles.frame_columns): a validated frame's features built from NumPy columns
equal those built from the DataFrame itself, bit for bit; GPU specs as gpu_specs_for_profiles gives them."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from feature_parity import assert_same_features

from data_paths import V3
from energylens.profiles import gpu_table
from energylens.profiles.cells import column_values
from energylens.profiles.datasets import mlenergy_v2
from energylens.profiles.features import build_features, features_of
from energylens.profiles.frame_columns import FrameColumns
from energylens.profiles.schema import as_profiles


def _assert_same(frame: pd.DataFrame) -> None:
    validated = as_profiles(frame, require_energy=False).reset_index(drop=True)
    want = features_of(validated)  # the pandas path: every column read from the DataFrame
    got = build_features(frame)  # through FrameColumns
    assert_same_features(got, want)


@pytest.fixture(scope="module")
def bundled() -> pd.DataFrame:
    return mlenergy_v2()


def test_bundled_features_equal_the_frame_path(bundled):
    _assert_same(bundled)
    _assert_same(bundled.iloc[[0]])
    _assert_same(bundled.sample(40, random_state=1))  # a row selection keeps the validated marker


def test_v3_features_equal_the_frame_path():
    if not V3.is_file():
        pytest.skip("ML.ENERGY v3 export not present")
    from energylens.profiles.mlenergy_v3 import mlenergy_v3

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frame = mlenergy_v3(V3)
    # dp / ep, modality, video frames, kv_cache_dtype, fp8 and mxfp4 rows: columns the light path never takes
    _assert_same(frame)


def test_columns_are_converted_once_and_numbers_are_float64(bundled):
    cols = FrameColumns(as_profiles(bundled, require_energy=False))
    tp = cols["tp"]
    assert tp is cols["tp"] and tp.dtype == np.float64
    np.testing.assert_array_equal(tp, bundled["tp"].to_numpy(dtype=np.float64))
    model = cols["model"]
    assert [model.values[c] for c in model.codes[:5]] == bundled["model"].iloc[:5].tolist()
    assert len(cols) == len(bundled) and "gpu" in cols and "no such column" not in cols
    np.testing.assert_array_equal(column_values(bundled, "batch_size"), bundled["batch_size"].to_numpy())


def test_gpu_specs_match_the_profile_pass(bundled):
    validated = as_profiles(bundled, require_energy=False)
    assert FrameColumns(validated).gpu_specs() == gpu_table.gpu_specs_for_profiles(validated)


def test_gpu_spec_columns_take_the_profile_pass(bundled):
    """A frame describing its GPU in spec columns (a GPU no table has) gets the specs from those columns."""
    rows = bundled.iloc[:3].copy()
    base = gpu_table.gpu_spec(str(rows["gpu"].iloc[0]))
    rows = rows.assign(gpu="Lab-GPU-X", gpu_hbm_bw_gbs=base.hbm_bw_gbs * 2, gpu_tdp_w=base.tdp_w,
                       gpu_peak_bf16_tflops=base.peak_bf16_tflops, gpu_memory_gb=base.memory_gb,
                       gpu_interconnect_bw_gbs=base.interconnect_bw_gbs)
    validated = as_profiles(rows, require_energy=False)
    specs = FrameColumns(validated.reset_index(drop=True)).gpu_specs()
    assert specs["Lab-GPU-X"].hbm_bw_gbs == base.hbm_bw_gbs * 2
    _assert_same(rows)


def test_a_registered_user_gpu_resolves_the_same(bundled):
    base = gpu_table.gpu_spec("H100")
    gpu_table.register_gpu(gpu_table.GpuSpec(**{**{f: getattr(base, f) for f in base.__dataclass_fields__},
                                                "name": "Lab-H100-Variant", "aliases": (), "tdp_w": 600.0}))
    try:
        rows = bundled[bundled["gpu"].str.contains("H100")].iloc[:4].assign(gpu="Lab-H100-Variant")
        validated = as_profiles(rows, require_energy=False)
        assert FrameColumns(validated).gpu_specs()["Lab-H100-Variant"].tdp_w == 600.0
        _assert_same(rows)
    finally:
        gpu_table.unregister_gpu("Lab-H100-Variant")
