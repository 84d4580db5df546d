"""The NumPy reference template (energylens.model.reference) and its inputs (energylens.profiles.features).

Analytic Jacobians against central differences, phase decomposition, the monotonicities physics
demands, recovery of known parameters from noisy synthetic data on a grid of real models and GPUs,
and the errors build_features raises.
"""
from __future__ import annotations

import itertools
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import least_squares

from energylens.model import reference as R
from energylens.profiles import features as FE
from energylens.profiles import tables

MODELS = [  # (name, params_b): real rows of the model table, dense, GQA/MHA, MoE, big
    ("meta-llama/Meta-Llama-3.1-8B-Instruct", 8.03),
    ("meta-llama/Meta-Llama-3.1-70B-Instruct", 70.552),
    ("mistralai/Mixtral-8x7B-Instruct-v0.1", 46.703),
    ("google/gemma-2-2b-it", 2.614),
    ("microsoft/Phi-3-mini-4k-instruct", 3.821),
]
GPUS = ["NVIDIA A100-SXM4-40GB", "NVIDIA H100 80GB HBM3", "H200"]


def grid_profiles(models=MODELS, gpus=GPUS, tps=(1, 2, 4, 8), pps=(1, 2), batches=(4, 16, 64, 256, 1024),
                  lens=((140, 400), (1200, 100))) -> pd.DataFrame:
    rows = []
    for (m, pb), g, tp, pp, b, (li, lo) in itertools.product(models, gpus, tps, pps, batches, lens):
        if pp == 2 and tp < 4:
            continue
        rows.append(dict(model=m, params_b=pb, gpu=g, tp=tp, pp=pp, batch_size=b, input_tokens=li,
                         output_tokens=lo, precision="bf16"))
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def feats():
    return FE.build_features(grid_profiles())


def _points(init, lower, upper, seed):
    """The start point and three random points inside the bounds (10-90 % of each range)."""
    rng = np.random.default_rng(seed)
    return [init.copy()] + [lower + (upper - lower) * rng.uniform(0.1, 0.9, lower.size) for _ in range(3)]


def _theta_points():
    return _points(R.ENERGY_PARAM_INIT, R.ENERGY_PARAM_LOWER, R.ENERGY_PARAM_UPPER, seed=7)


def _phi_points():
    return _points(R.LATENCY_PARAM_INIT, R.LATENCY_PARAM_LOWER, R.LATENCY_PARAM_UPPER, seed=8)


def _fd(fun, x, k, rel=1e-6):
    h = rel * max(abs(x[k]), 1e-3)
    a = x.copy()
    b = x.copy()
    a[k] += h
    b[k] -= h
    return (fun(a) - fun(b)) / (2 * h)


# ---------------------------------------------------------------------------------------------
# shapes and names

def test_parameter_tables_consistent():
    n = len(R.ENERGY_PARAM_NAMES)
    assert n == 12
    for arr in (R.ENERGY_PARAM_UNITS, R.ENERGY_PARAM_DESCRIPTIONS, R.ENERGY_PARAM_LOWER,
                R.ENERGY_PARAM_UPPER, R.ENERGY_PARAM_INIT):
        assert len(arr) == n
    assert np.all(R.ENERGY_PARAM_LOWER < R.ENERGY_PARAM_UPPER)
    assert np.all((R.ENERGY_PARAM_INIT > R.ENERGY_PARAM_LOWER) & (R.ENERGY_PARAM_INIT < R.ENERGY_PARAM_UPPER))
    m = len(R.LATENCY_PARAM_NAMES)
    for arr in (R.LATENCY_PARAM_UNITS, R.LATENCY_PARAM_DESCRIPTIONS, R.LATENCY_PARAM_LOWER,
                R.LATENCY_PARAM_UPPER, R.LATENCY_PARAM_INIT):
        assert len(arr) == m
    assert np.all((R.LATENCY_PARAM_INIT > R.LATENCY_PARAM_LOWER) & (R.LATENCY_PARAM_INIT < R.LATENCY_PARAM_UPPER))


def test_feature_names_cover_reference(feats):
    assert tuple(feats) == FE.FEATURE_NAMES
    for name in R.REQUIRED_FEATURES:
        assert name in feats
    for v in feats.values():
        assert v.dtype == np.float64 and v.flags["C_CONTIGUOUS"] and np.all(np.isfinite(v))


def test_wrong_theta_length_raises(feats):
    with pytest.raises(ValueError, match=rf"theta must have {len(R.ENERGY_PARAM_NAMES)} entries, got shape \(11,\)"):
        R.energy(feats, np.ones(11))
    with pytest.raises(ValueError, match=rf"phi must have {len(R.LATENCY_PARAM_NAMES)} entries, got shape \(12,\)"):
        R.latency(feats, np.ones(12))


