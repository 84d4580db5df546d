"""The routed experts of a vision-language (or omni) MoE in the memory check: the model table's
``active_params_b`` leaves the encoders out and ``params_b`` holds them, so ``params_b - active_params_b``
holds the vision encoder (and Qwen3-Omni's audio tower) beside the inactive experts. The engine takes the
experts from the step-weight features (the language model's parameters beyond the active ones,
profiles/step_weights.py); the NumPy memory code (memory.py: the oracle, ``predict``, the weights remedy)
counted the encoder as routed experts, sharded over tp x dp without expert parallelism instead of over tp:
Qwen3-VL-30B-A3B at tp 2 / dp 2 held 0.31 GB per GPU less than the engine counted, enough to flip a verdict
the engine and the oracle must give alike."""

import numpy as np
import pandas as pd
import pytest

from energylens.profiles import tables
from energylens.search import memory
from energylens.search.api import native_options, run_engine
from energylens.search.oracle import brute_force
from energylens.search.space import COMBO_FIELDS, build_space

VL, OMNI = "Qwen/Qwen3-VL-30B-A3B-Instruct", "Qwen/Qwen3-Omni-30B-A3B-Instruct"


def _space(name, tp=2, dp=2, pp=1, gpu="B200", precision="bf16"):
    return build_space([name], [gpu], input_tokens=[5000], output_tokens=[700], tp=[tp], pp=[pp], dp=[dp],
                       max_num_seqs=[64], precision=[precision])


def _both(model, space, **opts):
    out = run_engine(space, model.theta, model.latency_model.theta, {**native_options(top=1, **opts), "threads": 1})
    ref = brute_force(space, model.theta, model.latency_model.theta, top_k=1, **opts)
    return out, ref


def _row(spec, tp, dp, precision="bf16"):
    return pd.DataFrame({"model": [spec.name], "precision": [precision], "params_b": [spec.params_b],
                         "active_params_b": [spec.active_params_b], "n_experts": [spec.n_experts],
                         "experts_per_token": [spec.experts_per_token]})


def test_routed_experts_by_hand_leave_the_vision_encoder_out():
    """Qwen3-VL-30B-A3B's routed experts by hand: 48 layers x 128 experts x 3 matrices of 2048 x 768 =
    28.99e9 parameters (config.json); the table's counts give (31.1 - 0.58 - 3.35) / (1 - 8/128) = 28.98e9,
    and (31.1 - 3.35) / (1 - 8/128) = 29.6e9 with the encoder in. Per GPU at tp 2 / dp 2 (experts over 4
    GPUs, the rest over 2), bf16."""
    spec = tables.model_spec(VL)
    hand_experts = 48 * 128 * 3 * 2048 * 768 * 2.0
    first, _, _ = memory.stage_weights(_row(spec, 2, 2), np.array([2.0]), np.array([1.0]), np.array([2.0]),
                                       np.array([1.0]))
    total = memory.checkpoint_weight_bytes("bf16", spec.params_b * 1e9, 0.0, 0.0, False)
    by_hand = (total - hand_experts) / 2 + hand_experts / 4
    np.testing.assert_allclose(first[0], by_hand, rtol=3e-4)


@pytest.mark.parametrize(("name", "tp", "dp", "pp", "precision"),
                         [(VL, 2, 2, 1, "bf16"), (VL, 1, 2, 1, "fp8"), (VL, 2, 2, 3, "bf16"), (OMNI, 2, 2, 1, "bf16"),
                          (OMNI, 1, 4, 1, "fp8")])
def test_engine_and_oracle_count_the_same_memory_per_gpu(model, name, tp, dp, pp, precision):
    space = _space(name, tp, dp, pp, precision=precision)
    out, ref = _both(model, space)
    assert out.feasible == ref["feasible"] == 1
    np.testing.assert_allclose(np.asarray(out.top.memory_bytes), ref["top"]["memory_bytes"].to_numpy(), rtol=1e-12)


def test_the_difference_flipped_a_feasibility_verdict(model):
    """With the GPU's usable memory 0.1 GB under what the engine counts (gpu_memory_utilization), the engine
    rejects the layout (memory_kv_cache) and so must the oracle: it counted 0.31 GB less and accepted it."""
    space = _space(VL)
    out, _ = _both(model, space)
    need = float(np.asarray(out.top.memory_bytes)[0])
    gpu_bytes = space.combo_values[0, COMBO_FIELDS.index("memory_bytes")]
    for usable, feasible in ((need - 1e8, 0), (need + 1e6, 1)):
        out, ref = _both(model, space, gpu_memory_utilization=usable / gpu_bytes)
        assert out.feasible == ref["feasible"] == feasible
        assert int(out.rejected[list(ref["rejected"]).index("memory_kv_cache")]) == 1 - feasible
        assert ref["rejected"]["memory_kv_cache"] == 1 - feasible
