"""A user's GPU table row that is a fitted GPU's in every hardware field (an H100 registered as "Acme-H1") was
flagged ``unseen_gpu`` and, since the GPU transfer factor (d25df810), got intervals 5 % wider than the same rows
on the H100 (`energylens predict --gpu-table`: energy_j_lo 127.1 against 129.7 J): the model cannot tell the two
apart, so the transfer factor's GPU-level bias does not arise. Such a GPU is now the fitted GPU under another name;
one field off (TDP 701 W) is still another GPU."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pytest

from energylens.model import EnergyModel, intervals
from energylens.model.gpu_domain import same_hardware
from energylens.profiles import tables
from energylens.profiles.datasets import mlenergy_v2

H100 = "H100-SXM5-80GB"


@pytest.fixture(autouse=True)
def _no_user_gpus():
    tables.clear_user_gpus()
    yield
    tables.clear_user_gpus()


@pytest.fixture(scope="module")
def fitted():
    data = mlenergy_v2()
    on_h100 = data[data["gpu"].str.contains("H100")].reset_index(drop=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = EnergyModel(bootstrap=40, seed=0).fit(on_h100)
    return model, on_h100.head(30)


def _register(name: str, **changes) -> None:
    tables.register_gpu(dataclasses.replace(tables.gpu_spec(H100), name=name, aliases=(), **changes))


def test_a_renamed_h100_is_the_h100(fitted):
    model, rows = fitted
    _register("Acme-H1")
    assert same_hardware("Acme-H1", H100)
    mine = rows.assign(gpu="Acme-H1")
    assert not model.unseen_gpu(mine)[0].any()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        np.testing.assert_array_equal(model.predict_interval(mine, level=0.9).to_numpy(),
                                      model.predict_interval(rows, level=0.9).to_numpy())
        np.testing.assert_array_equal(model.latency_model.predict_interval(mine, level=0.9).to_numpy(),
                                      model.latency_model.predict_interval(rows, level=0.9).to_numpy())


def test_one_field_off_is_another_gpu(fitted, monkeypatch):
    model, rows = fitted
    _register("Acme-H1b", tdp_w=701.0)
    assert not same_hardware("Acme-H1b", H100)
    mine = rows.assign(gpu="Acme-H1b")
    assert model.unseen_gpu(mine)[0].all()
    # the same rows without the transfer factor: the same draws (a row's draws follow its feature values, and the
    # 701 W rows' differ from the H100 rows'), so the width the factor adds is all that differs
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wide = model.predict_interval(mine, level=0.9)
        monkeypatch.setattr(intervals, "GPU_TRANSFER_LOG_SD", 0.0)
        narrow = model.predict_interval(mine, level=0.9)
    assert ((wide.iloc[:, -1] - wide.iloc[:, -2]) > (narrow.iloc[:, -1] - narrow.iloc[:, -2])).all()
