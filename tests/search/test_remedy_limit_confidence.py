"""An empty result's remedies check the space they widen against the latency limit the user gave, at the confidence
the user gave (:mod:`energylens.search.limit_check`). Until 2026-12-07 they checked it against the searched space's
effective limit: Llama-3.1-8B on L4 at 30000 + 1000 tokens, max_num_seqs 8, TPOT limit 1 % above the lowest TPOT at
max_num_seqs 6 and --limit-confidence 0.9 was told "--max-num-seqs 6 finds configurations" (no searched candidate
passed the memory checks, so the effective limit was the given one: the point prediction decided), and the search
that followed it, applying 0.113 s, found none. And each widened space is evaluated once: the limits are checked on
its evaluation without them (until 2026-12-07 a second evaluation with the limits)."""

import numpy as np
import pytest
from quiet_search import quiet_search

from energylens import _core
from energylens.search import layout_room, remedies
from energylens.search.options import native_options
from energylens.search.space import build_space

L8, QWEN_FP8 = "meta-llama/Llama-3.1-8B-Instruct", "Qwen/Qwen3-235B-A22B-FP8"
KV = dict(input_tokens=30000, output_tokens=1000, tp=[1, 2])


def _lowest_tpot_at(model, n: int) -> float:
    return float(quiet_search(model, L8, "L4", max_num_seqs=[n], **KV).top["tpot_s"].min())


@pytest.mark.parametrize("p", [0.9, 0.5])
def test_the_kv_remedy_at_a_confidence_says_what_the_followed_search_finds(model, p):
    n = quiet_search(model, L8, "L4", max_num_seqs=[8], **KV).settings["kv_room"]["max_num_seqs"]
    limit = _lowest_tpot_at(model, n) * 1.01  # met by the point prediction, not at 0.9
    kw = dict(KV, tpot_limit_s=limit, limit_confidence=p)
    r = quiet_search(model, L8, "L4", max_num_seqs=[8], **kw)
    text, followed = r.why_empty(), quiet_search(model, L8, "L4", max_num_seqs=[n], **kw)
    assert r.settings["kv_room"]["max_num_seqs"] == n
    if p == 0.5:
        assert followed.feasible and f"--max-num-seqs {n} finds configurations" in text, text
        return
    assert followed.empty, followed.summary()
    applied = followed.settings["effective_tpot_limit_s"]
    assert "finds configurations" not in text, text
    assert r.settings["kv_room"]["limits_applied"] == {"tpot": pytest.approx(applied, rel=1e-12)}
    assert (f"--max-num-seqs {n} holds the KV cache, but no configuration there meets the latency limits (the lowest "
            f"predicted TPOT {limit / 1.01:.4g} s against the limit {limit:.4g} s, applied as {applied:.4g} s at "
            "confidence 0.9)") in text, text


def test_the_latency_reach_at_a_confidence_names_what_the_followed_search_ranks_first(model):
    # 8B on H100 at TPOT 0.03 s, confidence 0.9: the searched B64 / B128 put the limit at 0.0242 s, and against that
    # the reach found nothing (until 2026-12-07: "adding --tp 4,8 and --max-num-seqs 1,...,32 does not reach it
    # either (lowest TPOT 0.02436 s at ... B1)"), while the search with --max-num-seqs 1 added applies 0.0259 s and
    # ranks B1 first
    kw = dict(input_tokens=512, output_tokens=256, tpot_limit_s=0.03, limit_confidence=0.9)
    r = quiet_search(model, L8, "H100", tp=[1, 2], max_num_seqs=[64, 128], **kw)
    cheapest = r.settings["latency_reach"]["cheapest"]
    # (which batch it adds follows the TPOT quantiles' draws: 1 until the draws were keyed by the configuration,
    # 2 since; the point is that the followed search ranks it first)
    added = cheapest["max_num_seqs_added"] if cheapest is not None else None
    assert added is not None and len(added) == 1 and added[0] < 64, r.why_empty()
    assert f"or add --max-num-seqs {added[0]}: the cheapest configuration then within the limits is " \
        f"{cheapest['config']}" in r.why_empty(), r.why_empty()
    followed = quiet_search(model, L8, "H100", tp=[1, 2], max_num_seqs=[added[0], 64, 128], **kw)
    assert followed.feasible and followed.label(followed.top.iloc[0]) == cheapest["config"]
    assert followed.top.iloc[0]["tpot_s"] <= followed.settings["effective_tpot_limit_s"] < 0.03


