"""The KV cache's remedy said "--max-num-seqs 6 finds configurations" from a check without the latency limits:
Llama-3.1-8B on L4 at 30000 + 1000 tokens with --tpot-limit 0.01 was told so, and the search it suggests found none
(every configuration there misses the limit). It now says the cap holds the KV cache and that the latency limits then
reject every configuration, naming the lowest TPOT there; without limits, or where one passes, it still says "finds
configurations" (and following it does). One sequence read "at most 1 sequences"."""

import warnings

import pytest

import energylens
from energylens.search.api import bundled_model

L8 = "meta-llama/Llama-3.1-8B-Instruct"


def _search(**kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the bundled model's range notes
        return energylens.search(L8, "L4", output_tokens=1000, energy_model=bundled_model(), bootstrap=False, **kw)


@pytest.mark.parametrize("limit", [0.01, None])
def test_the_kv_remedy_says_finds_only_where_following_it_finds(limit):
    kw = {"input_tokens": 30000, "tp": [1, 2], "tpot_limit_s": limit}
    r = _search(max_num_seqs=[8], **kw)
    room = r.settings["kv_room"]
    n, text = room["max_num_seqs"], r.why_empty()
    followed = _search(max_num_seqs=[n], **kw)
    if limit is None:
        assert followed.feasible and f"--max-num-seqs {n} finds configurations" in text, text
        return
    assert followed.empty and followed.rejected["tpot_limit"] > 0
    assert "finds configurations" not in text, text
    lowest = followed.settings["without_latency_limits"]["min_tpot_s"]
    assert (f"--max-num-seqs {n} holds the KV cache, but no configuration there meets the latency limits (the lowest "
            f"predicted TPOT {lowest:.4g} s against the limit 0.01 s)") in text, text


def test_one_sequence_is_singular():
    r = _search(input_tokens=25000, tp=[1], max_num_seqs=[8])
    assert r.settings["kv_room"]["max_num_seqs"] == 1
    text = r.why_empty()
    assert "fits at most 1 sequence per rank" in text and "1 sequences" not in text, text
