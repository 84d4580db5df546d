"""An empty search's weights remedy describes the models whose candidates memory_weights rejected. Searching
Qwen3-235B-A22B-FP8 and Kimi-K2 on H100 at --tp 1 --dp 3 --ep 3, ep_experts rejects Qwen's candidates (128
experts: 3 does not divide them) and memory_weights Kimi's (384); until 2026-12-07 the remedy read "for the 9
candidates memory_weights rejected: Qwen/Qwen3-235B-A22B-FP8 in fp8 holds 236.3 GB of weights ... need at least 4
GPUs", and its fewest-GPU layouts were Qwen's, of a model no candidate of which that check rejected."""

from __future__ import annotations

import warnings

import pytest

import energylens
from energylens.search.api import bundled_model

QWEN, KIMI = "Qwen/Qwen3-235B-A22B-FP8", "moonshotai/Kimi-K2-Instruct"


@pytest.fixture(scope="module")
def empty():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = energylens.search([QWEN, KIMI], "H100", input_tokens=512, output_tokens=256, tp=[1], dp=[3], ep=[3],
                              energy_model=bundled_model(), bootstrap=False)
    assert r.empty and r.rejected["ep_experts"] == r.rejected["memory_weights"] == 9
    return r


def test_the_weights_record_is_of_the_rejected_model(empty):
    assert {rec["model"] for rec in empty.settings["weights_room"]} == {KIMI}


def test_the_layouts_named_are_of_the_rejected_model(empty):
    room = empty.settings["layout_room"]
    named = [r["config"] for r in room["pp"] + room["dp"] + room["more_memory"]]
    named += [r["config"] for r in room["formats"].values() if r]
    assert named and all(c.startswith("Kimi-K2") for c in named), named


def test_the_sentence_names_the_rejected_model(empty):
    text = empty.why_empty()
    weights = text.split("memory_weights rejected: ")[1]
    assert weights.startswith(f"{KIMI} in fp8 holds"), weights
    assert "Qwen3-235B-A22B" not in weights, weights
    assert "has 128 experts: ep 3 do not divide them" in text  # the ep remedy still names Qwen