# ---------------------------------------------------------------------------------------------
# Jacobians

@pytest.mark.parametrize("theta", _theta_points())
def test_energy_jacobian_matches_central_differences(feats, theta):
    J = R.energy_jacobian(feats, theta)
    E = R.energy(feats, theta)
    assert J.shape == (E.size, 12)
    for k in range(12):
        fd = _fd(lambda t: R.energy(feats, t), theta, k)
        np.testing.assert_allclose(J[:, k], fd, rtol=1e-5, atol=1e-7 * E.max(), err_msg=R.ENERGY_PARAM_NAMES[k])


@pytest.mark.parametrize("theta", _theta_points()[:2])
def test_energy_phase_jacobians_match(feats, theta):
    Jp, Jd = R.energy_phases_jacobian(feats, theta)
    for k in range(12):
        fp = _fd(lambda t: R.energy_phases(feats, t)[0], theta, k)
        fdd = _fd(lambda t: R.energy_phases(feats, t)[1], theta, k)
        scale = R.energy(feats, theta).max()
        np.testing.assert_allclose(Jp[:, k], fp, rtol=1e-5, atol=1e-7 * scale)
        np.testing.assert_allclose(Jd[:, k], fdd, rtol=1e-5, atol=1e-7 * scale)
    np.testing.assert_allclose(Jp + Jd, R.energy_jacobian(feats, theta))


@pytest.mark.parametrize("phi", _phi_points())
def test_latency_jacobian_matches_central_differences(feats, phi):
    Jf, Jt = R.latency_jacobian(feats, phi)
    ttft, tpot = R.latency(feats, phi)
    for k in range(len(phi)):
        ff = _fd(lambda p: R.latency(feats, p)[0], phi, k)
        ft = _fd(lambda p: R.latency(feats, p)[1], phi, k)
        np.testing.assert_allclose(Jf[:, k], ff, rtol=1e-5, atol=1e-7 * ttft.max(), err_msg=R.LATENCY_PARAM_NAMES[k])
        np.testing.assert_allclose(Jt[:, k], ft, rtol=1e-5, atol=1e-7 * tpot.max(), err_msg=R.LATENCY_PARAM_NAMES[k])


# ---------------------------------------------------------------------------------------------
# decomposition and physics

@pytest.mark.parametrize("theta", _theta_points())
def test_phases_sum_to_total_and_are_positive(feats, theta):
    pf, dc = R.energy_phases(feats, theta)
    np.testing.assert_allclose(pf + dc, R.energy(feats, theta), rtol=1e-14)
    assert np.all(pf > 0) and np.all(dc > 0)


def _one(**kw):
    base = dict(model="meta-llama/Meta-Llama-3.1-70B-Instruct", params_b=70.552, gpu="NVIDIA H100 80GB HBM3",
                tp=4, pp=1, batch_size=8, input_tokens=200, output_tokens=300, precision="bf16")
    base.update(kw)
    return base


def _feats_rows(rows):
    return FE.build_features(pd.DataFrame(rows))


def test_decode_energy_per_request_falls_with_batch_when_weights_dominate():
    f = _feats_rows([_one(batch_size=b) for b in (1, 2, 4, 8, 16, 32)])
    for th in _theta_points():
        _, dc = R.energy_phases(f, th)
        assert np.all(np.diff(dc) < 0), th


def test_more_devices_cost_more_static_energy_at_fixed_time():
    # Host-bound regime: the step time does not shrink with TP, so static energy scales with devices.
    th = R.ENERGY_PARAM_INIT.copy()
    th[R.ENERGY_PARAM_NAMES.index("seq_overhead_us")] = 1500.0
    th[R.ENERGY_PARAM_NAMES.index("flop_energy_coef")] = 0.0
    f = _feats_rows([_one(model="meta-llama/Meta-Llama-3.1-8B-Instruct", params_b=8.03, tp=t, batch_size=512)
                     for t in (1, 2, 4, 8)])
    e = R.energy(f, th)
    assert np.all(np.diff(e) > 0)
    # more static power per device costs more, and more so with more devices
    th2 = th.copy()
    th2[R.ENERGY_PARAM_NAMES.index("static_power_frac")] *= 1.2
    d = R.energy(f, th2) - e
    assert np.all(d > 0) and np.all(np.diff(d) > 0)


