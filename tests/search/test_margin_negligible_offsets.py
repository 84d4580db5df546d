"""explain(0) where the largest term exceeds the difference only by offsets too small to list on their own.

README's search (Llama-3.1-70B on H100,H200,B200, TPOT <= 0.1 s, bundled model) printed "It beats ... by 43.2%
(+97 J), the net of  and +97.2 J in static power during decode": the other terms went the other way by 0.2 J
in all, each below the listed share, so one part was listed and the sentence joined an empty list to it. The
terms left out are now one part, "the other terms", so the parts still sum to the difference."""

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
