"""explain(0) where the largest term exceeds the difference only by offsets too small to list on their own.

README's search (Llama-3.1-70B on H100,H200,B200, TPOT <= 0.1 s, bundled model) printed "It beats ... by 43.2%
(+97 J), the net of  and +97.2 J in static power during decode": the other terms went the other way by 0.2 J
in all, each below the listed share, so one part was listed and the sentence joined an empty list to it. The
terms left out are now one part, "the other terms", so the parts still sum to the difference.

explain(0) said "mostly in <term>" whenever no term offset the largest, also where that term was a minority of the
difference: Llama-3.1-70B on H100,H200 at 20 requests/s (model file of energylens fit on the v3 H100 export) read
"uses 8.4% more energy, mostly in static power of idle headroom (+16.6 J)" for a 42.9 J difference, 39 % of it,
beside +13.7 J of static power during decode and +11.7 J during prefill. "mostly" now needs more than half the
difference; otherwise every term's part is listed, and they sum to the difference."""

import re
import warnings

import pandas as pd
import pytest

import energylens
from energylens.search.api import bundled_model
from energylens.search.margin import TERMS, margin_clause


def _row(**terms: float) -> pd.Series:
    values = {t: terms.get(t, 10.0) for t in TERMS}
    energy = sum(values.values())
    return pd.Series({**values, "energy_j": energy, "objective": energy})


def _parts(text: str) -> list[float]:
    return [float(x) for x in re.findall(r"([+-][0-9.]+(?:e[+-]?\d+)?) J in ", text)]


def test_one_listed_term_with_small_offsets_names_the_rest():
    best = _row(decode_static_j=100.0)
    second = _row(decode_static_j=197.2, prefill_static_j=9.9, prefill_dynamic_j=9.95, decode_dynamic_j=9.95)
    text = margin_clause(best, second, "energy (J per request)", {"objective": "energy"})
    assert "the net of  and" not in text and "net of +97.2 J in static power during decode and " in text, text
    assert "in the other terms" in text, text
    assert sum(_parts(text)) == pytest.approx(97.0, abs=0.01), text


def test_readme_search_explains_its_margin_in_words():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the bundled model's range notes
        r = energylens.search("meta-llama/Llama-3.1-70B-Instruct", "H100,H200,B200", input_tokens=512,
                              output_tokens=256, tpot_limit_s=0.1, top=10, energy_model=bundled_model())
    text = r.explain(0)
    assert "net of  " not in text and "of  and" not in text, text
    match = re.search(r"The runner-up, .*, uses [0-9.]+% more energy \(([+-][0-9.]+) J\)", text)
    if match:  # the net form: its parts sum to the difference it states
        assert sum(_parts(text)) == pytest.approx(float(match.group(1)), abs=0.6), text


def _clause(best: pd.Series, second: pd.Series) -> str:
    return margin_clause(best, second, "energy (J per request)", {"objective": "energy"})


def test_a_largest_term_below_half_the_difference_is_not_mostly():
    best = _row(prefill_static_j=96.1, prefill_dynamic_j=160.9, decode_static_j=92.1, decode_dynamic_j=54.3,
                idle_j=105.8)
    second = _row(prefill_static_j=107.8, prefill_dynamic_j=162.7, decode_static_j=105.8, decode_dynamic_j=53.3,
                  idle_j=122.4)
    text = _clause(best, second)
    assert "mostly" not in text, text
    assert text.startswith(" (+42.8 J), the net of +16.6 J in static power of idle headroom, +13.7 J in static "
                           "power during decode, +11.7 J in static power during prefill, "), text
    assert sum(_parts(text)) == pytest.approx(42.8, abs=0.01), text


def test_parts_all_adding_are_a_sum_not_a_net():
    best = _row()
    second = _row(idle_j=14.0, decode_static_j=13.0, prefill_static_j=12.0)
    text = _clause(best, second)
    assert "mostly" not in text and "net" not in text, text
    assert text == (" (+9 J), made up of +4 J in static power of idle headroom, +3 J in static power during decode "
                    "and +2 J in static power during prefill"), text


def test_a_majority_term_is_still_mostly():
    text = _clause(_row(), _row(decode_static_j=30.0, idle_j=12.0, prefill_dynamic_j=9.5))
    assert text == ", mostly in static power during decode (+20 J)", text