def test_energy_grows_with_tokens_and_model_size():
    th = R.ENERGY_PARAM_INIT
    f = _feats_rows([_one(output_tokens=o) for o in (50, 100, 200, 400)])
    assert np.all(np.diff(R.energy(f, th)) > 0)
    f = _feats_rows([_one(input_tokens=i) for i in (50, 500, 5000)])
    pf, _ = R.energy_phases(f, th)
    assert np.all(np.diff(pf) > 0)
    f = _feats_rows([_one(model="meta-llama/Meta-Llama-3.1-8B-Instruct", params_b=8.03),
                     _one(model="meta-llama/Meta-Llama-3.1-70B-Instruct", params_b=70.552),
                     _one(model="meta-llama/Meta-Llama-3.1-405B-Instruct", params_b=405.849, tp=8)])
    assert np.all(np.diff(R.energy(f, th)) > 0)


def test_tp_and_pp_terms_vanish_at_one():
    th = R.ENERGY_PARAM_INIT.copy()
    f = _feats_rows([_one(tp=1, pp=1)])
    e0 = R.energy(f, th)
    for name in ("allreduce_latency_us", "pp_bubble"):
        t2 = th.copy()
        t2[R.ENERGY_PARAM_NAMES.index(name)] *= 3
        np.testing.assert_allclose(R.energy(f, t2), e0)


def test_latency_monotone():
    phi = R.LATENCY_PARAM_INIT
    f = _feats_rows([_one(batch_size=b) for b in (1, 8, 64, 512)])
    ttft, tpot = R.latency(f, phi)
    assert np.all(np.diff(tpot) > 0)
    f = _feats_rows([_one(input_tokens=i) for i in (100, 1000, 8000)])
    ttft, _ = R.latency(f, phi)
    assert np.all(np.diff(ttft) > 0)


def test_moe_touched_weights_grow_with_batch():
    f = _feats_rows([_one(model="mistralai/Mixtral-8x7B-Instruct-v0.1", params_b=46.703, batch_size=b)
                     for b in (1, 2, 4, 16)])
    assert "moe_touch_fraction" not in f  # an intermediate of weight_bytes_per_step, not a template input
    touch = FE.moe_touch_fraction(np.full(4, 8.0), np.full(4, 2.0), np.array([1.0, 2.0, 4.0, 16.0]))
    np.testing.assert_allclose(touch[:2], [2 / 8, 1 - (6 / 8) ** 2])
    np.testing.assert_array_equal(FE.moe_touch_fraction(np.ones(2), np.ones(2), np.array([1.0, 64.0])), 1.0)
    assert np.all(np.diff(f["weight_bytes_per_step"]) > 0)
    # B = 1 streams the active parameters but the input embedding (a lookup of one row; accuracy round 10),
    # large B approaches the total
    np.testing.assert_allclose(f["weight_bytes_per_step"][0], 2 * (12.88e9 - 32000 * 4096), rtol=1e-3)
    assert f["weight_bytes_per_step"][-1] == pytest.approx(2 * (46.703e9 - 32000 * 4096), rel=0.01)


def test_precision_sets_bytes_and_peak():
    f = _feats_rows([_one(precision="bf16"), _one(precision="fp8")])
    # Llama-3.1-70B: the untied input embedding is a lookup, the lm_head (128256 x 8192) 16-bit in both
    head = 128256 * 8192
    assert f["weight_bytes_per_step"][0] == pytest.approx(2.0 * (70.552e9 - 2 * head) + 2.0 * head, rel=1e-12)
    assert f["weight_bytes_per_step"][1] == pytest.approx(1.0 * (70.552e9 - 2 * head) + 2.0 * head, rel=1e-12)
    assert f["peak_flops_per_s"][1] == pytest.approx(2 * f["peak_flops_per_s"][0], rel=1e-2)


def test_kv_cache_dtype_sets_kv_bytes():
    f = _feats_rows([_one(), _one(kv_cache_dtype="auto"), _one(kv_cache_dtype="fp8_e4m3"),
                     _one(kv_cache_dtype="bfloat16"), _one(precision="fp8"), _one(precision="fp8", kv_cache_dtype="fp8")])
    kv = f["kv_bytes_per_token"]
    assert kv[0] == kv[1] == kv[3] == kv[4] == pytest.approx(2 * 80 * 8 * 128 * 2)  # Llama-3.1-70B, 16-bit
    assert kv[2] == kv[5] == pytest.approx(kv[0] / 2)
    with pytest.raises(ValueError, match="kv_cache_dtype.*'int3'"):
        _feats_rows([_one(kv_cache_dtype="int3")])


