"""An unmet latency limit's advice names a faster GPU only where the engine predicts it meets the limit. Before
2026-12-06 the GPUs with more bf16 compute (TTFT) or memory bandwidth (TPOT) were named from their figures: a TTFT
limit ~300x below the lowest reachable on B200 was told "what could: GPUs with more bf16 compute (GB200 ...,
MI355X ...)", which have 1.1x B200's compute and miss the limit as far; the TPOT case on the fastest GPU said that
only a higher limit helps."""

import numpy as np
import pytest
from tests.search.quiet_search import quiet_search

from energylens.profiles import tables
from energylens.search.api import native_options
from energylens.search.kv_fp8 import respec_space
from energylens.search.reach import _lowest, _widened_caps, faster_reach, reach_sentence
from energylens.search.remedies import _label
from energylens.search.space import build_space

L8, L70 = "meta-llama/Llama-3.1-8B-Instruct", "meta-llama/Llama-3.1-70B-Instruct"


def test_an_impossible_ttft_limit_names_no_faster_gpu(model):
    r = quiet_search(model, L8, "B200", ttft_limit_s=1e-4)
    reach = r.settings["latency_reach"]["ttft"]
    faster = reach["faster"]
    assert {f["gpu"] for f in faster} == {"GB200", "GB300", "MI355X"} and not any(f["meets"] for f in faster)
    text = r.why_empty()
    assert "what could" not in text and "bf16 compute (GB200" not in text, text
    lowest = min(faster, key=lambda f: f["value_s"])  # (MI355X TP1 until the TTFT predictions moved on 2026-12-07)
    low = lowest["value_s"]
    assert (f"nor do the 3 GPUs with more bf16 compute (the lowest, {low:.4g} s at "
            f"{lowest['config']}, {low / 1e-4:.3g}x the limit): only a higher "
            "--ttft-limit, shorter prompts (--input-tokens) or a smaller model finds one") in text, text
    followed = quiet_search(model, L8, "GB200,GB300,MI355X", ttft_limit_s=1e-4)  # what the record foretold
    assert followed.empty
    assert followed.settings["without_latency_limits"]["min_ttft_s"] == pytest.approx(low, rel=1e-12)


def test_a_faster_gpu_predicted_to_meet_the_limit_is_named_and_works(model):
    r = quiet_search(model, L70, "A100-SXM4-80GB", ttft_limit_s=0.15)
    faster = r.settings["latency_reach"]["ttft"]["faster"]
    meet = [f for f in faster if f["meets"]]
    assert meet and len(meet) < len(faster)  # some faster GPUs (L40S-like figures aside) miss it
    text = r.why_empty()
    first = meet[0]
    assert "what could: GPUs with more bf16 compute predicted within the limit (" in text, text
    assert f"{first['value_s']:.4g} s at {first['config']}" in text, text
    followed = quiet_search(model, L70, first["gpu"], ttft_limit_s=0.15)
    assert followed.feasible and followed.top["ttft_s"].min() <= 0.15
    missed = [f for f in faster if not f["meets"] and f["value_s"] is not None]
    for f in missed[:1]:  # one said to miss does miss
        assert quiet_search(model, L70, f["gpu"], ttft_limit_s=0.15).empty


def test_tpot_and_ttft_say_alike_what_only_a_higher_limit_reaches(model):
    r = quiet_search(model, L8, "MI355X", tpot_limit_s=1e-4)  # no GPU of the table has more bandwidth
    assert r.settings["latency_reach"]["tpot"]["faster"] == []
    assert "among these GPUs only a higher --tpot-limit or a smaller model finds one" in r.why_empty()
    r = quiet_search(model, L70, "H100", tp=[4, 8], tpot_limit_s=0.015)
    text = r.why_empty()
    assert "nor do the " in text and "GPUs with more memory bandwidth (the lowest, " in text, text
    assert "only a higher --tpot-limit or a smaller model finds one" in text and "what could" not in text, text


def test_a_record_without_the_faster_gpus_names_them_only_where_their_figures_cover_the_gap():
    """Settings written by hand (or before the record had ``faster``): the figures, weighed against the gap."""
    reach = {"tp_tried": [], "max_num_seqs_tried": [], "ttft": {"value_s": 0.03, "config": "x", "meets": False}}
    far = reach_sentence({"gpus": ["B200"], "ttft_limit_s": 1e-4, "latency_reach": reach})
    assert "what could" not in far and "has 1.1x the searched GPUs' bf16 compute while the lowest TTFT is " \
        "3e+02x the limit: only a higher --ttft-limit" in far, far
    near = reach_sentence({"gpus": ["B200"], "ttft_limit_s": 0.029, "latency_reach": reach})
    assert "what could: GPUs with more bf16 compute (GB200" in near, near


def test_the_bundled_model_note_is_said_once(model):
    r = quiet_search(model, L8, "A100-SXM4-80GB", tpot_limit_s=0.012, ttft_limit_s=1e-3)
    text = reach_sentence(r.settings, bundled=True)
    assert text.count("--model-file") == 1, text
    assert "only a higher --tpot-limit" in text and "only a higher --ttft-limit" in text, text


@pytest.mark.parametrize("name", ["tpot", "ttft"])
@pytest.mark.parametrize("rate", [None, 8.0], ids=["fixed_batch", "load"])
def test_a_faster_gpus_lowest_is_the_lowest_over_latency_reachs_caps(model, name, rate):
    # faster_reach evaluates the searched max_num_seqs and 1, latency_reach the powers of two between as well: the
    # lowest TPOT / TTFT (value and configuration) is the same, at the smallest cap, with pp 2's microbatches too
    space = build_space(["llama-3.1-70b", "mixtral-8x7b"], ["A100-SXM4-80GB"], input_tokens=[1500],
                        output_tokens=[300], tp=[2, 4], pp=[1, 2], max_num_seqs=[48, 200])
    options = native_options(**{f"{name}_limit_s": 1e-4}, **({} if rate is None else {"rate_per_s": rate}))
    phi = model.latency_model.theta
    faster = faster_reach(space, model.theta, phi, options, name)
    assert len(faster) >= 3 and all(f["value_s"] is not None for f in faster)
    for f in faster:
        sub = respec_space(space, gpus=[tables.gpu_spec(f["gpu"])])
        wide, ok, value, _ = _lowest(sub, model.theta, phi, options, (name,), _widened_caps(space))
        assert {1.0, 2.0, 4.0, 32.0} <= set(wide.max_num_seqs)  # the caps latency_reach adds
        i = int(np.argmin(value[name]))
        assert ok[i] and (f["value_s"], f["config"]) == (float(value[name][i]), _label(wide, i))
        assert f["config"].endswith(" B1")
