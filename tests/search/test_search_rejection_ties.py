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


def test_a_real_tie_gives_each_tied_reasons_remedy():
    """Qwen3-235B-A22B-FP8 at TP 8 with --ep 1,4: ep 1 splits the fp8 blocks (fp8_block_shape), ep 4 makes no group
    of TP 8 (ep_group), 2 candidates each. The remedy for ep_group alone (--ep 8) left the other half unexplained;
    each tied reason now gets its remedy in this run's numbers, and following the fp8 one finds a configuration."""
    kw = {"input_tokens": 512, "output_tokens": 256, "max_num_seqs": [8, 16], "energy_model": bundled_model(),
          "bootstrap": False}
    r = energylens.search("Qwen/Qwen3-235B-A22B-FP8", "H100", tp=[8], ep=[1, 4], **kw)
    assert r.rejected["ep_group"] == r.rejected["fp8_block_shape"] == 2 and r.main_rejection == "ep_group"
    text = r.why_empty()
    assert "most were rejected by ep_group (tied with fp8_block_shape, 2 each;" in text, text
    assert "--ep 8 (tp x dp of the searched tp 8 and dp 1)" in text, text
    room = r.settings["fp8_room"]
    assert room["tp_without_ep"] == [1, 2, 4] and room["passes"], room
    assert "for the 2 candidates fp8_block_shape rejected: the fp8 checkpoint's weight blocks split over tp 1,2,4" \
        in text, text
    assert f"{room['passes']} passes every check" in text, text
    assert energylens.search("Qwen/Qwen3-235B-A22B-FP8", "H100", tp=[4], ep=[1], **kw).feasible
