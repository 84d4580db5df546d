"""The device helpers on a machine without CuPy (any machine: CuPy is hidden here): features_to_device says
CuPy is missing and which wheel brings it, instead of a bare "No module named 'cupy'"."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from energylens.errors import MissingExtraError
from energylens.model.device import features_to_device
from energylens.profiles import read_profiles
from energylens.profiles.features import build_features


def test_features_to_device_names_the_cupy_wheel(monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", None)  # import cupy -> ImportError, installed or not
    features = build_features(read_profiles("bundled").head(3))
    with pytest.raises(MissingExtraError, match=r"needs CuPy, which is not installed: pip install cupy-cuda\d+x"):
        features_to_device(features)
    assert isinstance(MissingExtraError("x"), ImportError)  # an ImportError still catches it
    assert np.isfinite(features["peak_flops_per_s"]).all()
