"""The search prices a configuration exactly as the energy model does: for random DP / EP / MoE / hybrid
candidates the engine's energy, TTFT and TPOT equal EnergyModel.predict / LatencyModel.predict on the
same configuration (SearchSpace.point_profiles: dp, ep and batch_size = dp x the rank's running batch)."""

import warnings

import numpy as np
import pytest

from energylens import _core
from energylens.profiles.features import build_features
from energylens.search.api import native_options
from energylens.search.space import build_space

MODELS = ["mixtral-8x7b", "Qwen/Qwen3-30B-A3B", "openai/gpt-oss-20b", "nvidia/NVIDIA-Nemotron-Nano-9B-v2",
          "meta-llama/Llama-4-Scout-17B-16E-Instruct", "llama-3.1-8b", "google/gemma-3-12b-it"]
STRUCTURAL = 5  # reasons below this code are structural (the configuration cannot be launched)


def _space(rng):
    return build_space(list(rng.choice(MODELS, 3, replace=False)), ["H100", "B200"],
                       input_tokens=rng.integers(64, 4096, 2).tolist(), output_tokens=rng.integers(16, 2048, 2).tolist(),
                       tp=[1, 2, 4, 8], pp=[1, 2], dp=[1, 2, 4], ep=[1, 2, 4, 8], max_num_seqs=[1, 7, 64, 300],
                       precision=["bf16", "fp8"])


def _predicted(model, space, index, rank_batch=None):
    frame = space.point_profiles(index, rank_batch)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # rows outside the fitted range: irrelevant to parity
        energy = model.predict(frame)
        lat = model.latency_model.predict(frame)
    return frame, energy, lat


@pytest.mark.parametrize("seed", range(4))
def test_fixed_batch_energy_equals_energy_model_predict(model, seed):
    rng = np.random.default_rng(seed)
    space = _space(rng)
    opts = native_options()
    every = _core.search_evaluate(*space.native_args(), model.theta, model.latency_model.theta, opts,
                                  np.arange(space.size, dtype=np.uint64))
    launchable = np.flatnonzero((every.reason < 0) | (every.reason >= STRUCTURAL))
    index = rng.choice(launchable, min(400, launchable.size), replace=False)
    c = _core.search_evaluate(*space.native_args(), model.theta, model.latency_model.theta, opts,
                              index.astype(np.uint64))
    frame, energy, lat = _predicted(model, space, index)
    feats = build_features(frame)
    # the draw covers what the template charges for: replicas, EP all-to-alls, MoE, Mamba state
    assert (feats["dp"] > 1).any() and (feats["a2a_moe_layers"] > 0).any()
    assert (feats["state_bytes_per_seq"] > 0).any() or "nvidia/NVIDIA-Nemotron-Nano-9B-v2" not in {
        r["model"] for r in space.profile_rows}
    np.testing.assert_allclose(c.energy_j, energy, rtol=1e-12)
    np.testing.assert_allclose(c.prefill_j + c.decode_j, energy, rtol=1e-12)
    np.testing.assert_allclose(c.ttft_s, lat["ttft_s_pred"], rtol=1e-12)
    np.testing.assert_allclose(c.tpot_s, lat["tpot_s_pred"], rtol=1e-12)
    np.testing.assert_allclose(c.gpus, frame["tp"] * frame["pp"] * frame["dp"])


def test_load_mode_energy_is_the_model_at_the_solved_batch_plus_idle(model):
    rng = np.random.default_rng(11)
    space = _space(rng)
    opts = native_options(rate_per_s=7.0)
    every = _core.search_evaluate(*space.native_args(), model.theta, model.latency_model.theta, native_options(),
                                  np.arange(space.size, dtype=np.uint64))
    index = rng.choice(np.flatnonzero(every.reason < 0), 150, replace=False)
    c = _core.search_evaluate(*space.native_args(), model.theta, model.latency_model.theta, opts,
                              index.astype(np.uint64))
    assert (c.batch < 1).any() and (c.batch > 1).any()
    # a rank below one running request serves each request alone: priced at one sequence (docs/search.md)
    _, energy, lat = _predicted(model, space, index, np.maximum(c.batch, 1.0))
    np.testing.assert_allclose(c.energy_j - c.idle_j, energy, rtol=1e-11)
    np.testing.assert_allclose(c.tpot_s, lat["tpot_s_pred"], rtol=1e-11)


def test_data_parallel_moe_ranks_share_one_expert_copy_and_exchange_tokens(model):
    """Qwen3-30B-A3B on 8 H100 as 2 DP ranks of TP 4, without EP and with EP 8: vLLM's MoE layers span all
    8 GPUs either way (tensor-sliced over TP x DP, or whole experts over the EP group), so both stream one
    expert copy and pay the dispatch / combine of the two ranks' tokens, which TP 8 at dp 1 does not; the
    engine agrees with the model on all three."""
    space = build_space("Qwen/Qwen3-30B-A3B", "H100", input_tokens=1000, output_tokens=500, tp=[4, 8], dp=[1, 2],
                        ep=[1, 8], max_num_seqs=[64])
    picked = space.decode(np.arange(space.size))
    index = np.flatnonzero(((picked["tp"] == 4) & (picked["dp"] == 2))
                           | ((picked["tp"] == 8) & (picked["dp"] == 1) & (picked["ep"] == 1)))
    c = _core.search_evaluate(*space.native_args(), model.theta, model.latency_model.theta, native_options(),
                              index.astype(np.uint64))
    rows = space.decode(index)
    assert [tuple(r) for r in rows[["tp", "dp", "ep"]].to_numpy()] == [(4, 2, 1), (4, 2, 8), (8, 1, 1)]
    feats = build_features(space.point_profiles(index))
    layers = feats["a2a_moe_layers"]
    assert layers[0] == layers[1] == 48 and layers[2] == 0
    # one expert copy: the weights a step streams for 2 x 64 sequences, alike with and without EP
    assert feats["weight_bytes_per_step"][0] == feats["weight_bytes_per_step"][1]
    assert c.tpot_s[0] == c.tpot_s[1] and c.energy_j[0] == c.energy_j[1]
    assert np.all(c.reason[:2] == c.reason[0])
    _, energy, lat = _predicted(model, space, index)
    np.testing.assert_allclose(c.energy_j, energy, rtol=1e-12)
    np.testing.assert_allclose(c.tpot_s, lat["tpot_s_pred"], rtol=1e-11)
