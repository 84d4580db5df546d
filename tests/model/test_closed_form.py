"""The native closed-form models: parity with the NumPy reference, analytic Jacobians, recovery of
known parameters, persistence, and every bad input."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pandas as pd
import pytest

from energylens import _core
from energylens.cli.main import main as cli_main
from energylens.errors import CudaUnavailableError, ModelFileError, ProfileSchemaError
from energylens.model import reference as R
from energylens.model.closed_form import MODEL_FILE_VERSION, EnergyModel, LatencyModel, load_model
from energylens.profiles.features import build_features

MODELS = (("meta-llama/Meta-Llama-3.1-8B-Instruct", 8.03), ("meta-llama/Meta-Llama-3.1-70B-Instruct", 70.55),
          ("mistralai/Mixtral-8x7B-Instruct-v0.1", 46.70), ("google/gemma-2-9b-it", 9.24))
GPUS = ("A100-SXM4-40GB", "H100 SXM", "H200")


def grid(batches=(4, 32, 256, 1024), lens=((140, 400), (1200, 100))) -> pd.DataFrame:
    rows = []
    for (m, pb), g, (tp, pp), b, (li, lo) in itertools.product(
            MODELS, GPUS, ((1, 1), (2, 1), (4, 1), (8, 1), (4, 2)), batches, lens):
        rows.append(dict(model=m, params_b=pb, gpu=g, tp=tp, pp=pp, batch_size=b, input_tokens=li,
                         output_tokens=lo))
    return pd.DataFrame(rows)


def modern_rows() -> pd.DataFrame:
    """Today's deployments (issue 10): TP + EP and DP + EP MoE, mxfp4 weights, a Mamba hybrid, a
    sliding-window model, a video row."""
    moe = dict(model="Qwen/Qwen3-30B-A3B", params_b=30.532, active_params_b=3.353)
    rows = []
    for b in (8, 64, 512):
        common = dict(gpu="H100 SXM", pp=1, batch_size=b, input_tokens=300, output_tokens=5000)
        rows += [dict(**moe, **common, tp=8, dp=1, ep=8), dict(**moe, **common, tp=1, dp=4, ep=4),
                 dict(**moe, **common, tp=2, dp=2, ep=4), dict(**moe, **common, tp=2, dp=2, ep=1),
                 dict(model="openai/gpt-oss-120b", params_b=116.789, precision="mxfp4", **common, tp=2, dp=1, ep=2),
                 dict(model="nvidia/NVIDIA-Nemotron-Nano-12B-v2", params_b=12.3, **common, tp=1, dp=2, ep=1),
                 dict(model="google/gemma-3-27b-it", params_b=27.425, **common, tp=2, dp=1, ep=1),
                 dict(model="Qwen/Qwen3-VL-8B-Instruct", params_b=8.77, modality="video", video_frames=32,
                      gpu="H200", pp=1, batch_size=b, input_tokens=4156, output_tokens=270, tp=1, dp=1, ep=1),
                 dict(model="deepseek-ai/DeepSeek-V3", params_b=671.026, precision="fp8", **common, tp=8, dp=1, ep=8),
                 # across scale-up domains (8 GPUs on H100): an EP group of 16, PP boundaries, TP over two nodes
                 dict(**moe, **common, tp=1, dp=16, ep=16), dict(**moe, **{**common, "pp": 4}, tp=4, dp=1, ep=1),
                 dict(model="meta-llama/Llama-3.1-70B-Instruct", params_b=70.6, **{**common, "pp": 3}, tp=16, dp=1,
                      ep=1)]
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def features():
    return build_features(pd.concat([grid(), modern_rows()], ignore_index=True))


def test_parity_grid_covers_ep_dp_hybrid_and_mxfp4(features):
    assert (features["a2a_moe_layers"] > 0).any() and (features["dp"] > 1).any() and (features["ep"] > 1).any()
    assert (features["state_bytes_per_seq"] > 0).any()
    # an MLA row, whose prefill attention (decompressed K/V) differs from its decode form
    assert (features["prefill_attn_flops_per_token_ctx"] < features["attn_flops_per_token_ctx"]).any()
    assert (features["pp_scale_out_hops"] > 0).any() and (features["a2a_bytes_per_s"] < features["link_bytes_per_s"]).any()
    np.testing.assert_array_equal(features["link_bytes_per_s"][features["tp"] == 16], 50e9)  # TP 16: scale-out


def columns(feats, template="energy", dtype=np.float64):
    names = _core.describe_template(template).feature_names
    return [np.ascontiguousarray(feats[n], dtype=dtype) for n in names]


def random_params(template, rng):
    d = _core.describe_template(template)
    lo, hi = d.lower, d.upper
    return lo + (hi - lo) * rng.uniform(0.05, 0.95, lo.size)


# ---- one definition of the parameters (the rest: tests/model/test_descriptor.py) -----------------------
def test_energy_template_has_exactly_twelve_parameters():
    assert len(_core.describe_template("energy").param_names) == 12
    assert EnergyModel().template_id == "energylens.energy.v2"


# ---- parity with the NumPy reference --------------------------------------------------------------
@pytest.mark.parametrize("seed", range(4))
def test_native_energy_matches_reference(features, seed):
    theta = random_params("energy", np.random.default_rng(seed))
    ev = _core.evaluate("energy", columns(features), theta, False, "float64", True)
    pre, dec, aux = ev.out0, ev.out1, ev.out2
    ref_pre, ref_dec = R.energy_phases(features, theta)
    np.testing.assert_allclose(pre, ref_pre, rtol=1e-12)
    np.testing.assert_allclose(dec, ref_dec, rtol=1e-12)
    np.testing.assert_allclose(aux, R.energy_tpot(features, theta), rtol=1e-12)
    ev32 = _core.evaluate("energy", columns(features, dtype=np.float32), theta, False, "float32")
    p32, d32 = ev32.out0, ev32.out1
    assert p32.dtype == np.float32
    np.testing.assert_allclose(p32, ref_pre, rtol=2e-4)
    np.testing.assert_allclose(d32, ref_dec, rtol=2e-4)


@pytest.mark.parametrize("seed", range(3))
def test_native_latency_matches_reference(features, seed):
    phi = random_params("latency", np.random.default_rng(100 + seed))
    ev = _core.evaluate("latency", columns(features), phi)
    ttft, tpot = ev.out0, ev.out1
    ref_ttft, ref_tpot = R.latency(features, phi)
    np.testing.assert_allclose(ttft, ref_ttft, rtol=1e-12)
    np.testing.assert_allclose(tpot, ref_tpot, rtol=1e-12)


def test_large_inputs_use_the_threaded_path_and_agree(features):
    theta = random_params("energy", np.random.default_rng(9))
    idx = np.random.default_rng(0).integers(0, len(features["tp"]), 50_000)
    big = {k: np.ascontiguousarray(v[idx]) for k, v in features.items()}
    ev = _core.evaluate("energy", columns(big), theta)
    np.testing.assert_allclose(ev.out0 + ev.out1, R.energy(big, theta), rtol=1e-12)


# ---- analytic Jacobians ----------------------------------------------------------------------------
@pytest.mark.parametrize("template", ["energy", "latency"])
def test_native_jacobian_matches_central_differences(features, template):
    rng = np.random.default_rng(3)
    theta = random_params(template, rng)
    cols = columns(features, template)
    ev = _core.evaluate(template, cols, theta, True)
    j0, j1 = ev.jacobian0, ev.jacobian1
    for j in range(theta.size):
        h = 1e-6 * max(1.0, abs(theta[j]))
        up, dn = theta.copy(), theta.copy()
        up[j] += h
        dn[j] -= h
        a, b = _core.evaluate(template, cols, up), _core.evaluate(template, cols, dn)
        a0, a1, b0, b1 = a.out0, a.out1, b.out0, b.out1
        for analytic, fd in ((j0[:, j], (a0 - b0) / (2 * h)), (j1[:, j], (a1 - b1) / (2 * h))):
            scale = np.max(np.abs(fd)) + 1e-300
            assert np.max(np.abs(analytic - fd)) / scale < 1e-5, f"{template} parameter {j}"
    np.testing.assert_allclose(j0, R.energy_phases_jacobian(features, theta)[0] if template == "energy"
                               else R.latency_jacobian(features, theta)[0], rtol=1e-10, atol=1e-14)


# ---- fitting ---------------------------------------------------------------------------------------
TRUTH = np.array([0.55, 0.45, 0.4, 0.35, 0.3, 0.8, 0.25, 60.0, 20.0, 150.0, 0.6, 1.0])


def synthetic_profiles(seed: int, noise: float = 0.05) -> pd.DataFrame:
    df = grid(batches=(2, 8, 32, 128, 512, 2048), lens=((140, 400), (1500, 80), (600, 600)))
    f = build_features(df)
    rng = np.random.default_rng(seed)
    df["energy_j"] = R.energy(f, TRUTH) * np.exp(rng.normal(0, noise, len(df)))
    df["tpot_s"] = R.energy_tpot(f, TRUTH) * np.exp(rng.normal(0, noise, len(df)))
    return df


@pytest.mark.parametrize("seed", [0, 1])
def test_fit_recovers_known_parameters_from_noisy_synthetic_data(seed):
    df = synthetic_profiles(seed)
    model = EnergyModel(bootstrap=0, seed=seed).fit(df, latency=False)
    assert model.summary.converged
    clean = R.energy(build_features(df), TRUTH)
    assert np.mean(np.abs(model.predict(df) / clean - 1)) < 0.01
    # The well-determined parameters come back closely (the rest trade off within the noise).
    got = model.theta
    for name in ("static_power_frac", "eta_memory", "seq_overhead_us", "pp_bubble"):
        j = model.param_names.index(name)
        assert abs(got[j] / TRUTH[j] - 1) < 0.15, (name, got[j], TRUTH[j])


def test_fit_without_noise_is_exact():
    df = synthetic_profiles(0, noise=0.0)
    model = EnergyModel(bootstrap=0).fit(df, latency=False)
    np.testing.assert_allclose(model.predict(df), df["energy_j"], rtol=1e-6)


def test_non_convergence_is_data_not_an_exception():
    df = synthetic_profiles(2)
    model = EnergyModel(bootstrap=0, max_iterations=1, n_starts=1).fit(df, latency=False)
    assert model.summary.converged is False
    assert model.summary.status == "max_iterations"
    assert np.all(np.isfinite(model.predict(df)))


@pytest.mark.parametrize("loss", ["soft_l1", "huber"])
def test_robust_losses_resist_outliers(loss):
    df = synthetic_profiles(3, noise=0.02)
    df.loc[df.index[::25], "energy_j"] *= 5.0  # gross outliers
    clean = R.energy(build_features(df), TRUTH)
    plain = EnergyModel(bootstrap=0).fit(df, latency=False)
    robust = EnergyModel(bootstrap=0, loss=loss, loss_scale=0.05).fit(df, latency=False)
    keep = np.ones(len(df), bool)
    keep[::25] = False
    err = lambda m: np.median(np.abs(m.predict(df)[keep] / clean[keep] - 1))  # noqa: E731
    assert err(robust) < err(plain)


def test_bootstrap_intervals_cover_and_params_carry_intervals():
    df = synthetic_profiles(4)
    model = EnergyModel(bootstrap=100, seed=1).fit(df.sample(80, random_state=0), latency=False)
    assert model.summary.bootstrap_converged >= 50
    ivl = model.predict_interval(df, level=0.9)
    pred = model.predict(df)
    assert np.all(ivl["energy_j_lo"] <= pred) and np.all(pred <= ivl["energy_j_hi"])
    coverage = np.mean((df["energy_j"] >= ivl["energy_j_lo"]) & (df["energy_j"] <= ivl["energy_j_hi"]))
    assert coverage > 0.75
    for p in model.params.values():
        assert p.lower <= p.value <= p.upper
        assert p.ci_low <= p.ci_high
    with pytest.raises(ValueError, match="level"):
        model.predict_interval(df, level=1.5)


def test_latency_model_fits_tpot_and_ttft():
    df = synthetic_profiles(5, noise=0.02)
    phi = np.array([0.5, 0.4, 0.3, 0.35, 60.0, 20.0, 150.0, 0.6, 0.3, 6.0])
    ttft, tpot = R.latency(build_features(df), phi)
    df["ttft_s"] = ttft
    df["tpot_s"] = tpot
    df.loc[df.index[::2], "ttft_s"] = np.nan  # TTFT measured on half the rows only
    lm = LatencyModel(bootstrap=0).fit(df)
    pred = lm.predict(df)
    np.testing.assert_allclose(pred["tpot_s_pred"], tpot, rtol=1e-4)
    np.testing.assert_allclose(pred["ttft_s_pred"], ttft, rtol=1e-4)


def test_energy_fit_attaches_latency_model_and_phases_sum():
    df = synthetic_profiles(6)
    model = EnergyModel(bootstrap=20).fit(df)
    assert model.latency_model is not None
    ph = model.predict_phases(df)
    np.testing.assert_allclose(ph["prefill_energy_j_pred"] + ph["decode_energy_j_pred"], ph["energy_j_pred"])
    assert (ph["prefill_energy_j_pred"] > 0).all() and (ph["decode_energy_j_pred"] > 0).all()


# ---- persistence -----------------------------------------------------------------------------------
def test_save_load_round_trip(tmp_path):
    df = synthetic_profiles(7)
    model = EnergyModel(bootstrap=30).fit(df)
    path = tmp_path / "model.json"
    model.save(path)
    doc = json.loads(path.read_text())
    assert doc["version"] == MODEL_FILE_VERSION and doc["energy"]["template"] == "energylens.energy.v2"
    assert doc["energy"]["fit"]["data_hash"].startswith("sha256:")
    back = EnergyModel.load(path)
    np.testing.assert_array_equal(back.theta, model.theta)
    np.testing.assert_array_equal(back.predict(df), model.predict(df))
    pd.testing.assert_frame_equal(back.predict_interval(df), model.predict_interval(df))
    pd.testing.assert_frame_equal(back.latency_model.predict(df), model.latency_model.predict(df))
    assert back.summary == model.summary
    assert LatencyModel.load(path).template_id == "energylens.latency.v3"


def test_files_of_the_previous_latency_template_still_load(tmp_path):
    """latency.v3 added tp_sync_us, off at 0: a latency.v2 file (9 parameters, 9 bootstrap columns) loads as
    latency.v3 with tp_sync_us = 0 and predicts what the same file with that parameter at 0 predicts."""
    df = synthetic_profiles(9)
    model = EnergyModel(bootstrap=20).fit(df)
    path = tmp_path / "model.json"
    model.save(path)
    doc = json.loads(path.read_text())
    lat = doc["latency"]
    names = list(lat["params"])
    k = names.index("tp_sync_us")
    lat["params"]["tp_sync_us"] = 0.0
    for row in lat["bootstrap_params"]:
        row[k] = 0.0
    zeroed = tmp_path / "zeroed.json"
    zeroed.write_text(json.dumps(doc))
    lat["template"] = "energylens.latency.v2"
    del lat["params"]["tp_sync_us"]
    del lat["param_units"]["tp_sync_us"]
    lat["bootstrap_params"] = [row[:k] + row[k + 1:] for row in lat["bootstrap_params"]]
    old = tmp_path / "old.json"
    old.write_text(json.dumps(doc))
    back, ref = LatencyModel.load(old), LatencyModel.load(zeroed)
    assert back.template_id == "energylens.latency.v3" and back.theta[k] == 0.0
    np.testing.assert_array_equal(back.theta, ref.theta)
    pd.testing.assert_frame_equal(back.predict(df), ref.predict(df))
    pd.testing.assert_frame_equal(back.predict_interval(df), ref.predict_interval(df))
    np.testing.assert_array_equal(EnergyModel.load(old).predict(df), model.predict(df))  # energy untouched
    lat["template"] = "energylens.latency.v1"  # not contained: still refused
    old.write_text(json.dumps(doc))
    with pytest.raises(ModelFileError, match="template"):
        LatencyModel.load(old)


def test_load_errors_are_clear(tmp_path):
    with pytest.raises(ModelFileError, match="no such model file"):
        EnergyModel.load(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ModelFileError, match="not a JSON model file"):
        EnergyModel.load(bad)
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(ModelFileError, match="not an energylens model file"):
        EnergyModel.load(other)
    empty = tmp_path / "empty.json"
    empty.write_text(json.dumps({"format": "energylens.model", "version": MODEL_FILE_VERSION, "energy": None,
                                 "latency": None}))
    with pytest.raises(ModelFileError, match=r"empty.json: holds neither an energy nor a latency model"):
        load_model(empty)
    model = EnergyModel(bootstrap=0).fit(synthetic_profiles(8), latency=False)
    path = tmp_path / "m.json"
    model.save(path)
    doc = json.loads(path.read_text())
    doc["version"] = MODEL_FILE_VERSION + 1
    path.write_text(json.dumps(doc))
    with pytest.raises(ModelFileError, match="version"):
        EnergyModel.load(path)
    doc["version"] = MODEL_FILE_VERSION
    doc["energy"]["template"] = "energylens.energy.v0"
    path.write_text(json.dumps(doc))
    with pytest.raises(ModelFileError, match="template"):
        EnergyModel.load(path)


# ---- symbolic form ---------------------------------------------------------------------------------
def test_sympy_form_agrees_with_native(features):
    import sympy as sp

    from energylens.model.symbolic import feature_symbols

    model = EnergyModel(bootstrap=0).fit(synthetic_profiles(9), latency=False)
    prefill, decode = model.to_sympy()
    syms = feature_symbols()
    names = list(syms)
    fn = sp.lambdify([syms[n] for n in names], prefill + decode, "numpy")
    got = fn(*[features[n] for n in names])
    np.testing.assert_allclose(got, R.energy(features, model.theta), rtol=1e-5)
    latex = model.to_latex()
    assert r"E_\mathrm{prefill}" in latex and r"E_\mathrm{decode}" in latex
    free = EnergyModel().to_sympy(numeric=False)
    assert any(str(s) == r"\pi_s" for s in (free[0] + free[1]).free_symbols)


# ---- bad inputs ------------------------------------------------------------------------------------
def test_fewer_rows_than_parameters_is_a_clear_error():
    df = synthetic_profiles(10).head(11)
    with pytest.raises(ValueError, match="11 measurements for 12 parameters"):
        EnergyModel(bootstrap=0).fit(df, latency=False)


def test_nan_and_negative_inputs_name_the_column():
    df = synthetic_profiles(11)
    bad = df.copy()
    bad.loc[bad.index[3], "batch_size"] = np.nan
    with pytest.raises(ProfileSchemaError, match="batch_size"):
        EnergyModel(bootstrap=0).fit(bad)
    bad = df.copy()
    bad.loc[bad.index[4], "energy_j"] = -1.0
    with pytest.raises(ProfileSchemaError, match="energy_j"):
        EnergyModel(bootstrap=0).fit(bad)
    model = EnergyModel(bootstrap=0).fit(df, latency=False)
    cfg = df.drop(columns=["energy_j"]).copy()
    cfg.loc[cfg.index[0], "tp"] = 0
    with pytest.raises(ProfileSchemaError, match="tp"):
        model.predict(cfg)


def test_unknown_gpu_is_a_clear_error():
    df = synthetic_profiles(12)
    model = EnergyModel(bootstrap=0).fit(df, latency=False)
    cfg = df.drop(columns=["energy_j"]).head(2).copy()
    cfg["gpu"] = "Voodoo5 6000"
    with pytest.raises(ValueError, match="Voodoo5"):
        model.predict(cfg)


def test_unknown_model_is_estimated_with_a_warning():
    from energylens.profiles.tables import EstimatedArchitectureWarning

    df = synthetic_profiles(13)
    model = EnergyModel(bootstrap=0).fit(df, latency=False)
    cfg = df.drop(columns=["energy_j", "tpot_s"]).head(2).copy()
    cfg["model"] = "acme/never-heard-of-it-13b"
    cfg["params_b"] = 13.0
    with pytest.warns(EstimatedArchitectureWarning, match="never-heard-of-it"):
        out = model.predict(cfg)
    assert np.all(np.isfinite(out)) and np.all(out > 0)


def test_native_argument_errors_are_value_errors(features):
    cols = columns(features)
    theta = _core.describe_template("energy").init
    with pytest.raises(ValueError, match="'d_model' has 3 rows"):
        _core.evaluate("energy", cols[:6] + [cols[6][:3]] + cols[7:], theta)
    with pytest.raises(ValueError, match=f"needs {len(cols)} feature columns"):
        _core.evaluate("energy", cols[:-1], theta)
    with pytest.raises(ValueError, match="12 parameters"):
        _core.evaluate("energy", cols, theta[:-1])
    with pytest.raises(ValueError, match="unknown template"):
        _core.evaluate("power", cols, theta)
    with pytest.raises(ValueError, match="finite and > 0"):
        _core.fit("energy", cols, [np.full(len(cols[0]), np.nan)], None, _core.FitOptions())
    with pytest.raises(ValueError, match="loss must be"):
        _core.FitOptions(loss="cauchy")
    with pytest.raises(ValueError, match="unfitted|not fitted"):
        EnergyModel().predict(grid().head(2))


def test_device_evaluation_without_a_device_raises_cuda_unavailable(features):
    from energylens.model.device import evaluate_device

    class FakeDeviceArray:  # looks like a device array, points nowhere
        def __init__(self, n, typestr="<f8"):
            self.__cuda_array_interface__ = {"shape": (n,), "typestr": typestr, "data": (0, False),
                                             "version": 3, "strides": None}

    import energylens

    n = 8
    cols = {name: FakeDeviceArray(n) for name in _core.describe_template("energy").feature_names}
    out = (FakeDeviceArray(n), FakeDeviceArray(n))
    theta = _core.describe_template("energy").init
    if energylens.capabilities().cuda_devices > 0:
        pytest.skip("a CUDA device is present: tests/gpu covers the device path")
    with pytest.raises(CudaUnavailableError):
        evaluate_device("energy", cols, theta, out=out)
    with pytest.raises(ValueError, match="not a CUDA device array"):
        evaluate_device("energy", {**cols, "tp": np.ones(n)}, theta, out=out)
    with pytest.raises(ValueError, match="dtype"):
        evaluate_device("energy", {**cols, "tp": FakeDeviceArray(n, "<i8")}, theta, out=out)


# ---- command line ----------------------------------------------------------------------------------
def test_cli_fit_and_predict_round_trip(tmp_path, capsys):
    df = synthetic_profiles(14)
    profiles = tmp_path / "profiles.csv"
    df.to_csv(profiles, index=False)
    model_path = tmp_path / "model.json"
    assert cli_main(["fit", str(profiles), "-o", str(model_path), "--bootstrap", "20"]) == 0
    configs = tmp_path / "configs.csv"
    df.drop(columns=["energy_j", "tpot_s"]).head(7).to_csv(configs, index=False)
    out = tmp_path / "out.csv"
    assert cli_main(["predict", str(model_path), str(configs), "-o", str(out)]) == 0
    res = pd.read_csv(out)
    assert len(res) == 7
    for col in ("energy_j_pred", "prefill_energy_j_pred", "decode_energy_j_pred", "energy_j_lo", "energy_j_hi",
                "ttft_s_pred", "tpot_s_pred", "model", "tp"):
        assert col in res.columns, col
    assert np.all(res["energy_j_lo"] <= res["energy_j_pred"])
    assert cli_main(["predict", str(tmp_path / "nope.json"), str(configs), "-o", str(out)]) == 2
    assert "no such model file" in capsys.readouterr().err


def test_cli_latency_only_profiles_fit_and_predict_the_latency_model(tmp_path, capsys):
    from energylens.model.closed_form import load_model

    df = synthetic_profiles(14)
    truth = R.latency(build_features(df), R.LATENCY_PARAM_INIT)
    df = df.drop(columns=["energy_j"]).assign(ttft_s=truth[0], tpot_s=truth[1])
    profiles = tmp_path / "latency_only.csv"
    df.to_csv(profiles, index=False)
    model_path = tmp_path / "latency.json"
    assert cli_main(["fit", str(profiles), "-o", str(model_path), "--bootstrap", "20"]) == 0
    assert "no energy_j measurements; fitted the latency model only" in capsys.readouterr().out
    assert isinstance(load_model(model_path), LatencyModel)
    out = tmp_path / "out.csv"
    assert cli_main(["predict", str(model_path), str(profiles), "-o", str(out)]) == 0
    res = pd.read_csv(out)
    assert {"ttft_s_pred", "tpot_s_pred", "ttft_s_lo", "tpot_s_hi"} <= set(res.columns)
    assert "energy_j_pred" not in res.columns
    np.testing.assert_allclose(res["tpot_s_pred"], truth[1], rtol=1e-3)
    assert cli_main(["fit", str(profiles), "-o", str(model_path), "--no-latency"]) == 2
    assert "nothing to fit" in capsys.readouterr().err
    partial = df.assign(energy_j=np.r_[np.full(len(df) - 1, 100.0), np.nan])
    partial.to_csv(profiles, index=False)
    assert cli_main(["fit", str(profiles), "-o", str(model_path)]) == 2
    assert f"energy_j is missing in data rows [{len(df)}]" in capsys.readouterr().err


def test_demo_runs_on_the_bundled_data(capsys):
    from energylens.cli.demo import run_demo

    assert run_demo(compare=False) == 0
    out = capsys.readouterr().out
    assert "held-out accuracy" in out and "latency-first" in out and "static_power_frac" in out
    assert not math.isnan(float(out.split("MAPE ")[1].split(" %")[0]))  # 'MAPE 11.8 %' since d1e3e85c


def test_evaluate_into_preallocated_outputs(features):
    cols = columns(features)
    theta = _core.describe_template("energy").init
    n = len(cols[0])
    out = (np.empty(n), np.empty(n))
    ev = _core.evaluate("energy", cols, theta, out=out)
    assert ev.out0 is out[0] and ev.out1 is out[1]
    ref = _core.evaluate("energy", cols, theta)
    np.testing.assert_array_equal(out[0], ref.out0)
    np.testing.assert_array_equal(out[1], ref.out1)
    with pytest.raises(ValueError, match="rows"):
        _core.evaluate("energy", cols, theta, out=(np.empty(n - 1), np.empty(n)))
    with pytest.raises(ValueError, match="dtype"):
        _core.evaluate("energy", cols, theta, out=(np.empty(n, np.float32), np.empty(n)))
    with pytest.raises(ValueError, match="contiguous"):
        _core.evaluate("energy", cols, theta, out=(np.empty(2 * n)[::2], np.empty(n)))


# ---- broadcast columns and the feature-level fast path ---------------------------------------------
def _sweep(n=40_000, seed=0):
    """A sweep for one dense model on one GPU: five varying columns, the specs as scalars."""
    rng = np.random.default_rng(seed)
    one = build_features(grid().iloc[[0]])
    names = _core.describe_template("energy").feature_names
    varying = {"tp": rng.choice([1.0, 2.0, 4.0, 8.0], n), "pp": rng.choice([1.0, 2.0], n),
               "batch_size": rng.uniform(1, 1024, n), "input_tokens": rng.uniform(16, 4096, n),
               "output_tokens": rng.uniform(16, 2048, n)}
    return {k: varying[k] if k in varying else float(one[k][0]) for k in names}, names


@pytest.mark.parametrize("n", [7, 40_000])  # one thread / the threaded chunked path
def test_broadcast_columns_equal_full_columns(n):
    feats, names = _sweep(n)
    theta = random_params("energy", np.random.default_rng(3))
    short = [np.atleast_1d(np.asarray(feats[k])) for k in names]
    scalar0d = [np.asarray(feats[k]) for k in names]
    full = [np.ascontiguousarray(np.broadcast_to(c, (n,))) for c in short]
    ref = _core.evaluate("energy", full, theta, aux=True)
    for cols in (short, scalar0d):
        got = _core.evaluate("energy", cols, theta, aux=True)
        for part in ("out0", "out1", "out2"):
            np.testing.assert_array_equal(getattr(got, part), getattr(ref, part))
        ja = _core.evaluate("energy", cols, theta, True)
        jb = _core.evaluate("energy", full, theta, True)
        np.testing.assert_array_equal(ja.jacobian0, jb.jacobian0)
        np.testing.assert_array_equal(ja.jacobian1, jb.jacobian1)
    ev = _core.evaluate("energy", short, theta)
    np.testing.assert_allclose(ev.out0 + ev.out1, R.energy(feats, theta), rtol=1e-12)
    f32 = _core.evaluate("energy", short, theta, False, "float32")
    np.testing.assert_allclose(f32.out0 + f32.out1, ref.out0 + ref.out1, rtol=2e-4)
    out = (np.empty(n), np.empty(n))
    _core.evaluate("energy", short, theta, out=out)
    np.testing.assert_array_equal(out[0], ref.out0)
    np.testing.assert_array_equal(out[1], ref.out1)


def test_broadcast_only_for_single_values():
    feats, names = _sweep(50)
    cols = [np.atleast_1d(np.asarray(feats[k])) for k in names]
    theta = _core.describe_template("energy").init
    cols[names.index("n_layers")] = np.full(3, 80.0)
    with pytest.raises(ValueError, match="'n_layers' has 3 rows, feature 'tp' has 50 .*one value"):
        _core.evaluate("energy", cols, theta)
    cols[names.index("n_layers")] = np.full((2, 2), 80.0)
    with pytest.raises(ValueError, match="'n_layers' must be 1-D, got 2-D"):
        _core.evaluate("energy", cols, theta)


def test_predict_features_matches_predict_and_names_bad_values():
    frame = grid()
    m = EnergyModel(bootstrap=0, n_starts=1)
    truth = R.energy(build_features(frame), R.ENERGY_PARAM_INIT)
    m.fit(frame.assign(energy_j=truth))
    feats = build_features(frame)
    np.testing.assert_allclose(m.predict_features(feats), m.predict(frame), rtol=1e-13)
    sweep, _ = _sweep(64)
    e_pf, e_dec = m.evaluate_features(sweep)
    np.testing.assert_allclose(m.predict_features(sweep), e_pf + e_dec, rtol=1e-15)
    bad = dict(sweep, batch_size=np.r_[sweep["batch_size"][:5], np.nan, sweep["batch_size"][6:]])
    with pytest.raises(ValueError, match=r"'batch_size' row 5 is nan; it must be finite and > 0"):
        m.predict_features(bad)
    with pytest.raises(ValueError, match=r"'tp' row 0 is 0.0; it must be finite and >= 1"):
        m.predict_features(dict(sweep, tp=0.0))
    with pytest.raises(ValueError, match=r"features \['kv_bytes_per_token'\] missing"):
        m.predict_features({k: v for k, v in sweep.items() if k != "kv_bytes_per_token"})
    assert m.predict_features(dict(sweep, tp=0.0), validate=False).shape == (64,)  # unchecked: no error
    lat = LatencyModel(bootstrap=0)
    with pytest.raises(ValueError, match="not fitted"):
        lat.evaluate_features(sweep)
