"""The weights remedy's example layout (assumed.weights_room_sentence) follows vLLM's pipeline stages: whole
decoder layers per stage and the embedding on the first (docs/search.md "Feasibility"). Before 2026-12-06 it
took pp = ceil(fewest GPUs / tp), which an odd layer count or the embedding can leave a layer short."""

import warnings

import pytest

import energylens
from energylens.search.api import bundled_model
from energylens.search.assumed import _stage_pp, weights_room_sentence

RECORD = {"model": "deepseek-ai/DeepSeek-V3", "gpu": "H100", "precision": "bf16", "weights_gb": 1000.0,
          "room_gb_per_gpu": 62.6, "min_gpus": 16, "n_layers": 61,
          "stages": {"parts": {"total": 1000e9, "experts": 0.0, "matrix": 5e9, "encoder": 0.0, "tied": 0.0,
                               "n_layers": 61.0, "n_moe": None},  # a dense 61-layer model: 990 GB of layers
                     "usable_bytes": 62.6e9, "activation_bytes": 0.0, "nvls": False, "domain_gpus": 8.0,
                     "moe": False, "reserve": {"runtime_reserve_bytes": 0.0, "nvls_reserve_bytes_per_gpu": 0.0}}}


def test_example_adds_a_stage_where_whole_layers_need_one():
    """1000 GB over 62.6 GB per GPU: at least 16 GPUs, but at tp 8 pp 2 the first stage holds 31 of 61 layers
    and the embedding, (990 x 31 / 61 + 5) / 8 = 63.5 GB: pp 3 (20 + embedding, 21, 20 layers: 42.6 GB) fits."""
    assert (990 * 31 / 61 + 5) / 8 > 62.6 > (990 * 21 / 61) / 8
    settings = {"weights_room": [RECORD], "tp": [1], "gpus": ["H100"], "models": [RECORD["model"]]}
    text = weights_room_sentence(settings)
    assert "at least 16 GPUs" in text and "e.g. --tp 8 --pp 3," in text, text


def test_stages_agree_with_the_engine():
    """DeepSeek-V3 (61 layers) on H100 at tp 8: the record's stages say which pp holds the weights exactly
    where the engine's memory_weights check does."""
    model = bundled_model()
    kw = dict(model="deepseek-ai/DeepSeek-V3", gpus="H100", input_tokens=512, output_tokens=256, tp=[8],
              max_num_seqs=[1], energy_model=model, bootstrap=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        empty = energylens.search(**kw)
        rec = empty.settings["weights_room"][0]
        assert rec["stages"]["parts"]["total"] == pytest.approx(rec["weights_gb"] * 1e9, rel=1e-12)
        for pp in (1, 2, 3, 4):
            fits = energylens.search(**{**kw, "pp": [pp]}).rejected["memory_weights"] == 0
            assert (_stage_pp(rec, 8, pp) == pp) == fits, pp
