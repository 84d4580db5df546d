"""The KV cache's remedy quotes the latency limits its own check applied at the room's cap (``kv_room["limits_applied"]``,
recorded always). Until 2026-12-07 the record held them only where they differed from the given ones, and the sentence
otherwise fell back to the searched space's effective limit: Llama-3.1-70B (memory_kv_cache at 110000 input tokens)
beside Llama-3.1-8B (tpot_limit) on H100 at --tpot-limit 0.02 --limit-confidence 0.9 read "the lowest predicted TPOT
0.1096 s against the limit 0.02 s, applied as 0.01635 s at confidence 0.9", 0.01635 s being derived from the 8B's
candidates, while the check at the 70B's room applied 0.02 s (no candidate there within it: the confidence cannot
change what passes, :meth:`.limit_check.LimitCheck.applied`)."""

from __future__ import annotations

import warnings

import pytest

import energylens
from energylens.search import remedies
from energylens.search.api import bundled_model

L70, L8 = "meta-llama/Llama-3.1-70B-Instruct", "meta-llama/Llama-3.1-8B-Instruct"


def _search(models, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the bundled model's range notes
        return energylens.search(models, "H100", max_num_seqs=[8], energy_model=bundled_model(), bootstrap=False,
                                 input_tokens=110000, output_tokens=256, tp=[4], **kw)


def test_the_kv_sentence_quotes_the_limit_its_check_applied_not_the_searched_spaces():
    r = _search([L70, L8], tpot_limit_s=0.02, limit_confidence=0.9)
    room = r.settings["kv_room"]
    assert r.settings["effective_tpot_limit_s"] < 0.02  # the 8B's candidates moved the searched space's limit
    assert room["limits_unmet"] is not None and room["limits_applied"] == {"tpot": 0.02}, room
    text = remedies.kv_room_sentence(r.settings)
    assert f"the lowest predicted TPOT {room['limits_unmet']['tpot']:.4g} s against the limit 0.02 s)" in text, text
    assert "applied as" not in text, text


@pytest.mark.parametrize("applied", [None, {"tpot": 0.02}])
def test_a_record_applying_the_given_limit_never_quotes_the_searched_spaces(applied):
    # a record written before the limits were always recorded (None: as given) reads the same
    room = {"max_num_seqs": 4, "config": "X", "smallest_searched": 8.0, "fp8": None,
            "limits_unmet": {"tpot": 0.11}, "limits_applied": applied}
    settings = {"kv_room": room, "input_tokens": [110000], "output_tokens": [256], "kv_cache_dtypes": ["auto"],
                "max_num_seqs": [8], "tpot_limit_s": 0.02, "effective_tpot_limit_s": 0.01635, "limit_confidence": 0.9}
    text = remedies.kv_room_sentence(settings)
    assert "against the limit 0.02 s)" in text and "applied as" not in text, text
