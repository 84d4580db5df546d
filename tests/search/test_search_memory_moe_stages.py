"""Pipeline stages of models whose MoE layers are not every layer, against hand arithmetic (docs/search.md
"Feasibility"): vLLM gives each stage whole decoder layers (get_pp_indices), and a stage holds the routed
experts of the MoE layers it holds. DeepSeek-V3's first 3 of 61 layers are dense (first_k_dense_replace 3:
the model table's n_moe_layers 58), so at pp 4 (15, 15, 16, 15 layers) the first stage holds 12 MoE layers
and the third 16; Llama-4-Maverick's MoE layers are every second one (interleave_moe_layer_step 2: 24 of
48). Before 2026-12-06 every stage held its layers' share of the experts (16 / 61 at pp 4: 5 % short on the
fullest stage's experts), and the last stage, taken never to hold more than the first, was not checked."""

import warnings

import numpy as np
import pandas as pd
import pytest
from test_search_exact import _compare, _random_params

import energylens
from energylens.profiles import load_profiles, tables
from energylens.profiles.features import features_of
from energylens.search.api import bundled_model
from energylens.search.memory import gpu_memory, moe_layers_before, stage_weights, weights_per_gpu
from energylens.search.space import build_space

GIB = 2.0**30
DSV3 = "deepseek-ai/DeepSeek-V3"
MAVERICK = "meta-llama/Llama-4-Maverick-17B-128E-Instruct"
NVLS_8 = 8 * 2 * 48 * 2**20  # NCCL's NVLS buffers at a group of 8 (2 communicators x 48 MiB per GPU; memory.py)


def _dsv3_parts(bytes_per_param):
    """DeepSeek-V3's weight bytes by hand from the table's counts: routed experts (671.026e9 - 37.552e9) /
    (1 - 8/256) = 653.9e9 (58 layers x 256 x 3 x 7168 x 2048 = 653.7e9 by config.json), the embedding and
    the untied lm_head 129280 x 7168 each in bf16, the rest (61 layers' attention, dense MLPs, shared
    experts, routers) in the format."""
    params, experts = 671.026e9, (671.026e9 - 37.552e9) / (1 - 8 / 256)
    matrix = 129280 * 7168
    body = (params - experts - 2 * matrix) * bytes_per_param
    return body, experts * bytes_per_param, matrix * 2.0


