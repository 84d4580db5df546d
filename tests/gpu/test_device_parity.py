"""CUDA kernel vs the CPU evaluator and the NumPy reference (needs a GPU and CuPy)."""

import numpy as np
import pytest

import energylens
from energylens import _core
from energylens.model import reference as R

pytestmark = pytest.mark.gpu

if energylens.capabilities().cuda_devices == 0:
    pytest.skip(f"no CUDA device: {energylens.capabilities().cuda_devices_note().split('<- ', 1)[-1]}", allow_module_level=True)
cupy = pytest.importorskip("cupy")


@pytest.fixture(scope="module")
def features():
    from energylens.profiles.datasets import mlenergy_v2
    from energylens.profiles.features import build_features

    base = build_features(mlenergy_v2())
    idx = np.random.default_rng(0).integers(0, len(base["tp"]), 200_003)  # not a multiple of the block
    return {k: np.ascontiguousarray(v[idx]) for k, v in base.items()}


@pytest.mark.parametrize("template", ["energy", "latency"])
@pytest.mark.parametrize(("dtype", "rtol"), [("float64", 1e-12), ("float32", 2e-4)])
def test_device_matches_host_and_reference(features, template, dtype, rtol):
    from energylens.model.device import evaluate_device, features_to_device

    desc = _core.describe_template(template)
    theta = desc.init
    dev = features_to_device(features, template, dtype)
    a, b = evaluate_device(template, dev, theta)
    host = _core.evaluate(template, [features[n].astype(dtype) for n in desc.feature_names], theta, False, dtype)
    np.testing.assert_allclose(cupy.asnumpy(a), host.out0, rtol=rtol)
    np.testing.assert_allclose(cupy.asnumpy(b), host.out1, rtol=rtol)
    if template == "energy":
        ref = R.energy_phases(features, theta)
    else:
        ref = R.latency(features, theta)
    np.testing.assert_allclose(cupy.asnumpy(a), ref[0], rtol=max(rtol, 1e-12))
    np.testing.assert_allclose(cupy.asnumpy(b), ref[1], rtol=max(rtol, 1e-12))
