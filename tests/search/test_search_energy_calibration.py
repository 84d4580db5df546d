"""The search with a calibrated energy model (energylens.model.calibration): the engine's energies equal
EnergyModel.predict on the candidate rows (native engine, 1 and 2 threads, and the NumPy oracle), top-k and
Pareto fronts equal the oracle's on random spaces, unseen keys keep factor 1, load mode's idle-headroom
rule, the bootstrap interval and the explanation, the CLI end to end, and uncalibrated models unchanged."""
from __future__ import annotations

import json
import math
import warnings
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from test_search_exact import _compare, _random_params, _random_space

import energylens
from energylens import _core
from energylens.cli.main import main as cli_main
from energylens.model import EnergyModel, load_model
from energylens.model.calibration import Calibration
from energylens.profiles import read_profiles, tables
from energylens.search.api import bundled_model, calibrate_energy, native_options, run_engine
from energylens.search.candidates import candidate_space
from energylens.search.oracle import brute_force
from energylens.search.space import COMBO_FIELDS, build_space

TRAINED = ["meta-llama/Meta-Llama-3.1-8B-Instruct", "meta-llama/Meta-Llama-3.1-70B-Instruct",
           "google/gemma-2-9b-it", "mistralai/Mixtral-8x7B-Instruct-v0.1"]
UNSEEN = "microsoft/Phi-3-medium-4k-instruct"  # in the bundled rows, not in the training frame
EF = COMBO_FIELDS.index("energy_factor")
# the small training frame is H100 rows at one prompt length: predictions elsewhere extrapolate (expected)
pytestmark = pytest.mark.filterwarnings("ignore::energylens.errors.ExtrapolationWarning")


@pytest.fixture(scope="module")
def v2() -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return read_profiles("bundled")


@pytest.fixture(scope="module")
def small(v2) -> pd.DataFrame:
    """Bundled ML.ENERGY v2 H100 text rows of four models: the training frame."""
    rows = v2[v2["model"].isin(TRAINED) & v2["gpu"].str.contains("H100") & (v2["modality"] == "text")]
    assert rows["model"].nunique() == 4
    return rows.reset_index(drop=True)


@pytest.fixture(scope="module")
def models(small):
    """(calibrated by model, the same fit without calibration); the parameters are identical."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cal = EnergyModel(calibration="model", bootstrap=12, seed=3).fit(small)
        plain = EnergyModel(bootstrap=12, seed=3).fit(small)
    np.testing.assert_array_equal(cal.theta, plain.theta)
    f = cal.calibration.factors(small)
    assert np.ptp(np.log(f)) > 0.02  # the offsets differ between the models: the tests below can fail
    return cal, plain


@pytest.fixture(scope="module")
def rows(v2, small) -> pd.DataFrame:
    """Candidate rows: the training models' H100 and A100 rows and an unseen model's, labelled."""
    pick = v2[v2["model"].isin([*TRAINED, UNSEEN]) & (v2["modality"] == "text")]
    out = pick[pick.groupby(["model", "gpu"]).cumcount() % 3 == 0].copy()
    assert out["model"].nunique() == 5 and out["gpu"].nunique() == 2
    out.index = [f"r{i}" for i in range(len(out))]
    return out


def _by_label(result, rows):
    """The result's rows in the order of ``rows`` (those the memory check keeps: all but a few)."""
    top = result.top.set_index("candidate")
    assert len(top) >= len(rows) - 2
    return top.loc[[i for i in rows.index if i in top.index]]