def _memory_gib(model, gpu, input_tokens=512, output_tokens=256, max_num_seqs=1, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = energylens.search(model, gpu, input_tokens=input_tokens, output_tokens=output_tokens,
                              max_num_seqs=[max_num_seqs], energy_model=bundled_model(), bootstrap=False, **kw)
    df = r.to_frame()
    assert len(df) == 1, r.rejected
    return float(df["memory_gib_per_gpu"].iloc[0])


def _rows(model, tp, pp, precision="bf16", **kw):
    return load_profiles(pd.DataFrame([{"model": model, "gpu": "H100", "precision": precision, "tp": tp, "pp": pp,
                                        "batch_size": 1, "input_tokens": 512, "output_tokens": 256,
                                        "energy_j": 1.0, **kw}]))


def test_moe_layers_sit_where_the_model_puts_them():
    # DeepSeek-V3: layers 0-2 dense; Maverick: layers 1, 3, 5, ... MoE; Qwen3-30B-A3B (NaN): every layer
    assert [float(moe_layers_before(x, 61, 58)) for x in (0, 3, 15, 30, 46, 61)] == [0, 0, 12, 27, 43, 58]
    assert [float(moe_layers_before(x, 48, 24)) for x in (0, 9, 19, 29, 39, 48)] == [0, 4, 9, 14, 19, 24]
    assert float(moe_layers_before(20, 48, np.nan)) == 20 and float(moe_layers_before(20, 48, 48)) == 20
    assert float(moe_layers_before(2, 46, 45)) == 1  # GLM-4.5-Air: first_k_dense_replace 1
    assert tables.model_spec(DSV3).n_moe_layers == 58 and tables.model_spec(MAVERICK).n_moe_layers == 24


@pytest.mark.parametrize(("precision", "bpp"), [("fp8", 1.0), ("bf16", 2.0)])
def test_deepseek_v3_pp4_third_stage_by_hand(precision, bpp):
    """61 layers over pp 4: 15, 15, 16, 15 (layers 0-14, 15-29, 30-45, 46-60), MoE layers 12, 15, 16, 15. The
    third stage binds: 16 layers' share of the rest and 16 of the 58 MoE layers' experts, over tp 8 (the
    experts over tp x dp = 8), where the old split counted 16 / 61 of the experts. KV: MLA's latent (512 +
    64) in bf16 per layer, one head, so not split over tp: 768 tokens x 16 layers."""
    body, experts, matrix = _dsv3_parts(bpp)
    stages = [((15 * body / 61 + matrix) / 8 + experts * 12 / 58 / 8), (15 * body / 61 / 8 + experts * 15 / 58 / 8),
              (16 * body / 61 / 8 + experts * 16 / 58 / 8), ((15 * body / 61 + matrix) / 8 + experts * 15 / 58 / 8)]
    assert max(stages) == stages[2]
    reserve = 1.5 * GIB + NVLS_8 + 8192 * 7168 * 24
    hand = (stages[2] + reserve + 768 * 16 * (512 + 64) * 2) / GIB
    got = _memory_gib(DSV3, "H200" if bpp == 2 else "H100", tp=[8], pp=[4], precision=[precision])
    assert got == pytest.approx(hand, rel=1e-9)
    old = (16 * body / 61 / 8 + experts * 16 / 61 / 8 + reserve + 768 * 16 * 1152) / GIB
    assert (hand - old) / (stages[2] / GIB) > 0.045  # the experts 58 / 61 short: ~5 % of the stage's weights
    rows = _rows(DSV3, 8, 4, precision)
    assert weights_per_gpu(rows, 8.0, 4.0, 1.0, 1.0)[0] == pytest.approx(stages[2], rel=1e-9)


def test_deepseek_v3_pp2_last_stage_binds():
    """61 layers over pp 2: 31, 30. The first holds the 3 dense layers, 28 MoE layers and the embedding, the
    last 30 MoE layers and the lm_head: the last holds more weights with fewer layers (the old check took
    the first, 31 / 61 of the experts, 1.8 % short)."""
    body, experts, matrix = _dsv3_parts(1.0)
    first = (31 * body / 61 + matrix) / 8 + experts * 28 / 58 / 8
    last = (30 * body / 61 + matrix) / 8 + experts * 30 / 58 / 8
    assert last > first
    rows = _rows(DSV3, 8, 2, "fp8")
    heavy, other, stages = stage_weights(rows, 8.0, 2.0, 1.0, 1.0)
    assert heavy[0] == pytest.approx(last, rel=1e-9) and other[0] == pytest.approx(first, rel=1e-9)
    assert (stages["first_layers"][0], stages["fullest_layers"][0]) == (30, 31)
    reserve = 1.5 * GIB + NVLS_8 + 8192 * 7168 * 24
    hand = (last + reserve + 768 * 30 * 1152) / GIB
    assert _memory_gib(DSV3, "H100", tp=[8], pp=[2], precision=["fp8"]) == pytest.approx(hand, rel=1e-9)


def test_maverick_pp5_last_stage_by_hand():
    """Maverick's 48 layers over pp 5: 9, 10, 10, 10, 9 (starting at 0, 9, 19, 29, 39); its MoE layers are
    the odd ones: 4, 5, 5, 5, 5. The last stage (9 layers, 5 MoE layers, the lm_head) holds the most
    weights; a middle one (10 layers) more KV. bf16, vision encoder 0.872e9 on every stage (vLLM builds the
    tower on every pipeline rank; only the first runs it)."""
    spec = tables.model_spec(MAVERICK)
    encoder = 0.872e9 * 2
    experts = (spec.params_b - spec.active_params_b - 0.872) * 1e9 / (1 - 1 / 128) * 2
    matrix = 202048 * 5120 * 2.0
    body = spec.params_b * 1e9 * 2 - experts - 2 * matrix - encoder
    first = (9 * body / 48 + matrix + encoder) / 8 + experts * 4 / 24 / 8
    middle = (10 * body / 48 + encoder) / 8 + experts * 5 / 24 / 8
    last = (9 * body / 48 + encoder + matrix) / 8 + experts * 5 / 24 / 8
    assert last > middle > first
    heavy, other, stages = stage_weights(_rows(MAVERICK, 8, 5), 8.0, 5.0, 1.0, 1.0)
    assert heavy[0] == pytest.approx(last, rel=1e-9) and other[0] == pytest.approx(middle, rel=1e-9)
    assert (stages["first_layers"][0], stages["fullest_layers"][0]) == (9, 10)


@pytest.mark.parametrize(("model", "tp", "pp", "seqs", "tokens"), [
    (DSV3, 8, 4, 1, (512.0, 256.0)), (DSV3, 8, 2, 64, (4096.0, 1024.0)), (MAVERICK, 8, 5, 1, (512.0, 256.0)),
    (MAVERICK, 4, 5, 256, (4096.0, 1024.0)), ("zai-org/GLM-4.5", 4, 7, 32, (4096.0, 1024.0)),
    ("zai-org/GLM-4.5-Air", 2, 3, 1, (512.0, 256.0)), ("moonshotai/Kimi-K2-Instruct", 8, 6, 8, (2048.0, 512.0))])
def test_memory_module_agrees_with_the_engine(model, tp, pp, seqs, tokens):
    """energylens.search.memory (the oracle's and `energylens predict`'s arithmetic) counts the same stage as
    the engine, also where a stage with more layers binds the KV check (Maverick at 256 sequences)."""
    rows = _rows(model, tp, pp, "fp8")
    mem = gpu_memory(rows, features_of(rows), np.full(1, float(seqs)), *tokens)
    engine = _memory_gib(model, "B200", *tokens, seqs, tp=[tp], pp=[pp], precision=["fp8"])
    assert (mem.fixed[0] + mem.kv[0]) / GIB == pytest.approx(engine, rel=1e-12)


@pytest.mark.parametrize("seed", range(3))
def test_moe_stage_spaces_match_brute_force(seed):
    """The engine and the oracle agree on top-k, fronts, rejections and memory per GPU on spaces of the
    models with dense-first and interleaved MoE layers, at pp values that move the binding stage."""
    model = bundled_model()
    rng = np.random.default_rng(300 + seed)
    memory = feasible = 0
    for _ in range(12):
        space = build_space([DSV3, MAVERICK, "zai-org/GLM-4.5-Air", "Qwen/Qwen3-30B-A3B"][seed % 2::2][:2],
                            gpus=list(rng.choice(["H100", "H200", "B200"], 2, replace=False)),
                            tp=[4, 8], pp=sorted(rng.choice([1, 2, 3, 4, 5, 6, 7], 3, replace=False).tolist()),
                            dp=[1, 2], ep=[1, 8], max_num_seqs=[1, 16, 256], precision=["bf16", "fp8"],
                            input_tokens=[512, 8000], output_tokens=[256, 1024])
        theta, phi = _random_params(model, rng)
        out, ref = _compare(space, theta, phi, {"top": 20}, 2)
        memory += ref["rejected"]["memory_kv_cache"] + ref["rejected"]["memory_weights"]
        feasible += out.feasible
        if feasible and memory:
            break
    assert feasible > 0 and memory > 0
