"""A measured-latency search (``--candidates T --measured-latency``) with one latency limit unmet by every row and
the other met by some: the remedy named the unmet limit's lowest value alone ("raise --ttft-limit to at least 0.1
s", candidate 0's measured TTFT), whose row breaks the met TPOT limit, so rerunning with it found nothing again. It
now names, as the axis search does since 3e3131ec, the lowest value among the rows that meet the other limit, or
both limits to the lowest row's own pair; rerunning with either finds a configuration."""

import re
import warnings

import numpy as np
import pandas as pd
import pytest

import energylens
from energylens.search.api import bundled_model

L70 = "meta-llama/Llama-3.1-70B-Instruct"
#: (measured TTFT, TPOT) per row; the last row's are predicted (blank cells)
CASES = {"ttft": ([(0.10, 0.10), (0.30, 0.05), (0.40, 0.06)], dict(tpot_limit_s=0.08, ttft_limit_s=0.05)),
         "tpot": ([(0.50, 0.05), (0.10, 0.09), (0.12, 0.12)], dict(tpot_limit_s=0.04, ttft_limit_s=0.2))}


def _table(values) -> pd.DataFrame:
    n = len(values) + 1
    ttft, tpot = (list(v) + [np.nan] for v in zip(*values, strict=True))
    return pd.DataFrame({"model": [L70] * n, "gpu": "H100", "tp": [4, 8, 8, 4], "pp": 1, "batch_size": [8, 8, 16, 256],
                         "input_tokens": 512, "output_tokens": 256, "ttft_s": ttft, "tpot_s": tpot})


def _search(table, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return energylens.search(candidates=table, measured_latency=True, energy_model=bundled_model(),
                                 bootstrap=False, **kw)


@pytest.mark.parametrize("unmet", ["ttft", "tpot"])
def test_each_suggested_limit_finds_a_configuration(unmet):
    values, limits = CASES[unmet]
    table = _table(values)
    met = "tpot" if unmet == "ttft" else "ttft"
    empty = _search(table, **limits)
    c = empty.settings["without_latency_limits"]
    assert not empty.feasible and c["unmet"] == [unmet]
    assert c[f"min_{unmet}_{met}_s"] > limits[f"{met}_limit_s"]  # the lowest row breaks the met limit
    text = empty.why_empty()
    m = re.search(rf"raise --{unmet}-limit to at least ([0-9.]+) s \(the lowest measured \(where the table gives it\) "
                  rf"or predicted {unmet.upper()} among the candidates that meet the {met.upper()} limit, [^)]+\)\), or "
                  rf"--{unmet}-limit to at least ([0-9.]+) s and --{met}-limit to at least ([0-9.]+) s", text)
    assert m, text
    one = _search(table, **{**limits, f"{unmet}_limit_s": float(m.group(1))})
    assert one.feasible, one.why_empty()
    pair = _search(table, **{f"{unmet}_limit_s": float(m.group(2)), f"{met}_limit_s": float(m.group(3))})
    assert pair.feasible, pair.why_empty()
    # the lowest value alone (the old remedy) finds nothing: the test can fail
    assert not _search(table, **{**limits, f"{unmet}_limit_s": c[f"min_{unmet}_s"]}).feasible
