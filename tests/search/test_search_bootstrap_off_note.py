"""bootstrap=False: the table drops the interval and P(best) columns, but the summary (and JSON's summary) said
nothing, and JSON rows carried p_best / energy_j_lo / energy_j_hi as null without a word; the summary says why."""

import json

import energylens
from energylens.search.api import bundled_model

L8 = "meta-llama/Llama-3.1-8B-Instruct"


def _search(**kw):
    return energylens.search(L8, "H100", input_tokens=512, output_tokens=256, tp=[1], max_num_seqs=[8, 64],
                             energy_model=bundled_model(), **kw)


def test_bootstrap_off_is_said(tmp_path):
    r = _search(bootstrap=False)
    assert "bootstrap=False" in r.summary() and "P(best)" in r.summary()
    r.to_json(tmp_path / "r.json")
    d = json.loads((tmp_path / "r.json").read_text())
    assert d["top"][0]["p_best"] is None and "bootstrap=False" in d["summary"]


def test_bootstrap_on_says_nothing_of_it():
    assert "bootstrap=False" not in _search(bootstrap=True).summary()
