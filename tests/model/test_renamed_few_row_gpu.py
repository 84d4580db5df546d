"""A user's GPU that is a fitted GPU's hardware under another name is that GPU (gpu_domain.same_hardware), but the
few-row share of the GPU transfer log sd (intervals.few_row_scales) was looked up by the row's own name, so the alias
drew none: EnergyModel(bootstrap=40, seed=0) fitted on the bundled rows' 190 A100 rows plus 5 H100 rows gave an H100
row (bundled index 93) share 0.974 and energy 27.61-47.97 J, and the same row on a user GPU table's "Lab-H100" (the
H100's row renamed) share 0 and 28.46-45.99 J (TPOT 0.305-0.538 s against 0.324-0.508 s). A row now draws the share
of the fitted GPU it is: the alias's bounds are the H100's bit for bit"""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pandas as pd
import pytest

from energylens.model import EnergyModel
from energylens.profiles import tables
from energylens.profiles.datasets import mlenergy_v2

A100, H100 = "A100-SXM4-40GB", "H100-SXM5-80GB"


@pytest.fixture(autouse=True)
def _no_user_gpus():
    tables.clear_user_gpus()
    yield
    tables.clear_user_gpus()


@pytest.fixture(scope="module")
def fitted():
    data = mlenergy_v2()
    a100 = data[data["gpu"].str.contains("A100")].reset_index(drop=True)
    h100 = data[data["gpu"].str.contains("H100")].reset_index(drop=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = EnergyModel(bootstrap=40, seed=0, n_starts=1).fit(pd.concat([a100.iloc[:80], h100.iloc[:5]],
                                                                            ignore_index=True))
    cols = ["model", "params_b", "gpu", "tp", "pp", "batch_size", "input_tokens", "output_tokens"]
    return model, h100.iloc[5:11][cols].reset_index(drop=True), a100.iloc[80:83][cols].reset_index(drop=True)


def _register(name: str, like: str) -> None:
    tables.register_gpu(dataclasses.replace(tables.gpu_spec(like), name=name, aliases=()))


def _intervals(model, rows) -> list[np.ndarray]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return [model.predict_interval(rows, level=0.9).to_numpy(),
                model.latency_model.predict_interval(rows, level=0.9).to_numpy()]


def test_an_alias_of_a_few_row_gpu_draws_its_share(fitted):
    model, on_h100, _ = fitted
    _register("Lab-H100", H100)
    alias = on_h100.assign(gpu="Lab-H100")
    share = model.transfer_shares(on_h100)
    assert (share > 0.5).all()  # the H100 is a few-row GPU of this fit
    np.testing.assert_array_equal(model.transfer_shares(alias), share)  # was 0 on every row
    assert not model.unseen_gpu(alias)[0].any()
    for mine, theirs in zip(_intervals(model, alias), _intervals(model, on_h100), strict=True):
        np.testing.assert_array_equal(mine, theirs)  # the energy and TPOT bounds were narrower under the alias


def test_an_alias_of_a_well_fitted_gpu_still_draws_none(fitted):
    model, _, on_a100 = fitted
    _register("Lab-A100", A100)
    alias = on_a100.assign(gpu="Lab-A100")
    np.testing.assert_array_equal(model.transfer_shares(alias), np.zeros(len(alias)))
    for mine, theirs in zip(_intervals(model, alias), _intervals(model, on_a100), strict=True):
        np.testing.assert_array_equal(mine, theirs)


def test_a_table_of_both_names_prices_each_row_as_its_gpu(fitted):
    model, on_h100, on_a100 = fitted
    _register("Lab-H100", H100)
    rows = pd.concat([on_h100.assign(gpu="Lab-H100"), on_h100, on_a100], ignore_index=True)
    share = model.transfer_shares(rows)
    n = len(on_h100)
    np.testing.assert_array_equal(share[:n], share[n:2 * n])
    assert (share[:2 * n] > 0).all() and (share[2 * n:] == 0).all()
