"""Pipeline parallelism in the roofline (cpp/include/energylens/roofline.hpp, energylens.model.reference):
a replica's B_r sequences move through its pp stages in m = min(max(B_r, 1), pp) microbatches, each stage
streams its weights once per microbatch, and a prompt passes the stages one after another.

What physics demands of that, on the native templates and the NumPy reference alike: PP never shortens a
lone sequence's decode step or a prompt's TTFT; with a full pipeline (B_r >= pp) a step equals a tp-only
replica's step at B_r / pp sequences; the analytic Jacobians hold below, at and above m = pp; pp = 1 is
unchanged.
"""
from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from energylens import _core
from energylens.model import reference as R
from energylens.profiles import features as FE

MODELS = [("meta-llama/Meta-Llama-3.1-70B-Instruct", 70.552), ("mistralai/Mixtral-8x7B-Instruct-v0.1", 46.703)]


def _profiles(pps=(1, 2, 4, 8), batches=(1, 1.5, 3, 8, 64), tps=(1, 2)) -> pd.DataFrame:
    rows = [dict(model=m, params_b=pb, gpu="H100", tp=tp, pp=pp, batch_size=b, input_tokens=1000,
                 output_tokens=200, precision="bf16")
            for (m, pb), tp, pp, b in itertools.product(MODELS, tps, pps, batches)]
    return pd.DataFrame(rows)


def _latency_phi(theta_pp=0.0, overheads=True):
    phi = R.LATENCY_PARAM_INIT.copy()
    phi[R.LATENCY_PARAM_NAMES.index("pp_bubble")] = theta_pp
    if not overheads:
        for name in ("layer_overhead_us", "allreduce_latency_us", "seq_overhead_us", "tp_sync_us"):
            phi[R.LATENCY_PARAM_NAMES.index(name)] = 0.0
    return phi


def _native(template, feats, params):
    cols = [np.ascontiguousarray(np.broadcast_to(feats[n], feats["tp"].shape), dtype=np.float64)
            for n in R.REQUIRED_FEATURES]
    ev = _core.evaluate(template, cols, np.asarray(params, dtype=np.float64))
    return ev.out0, ev.out1


@pytest.mark.parametrize("theta_pp", [0.0, 0.3])
def test_pp_never_shortens_a_lone_sequence_or_a_prompt(theta_pp):
    df = _profiles(batches=(1,))
    f = FE.build_features(df)
    phi = _latency_phi(theta_pp)
    for ttft, tpot in (R.latency(f, phi), _native("latency", f, phi)):
        frame = df.assign(ttft=ttft, tpot=tpot)
        base = frame[frame["pp"] == 1].set_index(["model", "tp"])
        for pp, rows in frame[frame["pp"] > 1].groupby("pp"):
            rows = rows.set_index(["model", "tp"])
            # one sequence: the stages run one after another, each streaming its share of the weights
            assert (rows["tpot"] >= base["tpot"] * (1 - 1e-12)).all(), pp
            # a prompt passes every stage in turn: PP adds no parallelism to one prefill
            assert (rows["ttft"] >= base["ttft"] * (1 - 1e-12)).all(), pp


@pytest.mark.parametrize("pp", [2, 4, 8])
def test_a_full_pipeline_steps_like_a_tp_replica_at_its_microbatch(pp):
    """B_r >= pp: the round is pp stage-times of a B_r / pp microbatch = a pp = 1 step at B_r / pp
    sequences (overheads off and theta_pp = 0: the roofline alone). Dense rows: a MoE microbatch touches
    fewer experts than the replica's batch, which the features take at the whole batch (an upper bound,
    docs/model.md)."""
    b = 64.0
    dense = [MODELS[0]]
    tps = (1, 2) if pp < 8 else (1,)  # inside one 8-GPU domain (no scale-out PP hops)
    df = _profiles(pps=(pp,), batches=(b,), tps=tps).head(len(tps))
    ref = _profiles(pps=(1,), batches=(b / pp,), tps=tps).head(len(tps))
    assert set(df["model"]) == set(ref["model"]) == {dense[0][0]}
    phi = _latency_phi(0.0, overheads=False)
    got = R.latency(FE.build_features(df), phi)[1]
    want = R.latency(FE.build_features(ref), phi)[1]
    np.testing.assert_allclose(got, want, rtol=1e-12)
    # and that is faster than one tp replica running all B_r: PP pays off only once the pipeline is full
    one = R.latency(FE.build_features(_profiles(pps=(1,), batches=(b,), tps=tps).head(len(tps))), phi)[1]
    assert (got <= one * (1 + 1e-12)).all()


