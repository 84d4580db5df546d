"""``energylens search`` says what its table's columns mean. It printed ``lo J/request``, ``hi J/request``,
``domains``, ``P(best)``, ``cap binds``, ``decided by`` with no word on them, and its lo / hi (then the energy's 5th /
95th percentiles over the model's bootstrap refits: parameter uncertainty) read as the 90 % interval that
``energylens predict`` writes for the same configuration, which adds the residual scatter and was several times as
wide (the top 6 of Qwen3-30B-A3B on H100/H200/B200: predict's lo 0.77-0.83x, hi 1.17-1.20x the search's). Since
2026-12-07 they are predict's interval (tests/search/test_search_interval_predicts.py)."""

import io
import json
import warnings

import numpy as np
import pytest

import energylens
from energylens.cli.search import print_result
from energylens.search.api import bundled_model
from energylens.search.legend import INTERVAL_QUANTILES

KW = dict(input_tokens=512, output_tokens=256, top=3)


def _search(**kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the bundled model's range notes
        return energylens.search(**{"model": "meta-llama/Llama-3.1-70B-Instruct", "gpus": "H100,H200,B200",
                                    "energy_model": bundled_model(), **KW, **kw})


CASES = {"fixed": {}, "rate": {"rate_per_s": 5.0}, "cost": {"price_per_gpu_hour": 2.5},
         "carbon per token": {"carbon_g_per_kwh": 400.0, "per_token": True}, "no bootstrap": {"bootstrap": False},
         "several points": {"input_tokens": [256, 1024], "output_tokens": [128, 512]}}


def _printed(r) -> list[str]:
    out = io.StringIO()
    print_result(r, out=out)
    return out.getvalue().splitlines()


@pytest.mark.parametrize("case", CASES)
def test_every_column_the_table_shows_is_explained(case):
    r = _search(**CASES[case])
    lines = _printed(r)
    legend = lines[lines.index("columns:") + 1:]
    explained = " ".join(line.split("  ")[1] if line.startswith("  ") else "" for line in legend)
    headers = [h for h in r._columns(r.to_frame()).values()]
    assert headers and all(h in explained for h in headers), (headers, legend)
    assert len(legend) == len(headers) - ("lo J/request" in headers), legend  # lo and hi share a line
    assert all(len(line.split("  ", 2)[-1].strip()) > 10 for line in legend)  # a meaning, not a bare name
    assert ("P(best)" in explained) == (case != "no bootstrap")
    assert f"of the {len(r.top)} listed" in r.legend() or case == "no bootstrap"
    assert ("running batch" in explained) == ("rate_per_s" in CASES[case])


def test_the_interval_is_what_the_legend_names():
    """Since 2026-12-07 the bounds are predict's 90 % interval of each configuration alone (they were the refits'
    5th / 95th percentiles, which the legend had to tell apart from predict's, several times as wide)."""
    data = energylens.profiles.datasets.mlenergy_v2()
    rows = data[data["model"].str.contains("70B")].head(4).reset_index(drop=True)
    r = _search(model=None, gpus=None, input_tokens=None, output_tokens=None, candidates=rows, top=len(rows),
                threads=1)
    got = r.top.set_index("candidate").sort_index()
    level = round(INTERVAL_QUANTILES[1] - INTERVAL_QUANTILES[0], 12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pred = [bundled_model().predict_interval(rows.loc[[i]], level=level, check_range=False) for i in got.index]
    np.testing.assert_allclose(got["energy_j_lo"], [p["energy_j_lo"].iloc[0] for p in pred], rtol=1e-9)
    np.testing.assert_allclose(got["energy_j_hi"], [p["energy_j_hi"].iloc[0] for p in pred], rtol=1e-9)
    assert f"{100 * INTERVAL_QUANTILES[0]:g}th / {100 * INTERVAL_QUANTILES[1]:g}th percentiles" in r.legend()
    assert "the bounds energylens predict gives the configuration alone" in r.legend()
    assert "GPU transfer factor" not in r.legend()  # the rows are on the fitted A100 / H100


def test_json_carries_the_legend_and_an_empty_result_has_none(tmp_path):
    r = _search()
    assert json.loads(r.to_json())["legend"] == r.legend() != ""
    empty = _search(tpot_limit_s=0.001)
    assert empty.empty and empty.legend() == "" and json.loads(empty.to_json())["legend"] == ""
    assert "columns:" not in "\n".join(_printed(empty))


def test_the_legend_follows_the_rows_shown():
    r = _search(top=5)
    assert "of the 2 listed" in r.legend(2) and "of the 5 listed" in r.legend()


def test_the_label_parts_a_result_adds_are_explained():
    points = _search(input_tokens=[256, 1024], output_tokens=[128, 512])
    assert "in512" not in points.legend() and "in / out: the workload point's input / output tokens" in points.legend()
    assert "in / out" not in _search().legend()
    data = energylens.profiles.datasets.mlenergy_v2()
    table = _search(model=None, gpus=None, input_tokens=None, output_tokens=None, candidates=data.head(3), top=3)
    assert "(candidate 1)" in table.table() and "(candidate N): the candidate table's row" in table.legend()


def test_a_distribution_says_what_energy_and_latency_stand_for():
    mix = _search(input_tokens=[256, 1024], output_tokens=[128, 512], workload_weights="equal").legend()
    assert "the expected value over the workload distribution" in mix and mix.count("at the distribution's worst point") == 2
    assert "distribution" not in _search().legend()


def test_p_best_is_described_as_computed():
    """A row's refits that fail a limit count for no row: the best of --top 1 read P(best) 0.875 under "the cheapest
    of the 1 listed" (Qwen3-235B-A22B at 20 requests/s, TPOT <= 0.2 s)."""
    alone = _search(model="Qwen/Qwen3-235B-A22B", gpus="H100,H200", input_tokens=1500, output_tokens=300,
                    rate_per_s=20.0, tpot_limit_s=0.2, top=1)
    assert 0 < alone.top["p_best"].iloc[0] < 1
    assert "passes every check (the latency limits too, as given" in alone.legend()
    free = _search(top=4)  # no limit: some row passes in every refit
    assert free.top["p_best"].sum() == pytest.approx(1.0)


def test_both_forms_of_a_merged_caps_label_are_explained():
    """A light load labels a row 'B1..256 (9 caps)'; the legend showed only the 'B64/128' form."""
    light = _search(rate_per_s=1e-6, top=2)
    assert "(9 caps)" in light.table() and "B1..256 (9 caps)" in light.legend() and "B64/128" in light.legend()
