"""The weights remedy's example layout (assumed.weights_room_sentence, "e.g. --tp 8 --pp 2") for MoE models whose
MoE layers are not every layer follows the memory check's own stages (memory.binding_stages): a stage holds the
routed experts of the MoE layers it holds (DeepSeek-V3, Kimi-K2, GLM-4.5, GLM-4.5-Air: dense layers first;
Llama-4-Maverick: every second layer), and the runtime reserve is the one of the example's TP group (NCCL's
NVLS buffers on H100 at a group of more than 2). Before 2026-12-06 the example spread the experts evenly over
the layers and took the reserve of the searched tp: DeepSeek-V3 fp8 on L40S was told "--tp 8 --pp 2", which
the search then rejected for memory_weights (its second stage, 30 MoE layers and the lm_head, holds 16 % more
experts than 30 / 61 of them)."""

import json
import math
import re
import warnings

import pytest

import energylens
from energylens.search.assumed import _stage_pp

MOE = ["deepseek-ai/DeepSeek-V3", "moonshotai/Kimi-K2-Instruct", "zai-org/GLM-4.5", "zai-org/GLM-4.5-Air",
       "meta-llama/Llama-4-Maverick-17B-128E-Instruct"]


def _search(model, name, gpu, precision, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return energylens.search(name, gpu, input_tokens=512, output_tokens=256, max_num_seqs=[1], precision=precision,
                                 energy_model=model, bootstrap=False, **kw)


@pytest.mark.parametrize("name, gpu, precision, node", [
    ("deepseek-ai/DeepSeek-V3", "L40S", "fp8", None),                       # was --tp 8 --pp 2
    ("deepseek-ai/DeepSeek-V3", "H100", "fp8", 2),                          # was --tp 2 --pp 5
    ("zai-org/GLM-4.5", "H100", "bf16", 2),                                 # was --tp 2 --pp 5
    ("meta-llama/Llama-4-Maverick-17B-128E-Instruct", "L40S", "bf16", 2),   # was --tp 2 --pp 10
])
def test_following_the_example_fits(model, name, gpu, precision, node):
    """The example the empty result gives, searched as given, passes the weights check; one stage fewer does not."""
    empty = _search(model, name, gpu, precision, tp=[1], node_size=node)
    assert empty.empty and empty.main_rejection == "memory_weights"
    text = empty.why_empty()
    found = re.search(r"e\.g\. --tp (\d+)(?: --pp (\d+))?,", text)
    assert found, text
    tp, pp = int(found[1]), int(found[2] or 1)
    assert _search(model, name, gpu, precision, tp=[tp], pp=[pp], node_size=node).rejected["memory_weights"] == 0, text
    if pp > 1:
        assert _search(model, name, gpu, precision, tp=[tp], pp=[pp - 1], node_size=node).rejected["memory_weights"] > 0


@pytest.mark.parametrize("name", MOE)
@pytest.mark.parametrize("gpu", ["H100", "L40S"])
def test_stage_pp_is_the_engines_fewest(model, name, gpu):
    """For each tp of 2, 4, 8 and both formats, _stage_pp from the weights' lower bound is the fewest pp at which
    the search passes the weights check (the engine's memory_weights, every stage weighed)."""
    for precision in ("bf16", "fp8"):
        rec = _search(model, name, gpu, precision, tp=[1]).settings["weights_room"][0]
        for tp in (2, 4, 8):
            start = math.ceil(rec["min_gpus"] / tp)
            pp = _stage_pp(rec, tp, start)
            passes = {p: _search(model, name, gpu, precision, tp=[tp], pp=[p]).rejected["memory_weights"] == 0
                      for p in range(start, pp + 1)}
            assert passes[pp] and not any(passes[p] for p in range(start, pp)), (precision, tp, passes)


@pytest.mark.parametrize("name, gpu", [("deepseek-ai/DeepSeek-V3", "L40S"), ("meta-llama/Llama-3.1-405B-Instruct", "L4")])
def test_the_record_reads_back_from_json(model, name, gpu):
    """The record's stages are plain JSON (to_json refuses NaN: a dense model's unknown MoE layers are null) and
    the example read back from it is the same."""
    empty = _search(model, name, gpu, "bf16", tp=[1])
    rec = empty.settings["weights_room"][0]
    back = json.loads(empty.to_json())["settings"]["weights_room"][0]
    assert back == rec
    assert [_stage_pp(back, tp, 1) for tp in (1, 2, 4, 8)] == [_stage_pp(rec, tp, 1) for tp in (1, 2, 4, 8)]
