"""explain(0)'s "It beats X by 45.4% (+97 J)" meant X costs 45.4 % more than the pick (objective ratio - 1); a user
reads "saves 45 %" (the pick is 31 % below X). It now says which configuration is dearer and by how much: "The
runner-up, X, uses 45.4% more energy (...)"."""

from __future__ import annotations

import re
import warnings

import pytest

import energylens
from energylens.search.api import bundled_model


def _search(**kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the bundled model's range notes
        return energylens.search("meta-llama/Llama-3.1-8B-Instruct", "H100", input_tokens=2000, output_tokens=1000,
                                 tp=1, max_num_seqs=128, kv_cache_dtype="auto,fp8", energy_model=bundled_model(),
                                 bootstrap=False, **kw)


@pytest.mark.parametrize(("kw", "noun"), [({}, "energy"), ({"carbon_g_per_kwh": 400}, "carbon")])
def test_the_margin_names_the_dearer_configuration(kw, noun):
    r = _search(**kw)
    best, second = r.top.iloc[0], r.top.iloc[1]
    text = r.explain(0)
    assert "beats" not in text, text
    match = re.search(rf"The runner-up, (.+?), uses ([0-9.]+)% more {noun}[ ,]", text)
    assert match, text
    assert match.group(1) == r.label(second)
    assert float(match.group(2)) == pytest.approx(100 * (second["objective"] / best["objective"] - 1), abs=0.06)


def test_a_cost_margin_says_costs_more():
    text = _search(price_per_gpu_hour=2.5).explain(0)
    assert "beats" not in text and re.search(r"The runner-up, .+?, costs [0-9.]+% more: ", text), text
