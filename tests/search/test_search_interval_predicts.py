"""``energylens search``'s lo / hi J/request are ``energylens predict``'s 90 % interval of the same configuration.
Before, they were the 5th / 95th percentiles of the energy over the bootstrap refits alone: no residual scatter and,
on a GPU the fit never saw, no GPU transfer factor, so the bundled A100 / H100 fit's search of Llama-3.1-70B on
H200 / B200 printed 241-257 J for a configuration whose predict interval was 177-334 J. Now each row's bounds are
predict_interval's of that configuration (the draws at the configuration's key, intervals.row_keys: a
configuration's bounds do not depend on its rank or on the rows listed beside it), on fitted, few-row and unseen GPUs alike."""

from __future__ import annotations

import copy
import dataclasses
import warnings

import numpy as np
import pandas as pd
import pytest

import energylens
from energylens.model import EnergyModel, intervals
from energylens.model.intervals import few_row_scales
from energylens.profiles.datasets import mlenergy_v2
from energylens.search import build_space
from energylens.search.api import bundled_model

L70 = "meta-llama/Llama-3.1-70B-Instruct"
AXES = dict(input_tokens=512, output_tokens=256, tp=[1, 2, 4], max_num_seqs=[32, 128, 256])


def _predicted(model, frame: pd.DataFrame) -> pd.DataFrame:
    """predict_interval at 0.9 of each row of ``frame`` alone (a one-row table, as `energylens predict` of it)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parts = [model.predict_interval(frame.iloc[[i]], level=0.9, check_range=False) for i in range(len(frame))]
    return pd.concat(parts)


def _search(**kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return energylens.search(energy_model=bundled_model(), threads=1, **kw)


def test_axis_search_bounds_are_predict_interval_on_fitted_and_unseen_gpus():
    gpus = "H100,H200,B200"
    r = _search(model=L70, gpus=gpus, top=27, **AXES)
    unseen = r.top["unseen_gpu"].to_numpy()
    assert unseen.any() and not unseen.all()  # H100 fitted; H200, B200 not
    space = build_space(L70, gpus, precision=None, kv_cache_dtype="auto", **AXES)
    frame = space.point_profiles(space.points(r.top["index"].to_numpy()))
    want = _predicted(bundled_model(), frame)
    np.testing.assert_allclose(r.top["energy_j_lo"], want["energy_j_lo"], rtol=1e-9)
    np.testing.assert_allclose(r.top["energy_j_hi"], want["energy_j_hi"], rtol=1e-9)
    assert (r.top["energy_j_lo"] <= r.top["energy_j"]).all() and (r.top["energy_j"] <= r.top["energy_j_hi"]).all()


def test_a_configuration_keeps_its_bounds_whatever_is_listed_beside_it():
    alone = _search(model=L70, gpus="B200", top=1, **AXES)
    among = _search(model=L70, gpus="H100,H200,B200", top=27, **AXES).to_frame().set_index("config")
    row = alone.to_frame().iloc[0]
    assert among.loc[row["config"], "energy_j_lo"] == row["energy_j_lo"]
    assert among.loc[row["config"], "energy_j_hi"] == row["energy_j_hi"]


def test_candidate_table_bounds_are_predict_interval():
    data = mlenergy_v2()
    rows = data[data["model"].str.contains("70B")].iloc[::7].head(4)
    moved = rows.assign(gpu="B200")  # the same configurations on a GPU the fit never saw
    table = pd.concat([rows, moved], ignore_index=True)
    r = _search(candidates=table, top=len(table))
    got = r.top.set_index("candidate").sort_index()
    assert got["unseen_gpu"].sum() == len(moved)
    want = _predicted(bundled_model(), table.loc[got.index])
    np.testing.assert_allclose(got["energy_j_lo"], want["energy_j_lo"].to_numpy(), rtol=1e-9)
    np.testing.assert_allclose(got["energy_j_hi"], want["energy_j_hi"].to_numpy(), rtol=1e-9)


@pytest.mark.parametrize("kw", [{"rate_per_s": 5.0}, {"input_tokens": [256, 1024], "output_tokens": [128, 512],
                                                       "workload_weights": "equal"}])
def test_modes_predict_cannot_price_widen_alike(kw, monkeypatch):
    """Load mode (idle headroom) and a workload distribution (an expected energy) have no predict row: their bounds
    draw the same factors around the engine's replicates, so an unseen GPU's row is wider than without the transfer
    factor, a fitted one's the same. Compared configuration by configuration at the same draws (each configuration
    draws its own since 2026-12-07: a median over a few rows of two GPUs compared their draws' noise too)."""
    r = _search(model=L70, gpus="H100,B200", top=27, **{**AXES, **kw}).top.set_index("index")
    with monkeypatch.context() as m:
        m.setattr(intervals, "GPU_TRANSFER_LOG_SD", 0.0)
        r0 = _search(model=L70, gpus="H100,B200", top=27, **{**AXES, **kw}).top.set_index("index").loc[r.index]
    width, width0 = np.log(r["energy_j_hi"] / r["energy_j_lo"]), np.log(r0["energy_j_hi"] / r0["energy_j_lo"])
    unseen = r["unseen_gpu"].to_numpy()
    assert unseen.any() and not unseen.all()
    # log widths add in quadrature: a 90 % residual width ~0.5-0.6 and the transfer's 2 x 1.645 x 0.10 give ~+0.1
    assert (width[unseen] > width0[unseen] + 0.03).all()
    np.testing.assert_array_equal(width[~unseen], width0[~unseen])
    assert (r["energy_j_lo"] <= r["energy_j"]).all() and (r["energy_j"] <= r["energy_j_hi"]).all()


def test_a_few_row_gpu_draws_its_share_as_predict_does():
    """A GPU with no more rows in the fit than the model has parameters draws the transfer factor at 1 - w of the
    unseen GPU's log sd in predict_interval (intervals.few_row_scales): the search's bounds too."""
    data = mlenergy_v2()
    a100, h100 = data[data["gpu"].str.contains("A100")], data[data["gpu"].str.contains("H100")]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = EnergyModel(bootstrap=20, n_starts=1, seed=0).fit(pd.concat([a100, h100.head(5)]))
    assert few_row_scales(model.summary.gpus, model.summary.gpu_rows, len(model.param_names))  # H100: a share
    big = data[data["model"].str.contains("70B")]
    rows = pd.concat([big[big["gpu"].str.contains("H100")].iloc[::9].head(3),
                      big[big["gpu"].str.contains("A100")].iloc[::9].head(2),
                      big.head(1).assign(gpu="B200")], ignore_index=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = energylens.search(candidates=rows, top=len(rows), energy_model=model, threads=1)
    got = r.top.set_index("candidate").sort_index()
    want = _predicted(model, rows.loc[got.index])
    np.testing.assert_allclose(got["energy_j_lo"], want["energy_j_lo"].to_numpy(), rtol=1e-9)
    np.testing.assert_allclose(got["energy_j_hi"], want["energy_j_hi"].to_numpy(), rtol=1e-9)
    plain = copy.copy(model)  # the same fit without the row counts: no GPU draws a share
    plain.summary = dataclasses.replace(model.summary, gpu_rows=())
    narrow = _predicted(plain, rows.loc[got.index])
    on_h100 = rows.loc[got.index, "gpu"].str.contains("H100").to_numpy()
    assert on_h100.any() and (got["energy_j_hi"].to_numpy()[on_h100] > narrow["energy_j_hi"].to_numpy()[on_h100]).all()
