"""Both latency limits unmet: the empty result said "raise --tpot-limit to at least A and --ttft-limit to at least B",
A the lowest TPOT and B the lowest TTFT of the space. They are two configurations (Llama-3.1-8B on H100,H200: the
lowest TPOT at TP4, the lowest TTFT at TP8), so the search it suggests found nothing ("each can be met alone, not
both"). It now names, for each, the pair of limits that admits it: the lowest-TPOT configuration's TTFT, and the
lowest-TTFT configuration's TPOT; following either finds a configuration."""

import re
import warnings

import pandas as pd
import pytest

import energylens
from energylens.search.api import bundled_model

L8 = "meta-llama/Llama-3.1-8B-Instruct"


def _search(**kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the bundled model's range notes
        return energylens.search(L8, "H100,H200", input_tokens=1000, output_tokens=300, energy_model=bundled_model(),
                                 bootstrap=False, **kw)


@pytest.fixture(scope="module")
def empty():
    r = _search(tpot_limit_s=1e-4, ttft_limit_s=1e-4)
    assert r.empty and r.settings["without_latency_limits"]["unmet"] == ["tpot", "ttft"]
    return r


def test_each_suggested_pair_of_limits_finds_a_configuration(empty):
    text = empty.why_empty()
    pairs = re.findall(r"--tpot-limit to at least ([0-9.e-]+) s and --ttft-limit to at least ([0-9.e-]+) s|"
                       r"--ttft-limit to at least ([0-9.e-]+) s and --tpot-limit to at least ([0-9.e-]+) s", text)
    assert len(pairs) == 2, text
    for a, b, c, d in pairs:
        tpot, ttft = (float(a), float(b)) if a else (float(d), float(c))
        r = _search(tpot_limit_s=tpot, ttft_limit_s=ttft)
        assert r.feasible, (tpot, ttft, r.why_empty())


def test_the_pairs_name_the_lowest_configurations_own_latencies(empty):
    c = empty.settings["without_latency_limits"]
    assert c["min_tpot_config"] != c["min_ttft_config"]
    assert c["min_tpot_ttft_s"] > c["min_ttft_s"] and c["min_ttft_tpot_s"] > c["min_tpot_s"]
    text = empty.why_empty()
    assert f"({c['min_tpot_config']})" in text.split("to find a configuration:")[1], text


def test_measured_rows_get_one_pair_each_too():
    """A candidate table with measured TTFT and TPOT: the lowest TPOT (row 1) and the lowest TTFT (row 2) are two
    rows; each pair of limits is that row's own measured values, and following either finds it."""
    df = pd.DataFrame([dict(model=L8, gpu="H100", tp=1, max_num_seqs=8, input_tokens=1000.0, output_tokens=300.0,
                            ttft_s=0.30, tpot_s=0.010),
                       dict(model=L8, gpu="H100", tp=2, max_num_seqs=8, input_tokens=1000.0, output_tokens=300.0,
                            ttft_s=0.10, tpot_s=0.020)])

    def measured(**kw):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return energylens.search(candidates=df, measured_latency=True, energy_model=bundled_model(),
                                     bootstrap=False, **kw)
    r = measured(tpot_limit_s=0.001, ttft_limit_s=0.001)
    text = r.why_empty()
    assert "--tpot-limit to at least 0.01 s and --ttft-limit to at least 0.3 s" in text, text
    assert "--ttft-limit to at least 0.1 s and --tpot-limit to at least 0.02 s" in text, text
    assert measured(tpot_limit_s=0.01, ttft_limit_s=0.3).feasible == 1
    assert measured(tpot_limit_s=0.02, ttft_limit_s=0.1).feasible == 1


def test_limits_met_alone_not_together_name_both_ways_out():
    """Each limit alone is met, not both: the remedy named the TTFT limit to raise in numbers and then "or raise
    --tpot-limit" without one; it now says how far, the lowest TPOT among the configurations within the TTFT limit,
    and following either finds a configuration."""
    first = _search(tpot_limit_s=1e-4, ttft_limit_s=1e-4).settings["without_latency_limits"]
    tpot, ttft = _round_up_s(first["min_tpot_s"]), _round_up_s(first["min_ttft_s"])
    r = _search(tpot_limit_s=tpot, ttft_limit_s=ttft)
    c = r.settings["without_latency_limits"]
    assert r.empty and not c["unmet"], r.why_empty()
    text = r.why_empty()
    m = re.search(r"raise --ttft-limit to at least ([0-9.e-]+) s, or raise --tpot-limit to at least ([0-9.e-]+) s "
                  r"\(the lowest predicted TPOT among the candidates that meet the TTFT limit, (.+?)\)", text)
    assert m, text
    assert _search(tpot_limit_s=tpot, ttft_limit_s=float(m.group(1))).feasible
    assert _search(tpot_limit_s=float(m.group(2)), ttft_limit_s=ttft).feasible
    assert m.group(3) == c["min_tpot_at_ttft_limit_config"]


def _round_up_s(value: float) -> float:
    return float(f"{value * (1 + 1e-4):.4g}")
