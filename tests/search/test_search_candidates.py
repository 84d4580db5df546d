"""Searching an explicit table of configurations (energylens.search(candidates=df)): the engine restricted
to given indices against the brute force on the same subset, the table's rows priced as EnergyModel.predict
prices them, and clear errors."""

import warnings

import numpy as np
import pandas as pd
import pytest
from test_search_exact import _assert_same_memory

import energylens
from energylens.profiles import tables
from energylens.search.api import REASONS, native_options, run_engine
from energylens.search.candidates import candidate_space
from energylens.search.oracle import brute_force
from energylens.search.space import build_space


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("threads", [1, 2])
def test_subset_matches_brute_force_on_the_subset(model, seed, threads):
    rng = np.random.default_rng(seed)
    space = build_space(["llama-3.1-70b", "mixtral-8x7b", "Qwen/Qwen3-30B-A3B"], ["H100", "H200", "L40S"],
                        input_tokens=[128, 1024, 4000], output_tokens=[64, 512, 1000], tp=[1, 2, 4, 8], pp=[1, 2],
                        dp=[1, 2], ep=[1, 2, 4], max_num_seqs=[1, 16, 128, 512])
    index = rng.choice(space.size, int(rng.integers(50, 3000)), replace=False)
    opts = native_options(top=7, tpot_limit_s=0.08)
    out = run_engine(space, model.theta, model.latency_model.theta, {**opts, "threads": threads}, indices=index)
    ref = brute_force(space, model.theta, model.latency_model.theta, index, top_k=7, tpot_limit_s=0.08)
    assert out.candidates == len(index)
    assert dict(zip(REASONS, map(int, out.rejected), strict=True)) == ref["rejected"]
    assert sum(ref["rejected"].values()) + ref["feasible"] == len(index)
    np.testing.assert_allclose(out.top.objective, ref["top"]["objective"], rtol=1e-10)
    _assert_same_memory(out, ref)
    assert set(out.top.index.tolist()) <= set(index.tolist())


def _table():
    return pd.DataFrame({
        "model": ["Qwen/Qwen3-30B-A3B", "Qwen/Qwen3-30B-A3B", "Qwen/Qwen3-30B-A3B", "llama-3.1-70b", "llama-3.1-70b",
                  "Qwen/Qwen3-VL-30B-A3B-Instruct"],
        "gpu": ["H100"] * 6,
        "tp": [1, 2, 4, 4, 8, 2], "dp": [1, 1, 2, 1, 1, 1], "ep": [1, 2, 8, 1, 1, 2],
        "precision": ["bf16", "bf16", "fp8", "bf16", "fp8", "bf16"],
        "batch_size": [40.5, 96, 300, 64, 128, 20], "input_tokens": [300, 300, 300, 1500, 1500, 600],
        "output_tokens": [900, 950, 870, 400, 420, 300],
        "modality": ["text"] * 5 + ["image"], "image_tokens_per_image": [np.nan] * 5 + [540.0],
    }, index=[f"row{i}" for i in range(6)])


