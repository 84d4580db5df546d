"""The explanation says a TTFT limit was met "with confidence P" only when an interval sized it: a latency model
that saw no measured TTFT applies the TTFT limit as given (``ttft_limit_confidence_note``), and the explanation
said "Latency limits met with confidence 0.9: TTFT ... (limit 1 s, applied as 1 s)"."""

import energylens
from energylens.search.api import bundled_model

KW = dict(model="meta-llama/Llama-3.1-70B-Instruct", gpus="H100,H200", input_tokens=512, output_tokens=256, top=2,
          limit_confidence=0.9, bootstrap=False)


def test_ttft_limit_applied_as_given_is_not_said_to_meet_a_confidence():
    r = energylens.search(ttft_limit_s=1.0, energy_model=bundled_model(), **KW)
    assert r.settings["ttft_limit_confidence_note"]  # the bundled model saw no measured TTFT
    text = r.explain(0)
    assert "with confidence" not in text
    ttft = r.top["ttft_s"].iloc[0]
    assert (f"TTFT {ttft:.4g} s predicted meets the limit 1 s as given, not at a confidence (the latency model saw "
            "no measured TTFT: no interval).") in text


def test_tpot_limit_still_met_at_the_confidence_beside_it():
    # 0.12 s: at 0.1 s nothing passes since the bundled model has 200 refits (the upper 0.9-quantile of 100 was lower)
    r = energylens.search(ttft_limit_s=1.0, tpot_limit_s=0.12, energy_model=bundled_model(), **KW)
    text, s = r.explain(0), r.settings
    assert (f"Latency limits met with confidence 0.9: TPOT {r.top['tpot_s'].iloc[0]:.4g} s predicted (limit 0.12 s, "
            f"applied as {s['effective_tpot_limit_s']:.4g} s).") in text
    confident = text.split("Latency limits met with confidence 0.9:")[1].split(" s).")[0]
    assert "TTFT" not in confident and "meets the limit 1 s as given" in text
