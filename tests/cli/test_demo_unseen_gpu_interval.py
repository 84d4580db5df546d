"""The demo's closing search lists rows on B200 / H200, GPUs its fit never saw. Since d25df810 energylens predict
widens such rows' intervals by a GPU transfer factor; the search's lo / hi (then the bootstrap refits' spread) did
not, yet the legend said only that predict's "add the residual scatter": a reader took lo / hi J/request on B200 as
no less certain than on H100. Since 2026-12-07 the search's lo / hi are predict's interval, transfer factor
included (tests/search/test_search_interval_predicts.py); the legend says so where a listed row is on an unseen GPU,
and only there."""

from __future__ import annotations

import io
import re

import numpy as np

from energylens.cli.demo import DEMO_SEARCH, run_demo
from energylens.model import EnergyModel
from energylens.model.intervals import GPU_TRANSFER_LOG_SD
from energylens.profiles.datasets import mlenergy_v2
from energylens.search import search


def _lo_hi_line(text: str) -> str:
    return re.search(r"^ +lo J/request / hi J/request .*$", text, re.M).group(0)


def test_the_demo_legend_says_its_unseen_gpu_rows_draw_the_transfer_factor():
    out = io.StringIO()
    assert run_demo(compare=False, out=out, train_size=40) == 0
    text = out.getvalue()
    assert "on GPUs the model was not fitted on" in text  # the listed rows are on B200 / H200
    line = _lo_hi_line(text)
    assert "the scatter of its training residuals" in line
    assert "GPU the fit never saw a GPU transfer factor" in line and f"log sd {GPU_TRANSFER_LOG_SD:g}" in line


def test_a_search_on_fitted_gpus_only_has_no_such_clause():
    data = mlenergy_v2().reset_index(drop=True)
    idx = np.sort(np.random.default_rng(0).choice(len(data), size=40, replace=False))
    model = EnergyModel(seed=0).fit(data.iloc[idx])
    r = search(DEMO_SEARCH["model"], "A100-SXM4-40GB,H100", input_tokens=512, output_tokens=256, top=3, energy_model=model)
    assert not r.top["unseen_gpu"].any()
    line = r.legend()
    assert "the scatter of its training residuals" in line and "GPU the fit never saw" not in line
