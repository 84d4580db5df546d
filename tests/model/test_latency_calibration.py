"""Opt-in latency calibration (energylens.model.latency_calibration): the correction against a hand-computed
shrinkage on a small frame, unseen models left alone, save/load, and the search using it (native engine,
NumPy oracle, CLI)."""
from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

import energylens
from energylens import _core
from energylens.cli.main import main as cli_main
from energylens.errors import ModelFileError
from energylens.model import EnergyModel, LatencyModel, load_model
from energylens.profiles import read_profiles
from energylens.search.api import native_options, run_engine
from energylens.search.oracle import brute_force
from energylens.search.space import COMBO_FIELDS, build_space


@pytest.fixture(scope="module")
def small() -> pd.DataFrame:
    """Bundled ML.ENERGY v2 H100 text rows of four models (their TPOT): a small training frame."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        v2 = read_profiles("bundled")
    names = ["meta-llama/Meta-Llama-3.1-8B-Instruct", "meta-llama/Meta-Llama-3.1-70B-Instruct",
             "google/gemma-2-9b-it", "mistralai/Mixtral-8x7B-Instruct-v0.1"]
    rows = v2[v2["model"].isin(names) & v2["gpu"].str.contains("H100") & (v2["modality"] == "text")]
    assert rows["model"].nunique() == 4 and len(rows) >= 20
    return rows.reset_index(drop=True)


@pytest.fixture(scope="module")
def fitted(small):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain = LatencyModel(bootstrap=0, seed=3).fit(small)
        cal = LatencyModel(bootstrap=0, seed=3, calibration="model").fit(small)
    return plain, cal


def _hand_offsets(r: np.ndarray, keys: np.ndarray) -> dict:
    """The one-way random-effects posterior means written out independently of the package."""
    groups = sorted(set(keys))
    n = np.array([np.sum(keys == g) for g in groups], dtype=float)
    means = np.array([r[keys == g].mean() for g in groups])
    within = sum(np.sum((r[keys == g] - m) ** 2) for g, m in zip(groups, means, strict=True)) / (len(r) - len(groups))
    between = max(0.0, (np.sum(n * means**2) - len(groups) * within) / len(r))
    k = within / between
    return {g: r[keys == g].sum() / (n_g + k) for g, n_g in zip(groups, n, strict=True)}


def test_calibration_leaves_the_parameters_and_applies_the_hand_computed_offsets(small, fitted):
    plain, cal = fitted
    np.testing.assert_array_equal(plain.theta, cal.theta)  # the calibration is fitted after, on top
    base = plain.predict(small)["tpot_s_pred"].to_numpy()
    r = np.log(small["tpot_s"].to_numpy() / base)
    offsets = _hand_offsets(r, small["model"].to_numpy())
    assert max(abs(v) for v in offsets.values()) > 0.01  # the frame has a between-model spread to correct
    want = base * np.exp(small["model"].map(offsets).to_numpy())
    np.testing.assert_allclose(cal.predict(small)["tpot_s_pred"].to_numpy(), want, rtol=1e-12)
    # no TTFT in ML.ENERGY: that output has no calibration and keeps the template's value
    assert cal.calibration.ttft_s is None
    np.testing.assert_array_equal(cal.predict(small)["ttft_s_pred"], plain.predict(small)["ttft_s_pred"])


def test_unseen_model_gets_no_correction(small, fitted):
    plain, cal = fitted
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        v2 = read_profiles("bundled")
    other = v2[(v2["model"] == "google/gemma-2-27b-it") & v2["gpu"].str.contains("H100")].head(5)
    assert len(other) and not cal.calibration.seen(other).any()
    pd.testing.assert_frame_equal(cal.predict(other), plain.predict(other))
    assert np.all(cal.calibration.factors(other)[1] == 1.0)


def test_save_load_round_trip_and_bad_state(small, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        em = EnergyModel(bootstrap=0, seed=1, latency_calibration="model").fit(small)
    path = tmp_path / "m.json"
    em.save(path)
    back = load_model(path)
    assert back.latency_calibration_by == "model" and back.latency_model.calibration.by == "model"
    pd.testing.assert_frame_equal(back.latency_model.predict(small), em.latency_model.predict(small))
    assert back.calibration is None  # the energy model was not calibrated
    lm_path = tmp_path / "lat.json"
    em.latency_model.save(lm_path)
    pd.testing.assert_frame_equal(LatencyModel.load(lm_path).predict(small), em.latency_model.predict(small))
    state = json.loads(path.read_text())
    state["latency"]["calibration"]["by"] = "gpu"
    path.write_text(json.dumps(state))
    with pytest.raises(ModelFileError, match="latency calibration"):
        load_model(path)


def test_the_requested_latency_calibration_survives_a_file_without_a_latency_model(small, tmp_path):
    """Without a latency model (latency=False, or too few TTFT/TPOT rows) the file still says how to calibrate
    one, so a refit of the loaded model calibrates its latency as the original's refit does."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        em = EnergyModel(bootstrap=0, latency_calibration="model").fit(small, latency=False)
        path = tmp_path / "m.json"
        em.save(path)
        back = load_model(path)
        assert back.latency_model is None and back.latency_calibration_by == "model"
        assert back.fit(small).latency_model.calibration.by == "model"
    plain = tmp_path / "plain.json"
    EnergyModel(bootstrap=0).fit(small, latency=False).save(plain)
    assert "latency_calibration_by" not in json.loads(plain.read_text())["energy"]  # the default file is as before
    state = json.loads(path.read_text())
    state["energy"]["latency_calibration_by"] = "gpu"
    path.write_text(json.dumps(state))
    with pytest.raises(ModelFileError, match=r"m.json: energy latency_calibration_by: calibration key 'gpu'"):
        load_model(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        EnergyModel(bootstrap=0, latency_calibration="model").fit(small).save(path)
    state = json.loads(path.read_text())
    state["energy"]["latency_calibration_by"] = "family"
    path.write_text(json.dumps(state))
    with pytest.raises(ModelFileError, match=r"latency_calibration_by = 'family' but the latency model is calibrated "
                                             r"by 'model'"):
        load_model(path)


def test_unknown_key_is_a_clear_error():
    with pytest.raises(ValueError, match="calibration key 'gpu'"):
        LatencyModel(calibration="gpu")
    with pytest.raises(ValueError, match="calibration key 'gpu'"):
        EnergyModel(latency_calibration="gpu")


def test_search_prices_tpot_with_the_calibrated_latency(small):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        em = EnergyModel(bootstrap=0, seed=1, latency_calibration="model").fit(small)
        plain = EnergyModel(bootstrap=0, seed=1).fit(small)
    got = energylens.search(candidates=small, energy_model=em, top=len(small), bootstrap=False, threads=1,
                            gpu_memory_utilization=1.0, runtime_reserve_gib=0, activation_tokens=0)
    top = got.top.set_index("candidate")
    want = em.latency_model.predict(small)
    np.testing.assert_allclose(top["tpot_s"], want.loc[top.index, "tpot_s_pred"], rtol=1e-12)
    assert got.settings["latency_calibration"]["by"] == "model" and "latency calibrated" in got.model_source
    # a limit between a row's template and calibrated TPOT flips its feasibility
    f = em.latency_model.calibration.factors(small)[1]
    i = int(np.argmax(np.abs(np.log(f))))
    t_plain = plain.latency_model.predict(small.iloc[[i]])["tpot_s_pred"].iloc[0]
    limit = float(np.sqrt(t_plain * t_plain * f[i]))
    one = small.iloc[[i]]
    kw = dict(candidates=one, tpot_limit_s=limit, top=1, bootstrap=False, threads=1)
    n_cal, n_plain = (len(energylens.search(energy_model=m, **kw).top) for m in (em, plain))
    assert (n_cal, n_plain) == ((1, 0) if f[i] < 1 else (0, 1))


@pytest.mark.parametrize("threads", [1, 2])
def test_engine_factors_match_the_oracle(threads):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = EnergyModel(bootstrap=0, seed=0).fit("bundled")
    space = build_space(["llama-3.1-8b", "mixtral-8x7b"], ["H100", "A100-SXM4-80GB"], tp=[1, 2, 4], pp=[1],
                        dp=[1], ep=[1], max_num_seqs=[8, 64, 256], input_tokens=[512], output_tokens=[256])
    space.combo_values[:, COMBO_FIELDS.index("tpot_factor")] = np.linspace(0.7, 1.4, len(space.combos))
    space.combo_values[:, COMBO_FIELDS.index("ttft_factor")] = np.linspace(1.3, 0.8, len(space.combos))
    theta, phi = model.theta, model.latency_model.theta
    for opts in ({"top": 5, "tpot_limit_s": 0.03}, {"top": 5, "rate_per_s": 5.0, "ttft_limit_s": 2.0}):
        out = run_engine(space, theta, phi, {**native_options(**opts), "threads": threads})
        ref = brute_force(space, theta, phi, **{("top_k" if k == "top" else k): v for k, v in opts.items()})
        assert out.feasible == ref["feasible"] and out.feasible > 0
        np.testing.assert_array_equal(out.top.index, ref["top"]["index"])
        np.testing.assert_allclose(out.top.objective, ref["top"]["objective"], rtol=1e-10)
        ev = _core.search_evaluate(*space.native_args(), theta, phi, native_options(**opts), out.top.index)
        np.testing.assert_allclose(ev.tpot_s, out.top.tpot_s, rtol=1e-15)


def test_cli_fit_calibrate_latency_then_search(small, tmp_path, capsys):
    profiles = tmp_path / "p.csv"
    small.to_csv(profiles, index=False)
    model_file = tmp_path / "m.json"
    assert cli_main(["fit", str(profiles), "-o", str(model_file), "--bootstrap", "0",
                     "--calibrate-latency", "model"]) == 0
    assert "latency tpot_s calibration by model" in capsys.readouterr().out
    assert load_model(model_file).latency_model.calibration is not None
    assert cli_main(["search", "--model", "llama-3.1-8b", "--gpus", "H100", "--input-tokens", "512",
                     "--output-tokens", "256", "--model-file", str(model_file), "--top", "3"]) == 0
    assert "latency calibrated by model" in capsys.readouterr().out


def test_keys_keep_weight_precisions_and_gpus_apart():
    from energylens.model.latency_calibration import latency_keys

    frame = {"model": np.array(["Qwen/Qwen3-235B-A22B-Instruct-2507", "Qwen/Qwen3-235B-A22B-Instruct-2507-FP8",
                                "Qwen/Qwen3-235B-A22B-Thinking-2507", "my-own-model", None,
                                "Qwen/Qwen3-235B-A22B-Instruct-2507"], dtype=object),
             "precision": np.array(["bf16", "fp8", None, "bfloat16", "bf16", "bf16"], dtype=object),
             "gpu": np.array(["H100", "NVIDIA H100 80GB HBM3", "H100 SXM", "my-gpu", "H100", "A100-SXM4-80GB"],
                             dtype=object)}
    k, names = latency_keys(frame, "model")
    keys = [names[i] for i in k]
    # the table maps both checkpoints to one model; the precision keeps their factors apart, a blank
    # precision is the schema's bf16, GPU aliases are one GPU, an unknown model or GPU is its own key
    # and a missing model has none
    h100, q = "H100-SXM5-80GB", "Qwen/Qwen3-235B-A22B"
    assert keys == [f"{q} @ bf16 @ {h100}", f"{q} @ fp8 @ {h100}", f"{q} @ bf16 @ {h100}", "my-own-model @ bf16 @ my-gpu",
                    None, f"{q} @ bf16 @ A100-SXM4-80GB"]


def test_interval_is_the_template_interval_times_the_factor(small):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain = LatencyModel(bootstrap=12, seed=5).fit(small)
        cal = LatencyModel(bootstrap=12, seed=5, calibration="model").fit(small)
        lo_hi, lo_hi_cal = plain.predict_interval(small), cal.predict_interval(small)
    f_ttft, f_tpot = cal.calibration.factors(small)
    assert np.ptp(f_tpot) > 0.01
    np.testing.assert_allclose(lo_hi_cal["tpot_s_lo"], lo_hi["tpot_s_lo"] * f_tpot, rtol=1e-12)
    np.testing.assert_allclose(lo_hi_cal["tpot_s_hi"], lo_hi["tpot_s_hi"] * f_tpot, rtol=1e-12)
    np.testing.assert_allclose(lo_hi_cal["ttft_s_hi"], lo_hi["ttft_s_hi"] * f_ttft, rtol=1e-12)


def test_search_says_the_energy_calibration_is_applied(small, tmp_path, capsys):
    profiles = tmp_path / "p.csv"
    small.to_csv(profiles, index=False)
    model_file = tmp_path / "m.json"
    assert cli_main(["fit", str(profiles), "-o", str(model_file), "--bootstrap", "0", "--calibrate", "model"]) == 0
    capsys.readouterr()
    assert cli_main(["search", "--model", "llama-3.1-8b", "--gpus", "H100", "--input-tokens", "512",
                     "--output-tokens", "256", "--model-file", str(model_file), "--top", "3"]) == 0
    out = capsys.readouterr().out  # tests/search/test_search_energy_calibration.py checks the energies
    assert "energy calibration by model applied (1 of 1 combinations' model seen in training" in out
    assert "not applied" not in out