def test_image_rows_add_encoder_flops():
    rows = [_one(model="llava-hf/llava-1.5-7b-hf", params_b=7.064, modality="image", input_tokens=636),
            _one(model="llava-hf/llava-1.5-7b-hf", params_b=7.064, modality="text", input_tokens=636)]
    f = _feats_rows(rows)
    assert f["prefill_extra_flops"][0] > 0 and f["prefill_extra_flops"][1] == 0


# ---------------------------------------------------------------------------------------------
# recovery from synthetic data

def test_energy_alone_cannot_separate_power_from_time():
    # Exact symmetry: every time parameter x s (efficiencies / s) and both power fractions / s leave
    # energy unchanged (exactly where no all-reduce bandwidth term enters, i.e. tp = 1; the spec-fixed
    # link time breaks it only weakly). This is why the fit also uses tpot (energy_tpot).
    f = FE.build_features(grid_profiles(tps=(1,), pps=(1,)))
    th = R.ENERGY_PARAM_INIT.copy()
    s = 1.7
    th2 = th.copy()
    for name in ("eta_compute", "eta_memory", "eta_prefill", "static_power_frac", "busy_power_frac"):
        th2[R.ENERGY_PARAM_NAMES.index(name)] /= s
    for name in ("layer_overhead_us", "allreduce_latency_us", "seq_overhead_us"):
        th2[R.ENERGY_PARAM_NAMES.index(name)] *= s
    np.testing.assert_allclose(R.energy(f, th2), R.energy(f, th), rtol=1e-12)
    np.testing.assert_allclose(R.energy_tpot(f, th2), s * R.energy_tpot(f, th), rtol=1e-12)


def test_energy_tpot_jacobian(feats):
    th = _theta_points()[1]
    J = R.energy_tpot_jacobian(feats, th)
    t = R.energy_tpot(feats, th)
    for k in range(12):
        fd = _fd(lambda x: R.energy_tpot(feats, x), th, k)
        np.testing.assert_allclose(J[:, k], fd, rtol=1e-5, atol=1e-7 * t.max())


@pytest.mark.parametrize("seed", [0, 1])
def test_recovers_known_parameters_from_noisy_synthetic_data(seed):
    """Energy and tpot with 5 % log-normal noise on a grid of real models x GPUs x TP/PP x batch x
    lengths; the joint fit (the bench's default) recovers all 12 parameters."""
    df = grid_profiles(batches=(2, 8, 32, 128, 512, 2048), lens=((140, 400), (1500, 80), (600, 600)))
    f = FE.build_features(df)
    truth = np.array([0.55, 0.7, 0.4, 0.45, 0.22, 0.6, 0.45, 40.0, 12.0, 120.0, 0.4, 1.5])
    clean = R.energy(f, truth)
    tclean = R.energy_tpot(f, truth)
    rng = np.random.default_rng(seed)
    y = clean * np.exp(rng.normal(0.0, 0.05, clean.size))
    yt = tclean * np.exp(rng.normal(0.0, 0.05, clean.size))
    lo, hi = R.ENERGY_PARAM_LOWER, R.ENERGY_PARAM_UPPER

    def res(t):
        return np.r_[np.log(R.energy(f, t) / y), np.log(R.energy_tpot(f, t) / yt)]

    def jac(t):
        return np.r_[R.energy_jacobian(f, t) / R.energy(f, t)[:, None],
                     R.energy_tpot_jacobian(f, t) / R.energy_tpot(f, t)[:, None]]

    r = least_squares(res, R.ENERGY_PARAM_INIT, jac=jac, bounds=(lo, hi), method="trf", x_scale="jac")
    assert np.mean(np.abs(R.energy(f, r.x) / clean - 1)) < 0.01
    rel = np.abs(r.x / truth - 1)
    assert np.all(rel < 0.15), dict(zip(R.ENERGY_PARAM_NAMES, np.round(rel, 3), strict=False))
    # energy alone: the surface is still recovered (the parameters only up to the time/power scale)
    r2 = least_squares(lambda t: np.log(R.energy(f, t) / y), R.ENERGY_PARAM_INIT,
                       jac=lambda t: R.energy_jacobian(f, t) / R.energy(f, t)[:, None],
                       bounds=(lo, hi), method="trf", x_scale="jac")
    assert np.mean(np.abs(R.energy(f, r2.x) / clean - 1)) < 0.01