@pytest.mark.parametrize("threads", [1, 2])
def test_search_energies_equal_predict_on_candidate_rows(models, rows, threads):
    cal, plain = models
    r = energylens.search(candidates=rows, energy_model=cal, top=len(rows), bootstrap=False, threads=threads)
    got = _by_label(r, rows)
    rows = rows.loc[got.index]
    np.testing.assert_allclose(got["energy_j"], cal.predict(rows), rtol=1e-12, atol=0)
    pf, dec = (cal.predict_phases(rows)[k].to_numpy() for k in ("prefill_energy_j_pred", "decode_energy_j_pred"))
    np.testing.assert_allclose(got["prefill_j"], pf, rtol=1e-12, atol=0)
    np.testing.assert_allclose(got["decode_j"], dec, rtol=1e-12, atol=0)
    # the calibration moved them: the plain model's energies times each row's factor
    f = cal.calibration.factors(rows)
    assert np.ptp(f) > 0.02
    np.testing.assert_allclose(got["energy_j"], plain.predict(rows) * f, rtol=1e-12)
    # the unseen model keeps factor 1 and the plain model's energy
    unseen = rows["model"] == UNSEEN
    assert np.all(f[unseen.to_numpy()] == 1.0) and not cal.calibration.seen(rows[unseen]).any()
    np.testing.assert_allclose(got.loc[unseen, "energy_j"], plain.predict(rows[unseen]), rtol=1e-12, atol=0)
    settings = r.settings["energy_calibration"]
    assert settings["by"] == "model" and any(UNSEEN.split("/")[1] in u for u in settings["unseen"])
    assert {round(v, 12) for v in settings["factors"].values()} == {round(float(x), 12) for x in f}


def test_oracle_energies_equal_predict_on_candidate_rows(models, rows):
    cal, _ = models
    space, index = candidate_space(rows, None)
    calibrate_energy(space, cal)
    ref = brute_force(space, cal.theta, cal.latency_model.theta, index, top_k=len(rows))
    label = dict(zip(index.tolist(), rows.index, strict=True))
    got = ref["top"].assign(candidate=[label[int(i)] for i in ref["top"]["index"]]).set_index("candidate")
    rows = rows.loc[[i for i in rows.index if i in got.index]]
    assert len(rows) >= len(label) - 2 and rows["model"].nunique() == 5
    np.testing.assert_allclose(got.loc[rows.index, "energy_j"], cal.predict(rows), rtol=1e-12, atol=0)


def test_unseen_key_gets_factor_1_and_sentence_says_so(models):
    cal, _ = models
    space = build_space(["llama-3.1-8b", "Qwen/Qwen3-30B-A3B"], "H100,A100-SXM4-80GB", input_tokens=[512],
                        output_tokens=[256], tp=[1, 2], max_num_seqs=[8])
    info = calibrate_energy(space, cal)
    factor = space.combo_values[:, EF]
    qwen = np.array(["Qwen3-30B" in c.model for c in space.combos])
    assert np.all(factor[qwen] == 1.0) and np.all(factor[~qwen] != 1.0)
    assert math.isclose(factor[~qwen][0], float(cal.calibration.factors(pd.DataFrame({"model": [TRAINED[0]]}))[0]))
    assert len(info["unseen"]) == 2 and all("Qwen3-30B" in u for u in info["unseen"])
    assert all(info["keys"][u] == space.combos[int(np.flatnonzero(qwen)[0])].model for u in info["unseen"])
    r = energylens.search("llama-3.1-8b,Qwen/Qwen3-30B-A3B", "H100,A100-SXM4-80GB", input_tokens=512,
                          output_tokens=256, tp=[1, 2], max_num_seqs=[8], energy_model=cal, bootstrap=False)
    assert "energy calibration by model applied (2 of 4 combinations' model seen in training" in r.model_source
    assert "2 unseen keep the shared template's energy, factor 1" in r.model_source
    f = float(factor[~qwen][0])  # the span names the seen keys' factors only
    assert f"carry its factor, x{f:.4g} to x{f:.4g};" in r.model_source
    assert "not applied" not in r.model_source


def _synthetic_calibration(rng, models_seen):
    """A calibration by model with large random offsets (+-30 %) for ``models_seen``."""
    n = len(models_seen)
    return Calibration("model", tuple(models_seen), rng.normal(0, 0.3, n), np.full(n, 5.0), 2.0, 0.01, 0.005, 1.0,
                       np.zeros(1), 1)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("threads", [1, 2])
