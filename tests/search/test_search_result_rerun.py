"""docs/search.md: ``settings`` records what was searched, enough to run it again. Rerunning from the JSON's
settings gives the same top-k, P(best) included (which depends on ``bootstrap_seed`` when calibration
offsets are sampled), and the JSON is strict (no NaN / Infinity)."""

import inspect
import json
import warnings

import pandas as pd

import energylens

RENAMED = {"models": "model", "precisions": "precision", "kv_cache_dtypes": "kv_cache_dtype"}


def _search(**kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return energylens.search(**kw)


def test_settings_rerun_the_search_with_its_bootstrap_seed():
    r = _search(model=["meta-llama/Llama-3.1-8B-Instruct", "Qwen/Qwen3-30B-A3B"], gpus="H100", input_tokens=512,
                output_tokens=256, tpot_limit_s=0.2, top=8, precision=["bf16", "fp8"], bootstrap_seed=7)
    text = r.to_json()
    assert "NaN" not in text and "Infinity" not in text
    settings = json.loads(text)["settings"]
    assert settings["bootstrap_seed"] == 7
    params = inspect.signature(energylens.search).parameters
    kw = {RENAMED.get(k, k): v for k, v in settings.items() if RENAMED.get(k, k) in params}
    again = _search(**kw, top=len(r.top))
    pd.testing.assert_frame_equal(r.to_frame(), again.to_frame())


def test_settings_rerun_a_workload_distribution_as_one():
    """A distribution's weights are recorded under the argument's own name (``workload_weights``): before 2026-12-07
    only ``workload_distribution`` held them, so a rerun from the settings searched the three quantiles as separate
    workloads (every label naming a point, other energies) without a word."""
    r = _search(model="meta-llama/Llama-3.1-70B-Instruct", gpus="H100,H200", input_tokens=[128, 512, 2048],
                output_tokens=[64, 256, 1024], workload_weights=[1, 2, 1], tpot_limit_s=0.12, top=4)
    settings = json.loads(r.to_json())["settings"]
    assert settings["workload_weights"] == settings["workload_distribution"] == [0.25, 0.5, 0.25]
    params = inspect.signature(energylens.search).parameters
    kw = {RENAMED.get(k, k): v for k, v in settings.items() if RENAMED.get(k, k) in params}
    again = _search(**kw, top=len(r.top))
    pd.testing.assert_frame_equal(r.to_frame(), again.to_frame())


def test_settings_rerun_a_load_mode_capacity_plan():
    """Load mode's own inputs (the rate, the replicas' max utilisation, per-GPU prices, per-token cost, a limit at a
    confidence) are recorded under the arguments' names: the rerun sizes the same fleets, bit for bit."""
    r = _search(model="meta-llama/Llama-3.1-70B-Instruct", gpus="H100,H200", input_tokens=1000, output_tokens=300,
                rate_per_s=20, max_utilization=0.8, price_per_gpu_hour={"H100": 2.5, "H200": 3.5}, per_token=True,
                tpot_limit_s=0.15, limit_confidence=0.9, top=4)
    settings = json.loads(r.to_json())["settings"]
    assert settings["rate_per_s"] == 20 and settings["max_utilization"] == 0.8
    params = inspect.signature(energylens.search).parameters
    kw = {RENAMED.get(k, k): v for k, v in settings.items() if RENAMED.get(k, k) in params}
    again = _search(**kw, top=len(r.top))
    pd.testing.assert_frame_equal(r.to_frame(), again.to_frame())
    assert (again.top["replicas"] > 1).any()
    assert again.summary().splitlines()[1:] == r.summary().splitlines()[1:]  # the first line says the run's time