def test_latency_recovers_known_parameters():
    df = grid_profiles(batches=(1, 4, 16, 64, 256, 1024), lens=((128, 128), (2048, 256), (8000, 64)))
    f = FE.build_features(df)
    truth = np.array([0.5, 0.65, 0.3, 0.5, 30.0, 10.0, 100.0, 0.3, 0.8, 8.0])
    ttft, tpot = R.latency(f, truth)
    rng = np.random.default_rng(1)
    yf = ttft * np.exp(rng.normal(0, 0.05, ttft.size))
    yt = tpot * np.exp(rng.normal(0, 0.05, tpot.size))
    lo, hi = R.LATENCY_PARAM_LOWER, R.LATENCY_PARAM_UPPER

    def res(p):
        a, b = R.latency(f, p)
        return np.r_[np.log(a / yf), np.log(b / yt)]

    def jac(p):
        a, b = R.latency(f, p)
        ja, jb = R.latency_jacobian(f, p)
        return np.r_[ja / a[:, None], jb / b[:, None]]

    r = least_squares(res, R.LATENCY_PARAM_INIT, jac=jac, bounds=(lo, hi), method="trf", x_scale="jac")
    a, b = R.latency(f, r.x)
    assert np.mean(np.abs(a / ttft - 1)) < 0.01 and np.mean(np.abs(b / tpot - 1)) < 0.01
    rel = np.abs(r.x / truth - 1)
    assert np.all(rel[[0, 1, 3, 6, 8]] < 0.15), rel


# ---------------------------------------------------------------------------------------------
# build_features errors

def test_build_features_errors():
    good = pd.DataFrame([_one()])
    FE.build_features(good)
    with pytest.raises(ValueError, match="batch_size"):
        FE.build_features(good.drop(columns=["batch_size"]))
    with pytest.raises(ValueError, match="DataFrame"):
        FE.build_features(good.to_dict("records"))
    assert all(len(v) == 0 for v in FE.build_features(good.iloc[:0]).values())  # no rows: empty columns
    with pytest.raises(ValueError, match="batch_size"):
        FE.build_features(good.iloc[:0].drop(columns=["batch_size"]))
    with pytest.raises(ValueError, match="gpu"):
        FE.build_features(good.assign(gpu="NoSuchGPU 9000"))
    with pytest.raises(ValueError, match="precision"):
        FE.build_features(good.assign(precision="fp3"))
    with pytest.raises(ValueError, match="tp"):
        FE.build_features(good.assign(tp=0))
    with pytest.raises(ValueError, match="output_tokens"):
        FE.build_features(good.assign(output_tokens=np.nan))
    with pytest.raises(ValueError, match="input_tokens"):
        FE.build_features(good.assign(input_tokens="many"))


def test_unknown_model_estimated_from_params():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        f = FE.build_features(pd.DataFrame([_one(model="acme/Unknown-13B", params_b=13.0)]))
    assert f["n_layers"][0] > 10 and f["kv_bytes_per_token"][0] > 0


def test_mlenergy_features_build():
    from energylens.profiles import datasets
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        df = datasets.mlenergy_v2()
    f = FE.build_features(df)
    assert all(v.shape == (len(df),) for v in f.values())
    e = R.energy(f, R.ENERGY_PARAM_INIT)
    assert np.all(np.isfinite(e) & (e > 0))


# ---------------------------------------------------------------------------------------------
# today's serving (issue 10): DP, EP, hybrids, weight vs compute precision, sliding windows, video

_MOE = dict(model="Qwen/Qwen3-30B-A3B", params_b=30.532, active_params_b=3.353, gpu="H100 SXM", pp=1,
            input_tokens=300, output_tokens=600, precision="bf16")


def test_independent_replicas_cost_what_one_replica_costs_per_request():
    # dp replicas, each running b sequences, are dp copies of one replica running b: same J/request,
    # dp times the GPUs (static power on every one of them) and dp times the batch.
    f = _feats_rows([_one(tp=2, batch_size=16, dp=1), _one(tp=2, batch_size=64, dp=4)])
    np.testing.assert_allclose(f["dp"], [1, 4])
    for th in _theta_points():
        e = R.energy(f, th)
        np.testing.assert_allclose(e[1], e[0], rtol=1e-12)
        _, tpot = R.latency(f, np.r_[th[[0, 1, 2, 3, 7, 8, 9, 10]], 0.5, 0.0])
        np.testing.assert_allclose(tpot[1], tpot[0], rtol=1e-12)


def test_static_power_is_charged_on_every_gpu():
    # same tp, twice the GPUs through dp at the same per-replica load: twice the static energy per step,
    # shared by twice the sequences -> the same per request; at the same TOTAL batch, more replicas cost more.
    th = R.ENERGY_PARAM_INIT.copy()
    f = _feats_rows([_one(tp=1, batch_size=32, dp=1), _one(tp=1, batch_size=32, dp=2)])
    assert R.energy(f, th)[1] > R.energy(f, th)[0]
    d = th.copy()
    d[R.ENERGY_PARAM_NAMES.index("static_power_frac")] *= 2
    gain = R.energy(f, d) - R.energy(f, th)
    assert gain[1] > gain[0] > 0


