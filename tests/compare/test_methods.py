"""The compared methods: interface, fits on small synthetic frames, and hand-checked formulas."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from energylens.compare import baselines, inputs, methods, registry
from energylens.profiles import datasets, load_profiles, tables

#: The test frames' GPUs, as the GPU table's rows (specs the template's features can read: the
#: baselines read the template's inputs, energylens.compare.inputs.template_inputs).
FAKE_GPUS = {"A100-SXM4-40GB": tables.gpu_spec("A100-SXM4-40GB"), "H100": tables.gpu_spec("H100-SXM5-80GB")}


def fake_gpu_spec(name: str):
    return FAKE_GPUS[name]


def synthetic_profiles(seed: int = 0, n_models: int = 4, tasks=("chat", "code")) -> pd.DataFrame:
    """Schema-v1-like rows with a plausible energy law (batch amortises weight reads)."""
    rng = np.random.default_rng(seed)
    rows = []
    sizes = [2.0, 7.0, 13.0, 70.0, 34.0, 9.0][:n_models]
    for mi, p in enumerate(sizes):
        for gpu, spec in FAKE_GPUS.items():
            for task in tasks:
                tin = 300.0 if task == "chat" else 500.0
                for tp in (1, 2, 4):
                    for b in (16, 64, 256):
                        tout = 250.0 + 20 * rng.standard_normal()
                        step = 2 * p * 1e9 / (tp * spec.hbm_bw_gbs * 1e9) * (1 + b / 200)
                        e = tp * spec.tdp_w * 0.6 * (tout * step / b + 0.02 * tin / 500)
                        e *= np.exp(0.05 * rng.standard_normal())
                        rows.append(dict(
                            model=f"org/m{mi}", params_b=p, active_params_b=p, gpu=gpu, tp=tp,
                            pp=1, ep=1, n_gpus=tp, batch_size=b, input_tokens=tin,
                            output_tokens=tout, energy_j=e, tpot_s=step * 1.1,
                            precision="bf16", modality="text" if mi % 2 == 0 else "image",
                            task=task))
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    """The synthetic rows validated once, as the runner hands them to every method (their made-up models'
    architectures estimated, with the one warning that says so)."""
    with pytest.warns(tables.EstimatedArchitectureWarning):
        return load_profiles(synthetic_profiles())


def test_precision_bytes():
    assert inputs.precision_bytes("BF16") == 2.0
    assert inputs.precision_bytes("fp8") == 1.0
    with pytest.raises(ValueError, match="unknown precision"):
        inputs.precision_bytes("fp3")


def test_baseline_features_columns(frame):
    x = inputs.baseline_features(frame, gpu_spec=fake_gpu_spec)
    assert x.shape == (len(frame), len(inputs.BASELINE_FEATURES))
    j = inputs.BASELINE_FEATURES.index("hbm_bytes_per_s")
    assert set(np.unique(x[:, j])) == {1555e9, 3350e9}
    assert np.all(x[:, inputs.BASELINE_FEATURES.index("precision_bytes")] == 2.0)


def test_missing_column_is_clear(frame):
    with pytest.raises(ValueError, match="batch_size"):
        inputs.baseline_features(frame.drop(columns=["batch_size"]), gpu_spec=fake_gpu_spec)


@pytest.mark.parametrize("name", ["latency_proxy", "wilkins2024", "llmcarbon", "random_forest",
                                  "gradient_boosting", "xgboost"])
def test_every_method_fits_and_predicts(frame, name):
    (m,) = registry.default_methods(seed=0, gpu_spec=fake_gpu_spec, include=(name,))
    assert isinstance(m, methods.Method)
    assert m.name == name
    train, test = frame.iloc[::2], frame.iloc[1::2]
    pred = m.fit(train).predict_energy(test)
    assert pred.shape == (len(test),) and np.all(np.isfinite(pred))
    if m.predicts_energy_scale:
        assert np.all(pred > 0)
    assert set(m.run_notes()) <= {"pooled_fraction"}
    if m.has_tpot():
        t = m.predict_tpot(test)
        assert t.shape == (len(test),) and np.all(t > 0)


def test_unknown_method_name():
    with pytest.raises(ValueError, match="unknown method"):
        registry.default_methods(include=("nope",))
    with pytest.raises(ValueError, match=r"method\(s\) \['energylens'\] named more than once"):
        registry.default_methods(include=("energylens", "llmcarbon", "energylens"))  # ran twice, merged into one
    with pytest.raises(ValueError, match="unknown ensemble kind"):
        baselines.EnsembleRegressor("svm")


def test_latency_proxy_is_measured_tpot(frame):
    m = baselines.LatencyProxy().fit(frame)
    np.testing.assert_array_equal(m.predict_energy(frame), frame["tpot_s"].to_numpy())
    assert not m.predicts_energy_scale


def test_wilkins_recovers_published_form_exactly():
    rng = np.random.default_rng(1)
    tin = rng.uniform(100, 1000, 30)
    tout = rng.uniform(50, 500, 30)
    a = (0.01, 0.2, 1e-4)
    df = pd.DataFrame(dict(model="m", gpu="A100-SXM4-40GB", tp=1, pp=1, batch_size=8, input_tokens=tin, output_tokens=tout,
                           params_b=7.0, energy_j=a[0] * tin + a[1] * tout + a[2] * tin * tout))
    m = baselines.WilkinsClosedForm(gpu_spec=fake_gpu_spec).fit(df)
    np.testing.assert_allclose(m.coef_[("m", "A100-SXM4-40GB")], a, rtol=1e-8)
    np.testing.assert_allclose(m.predict_energy(df), df["energy_j"], rtol=1e-8)
    assert m.pooled_groups == []


def test_wilkins_pools_small_groups_and_says_so():
    df = pd.DataFrame(dict(model=["a"] * 5 + ["b"], gpu="A100-SXM4-40GB", tp=1, pp=1, batch_size=8,
                           params_b=[7.0] * 5 + [14.0], input_tokens=[100, 200, 300, 400, 500, 300.0],
                           output_tokens=[50, 80, 60, 90, 70, 70.0],
                           energy_j=[10, 20, 25, 40, 45, 60.0]))
    m = baselines.WilkinsClosedForm(min_rows=3, gpu_spec=fake_gpu_spec).fit(df)
    assert ("b", "A100-SXM4-40GB") not in m.coef_
    pred = m.predict_energy(pd.DataFrame(dict(model=["b", "c"], gpu="A100-SXM4-40GB", tp=1, pp=1, batch_size=8,
                                              params_b=[14.0, 1.0], input_tokens=300.0, output_tokens=70.0)))
    assert m.pooled_groups == [("b", "A100-SXM4-40GB"), ("c", "A100-SXM4-40GB")]
    assert pred[0] == pytest.approx(14.0 * pred[1])  # pooled per active parameter (dense: all of them)


def test_wilkins_has_no_configuration_term(frame):
    """Same model, GPU and tokens: the published form cannot tell TP or batch apart."""
    m = baselines.WilkinsClosedForm(gpu_spec=fake_gpu_spec).fit(frame)
    same = frame[(frame.model == "org/m1") & (frame.gpu == "A100-SXM4-40GB") & (frame.task == "chat")].copy()
    same["output_tokens"] = 250.0
    pred = m.predict_energy(same)
    assert np.ptp(pred) == pytest.approx(0.0, abs=1e-9 * pred.mean())


def test_llmcarbon_hand_computed():
    """One row, memory-bound decode: check the roofline by hand (Llama 3.1 8B: 32 layers, 8 KV heads of 128)."""
    df = pd.DataFrame(dict(model="meta-llama/Llama-3.1-8B-Instruct", gpu="A100-SXM4-40GB", tp=2, pp=1, n_gpus=2, batch_size=4,
                           input_tokens=100.0, output_tokens=10.0, params_b=8.0, precision="bf16",
                           energy_j=1.0), index=[0])
    m = baselines.LLMCarbonRoofline(gpu_spec=fake_gpu_spec)
    e_u1, step = m._roofline(df)
    bw, flops, tdp = 1555e9, 312e12, 400.0
    kv = 4 * (100 + 0.5 * 10) * 32 * 2 * 8 * 128 * 2.0  # batch x mean context x layers x K and V x heads x dim x 2 B
    weights = 2.0 * (8e9 - 128256 * 4096)  # 2 B x the parameters, less the untied input embedding (a lookup)
    active = 8e9 - 128256 * 4096  # the parameters a token multiplies: not the input embedding (a lookup)
    step_ref = max((weights + kv) / (2 * bw), active * 2 * 4 / (2 * flops))
    t_req = 2 * active * 100 / (2 * flops) + 10 * step_ref / 4
    assert step[0] == pytest.approx(step_ref, rel=1e-12)
    assert e_u1[0] == pytest.approx(2 * tdp * t_req, rel=1e-12)
    m.fit(pd.concat([df.assign(energy_j=0.5 * e_u1[0])]))
    assert m.utilisation_ == pytest.approx(0.5)


def test_ensembles_are_seeded(frame):
    a = baselines.EnsembleRegressor("rf", seed=3, gpu_spec=fake_gpu_spec).fit(frame).predict_energy(frame)
    b = baselines.EnsembleRegressor("rf", seed=3, gpu_spec=fake_gpu_spec).fit(frame).predict_energy(frame)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("kind", ["rf", "gb"])
def test_ensembles_take_method_seeds_past_2_32(frame, kind):
    """evaluate's method seeds (seed * 1000 + repeat) reach 2**63; the libraries take random_state below 2**32.
    A large seed gets a 32-bit seed drawn from it (deterministic), a small one is passed as it is."""
    pytest.importorskip("sklearn")
    big = 4_294_968 * 1000  # evaluate --seed 4294968, first repeat: past 2**32
    a = baselines.EnsembleRegressor(kind, seed=big, gpu_spec=fake_gpu_spec)
    pred = a.fit(frame).predict_energy(frame)
    assert np.all(np.isfinite(pred))
    again = baselines.EnsembleRegressor(kind, seed=big, gpu_spec=fake_gpu_spec).fit(frame).predict_energy(frame)
    np.testing.assert_array_equal(pred, again)
    assert a.learner_seed < 2**32 and baselines.EnsembleRegressor(kind, seed=big + 1).learner_seed != a.learner_seed
    assert baselines.EnsembleRegressor(kind, seed=3).learner_seed == 3


def test_fit_rejects_bad_energy(frame):
    bad = frame.copy()
    bad.loc[bad.index[0], "energy_j"] = -1.0
    with pytest.raises(ValueError, match="energy_j"):
        baselines.WilkinsClosedForm().fit(bad)


def test_closed_form_on_bundled_rows():
    df = datasets.mlenergy_v2()
    m = methods.ClosedForm().fit(df.sample(60, random_state=0))
    pred = m.predict_energy(df)
    assert np.all(np.isfinite(pred) & (pred > 0))
    assert np.median(np.abs(pred / df["energy_j"].to_numpy() - 1)) < 0.5
    assert m.has_tpot() and np.all(m.predict_tpot(df) > 0)
    with pytest.raises(RuntimeError, match="before fit"):
        methods.ClosedForm().predict_energy(df)


def test_register_method_joins_the_default_comparison():
    class Const(methods.MethodBase):
        name = "symbolic"

        def fit(self, df):
            return self

        def predict_energy(self, df):
            return np.ones(len(df))

    registry.register_method("symbolic", lambda seed, gpu_spec: Const())
    try:
        assert "symbolic" in registry.method_names()
        ms = registry.default_methods(gpu_spec=fake_gpu_spec, include=("llmcarbon", "symbolic"))
        assert [m.name for m in ms] == ["llmcarbon", "symbolic"]
        with pytest.raises(ValueError, match="already exists"):
            registry.register_method("symbolic", lambda seed, gpu_spec: Const())
        with pytest.raises(ValueError, match="already exists"):
            registry.register_method("xgboost", lambda seed, gpu_spec: Const())
    finally:
        registry.unregister_method("symbolic")
    assert "symbolic" not in registry.method_names()