def test_top_k_and_fronts_equal_the_oracle_with_calibration(seed, threads):
    rng = np.random.default_rng(700 + seed)
    model = bundled_model()
    for _ in range(20):  # until a space prices a candidate (seeds 0 and 4 first draw spaces that reject all)
        space = _random_space(rng, 15_000 if seed < 4 else 1500)
        theta, phi = _random_params(model, rng)
        names = sorted({tables.find_model(c.model).name for c in space.combos})  # the keys a fit records
        seen = list(rng.choice(names, max(1, len(names) - 1), replace=False))  # one model may stay unseen
        info = calibrate_energy(space, SimpleNamespace(calibration=_synthetic_calibration(rng, seen)))
        assert info is not None and np.ptp(space.combo_values[:, EF]) > 0 or len(names) == 1
        if seed < 4:
            opts = {"top": int(rng.integers(3, 25)), "tpot_limit_s": float(rng.uniform(0.03, 0.2))}
            if seed % 2:
                opts.update(objective="carbon", carbon_g_per_kwh=300.0, per_token=True)
        else:  # load mode
            opts = {"top": 8, "rate_per_s": float(rng.uniform(0.5, 40)), "tpot_limit_s": 0.2}
        out, ref = _compare(space, theta, phi, opts, threads)
        if out.feasible > 0:
            break
    assert out.feasible > 0 and len(out.top.index) == min(opts["top"], out.feasible)
    # reported energies are the calibrated ones (scalar re-evaluation agrees)
    ev = _core.search_evaluate(*space.native_args(), theta, phi, native_options(**opts), out.top.index)
    np.testing.assert_allclose(ev.energy_j, out.top.energy_j, rtol=1e-12)


def test_load_mode_scales_the_template_and_tops_up_idle_headroom(models):
    """Rule (docs/search.md): E = f (prefill + decode) + max(0, S - f static), S the provisioned GPUs'
    static draw per request; the batch, replicas and latencies do not move."""
    cal, _ = models
    space = build_space(["llama-3.1-8b", "llama-3.1-70b", "mixtral-8x7b"], "H100", input_tokens=[512],
                        output_tokens=[256], tp=[1, 2, 4, 8], max_num_seqs=[16, 64, 256])
    index = np.arange(space.size, dtype=np.uint64)
    opts = native_options(rate_per_s=0.7)
    plain = _core.search_evaluate(*space.native_args(), cal.theta, cal.latency_model.theta, opts, index)
    calibrate_energy(space, cal)
    f = space.combo_values[space.digits(index.astype(np.int64))[0], EF]
    assert np.ptp(f) > 0.01
    got = _core.search_evaluate(*space.native_args(), cal.theta, cal.latency_model.theta, opts, index)
    for name in ("batch", "replicas", "ttft_s", "tpot_s", "gpus", "reason"):
        np.testing.assert_array_equal(getattr(got, name), getattr(plain, name))
    np.testing.assert_allclose(got.prefill_j, f * plain.prefill_j, rtol=1e-14)
    np.testing.assert_allclose(got.decode_j, f * plain.decode_j, rtol=1e-14)
    np.testing.assert_allclose(got.static_j, f * plain.static_j, rtol=1e-14)
    idle = plain.idle_j > 0
    assert 5 <= idle.sum() < len(index)  # a low rate: many deployments idle part of the time
    provisioned = plain.idle_j[idle] + plain.static_j[idle]  # S, what the GPUs draw statically per request
    np.testing.assert_allclose(got.idle_j[idle], np.maximum(0.0, provisioned - got.static_j[idle]), rtol=1e-9,
                               atol=1e-9 * provisioned.max())
    np.testing.assert_allclose(got.energy_j, got.prefill_j + got.decode_j + got.idle_j, rtol=1e-14)
    ref = brute_force(space, cal.theta, cal.latency_model.theta, top_k=space.size, rate_per_s=0.7)
    order = ref["top"]["index"].to_numpy()
    np.testing.assert_allclose(ref["top"]["energy_j"], got.energy_j[order], rtol=1e-10)