def test_the_fp8_and_ep_remedies_at_a_confidence_say_what_the_followed_search_finds(model):
    # Qwen3-235B-A22B-FP8 on H100 at --tp 8 --ep 1,4: a TPOT limit 2 % above the lowest any tp x ep reaches at B8 / B16
    # is met by the point prediction of TP4 B8, not at confidence 0.9; until 2026-12-07 both remedies said it "passes
    # every check" (nothing of the searched space passed the other checks: the limit was applied as given), and the
    # search at --tp 4 applies 0.173 s and finds nothing
    kw = dict(input_tokens=512, output_tokens=256, max_num_seqs=[8, 16])
    lowest = float(quiet_search(model, QWEN_FP8, "H100", tp=[1, 2, 4, 8], ep=[1, 2, 4, 8], **kw).top["tpot_s"].min())
    kw |= dict(tpot_limit_s=lowest * 1.02, limit_confidence=0.9)
    r = quiet_search(model, QWEN_FP8, "H100", tp=[8], ep=[1, 4], **kw)
    room, ep = r.settings["fp8_room"], r.settings["ep_room"][0]
    assert room["misses_limits"] and ep["misses_limits"], (room, ep)
    assert "passes every check but the latency limits, which no configuration of these tp values meets" in r.why_empty()
    for tp in sorted({int(room["passes"].split(" TP")[1].split()[0]), ep["tp"]}):
        assert quiet_search(model, QWEN_FP8, "H100", tp=[tp], dp=[1, 4], ep=[1, 4], **kw).empty


def _counted(monkeypatch) -> list[int]:
    calls: list[int] = []
    evaluate = _core.search_evaluate

    def counting(*args):
        calls.append(len(args[-1]))
        return evaluate(*args)
    monkeypatch.setattr(_core, "search_evaluate", counting)
    return calls


def test_each_widened_space_is_evaluated_once(model, monkeypatch):
    space = build_space(QWEN_FP8, "H100", input_tokens=512, output_tokens=256, tp=[8], ep=[1, 4], max_num_seqs=[8])
    options = native_options(tpot_limit_s=0.001)
    theta, phi = model.theta, model.latency_model.theta
    rejected = {"fp8_block_shape": 1, "ep_group": 1}
    calls = _counted(monkeypatch)
    assert remedies.fp8_room(space, theta, phi, options, rejected, 0, None)["misses_limits"]
    assert len(calls) == 1, calls
    assert layout_room.ep_room(space, theta, phi, options, rejected, 0, None)[0]["misses_limits"]
    assert len(calls) == 2, calls
    kv = build_space(L8, "L4", max_num_seqs=[8], **KV)
    calls.clear()
    unmet = remedies._limits_unmet(kv, theta, phi, native_options(tpot_limit_s=0.01), 6.0)
    assert unmet == {"tpot": pytest.approx(_lowest_tpot_at(model, 6), rel=1e-12)} and len(calls) == 1, calls
    assert np.all(np.asarray(calls) > 0)


def test_not_one_sequence_with_a_latency_limit_is_an_empty_result(model):
    # until 2026-12-07 the KV remedy checked the limits at max_num_seqs 0 and the search stopped with a ValueError
    r = quiet_search(model, L8, "L4", tp=1, input_tokens=120000, output_tokens=1000, tpot_limit_s=0.05)
    assert r.empty and r.settings["kv_room"]["max_num_seqs"] == 0
    assert r.settings["kv_room"]["limits_unmet"] is None and r.settings["kv_room"]["limits_applied"] is None
    assert "fit are " in r.why_empty()


def test_no_lower_confidence_remedy_where_the_confidence_moved_no_limit(model):
    # the bundled model saw no measured TTFT: a TTFT limit at confidence 0.9 is applied as given, and the empty result
    # said "or lower --limit-confidence (now 0.9: the TTFT limit 0.05 s applied as 0.05 s ...; 0.5 applies it as
    # given)" until 2026-12-07, a remedy that changes nothing
    r = quiet_search(model, L8, "H100", input_tokens=8000, output_tokens=256, ttft_limit_s=0.05, limit_confidence=0.9)
    assert r.empty and r.settings["effective_ttft_limit_s"] == 0.05
    assert "--limit-confidence" not in r.why_empty(), r.why_empty()
    both = quiet_search(model, L8, "H100", input_tokens=8000, output_tokens=256, ttft_limit_s=0.05, tpot_limit_s=0.01,
                        limit_confidence=0.9)
    applied = both.settings["effective_tpot_limit_s"]
    assert both.empty and applied < 0.01
    assert (f"or lower --limit-confidence (now 0.9: the TPOT limit 0.01 s applied as {applied:.4g} s on the predicted "
            "value; 0.5 applies it as given)") in both.why_empty(), both.why_empty()
