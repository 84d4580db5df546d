"""One latency limit unmet by every candidate, the other met by some: Llama-3.1-70B on H100 at 1024 / 256 tokens,
TPOT <= 0.089 s and TTFT <= 0.125 s. The lowest TTFT, 0.1375 s, is TP8 B1's, whose TPOT 0.0913 s breaks the TPOT
limit that TP4 B1 (TPOT 0.0889 s) meets; the remedy read "raise --ttft-limit to at least 0.1376 s", which finds
nothing again (tests/search/test_search_limit_suggestion.py). It now names the lowest TTFT among the candidates that
meet the TPOT limit, or both limits to the lowest TTFT's own pair."""

import re
import warnings

import energylens
from energylens.search.api import bundled_model

KW = dict(model="meta-llama/Llama-3.1-70B-Instruct", gpus="H100", input_tokens=1024, output_tokens=256,
          bootstrap=False)


def _search(**kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return energylens.search(energy_model=bundled_model(), **{**KW, **kw})


def test_the_remedy_names_the_lowest_ttft_that_meets_the_tpot_limit_and_the_pair():
    empty = _search(tpot_limit_s=0.089, ttft_limit_s=0.125)
    c = empty.settings["without_latency_limits"]
    assert c["unmet"] == ["ttft"] and c["min_ttft_tpot_s"] > 0.089  # the lowest TTFT's TPOT breaks the met limit
    text = empty.why_empty()
    m = re.search(r"raise --ttft-limit to at least ([0-9.]+) s \(the lowest predicted TTFT among the candidates that "
                  r"meet the TPOT limit, ([^)]+)\), or --ttft-limit to at least ([0-9.]+) s and --tpot-limit to at "
                  r"least ([0-9.]+) s \(([^)]+)\)", text)
    assert m, text
    assert m.group(2) == c["min_ttft_at_tpot_limit_config"] and m.group(5) == c["min_ttft_config"]
    assert _search(tpot_limit_s=0.089, ttft_limit_s=float(m.group(1))).feasible  # either way finds one
    assert _search(tpot_limit_s=float(m.group(4)), ttft_limit_s=float(m.group(3))).feasible


def test_where_the_lowest_meets_the_other_limit_the_remedy_is_as_before():
    empty = _search(tpot_limit_s=0.095, ttft_limit_s=0.125)  # TP8 B1's TPOT 0.0913 s meets it
    assert empty.settings["without_latency_limits"]["unmet"] == ["ttft"]
    text = empty.why_empty()
    assert "raise --ttft-limit to at least 0.1376 s; " in text and "among the candidates that meet" not in text, text
