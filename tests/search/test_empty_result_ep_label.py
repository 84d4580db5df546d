"""An empty result's closest configuration ("the lowest predicted TPOT is 0.06183 s (Qwen3-30B-A3B H100 bf16 TP2 PP1
DP1 B1; ...)") named the deployment without the EP label its result rows use (``... TP2 PP1 DP1 EP1/2 B1``: priced
alike with and without expert parallelism, one row); the note now names it as the rows do."""

from __future__ import annotations

import warnings

import energylens
from energylens.search.api import bundled_model

KW = dict(input_tokens=512, output_tokens=256, tp=[2], energy_model=bundled_model(), bootstrap=False)


def _search(**kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the bundled model's range notes
        return energylens.search("Qwen/Qwen3-30B-A3B", "H100", **KW, **kw)


def test_the_closest_configuration_has_the_rows_ep_label():
    rows = _search(ep=[1, 2]).to_frame().sort_values("tpot_s")
    empty = _search(ep=[1, 2], tpot_limit_s=0.001)
    closest = empty.settings["without_latency_limits"]
    assert closest["min_tpot_config"] == rows["config"].iloc[0] and "EP1/2" in closest["min_tpot_config"], closest
    assert closest["min_tpot_config"] in empty.why_empty()


def test_without_an_ep_axis_the_label_is_unchanged():
    closest = _search(tpot_limit_s=0.001).settings["without_latency_limits"]
    assert closest["min_tpot_config"] == "Qwen3-30B-A3B H100 bf16 TP2 PP1 DP1 B1", closest
