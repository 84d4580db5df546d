"""An empty search whose two reasons rejected equally many candidates names the one the engine checks first (the
first failing reason is the one counted, so it is the more basic) and says the other tied; it used to name the
alphabetically later one alone."""

from __future__ import annotations

import dataclasses

import pytest

import energylens
from energylens.search.api import REASONS, bundled_model

L70 = "meta-llama/Llama-3.1-70B-Instruct"


@pytest.fixture(scope="module")
def empty():
    r = energylens.search(L70, "A100-SXM4-40GB", input_tokens=512, output_tokens=256, tp=[1, 2],
                          energy_model=bundled_model())
    assert r.empty
    return r


def _with(result, **counts):
    rejected = dict.fromkeys(REASONS, 0) | counts
    return dataclasses.replace(result, rejected={k: rejected[k] for k in REASONS})


def test_a_tie_names_the_reason_checked_first(empty):
    first, later = "memory_weights", "tpot_limit"
    assert REASONS.index(first) < REASONS.index(later)
    tied = _with(empty, memory_weights=7, tpot_limit=7)
    assert tied.main_rejection == first
    text = tied.why_empty()
    assert f"most were rejected by {first} (tied with {later}, 7 each;" in text, text


def test_no_tie_is_unchanged(empty):
    one = _with(empty, memory_weights=3, tpot_limit=7)
    assert one.main_rejection == "tpot_limit"
    assert "most were rejected by tpot_limit (" in one.why_empty()
    assert "tied" not in one.why_empty()
