"""Rows on a GPU the model was not fitted on: their widened bounds (``intervals.GpuTransfer``) come from the chunk's one
native interval pass, the widened factors riding along as extra outputs, where a second full pass per chunk ran
before. The bounds are those of the two passes bit for bit, every output and row, with and without the range check."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from energylens.model import EnergyModel
from energylens.model import intervals as iv
from energylens.model.domain import RangeCheck
from energylens.profiles.datasets import mlenergy_v2


@pytest.fixture(scope="module")
def latency():
    data = mlenergy_v2()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return EnergyModel(bootstrap=30, n_starts=1).fit(data[data["gpu"].str.contains("A100")]).latency_model, data


@pytest.mark.parametrize("checked", [False, True])
def test_one_pass_with_extra_picks_is_the_two_passes(latency, checked):
    model, data = latency
    columns = model._columns(data.head(40).reset_index(drop=True))
    unseen = np.arange(40) % 3 == 0
    samples = [model.measurement_factors(0), model.measurement_factors(1)]
    factors = iv.GpuTransfer(samples, [0.0, 0.09])
    assert factors.outputs == [1]
    args = {"seed": 3, "level": 0.8}
    check = RangeCheck(model._ranges, model.feature_names) if checked else None
    got = factors.interval_bounds(model._template, columns, model._boot, [iv.OUT0, iv.OUT1], unseen, check=check,
                                  **args)
    narrow = iv.interval_bounds(model._template, columns, model._boot, samples, picks=[iv.OUT0, iv.OUT1], **args)
    (w_lo, w_hi), = iv.interval_bounds(model._template, columns, model._boot, [iv.transfer_factors(samples[1], 0.09)],
                                       picks=[iv.OUT1], **args)
    np.testing.assert_array_equal(got[0][0], narrow[0][0])
    np.testing.assert_array_equal(got[0][1], narrow[0][1])
    np.testing.assert_array_equal(got[1][0], np.where(unseen, w_lo, narrow[1][0]))
    np.testing.assert_array_equal(got[1][1], np.where(unseen, w_hi, narrow[1][1]))
    assert (got[1][1][unseen] != narrow[1][1][unseen]).all()
    if checked:
        assert check.n_rows == 40  # the chunk's extrapolation tally counted once, not per extra output
