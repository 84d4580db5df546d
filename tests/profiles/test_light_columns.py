"""Every profile column the full path's feature builder reads is either handled by the light path or sends
the frame to the full path: the light path's list of such columns is derived from the architecture
look-up's own (features.ARCH_LOOKUP), and this scans the builder for any other column it reads. It missed
fp8_weight_block, image_tokens_per_image and the vision encoder's columns, so a raw frame dropped those
overrides that the same rows from a file honoured (1855.70 J vs 1828.63 J for fp8_weight_block = 0)."""

import inspect
import re
import warnings

import numpy as np
import pandas as pd
import pytest

from energylens.model import EnergyModel
from energylens.profiles import features, load_profiles, topology
from energylens.profiles.datasets import mlenergy_v2
from energylens.profiles.features import ARCH_LOOKUP
from energylens.profiles.light import _HANDLED, light_profiles

_RAW = {"model": ["Qwen/Qwen3-235B-A22B-Instruct-2507-FP8"] * 2, "params_b": [235.0] * 2,
        "gpu": ["H100-SXM5-80GB"] * 2, "tp": [8, 8], "pp": [1, 1], "batch_size": [64.0, 64.0],
        "input_tokens": [500.0] * 2, "output_tokens": [300.0] * 2}
_READS = re.compile(r'_col\(df, "(\w+)"\)|df\["(\w+)"\]|"(\w+)" in df\.columns')


def _columns_the_builder_reads() -> set[str]:
    source = inspect.getsource(features)
    found = {name for groups in _READS.findall(source) for name in groups if name}
    return found | set(ARCH_LOOKUP) | {topology.DOMAIN_COLUMN}


def test_the_scan_finds_the_columns_it_should():
    cols = _columns_the_builder_reads()
    assert {"compute_precision", "video_frames", "mamba_ssm_cache_dtype", "fp8_weight_block",
            "vision_d_model", "kv_cache_dtype", "model"} <= cols


@pytest.mark.parametrize("column", sorted(_columns_the_builder_reads() - _HANDLED))
def test_a_column_the_builder_reads_sends_the_frame_to_the_full_path(column):
    raw = pd.DataFrame(_RAW)
    assert light_profiles(raw, require_energy=False) is not None  # the plain frame takes the light path
    assert light_profiles(raw.assign(**{column: [1.0, 1.0]}), require_energy=False) is None


@pytest.fixture(scope="module")
def model() -> EnergyModel:
    return EnergyModel(bootstrap=0).fit(mlenergy_v2())


@pytest.mark.parametrize("column, value", [("fp8_weight_block", 0.0), ("vision_patches_per_token", 4.0),
                                           ("vision_layers", 40.0), ("vision_d_model", 2048.0),
                                           ("image_tokens_per_image", 600.0)])
def test_a_raw_frame_honours_an_override_as_the_file_path_does(model, column, value):
    raw = pd.DataFrame(_RAW).assign(**{column: value})
    if column != "fp8_weight_block":
        raw = raw.assign(modality="image", model="Qwen/Qwen2.5-VL-72B-Instruct", params_b=72.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        full = model.predict(load_profiles(raw, require_energy=False), check_range=False)
        got = model.predict(raw, check_range=False)
    np.testing.assert_array_equal(got, full)