def test_weights_streamed_once_per_microbatch_in_energy_too():
    """The energy template's step time and decode energy grow with pp at one sequence (idle stages keep
    drawing static power; the weights are streamed by each stage in turn)."""
    df = _profiles(batches=(1,), tps=(1,))
    f = FE.build_features(df)
    theta = R.ENERGY_PARAM_INIT.copy()
    _, dec = R.energy_phases(f, theta)
    frame = df.assign(dec=dec)
    for model, rows in frame.groupby("model"):
        per_pp = rows.set_index("pp")["dec"]
        assert per_pp.is_monotonic_increasing, model
        np.testing.assert_allclose(_native("energy", f, theta)[1], dec, rtol=1e-12)


def test_native_and_reference_agree_below_at_and_above_a_full_pipeline():
    f = FE.build_features(_profiles())
    rng = np.random.default_rng(3)
    for _ in range(3):
        theta = R.ENERGY_PARAM_LOWER + (R.ENERGY_PARAM_UPPER - R.ENERGY_PARAM_LOWER) * rng.uniform(0.1, 0.9, 12)
        phi = R.LATENCY_PARAM_LOWER + (R.LATENCY_PARAM_UPPER - R.LATENCY_PARAM_LOWER) * rng.uniform(0.1, 0.9, 10)
        for got, want in zip(_native("energy", f, theta), R.energy_phases(f, theta), strict=True):
            np.testing.assert_allclose(got, want, rtol=1e-12)
        for got, want in zip(_native("latency", f, phi), R.latency(f, phi), strict=True):
            np.testing.assert_allclose(got, want, rtol=1e-12)


def _central(fn, x, j, h):
    lo, hi = x.copy(), x.copy()
    lo[j] -= h
    hi[j] += h
    return (fn(hi) - fn(lo)) / (2 * h)


def test_jacobians_hold_across_the_microbatch_regimes():
    """Rows with B_r < pp (idle stages), B_r = pp and B_r > pp: analytic against central differences."""
    f = FE.build_features(_profiles())
    theta = R.ENERGY_PARAM_INIT.copy()
    theta[R.ENERGY_PARAM_NAMES.index("pp_bubble")] = 0.4
    jac = R.energy_jacobian(f, theta)
    for j in range(12):
        h = 1e-6 * max(1.0, abs(theta[j]))
        num = _central(lambda t: R.energy(f, t), theta, j, h)
        np.testing.assert_allclose(jac[:, j], num, rtol=1e-5, atol=1e-9 * np.abs(R.energy(f, theta)).max())
    phi = _latency_phi(0.4)
    jf, jt = R.latency_jacobian(f, phi)
    for j in range(10):
        h = 1e-6 * max(1.0, abs(phi[j]))
        for k, jac_k in ((0, jf), (1, jt)):
            num = _central(lambda p, k=k: R.latency(f, p)[k], phi, j, h)
            np.testing.assert_allclose(jac_k[:, j], num, rtol=1e-5, atol=1e-12)


def test_pp_one_rows_see_no_microbatch_factor():
    """At pp = 1 every new factor is exactly 1: the step time equals the roofline written without them."""
    df = _profiles(pps=(1,))
    f = FE.build_features(df)
    phi = _latency_phi(0.7)
    ph = R._unpack_latency(phi)
    c = R._core(f, *ph[:4], ph[4] * 1e-6, ph[5] * 1e-6, ph[6] * 1e-6, ph[7])
    assert np.all(c["m"] == 1.0) and np.all(c["g_pp"] == 1.0)
    busy = c["tg"] + c["t_ar"] + c["t_a2a"] + c["t_x"]
    np.testing.assert_array_equal(c["busy"], busy)
