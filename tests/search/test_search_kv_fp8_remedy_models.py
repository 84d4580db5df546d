"""An empty search's KV-cache and fp8-block remedies describe the models whose candidates those checks rejected,
as the weights and layout remedies do since 6e42f618 (remedies.rejected_combos). Until 2026-12-07 they searched
every model of the space: Qwen3-235B-A22B-FP8 (fp8_block_shape at TP 8) beside Llama-3.1-405B (memory_weights)
was told "the fp8 checkpoint's weight blocks split over tp 1,2,4,8 without expert parallelism", 8 being the tp the
blocks refused (Llama's bf16 passed that check); and Llama-3.1-70B (memory_kv_cache at 110000 input tokens)
beside Llama-3.1-8B (tpot_limit) got no KV record at all, the 8B's KV cache fitting the cap searched."""

from __future__ import annotations

import warnings

import pytest

import energylens
from energylens.search.api import bundled_model

L70, L8, L405 = ("meta-llama/Llama-3.1-70B-Instruct", "meta-llama/Llama-3.1-8B-Instruct",
                 "meta-llama/Llama-3.1-405B-Instruct")
QWEN = "Qwen/Qwen3-235B-A22B-FP8"


def _search(models, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return energylens.search(models, "H100", max_num_seqs=[8], energy_model=bundled_model(), bootstrap=False,
                                 **kw)


@pytest.fixture(scope="module")
def kv():
    kw = dict(input_tokens=110000, output_tokens=256, tp=[4], tpot_limit_s=0.001)
    return _search([L70], **kw), _search([L70, L8], **kw)


@pytest.fixture(scope="module")
def fp8():
    kw = dict(input_tokens=1500, output_tokens=300, tp=[8])
    return _search([QWEN], **kw), _search([QWEN, L405], **kw)


def test_the_kv_record_is_of_the_model_the_kv_check_rejected(kv):
    alone, both = kv
    assert both.rejected["memory_kv_cache"] == both.rejected["tpot_limit"] == 1  # the 70B's, the 8B's
    room = both.settings["kv_room"]
    assert room is not None and room == alone.settings["kv_room"], room
    assert room["max_num_seqs"] < 8 and room["config"].startswith("Meta-Llama-3.1-70B-Instruct "), room
    assert room["fp8"]["config"].startswith("Meta-Llama-3.1-70B-Instruct "), room


def test_the_fp8_record_is_of_the_model_the_block_check_rejected(fp8):
    alone, both = fp8
    assert both.rejected["fp8_block_shape"] == both.rejected["memory_weights"] == 1  # Qwen's, Llama's
    room = both.settings["fp8_room"]
    assert room == alone.settings["fp8_room"] and 8 not in room["tp_without_ep"], room
    assert room["passes"].startswith("Qwen3-235B-A22B "), room


def test_the_fp8_sentence_offers_only_tp_values_that_split_the_blocks(fp8):
    _, both = fp8
    text = both.why_empty()
    assert "the fp8 checkpoint's weight blocks split over tp 1,2,4 without expert parallelism and tp 2,4,8 with " \
           "--ep equal to tp x dp" in text, text
    assert "for the 1 candidate memory_weights rejected: meta-llama/Llama-3.1-405B-Instruct in bf16" in text, text
    tp = int(both.settings["fp8_room"]["passes"].split(" TP")[1].split()[0])
    assert _search([QWEN], input_tokens=1500, output_tokens=300, tp=[tp]).feasible  # following it finds one


def test_the_layouts_for_one_sequence_are_of_the_model_the_kv_check_rejected():
    """Llama-3.1-8B on one L4 at 120000 tokens holds not one sequence's KV cache; Llama-3.2-1B beside it, rejected by
    the TPOT limit, holds one, and until 2026-12-07 that left the layouts' record empty (layout_room None)."""
    kw = dict(input_tokens=120000, output_tokens=256, tp=[1], max_num_seqs=[1], tpot_limit_s=0.0001)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        alone, both = (energylens.search(m, "L4", energy_model=bundled_model(), bootstrap=False, **kw)
                       for m in ([L8], [L8, "meta-llama/Llama-3.2-1B-Instruct"]))
    assert both.rejected["memory_kv_cache"] == both.rejected["tpot_limit"] == 1
    assert both.settings["kv_room"]["max_num_seqs"] == 0
    room = both.settings["layout_room"]
    assert room is not None and room == alone.settings["layout_room"], room
    assert room["pp"][0]["config"].startswith("Meta-Llama-3.1-8B-Instruct L4 "), room