def test_bootstrap_interval_and_explanation_are_the_calibrated_ones(models, rows):
    cal, plain = models
    kw = dict(candidates=rows, top=len(rows), threads=1)
    r = energylens.search(energy_model=cal, **kw)
    r0 = energylens.search(energy_model=plain, **kw)
    got, base = _by_label(r, rows), _by_label(r0, rows)
    rows = rows.loc[got.index]
    f = cal.calibration.factors(rows)
    # the interval: the calibrated predict_interval of each row alone (its calibrated residuals on seen keys, the
    # offset's own error added, the GPU transfer factor on the A100 rows the H100 fit never saw)
    iv = pd.concat([cal.predict_interval(rows.iloc[[i]], check_range=False) for i in range(len(rows))])
    np.testing.assert_allclose(got["energy_j_lo"], iv["energy_j_lo"], rtol=1e-9)
    np.testing.assert_allclose(got["energy_j_hi"], iv["energy_j_hi"], rtol=1e-9)
    assert got["unseen_gpu"].any() and not got["unseen_gpu"].all()
    unseen = (rows["model"] == UNSEEN).to_numpy()
    np.testing.assert_allclose(got.loc[unseen, "energy_j_lo"], base.loc[unseen, "energy_j_lo"], rtol=1e-12)
    assert np.isclose(r.top["p_best"].sum(), 1.0)
    # the explanation's split is the calibrated energy's: static and dynamic scale with the factor
    for t in ("prefill_static_j", "prefill_dynamic_j", "decode_static_j", "decode_dynamic_j"):
        np.testing.assert_allclose(got[t], base[t] * f, rtol=1e-10, atol=1e-12 * got["energy_j"].max())
    terms = got[["prefill_static_j", "prefill_dynamic_j", "decode_static_j", "decode_dynamic_j", "idle_j"]]
    np.testing.assert_allclose(terms.sum(axis=1), got["energy_j"], rtol=1e-12)
    text = r.explain(0)
    assert f"{r.top['energy_j'].iloc[0]:.4g} J/request" in text


def test_cli_fit_calibrate_then_search_with_the_model_file(small, tmp_path, capsys):
    profiles = tmp_path / "p.csv"
    small.to_csv(profiles, index=False)
    model_file = tmp_path / "m.json"
    assert cli_main(["fit", str(profiles), "-o", str(model_file), "--bootstrap", "0", "--calibrate", "model"]) == 0
    capsys.readouterr()
    args = ["search", "--model", "llama-3.1-8b,llama-3.1-70b,Qwen/Qwen3-30B-A3B", "--gpus", "H100",
            "--input-tokens", "512", "--output-tokens", "256", "--model-file", str(model_file), "--top", "40"]
    assert cli_main(args) == 0
    text = capsys.readouterr().out
    assert "energy calibration by model applied (2 of 3 combinations' model seen in training" in text
    assert "not applied" not in text
    assert cli_main([*args, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    factors = doc["settings"]["energy_calibration"]["factors"]
    assert len(factors) == 3 and sum(v == 1.0 for v in factors.values()) == 1
    top = pd.DataFrame(doc["top"])
    # the printed energies are EnergyModel.predict's on the configurations' rows (the CLI's default axes)
    space = build_space(["llama-3.1-8b", "llama-3.1-70b", "Qwen/Qwen3-30B-A3B"], "H100", input_tokens=[512],
                        output_tokens=[256], tp=(1, 2, 4, 8), pp=(1,), dp=(1,), ep=(1,),
                        max_num_seqs=(1, 2, 4, 8, 16, 32, 64, 128, 256))
    assert space.size == doc["candidates"]
    frame = space.point_profiles(top["index"].to_numpy())
    assert frame["model"].nunique() >= 2
    np.testing.assert_allclose(top["energy_j"], load_model(model_file).predict(frame), rtol=1e-12)


def test_uncalibrated_model_is_unchanged(models):
    """A model without calibration: no setting, no sentence, every factor exactly 1, and the engine's
    energies bit-identical to a run whose factor column is never touched."""
    _, plain = models
    kw = dict(input_tokens=[512, 2000], output_tokens=[256, 100], tp=[1, 2, 4], max_num_seqs=[8, 64, 256])
    r = energylens.search("llama-3.1-8b,mixtral-8x7b", "H100,A100-SXM4-80GB", energy_model=plain, **kw)
    assert r.settings["energy_calibration"] is None and "energy calibration" not in r.model_source
    space = build_space(["llama-3.1-8b", "mixtral-8x7b"], "H100,A100-SXM4-80GB", **kw)
    assert np.all(space.combo_values[:, EF] == 1.0)
    assert calibrate_energy(space, plain) is None and np.all(space.combo_values[:, EF] == 1.0)
    out = run_engine(space, plain.theta, plain.latency_model.theta, native_options(top=10))
    assert out.top.index.tolist() == r.top["index"].tolist()
    assert np.array_equal(out.top.energy_j, r.top["energy_j"].to_numpy())