def test_rows_with_mamba_state_dtype_and_image_tiles_are_priced_as_predict_prices_them(model):
    """The per-row columns the features read (the SSM state's dtype, conv state size, tile-local vision
    encoders) reach the engine: a float32 SSM state costs more than the default, as in predict."""
    df = pd.DataFrame({
        "model": ["nvidia/NVIDIA-Nemotron-Nano-9B-v2"] * 2 + ["meta-llama/Llama-4-Scout-17B-16E-Instruct"],
        "gpu": ["H100"] * 3, "tp": [1, 1, 8], "precision": ["bf16"] * 3, "batch_size": [64, 64, 32],
        "input_tokens": [1000, 1000, 2000], "output_tokens": [800, 800, 300],
        "mamba_ssm_cache_dtype": ["float32", "auto", "auto"],
        "modality": ["text", "text", "image"], "vision_tile_tokens": [np.nan, np.nan, 144.0],
    }, index=["f32", "auto", "tiles"])
    r = energylens.search(candidates=df, energy_model=model, top=3, bootstrap=False,
                          gpu_memory_utilization=1.0, runtime_reserve_gib=0, activation_tokens=0)
    profile = df.assign(pp=1, params_b=[tables.model_spec(m).params_b for m in df["model"]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        energy = pd.Series(model.predict(profile), index=df.index)
    got = r.top.set_index("candidate")["energy_j"]
    np.testing.assert_allclose(got, energy.loc[got.index], rtol=1e-12)
    assert got["f32"] > got["auto"]


def test_candidate_rows_are_priced_as_the_energy_model_predicts_them(model):
    df = _table()
    r = energylens.search(candidates=df, energy_model=model, top=6, bootstrap=False)
    assert r.candidates == 6 and r.feasible == 6
    assert sorted(r.top["candidate"]) == sorted(df.index)
    profile = df.assign(pp=1, params_b=[tables.model_spec(m).params_b for m in df["model"]])  # schema v1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        energy = model.predict(profile)
        lat = model.latency_model.predict(profile)
    by_label = pd.Series(energy, index=df.index)
    np.testing.assert_allclose(r.top["energy_j"], by_label.loc[r.top["candidate"]], rtol=1e-12)
    np.testing.assert_allclose(r.top["tpot_s"], pd.Series(lat["tpot_s_pred"].to_numpy(), index=df.index)
                               .loc[r.top["candidate"]], rtol=1e-12)
    assert r.top["energy_j"].is_monotonic_increasing
    # running batch per rank = batch_size / dp
    row2 = r.top.set_index("candidate").loc["row2"]
    assert row2["batch"] == 150 and row2["dp"] == 2 and row2["ep"] == 8 and row2["gpus"] == 8


def test_tpot_limit_restricts_the_candidates(model):
    df = _table()
    free = energylens.search(candidates=df, energy_model=model, top=6, bootstrap=False)
    limit = float(np.median(free.top["tpot_s"]))
    r = energylens.search(candidates=df, energy_model=model, top=6, bootstrap=False, tpot_limit_s=limit)
    assert set(r.top["candidate"]) == set(free.top.loc[free.top["tpot_s"] <= limit, "candidate"])
    assert r.rejected["tpot_limit"] == 6 - len(r.top)


def test_max_num_seqs_is_the_running_batch_without_batch_size(model):
    df = _table().drop(columns="batch_size").assign(max_num_seqs=[8, 16, 32, 64, 128, 4])
    r = energylens.search(candidates=df, energy_model=model, top=6, bootstrap=False)
    got = r.top.set_index("candidate")["batch"].sort_index()
    np.testing.assert_array_equal(got.to_numpy(), [8, 16, 32, 64, 128, 4])


def test_settings_keep_a_fractional_measured_batch(model):
    """Measured running batches (31.92) were recorded as [31, ...] in the result's settings."""
    df = _table().assign(batch_size=[31.92, 16, 32, 64.5, 128, 4])
    r = energylens.search(candidates=df, energy_model=model, top=6, bootstrap=False)
    # the running batch per rank: batch_size / dp (row 2 runs 32 sequences over 2 ranks: 16 each)
    assert sorted(r.settings["max_num_seqs"]) == [4, 16, 31.92, 64.5, 128]
    assert all(isinstance(v, int) for v in r.settings["max_num_seqs"] if v in (4, 16, 128))


@pytest.mark.parametrize("change, message", [
    (lambda d: d.drop(columns="gpu"), "missing column"),
    (lambda d: d.drop(columns="batch_size"), "batch_size"),
    (lambda d: d.assign(tp=[1, 2, 3.5, 4, 8, 2]), "'tp' row 2"),
    (lambda d: d.assign(output_tokens=[1, 2, -3, 4, 5, 6]), "'output_tokens' row 2"),
    (lambda d: pd.concat([d, d.iloc[:1]]), "same configuration"),
    (lambda d: d.iloc[:0], "non-empty"),
])
def test_bad_candidate_tables_are_clear_errors(change, message):
    with pytest.raises(ValueError, match=message):
        candidate_space(change(_table()))


def test_candidates_exclude_the_axes(model):
    with pytest.raises(ValueError, match="do not also pass tp"):
        energylens.search(candidates=_table(), tp=[1, 2], energy_model=model)
    with pytest.raises(ValueError, match="load-driven mode"):
        energylens.search(candidates=_table(), rate_per_s=5, energy_model=model)
    with pytest.raises(ValueError, match="CPU engine"):
        energylens.search(candidates=_table(), energy_model=model, device="cuda")


def test_a_candidate_table_with_a_date_index_writes_json(model):
    """Candidate labels come from the table's index; a DatetimeIndex (a log of deployments) is written as ISO text."""
    import json

    from energylens.profiles.datasets import mlenergy_v2
    cand = mlenergy_v2().iloc[:30].copy()
    cand.index = pd.date_range("2024-01-01", periods=30)
    result = energylens.search(candidates=cand, energy_model=model, top=3)
    rows = json.loads(result.to_json())["top"]
    assert len(rows) == 3
    assert all(isinstance(r.get("candidate"), str) and r["candidate"].startswith("2024-01-") for r in rows)
