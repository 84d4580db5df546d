"""The realism-ceiling bench (bench/realism_ceiling.py): its oracle, its monotone bound and its noise
estimators on hand-built groups, where the answer is known; the full run on the shared data is the bench."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import latency_term_trials as T  # noqa: E402
import realism_ceiling as C  # noqa: E402
from energylens.model import reference as R  # noqa: E402
from energylens.profiles.features import build_features  # noqa: E402


def _group(t, e, b=None, o=None, s=None) -> dict:
    n = len(t)
    return {"t": np.asarray(t, float), "e": np.asarray(e, float),
            "b": np.asarray(b if b is not None else np.arange(n), float),
            "o": np.asarray(o if o is not None else np.ones(n), float),
            "s": np.asarray(s if s is not None else np.zeros(n), int)}


def test_noise_free_oracle_always_hits():
    # TPOT rising and energy falling with batch: the optimum is the median row itself
    g = _group([0.01, 0.02, 0.03, 0.04, 0.05], [50, 40, 30, 20, 10])
    z = np.random.default_rng(0).standard_normal((400, 5))
    assert C.oracle_hits(g, 0.0, 0.0, z) == 1.0


def test_noise_on_the_median_row_is_a_coin_flip_that_shading_removes():
    g = _group([0.01, 0.02, 0.03, 0.04, 0.05], [50, 40, 30, 20, 10])
    z = np.random.default_rng(1).standard_normal((4000, 5))
    # the optimum (0.03) sits exactly at the limit: unbiased noise keeps it about half the time
    assert C.oracle_hits(g, 0.01, 0.0, z) == pytest.approx(0.5, abs=0.05)
    # shading 3 % (3 sigma) keeps it, and the next row (33 % above) still fails the limit
    assert C.oracle_hits(g, 0.01, 0.03, z) > 0.99


def test_monotone_bound_flags_a_cheaper_smaller_batch_row_that_violates():
    # row 0: smaller batch, cheaper, TPOT above the limit, same series: a model increasing in batch
    # cannot drop it without dropping the optimum (row 1)
    t, e = [0.05, 0.02, 0.03, 0.04], [5, 10, 20, 30]
    assert not C.monotone_reachable(_group(t, e, b=[1, 2, 3, 4]))
    assert C.monotone_reachable(_group(t, e, b=[1, 2, 3, 4], s=[1, 0, 0, 0]))  # another parallelism
    assert C.monotone_reachable(_group(t, e, b=[5, 2, 3, 4]))  # the violator has the larger batch


def test_sigma_reaching_interpolates_between_grid_points():
    by = {"0": {"unshaded": 1.0, "best": 1.0}, "0.01": {"unshaded": 0.8, "best": 0.97},
          "0.02": {"unshaded": 0.7, "best": 0.93}}
    got = C.sigma_reaching(by, 0.95)
    assert got["best"] == pytest.approx(0.015)
    assert got["unshaded"] == pytest.approx(0.0025)


def test_smoothness_recovers_injected_noise():
    rng = np.random.default_rng(2)
    rows = []
    for series in range(200):  # linear TPOT in batch, 3 % log-normal noise
        for b in (8, 16, 32, 64, 128, 256):
            rows.append({"task": "t", "model": f"m{series}", "gpu": "H100", "tp": 1, "pp": 1, "dp": 1, "ep": 1,
                         "n_gpus": 1, "precision": "bf16", "batch_size": float(b),
                         "tpot_s": (0.01 + 1e-4 * b) * np.exp(0.03 * rng.standard_normal())})
    got = C.smoothness(pd.DataFrame(rows))
    assert got["sigma_robust"] == pytest.approx(0.03, rel=0.15)


def test_model_hit_follows_the_search_rule():
    g = _group([0.01, 0.02, 0.03, 0.04, 0.05], [50, 40, 30, 20, 10])
    g["pe"] = g["e"].copy()
    g["pt"] = g["t"].copy()
    assert C.model_hit(g, "pt", 0.0)  # exact TPOT: the median row is admitted and is the cheapest
    g["pt"] = g["t"] * 1.01  # 1 % high: the optimum is excluded, the pick is a dearer row
    assert not C.model_hit(g, "pt", 0.0)
    assert C.model_hit(g, "pt", 0.02)  # shading 2 % admits it again
    g["pt"] = g["t"] * 0.7  # 30 % low: a cheaper row that violates the limit is picked
    assert not C.model_hit(g, "pt", 0.0)


def test_latency_trials_template_variant_is_the_reference_tpot():
    rows = pd.DataFrame([dict(model="Qwen/Qwen3-8B", params_b=8.2, gpu="H100 SXM", tp=tp, pp=1, batch_size=b,
                              input_tokens=300, output_tokens=600, precision="bf16")
                         for tp in (1, 2) for b in (8, 64, 256)])
    f = build_features(rows)
    ph = np.array([0.6, 0.8, 0.4, 20.0, 30.0, 10.0, 0.5, 0.7, 6.0])
    phi = np.array([0.6, 0.8, 0.4, 0.4, 20.0, 30.0, 10.0, 0.0, 0.2, 6.0])  # the template's 10 parameters
    np.testing.assert_allclose(T.tpot_variant(f, ph, "template"), R.latency(f, phi)[1], rtol=1e-12)
    # tp_sync_us = 0, eta_kv = eta_m and no prefill share: every variant is the previous template
    same = ph.copy()
    same[6], same[7], same[8] = same[1], 0.0, 0.0
    phi[9] = 0.0
    for v in T.VARIANTS:
        np.testing.assert_allclose(T.tpot_variant(f, same, v), R.latency(f, phi)[1], rtol=1e-12)
    # the template's tp_sync term adds tau_sync x layers x (tp - 1): zero on the TP-1 rows
    extra = T.tpot_variant(f, ph, "template") - T.tpot_variant(f, ph, "no_tp_sync")
    np.testing.assert_allclose(extra, 6e-6 * f["n_layers"] * (f["tp"] - 1), rtol=1e-9, atol=1e-15)
    slower = ph.copy()
    slower[6] = 0.1  # KV read at 10 % of peak: longer steps, more so at large batch
    r = T.tpot_variant(f, slower, "kv_efficiency") / T.tpot_variant(f, ph, "no_tp_sync")
    assert (r > 1).all() and r[2] > r[0]
