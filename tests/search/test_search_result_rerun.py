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
