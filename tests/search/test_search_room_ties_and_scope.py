"""Empty-result remedies that said less than the engine's records knew.

1. memory_weights tied with memory_kv_cache (Llama-3.1-70B on H100, --tp 1,2 --max-num-seqs 256 at 8000 / 1000
   tokens: TP1's weights do not fit, TP2's 256 sequences' KV cache does not): layout_room returned None because one
   sequence fits on TP2, so the weights' remedy fell back to the canned "or store them in a smaller format
   (--precision fp8 or int4) or add GPUs with more memory". The one-sequence test now gates the KV cache's part
   alone; the weights get their computed layouts, formats and GPUs.
2. ep_room evaluated every searched model's widened tp x dp x ep space, the dense ones ep_without_moe rejects too;
   it now evaluates the combinations ep_group rejected, as kv_room and layout_room do.
3. Where no searched tp x dp made a group ('--tp 1 --ep 4'), the remedy read "--ep 4 needs e.g. --tp 1 --dp 4"
   without looking at ep_room: for Qwen3-235B-A22B on H100 no tp x dp = 4 holds the weights, and following it found
   nothing again. It now says what ep_room found, and where none passes the check that rejected most."""

from __future__ import annotations

import warnings

import energylens
import energylens.search.layout_room as layout_room
from energylens.search.api import bundled_model

L70 = "meta-llama/Llama-3.1-70B-Instruct"
KW = dict(input_tokens=512, output_tokens=256)


def _search(model, gpus, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return energylens.search(model, gpus, energy_model=bundled_model(), bootstrap=False, **{**KW, **kw})


def test_weights_tied_with_kv_cache_get_the_computed_layouts():
    r = _search(L70, "H100", input_tokens=8000, output_tokens=1000, tp=[1, 2], max_num_seqs=[256])
    assert r.empty and r.rejected["memory_weights"] == r.rejected["memory_kv_cache"] == 1
    room = r.settings["layout_room"]
    assert room is not None and room["pp"], r.settings
    text = r.why_empty()
    assert "or store them in a smaller format (--precision fp8 or int4) or add GPUs with more memory" not in text, text
    assert "the fewest GPUs per deployment whose weights and one sequence's KV cache fit are" in text, text
    assert "--max-num-seqs 2 finds configurations" in text, text  # the KV cache's own remedy, as before
    best = room["pp"][0]
    assert _search(L70, "H100", input_tokens=8000, output_tokens=1000, tp=best["tp"], pp=best["pp"],
                   max_num_seqs=max(best["max_num_seqs"], 1)).feasible


def test_ep_room_evaluates_the_models_ep_group_rejected(monkeypatch):
    seen = []
    evaluate = layout_room._evaluate

    def recording(space, *args, **kw):
        seen.append({c.model for c in space.combos})
        return evaluate(space, *args, **kw)
    monkeypatch.setattr(layout_room, "_evaluate", recording)
    r = _search(["Qwen/Qwen3-30B-A3B", "meta-llama/Llama-3.1-8B-Instruct"], "H100", tp=[1], ep=[4])
    assert r.rejected["ep_group"] == r.rejected["ep_without_moe"] > 0
    assert seen and all(models == {"Qwen/Qwen3-30B-A3B"} for models in seen), seen
    (room,) = r.settings["ep_room"]
    assert room["tp"] * room["dp"] == 4 and "Qwen3-30B-A3B" in room["config"]


def test_no_group_searched_says_what_ep_room_found():
    fits = _search("Qwen/Qwen3-30B-A3B", "H100", tp=[1], ep=[4])
    (room,) = fits.settings["ep_room"]
    text = fits.why_empty()
    assert (f"which the searched tp 1 and dp 1 make 1: --ep 4 needs tp x dp = 4, e.g. --tp {room['tp']} --dp "
            f"{room['dp']}, which passes every check ({room['config']})") in text, text
    assert _search("Qwen/Qwen3-30B-A3B", "H100", tp=room["tp"], dp=room["dp"], ep=4).feasible
    big = _search("Qwen/Qwen3-235B-A22B", "H100", tp=[1], ep=[4])
    assert big.settings["ep_room"][0]["tp"] is None
    text = big.why_empty()
    assert "no tp x dp = 4 passes the other checks with --ep 4 (most fail memory_weights)" in text, text
    assert "needs e.g. --tp 1 --dp 4" not in text, text


def test_weights_and_a_kv_cache_that_holds_no_sequence_say_the_layouts_once():
    """Tied, and not one sequence of 100000 + 1000 tokens fits: both remedies are the same layouts (layout_room), and
    the empty result printed the whole list twice (~1,500 characters each); the KV cache's part now points to it."""
    r = _search(L70, "H100", input_tokens=100000, output_tokens=1000, tp=[1, 2], max_num_seqs=[64])
    assert r.rejected["memory_weights"] == r.rejected["memory_kv_cache"] == 1
    text = r.why_empty()
    layouts = "the fewest GPUs per deployment whose weights and one sequence's KV cache fit are"
    assert text.count(layouts) == 1, text
    kv = text.split("for the 1 candidate memory_kv_cache rejected: ")[1]
    assert kv.startswith("not even one sequence's KV cache (100000+1000 tokens) fits beside the weights on any searched "
                         "layout: the layouts named for the weights above hold one"), kv
    assert "--kv-cache-dtype fp8" in kv  # its own clause stays
