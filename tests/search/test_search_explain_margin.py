"""explain(0) names the terms that make the margin over the runner-up, and says so when they offset each other.

Qwen3-30B-A3B mxfp4 on an H100 against the same on a B200 (bundled model): the B200 spends 28.6 J more on static
power during decode but 5.4 J less on prefill compute, 3.1 J less on decode compute and 2.9 J less on static power
during prefill, 17.3 J more in all; explain(0) said "It beats ... by 10.9%, mostly in static power during decode
(+28.6 J)", a term larger than the whole difference, "mostly" hiding that the others go the other way. Where the
largest term exceeds the difference it now lists each term's part, which sum to the difference; where every term
goes one way it still says "mostly in"."""

import re
import warnings

import pytest

import energylens
from energylens.search.api import bundled_model
from energylens.search.result import TERMS

Q30 = "Qwen/Qwen3-30B-A3B"


def _search(**kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the bundled model's range notes
        return energylens.search(energy_model=bundled_model(), bootstrap=False, input_tokens=2000, output_tokens=1000,
                                 tp=1, **{"max_num_seqs": 256, **kw})


def test_offsetting_terms_are_named_with_their_parts():
    r = _search(model=Q30, gpus="H100,B200", precision="mxfp4", kv_cache_dtype="fp8")
    best, second = r.top.iloc[0], r.top.iloc[1]
    diffs = {t: float(second[t] - best[t]) for t in TERMS}
    total = float(second["energy_j"] - best["energy_j"])
    assert max(diffs.values()) > total and min(diffs.values()) < 0  # the case: terms that offset
    text = r.explain(0)
    assert "mostly in" not in text, text
    parts = [float(x) for x in re.findall(r"([+-][0-9.]+(?:e[+-]?\d+)?) J in ", text)]
    assert len(parts) >= 2, text
    assert sum(parts) == pytest.approx(total, abs=0.01 * abs(max(diffs.values()))), text
    assert f"{total:+.3g} J" in text, text


def test_terms_that_all_go_one_way_keep_mostly_in():
    # an fp8 KV cache against a bf16 one on the same GPU: the same prefill, less traffic and time in every step
    r = _search(model="meta-llama/Llama-3.1-8B-Instruct", gpus="H100", kv_cache_dtype="auto,fp8", max_num_seqs=128)
    best, second = r.top.iloc[0], r.top.iloc[1]
    assert all(float(second[t] - best[t]) >= -1e-9 * float(best["energy_j"]) for t in TERMS)  # rounding aside
    assert ", mostly in static power during decode (+" in r.explain(0), r.explain(0)
