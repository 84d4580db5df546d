"""An empty result's computed remedies name a MoE deployment as the result's rows do: priced alike with and without
expert parallelism it is one configuration, labelled ``EP1/8`` (:func:`energylens.search.frames.merge_ep`). Until
2026-12-07 only the closest configuration did (test_empty_result_ep_label.py); the widened space's lowest TPOT, the
KV cache's room and the faster GPUs' configurations read "... TP8 PP1 DP1 B1", so one sentence named the same
deployment "TP8 PP1 DP1 EP1/8 B8" and "TP8 PP1 DP1 B1", and following a remedy listed a row under another label."""

from __future__ import annotations

import warnings

import pytest

import energylens
from energylens.search.api import bundled_model


def _search(model: str, gpus: str, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the bundled model's range notes
        return energylens.search(model, gpus, energy_model=bundled_model(), bootstrap=False, output_tokens=256, **kw)


def test_the_widened_spaces_lowest_tpot_is_labelled_as_the_rows():
    r = _search("Qwen/Qwen3-235B-A22B", "H100", input_tokens=512, tp=[8], ep=[1, 8], max_num_seqs=[8, 16],
                tpot_limit_s=0.001)
    assert r.empty
    assert r.settings["without_latency_limits"]["min_tpot_config"].endswith("TP8 PP1 DP1 EP1/8 B8")
    reach = r.settings["latency_reach"]["tpot"]
    assert reach["config"] == "Qwen3-235B-A22B H100 bf16 TP8 PP1 DP1 EP1/8 B1", reach
    assert f"(lowest TPOT {reach['value_s']:.4g} s at {reach['config']})" in r.why_empty()
    # ep 8 is no group of TP2 (ep_group): the faster GPUs' TP2 rows have no EP twin, and say so
    faster = [f["config"] for f in reach["faster"] if f["config"] and " TP2 " in f["config"]]
    assert faster and all("EP" not in c for c in faster), faster


def test_following_the_kv_room_lists_the_row_it_named():
    kw = {"input_tokens": 16000, "tp": [4], "ep": [1, 4]}
    r = _search("Qwen/Qwen3-30B-A3B", "L4", max_num_seqs=[64, 128], **kw)
    room = r.settings["kv_room"]
    assert room["config"] == f"Qwen3-30B-A3B L4 bf16 TP4 PP1 DP1 EP1/4 B{room['max_num_seqs']}", room
    assert room["fp8"]["config"].endswith(f"kv-fp8 TP4 PP1 DP1 EP1/4 B{room['fp8']['max_num_seqs']}"), room
    assert f"({room['config']})" in r.why_empty()
    followed = _search("Qwen/Qwen3-30B-A3B", "L4", max_num_seqs=[room["max_num_seqs"]], **kw)
    assert r.label(followed.top.iloc[0]) == room["config"]


def test_the_fp8_blocks_passing_configuration_is_labelled_as_following_it_lists_it():
    """The fp8 remedy evaluates ep = tp x dp beside ep 1, which the user did not search: its configuration is named
    among the searched ep values, as the search the remedy suggests (--tp 4) lists it."""
    r = _search("Qwen/Qwen3-235B-A22B-FP8", "H100", input_tokens=512, tp=[8], max_num_seqs=[8, 16])
    passes = r.settings["fp8_room"]["passes"]
    assert passes == "Qwen3-235B-A22B H100 fp8 TP4 PP1 DP1 B16", passes
    followed = _search("Qwen/Qwen3-235B-A22B-FP8", "H100", input_tokens=512, tp=[4], max_num_seqs=[8, 16])
    assert followed.label(followed.top.iloc[0]) == passes


@pytest.mark.parametrize("ep", [[1], [1, 2]])
def test_a_space_without_twins_keeps_its_labels(ep):
    """Dense models and MoE spaces searched without an ep above the group keep the plain label."""
    r = _search("Qwen/Qwen3-235B-A22B", "H100", input_tokens=512, tp=[8], ep=ep, max_num_seqs=[8],
                tpot_limit_s=0.001)
    assert r.settings["latency_reach"]["tpot"]["config"] == "Qwen3-235B-A22B H100 bf16 TP8 PP1 DP1 B1"


def test_a_sweep_of_workloads_names_the_point_in_the_remedies_as_in_the_rows():
    """Several workload points (no weights) are each their own candidate: the rows and the closest configuration
    name the point (``in512 out256``), and the remedies' configurations did not until 2026-12-07."""
    r = _search("meta-llama/Llama-3.1-8B-Instruct", "H100", input_tokens=[512, 4000], tp=[1], max_num_seqs=[64],
                tpot_limit_s=0.001)
    assert r.settings["without_latency_limits"]["min_tpot_config"].endswith("B64 in512 out256")
    reach = r.settings["latency_reach"]["tpot"]
    assert reach["config"] == "Meta-Llama-3.1-8B-Instruct H100 bf16 TP1 PP1 DP1 B1 in512 out256", reach
    assert all(f["config"].endswith(" in512 out256") for f in reach["faster"] if f["config"]), reach["faster"]
