"""The weights' remedy for a MoE names --dp, whose ranks share one copy of the experts (vLLM shards the MoE
layers over TP x DP), not --ep, which only regroups the GPUs a deployment already has: DeepSeek-V3 at TP8 with
--ep 1,8 was told "--ep for MoE models", and --ep 8 stays infeasible while --dp 2 fits."""

import energylens
from energylens.search.api import bundled_model

KW = dict(model="deepseek-ai/DeepSeek-V3", gpus="H100", input_tokens=512, output_tokens=256, tp=[8],
          bootstrap=False)


def test_memory_remedy_names_dp_for_moe_and_following_it_fits():
    model = bundled_model()
    empty = energylens.search(ep=[1, 8], energy_model=model, **KW)
    assert empty.empty and empty.main_rejection == "memory_weights"
    text = empty.why_empty()
    assert "e.g. --tp 8 --pp 2" in text  # the GPUs the weights need (assumed.weights_room_sentence)
    dp = empty.settings["layout_room"]["dp"][0]  # the engine's fewest GPUs as tp x dp (was a canned clause)
    assert f"with data-parallel ranks sharing a MoE's experts instead of pipeline stages, {dp['gpus']} GPUs as " \
        f"--tp 8 --dp {dp['dp']}" in text, text
    assert "--ep for MoE" not in text and "in int4 weights" in text and "in fp8 weights" not in text
    assert energylens.search(dp=[dp["dp"]], energy_model=model, **KW).feasible > 0      # what the remedy says works
    assert energylens.search(dp=[2], ep=[16], energy_model=model, **KW).feasible > 0