def test_moe_dispatch_and_combine_only_with_data_parallel_ranks():
    f = _feats_rows([dict(_MOE, tp=8, dp=1, ep=8, batch_size=64), dict(_MOE, tp=1, dp=4, ep=4, batch_size=64),
                     dict(_MOE, tp=2, dp=2, ep=1, batch_size=64), dict(_MOE, tp=4, dp=1, ep=1, batch_size=64)])
    # TP + EP (dp = 1) and TP alone: the MoE output is combined by the TP all-reduce; DP + EP, and DP without
    # EP (vLLM's MoE layers then span all tp x dp GPUs): a dispatch and a combine per MoE layer
    np.testing.assert_allclose(f["a2a_moe_layers"], [0, 48, 48, 0])
    np.testing.assert_allclose(f["experts_per_token"], [8, 8, 8, 8])
    th = R.ENERGY_PARAM_INIT.copy()
    a = th.copy()
    a[R.ENERGY_PARAM_NAMES.index("allreduce_latency_us")] *= 3
    changed = R.energy(f, a) - R.energy(f, th)
    assert changed[1] > 0  # tp = 1 row: only the all-to-alls carry the collective latency


def test_expert_weights_are_streamed_once_per_expert_copy():
    # EP over all GPUs, or no EP (vLLM slices the experts over all tp x dp GPUs): one copy of the experts,
    # touched by the whole batch; two EP groups of 2 (ep = 2 of 4 GPUs): two copies, each touched by its half
    # of the batch. Every replica streams its dense weights.
    f = _feats_rows([dict(_MOE, tp=1, dp=4, ep=4, batch_size=8), dict(_MOE, tp=1, dp=4, ep=1, batch_size=8),
                     dict(_MOE, tp=1, dp=4, ep=2, batch_size=8)])
    n_exp = (30.532e9 - 3.353e9) / (1 - 8 / 128)
    shared = 30.532e9 - n_exp - 151936 * 2048  # the untied input embedding is a lookup (accuracy round 10)
    touch_all = 1 - (1 - 8 / 128) ** 8
    touch_half = 1 - (1 - 8 / 128) ** 4
    np.testing.assert_allclose(f["weight_bytes_per_step"], [2 * (4 * shared + touch_all * n_exp),
                                                            2 * (4 * shared + touch_all * n_exp),
                                                            2 * (4 * shared + 2 * touch_half * n_exp)], rtol=1e-12)


def test_mxfp4_weights_compute_in_bf16_and_quantise_only_experts():
    row = dict(model="openai/gpt-oss-120b", params_b=116.789, gpu="H100 SXM", tp=1, pp=1, batch_size=1024,
               input_tokens=300, output_tokens=600)
    f = _feats_rows([dict(row, precision="mxfp4"), dict(row, precision="bf16"),
                     dict(row, precision="mxfp4", compute_precision="fp8")])
    from energylens.profiles import tables
    h100 = tables.gpu_spec("H100 SXM")
    assert f["peak_flops_per_s"][0] == f["peak_flops_per_s"][1] == h100.peak_flops("bf16")
    assert f["peak_flops_per_s"][2] == h100.peak_flops("fp8")
    n_exp = (116.789e9 - 5.710e9) / (1 - 4 / 128)
    shared = 116.789e9 - n_exp - 201088 * 2880  # the untied input embedding is a lookup (accuracy round 10)
    from energylens.profiles.features import moe_touch_fraction
    touch = moe_touch_fraction(np.array([128.0]), np.array([4.0]), np.array([1024.0]))[0]
    np.testing.assert_allclose(f["weight_bytes_per_step"][0],
                               2.0 * shared + tables.bytes_per_param("mxfp4") * touch * n_exp, rtol=1e-12)
    with pytest.raises(ValueError, match="compute_precision"):
        _feats_rows([dict(row, precision="mxfp4", compute_precision="fp3")])


