"""The benchmarks' NumPy baseline (bench/numpy_forward.py, what bench/bench_public.py times the public calls
against) is the template's formula: equal to the package's reference on rows that exercise every term (pp
microbatches, dp replicas, the EP group, scale-out hops, MoE layers). It had drifted from the template after the
pipeline-microbatch and MoE-group changes (32-50 % off on pp rows), so bench_public.py failed its own check."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from energylens.model import EnergyModel
from energylens.model import reference as ref
from energylens.profiles.datasets import mlenergy_v2
from energylens.profiles.features import build_features

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from numpy_forward import energy_forward  # noqa: E402


@pytest.fixture(scope="module")
def fitted():
    frame = mlenergy_v2()
    return EnergyModel(n_starts=1, bootstrap=0).fit(frame), build_features(frame)


def _varied(feats: dict, seed: int) -> dict:
    """The bundled rows' features with pp, dp, ep, MoE layers and scale-out hops drawn per row."""
    rng = np.random.default_rng(seed)
    n = len(feats["tp"])
    out = {k: np.asarray(v, dtype=np.float64).copy() for k, v in feats.items()}
    out["pp"] = rng.choice([1.0, 2.0, 4.0, 8.0], n)
    out["dp"] = rng.choice([1.0, 2.0, 4.0], n)
    out["ep"] = rng.choice([1.0, 2.0, 8.0, 16.0], n)
    out["batch_size"] = rng.choice([1.0, 3.0, 7.0, 64.0, 512.0], n)
    out["a2a_moe_layers"] = rng.choice([0.0, 24.0, 58.0], n)
    out["experts_per_token"] = rng.choice([2.0, 8.0], n)
    out["pp_scale_out_hops"] = rng.choice([0.0, 1.0, 3.0], n)
    return out


@pytest.mark.parametrize("seed", [None, 0, 1])
def test_the_bench_baseline_equals_the_reference_template(fitted, seed):
    model, feats = fitted
    f = dict(feats) if seed is None else _varied(feats, seed)
    want = ref.energy(f, model.theta)
    got = energy_forward(f, model.theta)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    np.testing.assert_allclose(model.predict_features(f), want, rtol=1e-12)
