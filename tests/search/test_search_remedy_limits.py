"""The fp8 blocks' and the EP group's remedies named "X passes every check" / "which passes every check" from a
check without the latency limits: Qwen3-235B-A22B-FP8 on H100 at --tp 8 --ep 1,4 --tpot-limit 0.001 was told that
"--tp 1 --dp 4 ... passes every check" and "TP4 ... passes every check", both far above the TPOT limit. The named
configuration is now the cheapest that also meets the limits where one does, and otherwise the sentence says the
limits reject it."""

import warnings

import energylens
from energylens.search.api import bundled_model

QWEN_FP8 = "Qwen/Qwen3-235B-A22B-FP8"


def _search(**kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the bundled model's range notes
        return energylens.search(QWEN_FP8, "H100", input_tokens=512, output_tokens=256,
                                 energy_model=bundled_model(), bootstrap=False, **{"max_num_seqs": [8, 16], **kw})


def test_an_unreachable_limit_is_said_not_hidden():
    r = _search(tp=[8], ep=[1, 4], tpot_limit_s=0.001)
    text = r.why_empty()
    assert r.settings["fp8_room"]["misses_limits"] and r.settings["ep_room"][0]["misses_limits"]
    assert "which passes every check (" not in text and "passes every check;" not in text, text
    assert "passes every check but the latency limits, which no configuration of these tp values meets" in text, text
    assert "which passes every check but the latency limits, which no tp x dp = 4 meets (" in text, text


def test_a_reachable_limit_names_a_configuration_that_meets_it():
    free = _search(tp=[8], ep=[1, 4])
    named = free.settings["fp8_room"]["passes"]
    # a limit below the free pick's TPOT but above what a wider TP reaches
    tp4 = _search(tp=[4], ep=[1, 4])
    picked = tp4.top.iloc[0]
    assert free.label(picked) == named
    faster = _search(tp=[4, 8], ep=[1, 4, 8], max_num_seqs=[8])
    limit = float(faster.top["tpot_s"].min()) * 1.001
    assert limit < float(picked["tpot_s"])
    r = _search(tp=[8], ep=[1, 4], tpot_limit_s=limit)
    room = r.settings["fp8_room"]
    assert not room["misses_limits"] and room["passes"] != named, room
    assert f"{room['passes']} passes every check;" in r.why_empty() or r.why_empty().endswith(
        f"{room['passes']} passes every check"), r.why_empty()
    one = room["passes"].split(" TP")[1].split()[0]
    followed = _search(tp=[int(one)], ep=[1, 4], tpot_limit_s=limit)
    assert followed.feasible, followed.why_empty()


def test_without_limits_nothing_changes():
    r = _search(tp=[8], ep=[1, 4])
    assert not r.settings["fp8_room"]["misses_limits"] and not r.settings["ep_room"][0]["misses_limits"]
    assert "Qwen3-235B-A22B H100 fp8 TP4 PP1 DP1 EP1/4 B16 passes every check" in r.why_empty()
    assert type(r.settings["fp8_room"]["misses_limits"]) is bool  # a plain bool in the JSON record, not NumPy's
