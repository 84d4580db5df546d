"""A frame with energy rows on a GPU but no latency rows on it (H100 rows whose ttft_s / tpot_s are NaN beside the
bundled A100 rows): the latency model recorded both GPUs (``summary.gpus`` over every row of the frame) though its
fit reads only rows with a finite ttft_s or tpot_s, so its TPOT intervals on H100 did not widen and ``unseen_gpu``
said False for every H100 row (the search's confidence limits likewise). It now records the GPUs of the rows its
fit reads; the energy model, which reads the H100 rows' energy, still records both."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pandas as pd
import pytest

from energylens.model import EnergyModel
from energylens.profiles.datasets import mlenergy_v2

COLUMNS = ["model", "params_b", "gpu", "tp", "pp", "batch_size", "input_tokens", "output_tokens"]


@pytest.fixture(scope="module")
def untimed_h100():
    data = mlenergy_v2()
    a100 = data[data["gpu"].str.contains("A100")]
    h100 = data[data["gpu"].str.contains("H100")].assign(tpot_s=np.nan, ttft_s=np.nan)
    frame = pd.concat([a100, h100], ignore_index=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mixed = EnergyModel(bootstrap=20, n_starts=1).fit(frame)
        only_a100 = EnergyModel(bootstrap=20, n_starts=1).fit(a100.reset_index(drop=True))
    return mixed, only_a100, h100[COLUMNS].head(4).reset_index(drop=True)


def test_the_latency_model_records_the_gpus_of_its_timed_rows(untimed_h100):
    mixed, _, rows = untimed_h100
    assert mixed.summary.gpus == ("A100-SXM4-40GB", "H100-SXM5-80GB")  # energy read the H100 rows
    assert mixed.latency_model.summary.gpus == ("A100-SXM4-40GB",)
    assert mixed.latency_model.unseen_gpu(rows)[0].all()


def _as_recorded_before(model):
    """The same fitted latency model with every GPU of the frame recorded, as its fit recorded them before."""
    other = type(model).__new__(type(model))
    vars(other).update(vars(model))
    other.summary = dataclasses.replace(model.summary, gpus=("A100-SXM4-40GB", "H100-SXM5-80GB"))
    return other


def test_tpot_intervals_widen_on_the_gpu_without_latency_rows(untimed_h100):
    mixed, only_a100, rows = untimed_h100
    np.testing.assert_array_equal(mixed.latency_model.theta, only_a100.latency_model.theta)  # H100 rows unread
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        now = mixed.latency_model.predict_interval(rows, 0.9)
        before = _as_recorded_before(mixed.latency_model).predict_interval(rows, 0.9)
    width = now["tpot_s_hi"] / now["tpot_s_lo"]
    assert (width > before["tpot_s_hi"] / before["tpot_s_lo"]).all()
    assert (now["tpot_s_lo"] < before["tpot_s_lo"]).all() and (now["tpot_s_hi"] > before["tpot_s_hi"]).all()
    pd.testing.assert_frame_equal(now[["ttft_s_lo", "ttft_s_hi"]], before[["ttft_s_lo", "ttft_s_hi"]])  # no TTFT sd
