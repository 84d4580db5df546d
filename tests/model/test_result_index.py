"""Per-row results of a DataFrame input carry its index, so assigning a column back aligns row for row."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from energylens.model import EnergyModel
from energylens.profiles.datasets import mlenergy_v2


@pytest.fixture(scope="module")
def fitted() -> tuple[EnergyModel, pd.DataFrame]:
    data = mlenergy_v2()
    return EnergyModel(bootstrap=20, n_starts=1, seed=0).fit(data.sample(50, random_state=0)), data


def test_frames_keep_the_input_index(fitted):
    model, data = fitted
    sub = data.sample(20, random_state=1)  # labels like 245, 37, ...: not 0..19
    expected_total = model.predict(sub)
    for frame in (model.predict_phases(sub), model.predict_interval(sub), model.latency_model.predict(sub),
                  model.latency_model.predict_interval(sub)):
        assert frame.index.equals(sub.index)
    sub = sub.copy()
    sub["pred"] = model.predict_phases(sub)["energy_j_pred"]
    np.testing.assert_allclose(sub["pred"].to_numpy(), expected_total, rtol=1e-12)
    assert len(pd.concat([sub, model.predict_interval(sub)], axis=1)) == len(sub)


def test_an_index_inside_0_to_n_is_not_reordered(fitted):
    model, data = fitted
    sub = data.iloc[:40].sample(20, random_state=2).copy()
    sub["tpot"] = model.latency_model.predict(sub)["tpot_s_pred"]
    np.testing.assert_array_equal(sub["tpot"].to_numpy(),
                                  model.latency_model.predict(sub.reset_index(drop=True))["tpot_s_pred"].to_numpy())


def test_zero_rows_give_zero_results(fitted):
    """A selection that matches nothing (``data[mask]``) predicts nothing rather than raising; a missing column is
    still an error."""
    model, data = fitted
    empty = data.iloc[:0]
    assert model.predict(empty).shape == (0,)
    assert list(model.predict_phases(empty).columns) == ["prefill_energy_j_pred", "decode_energy_j_pred",
                                                        "energy_j_pred"]
    assert model.predict_interval(empty).shape == (0, 2)
    assert model.latency_model.predict(empty).shape == (0, 3)  # TTFT, TPOT, time in the system
    assert model.extrapolated(empty).shape == (0,)
    assert model.jacobian(empty).shape == (0, 12)
    with pytest.raises(ValueError, match="batch_size"):
        model.predict(empty.drop(columns=["batch_size"]))
    with pytest.raises(ValueError, match="0 measurements"):
        EnergyModel().fit(empty)