def test_hybrid_models_keep_kv_only_in_attention_layers_and_a_constant_state():
    row = dict(model="nvidia/NVIDIA-Nemotron-Nano-12B-v2", params_b=12.3, gpu="H100 SXM", tp=1, pp=1,
               batch_size=8, output_tokens=600, precision="bf16")
    f = _feats_rows([dict(row, input_tokens=300), dict(row, input_tokens=30000)])
    np.testing.assert_allclose(f["kv_bytes_per_token"], 2 * 6 * 8 * 128 * 2)   # 6 attention layers of 62
    np.testing.assert_allclose(f["attn_flops_per_token_ctx"], 4 * 6 * 40 * 128)
    # 28 Mamba-2 layers, bf16, read and written back every step
    np.testing.assert_allclose(f["state_bytes_per_seq"], 2 * 28 * 1347584 * 2)
    # the SSM state in its own dtype (vLLM --mamba-ssm-cache-dtype), the conv state in the activations'
    f32 = _feats_rows([dict(row, input_tokens=300, mamba_ssm_cache_dtype="float32")])
    np.testing.assert_allclose(f32["state_bytes_per_seq"], 2 * 28 * (128 * 80 * 128 * 4 + 3 * (128 * 80 + 2 * 8 * 128) * 2))
    with pytest.raises(ValueError, match="mamba_ssm_cache_dtype"):
        _feats_rows([dict(row, input_tokens=300, mamba_ssm_cache_dtype="fp3")])
    dense = _feats_rows([dict(row, model="Qwen/Qwen3-14B", params_b=14.768, input_tokens=300)])
    assert dense["state_bytes_per_seq"][0] == 0
    # the constant state costs per sequence, not per context token
    th = R.ENERGY_PARAM_INIT
    e_state = R.energy({**f, "state_bytes_per_seq": f["state_bytes_per_seq"]}, th)
    e_none = R.energy({**f, "state_bytes_per_seq": np.zeros(2)}, th)
    np.testing.assert_allclose(e_state[1] - e_none[1], e_state[0] - e_none[0], rtol=0.05)


def test_sliding_window_layers_cap_kv_at_long_context():
    row = dict(model="google/gemma-3-27b-it", params_b=27.425, gpu="H100 SXM", tp=1, pp=1, batch_size=8,
               output_tokens=1.0, precision="bf16")  # (a mean below one token is refused by the schema)
    f = _feats_rows([dict(row, input_tokens=500), dict(row, input_tokens=64000)])
    full = 2 * 62 * 16 * 128 * 2
    np.testing.assert_allclose(f["kv_bytes_per_token"][0], full, rtol=1e-3)        # context < window
    expect = full * (10 + 52 * 1024 / 64000.5) / 62                                   # 52 local layers
    np.testing.assert_allclose(f["kv_bytes_per_token"][1], expect, rtol=1e-9)


def test_video_rows_encode_frames_times_tokens_per_frame():
    row = dict(model="Qwen/Qwen3-VL-8B-Instruct", params_b=8.77, gpu="H100 SXM", tp=1, pp=1, batch_size=8,
               output_tokens=300, modality="video", input_tokens=4156)
    f = _feats_rows([dict(row, video_frames=32), dict(row, video_frames=8)])
    # 4 patches per token (2x2 merge); each patch: 2 FLOP per encoder parameter + attention over the
    # 128 x 4 patches of its frame in 27 layers of width 1152
    per_patch = 2 * 0.58e9 + 4 * 27 * 1152 * 128 * 4
    np.testing.assert_allclose(f["prefill_extra_flops"], [32 * 128 * 4 * per_patch, 8 * 128 * 4 * per_patch])


def test_image_encoder_counts_patches_and_their_attention():
    base = dict(gpu="H100 SXM", tp=1, pp=1, batch_size=8, output_tokens=300, modality="image")
    f = _feats_rows([dict(base, model="google/gemma-3-27b-it", params_b=27.4, input_tokens=316),
                     dict(base, model="llava-hf/llava-1.5-7b-hf", params_b=7.06, input_tokens=636)])
    gemma = 256 * 16 * (2 * 0.417e9 + 4 * 27 * 1152 * 256 * 16)   # 4096 SigLIP patches pooled to 256 tokens
    llava = 576 * (2 * 0.325e9 + 4 * 24 * 1024 * 576)            # CLIP ViT-L/14-336, one patch per token
    np.testing.assert_allclose(f["prefill_extra_flops"], [gemma, llava], rtol=1e-12)


def test_tiled_encoders_attend_within_a_tile():
    base = dict(gpu="H100 SXM", tp=8, pp=1, batch_size=8, output_tokens=300, modality="image")
    f = _feats_rows([dict(base, model="meta-llama/Llama-4-Scout-17B-16E-Instruct", params_b=108.6, input_tokens=1500),
                     dict(base, model="nvidia/NVIDIA-Nemotron-Nano-12B-v2-VL-BF16", params_b=13.2, tp=1,
                          input_tokens=1340)])
    # Llama 4: 10 tiles of 144 tokens (3 x 3 + the global tile), each tile 576 patches attended alone;
    # Nemotron VL: 5 tiles of 256 tokens (2 x 2 + thumbnail), 1024 patches per tile
    llama4 = 1440 * 4 * (2 * 0.872e9 + 4 * 34 * 1408 * 144 * 4)
    nemotron = 1280 * 4 * (2 * 0.7e9 + 4 * 32 * 1280 * 256 * 4)
    np.testing.assert_allclose(f["prefill_extra_flops"], [llama4, nemotron], rtol=1e-12)


