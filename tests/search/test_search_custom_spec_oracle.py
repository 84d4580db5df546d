"""The engine against the NumPy brute force on small random spaces of user ModelSpecs (edited table rows under
new names: a wider dense model, a MoE with other experts, a hybrid with a larger recurrent state, a sliding
window, a vision-language MoE, an mxfp4 MoE): identical top-k, Pareto fronts and rejection counts in fixed-batch
and load mode, over a workload distribution, with a node-size override and the carbon and cost objectives."""

import dataclasses

import numpy as np
import pytest
from test_search_exact import _compare, _random_params

from energylens.profiles import tables
from energylens.search.space import build_space


def _spec(name: str, new: str, **changes) -> tables.ModelSpec:
    return dataclasses.replace(tables.model_spec(name), name=new, aliases=(), **changes)


SPECS = [_spec("meta-llama/Llama-3.1-8B-Instruct", "lab/dense", n_layers=40, d_model=5120, params_b=12.0,
               active_params_b=12.0),
         _spec("Qwen/Qwen3-30B-A3B", "lab/moe", n_experts=64, experts_per_token=4),
         _spec("nvidia/NVIDIA-Nemotron-Nano-12B-v2", "lab/hybrid", state_elems_per_seq=2e7),
         _spec("google/gemma-3-27b-it", "lab/slide", sliding_window=2048.0),
         _spec("Qwen/Qwen3-VL-30B-A3B-Instruct", "lab/vl", vision_layers=32.0),
         _spec("openai/gpt-oss-20b", "lab/oss")]


@pytest.mark.parametrize("seed", range(8))
def test_random_spaces_of_user_specs_match_the_brute_force(model, seed):
    rng = np.random.default_rng(seed)
    mode = ("fixed", "load", "distribution", "cost")[seed % 4]
    n_points = 2 if mode == "distribution" else int(rng.integers(1, 3))
    kw = dict(tp=sorted(rng.choice([1, 2, 4], int(rng.integers(1, 3)), replace=False).tolist()),
              pp=[1, 2] if rng.random() < 0.5 else [1], dp=[1, 2] if rng.random() < 0.5 else [1],
              max_num_seqs=sorted(rng.choice([1, 8, 64, 256], int(rng.integers(1, 4)), replace=False).tolist()),
              precision=["bf16", "fp8"][: int(rng.integers(1, 3))],
              input_tokens=rng.integers(16, 9000, n_points).tolist(), output_tokens=rng.integers(8, 1024, n_points).tolist())
    opts = {"top": int(rng.integers(1, 12))}
    if mode == "distribution":
        kw["workload_weights"] = rng.random(n_points).tolist()
    if mode == "cost":
        kw["price_per_gpu_hour"] = {"H100": 2.5, "B200": 4.0}
        opts["objective"] = "cost"
    elif rng.random() < 0.5:
        opts["objective"], opts["carbon_g_per_kwh"] = "carbon", 300.0
    if mode == "load":
        opts["rate_per_s"] = float(rng.uniform(0.5, 30))
    if seed % 3 == 0:
        opts["node_size"] = 2
    if rng.random() < 0.5:
        opts["tpot_limit_s"] = float(rng.uniform(0.03, 0.2))
    models = [SPECS[i] for i in rng.choice(len(SPECS), 2, replace=False)]
    space = build_space(models, ["H100", "B200"], **kw)
    assert set(space.model_specs) == {m.name for m in models}
    theta, phi = _random_params(model, rng)
    out, ref = _compare(space, theta, phi, opts, 1 + seed % 2)
    assert out.feasible == ref["feasible"]