def test_moe_layers_add_per_layer_overhead():
    rows = [dict(_MOE, tp=1, dp=1, ep=1, batch_size=8),
            dict(_MOE, model="meta-llama/Llama-4-Maverick-17B-128E-Instruct", params_b=400.7, active_params_b=17.2,
                 tp=8, dp=1, ep=8, batch_size=8),
            _one(batch_size=8)]
    f = _feats_rows(rows)
    np.testing.assert_allclose(f["moe_layers"], [48, 24, 0])   # Maverick interleaves 24 MoE with 24 dense layers
    th = R.ENERGY_PARAM_INIT.copy()
    phi = np.r_[th[[0, 1, 2, 3, 7, 8, 9, 10]], 0.5, 0.0]
    t0 = R.latency(f, phi)[1]
    phi2 = phi.copy()
    phi2[4] += 10.0  # +10 us per launch layer
    np.testing.assert_allclose(R.latency(f, phi2)[1] - t0, 10e-6 * np.array([96, 72, 80]), rtol=1e-9)
    # tp_sync_us: per launch layer per extra TP peer, on TTFT and TPOT alike (tp 1, 8, 4 here)
    np.testing.assert_allclose(f["tp"], [1, 8, 4])
    phi3 = phi.copy()
    phi3[9] = 10.0
    ttft0, tpot0 = R.latency(f, phi)
    ttft3, tpot3 = R.latency(f, phi3)
    np.testing.assert_allclose(tpot3 - tpot0, 10e-6 * np.array([0, 72 * 7, 80 * 3]), rtol=1e-9, atol=1e-15)
    np.testing.assert_allclose(ttft3 - ttft0, 10e-6 * np.array([0, 72 * 7, 80 * 3]), rtol=1e-9, atol=1e-15)
    # the energy model's step time has no such term
    np.testing.assert_allclose(R.energy_tpot(f, th), tpot0, rtol=1e-12)


def test_kv_heads_are_replicated_when_tp_exceeds_them():
    row = dict(model="Qwen/Qwen3-235B-A22B", params_b=235.093, active_params_b=22.19, gpu="H100 SXM", pp=1,
               batch_size=8, input_tokens=300, output_tokens=600, precision="bf16", dp=1)
    f = _feats_rows([dict(row, tp=4, ep=4), dict(row, tp=8, ep=8)])   # 4 KV heads
    np.testing.assert_allclose(f["kv_bytes_per_token"], [2 * 94 * 4 * 128 * 2, 2 * 2 * 94 * 4 * 128 * 2])


def test_block_scaled_fp8_checkpoints_compute_at_the_16_bit_rate_on_hopper_only():
    base = dict(model="Qwen/Qwen3-235B-A22B-Instruct-2507-FP8", params_b=235.0, active_params_b=22.0, tp=8, pp=1,
                batch_size=8, input_tokens=200, output_tokens=800, precision="fp8")
    rows = [dict(base, gpu="H100 SXM"), dict(base, gpu="B200"),
            dict(base, gpu="H100 SXM", model="meta-llama/Llama-4-Maverick-17B-128E-Instruct-FP8", params_b=400.7,
                 active_params_b=17.2)]
    f = _feats_rows(rows)
    h100, b200 = tables.gpu_spec("H100 SXM"), tables.gpu_spec("B200")
    # Qwen3 -FP8 (128 x 128 block scales): bf16 peak on Hopper, fp8 peak on Blackwell; Maverick's
    # per-channel fp8 keeps the fp8 peak; the weight bytes are fp8's in every case
    np.testing.assert_allclose(f["peak_flops_per_s"], [h100.peak_bf16_tflops * 1e12, b200.peak_fp8_tflops * 1e12,
                                                       h100.peak_fp8_tflops * 1e12])
    FE.FP8_BLOCK_SCALED = False
    try:
        off = _feats_rows(rows[:1])
    finally:
        FE.FP8_BLOCK_SCALED = True
    np.testing.assert_allclose(off["peak_flops_per_s"], [h100.peak_fp8_tflops * 1e12])
    np.testing.assert_allclose(off["weight_bytes_per_step"], f["weight_bytes_per_step"][:1])
