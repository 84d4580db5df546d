"""LatencyModel.measured_rows: how many training rows measured TTFT and TPOT, saved in the model file, so
that a caller (the search) can say when TTFT was never fitted (ML.ENERGY v2 and v3 measure TPOT only)."""
from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from energylens.errors import ModelFileError
from energylens.model import EnergyModel
from energylens.model.closed_form import LatencyModel
from energylens.profiles.datasets import mlenergy_v2


@pytest.fixture(scope="module")
def v2():
    return mlenergy_v2()



def _mixed_fit(v2):
    """A latency model fitted on 40 rows with a measured TPOT, 15 of them also with a TTFT."""
    rows = v2[np.isfinite(v2["tpot_s"])].head(40).copy()
    rows["ttft_s"] = np.nan
    rows.iloc[:15, rows.columns.get_loc("ttft_s")] = 0.05 * rows["input_tokens"].iloc[:15] / 100
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return LatencyModel(bootstrap=0).fit(rows)

def test_counts_follow_the_measured_columns(v2):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = EnergyModel(bootstrap=0).fit(v2)
    n_tpot = int(np.isfinite(v2["tpot_s"]).sum())
    assert m.latency_model.measured_rows == {"ttft_s": 0, "tpot_s": n_tpot}
    assert m.latency_model.ttft_fitted is False
    lat = _mixed_fit(v2)
    assert lat.measured_rows == {"ttft_s": 15, "tpot_s": 40}
    assert lat.ttft_fitted is True


def test_round_trip_and_old_files(v2, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = EnergyModel(bootstrap=0).fit(v2.head(60))
    path = tmp_path / "m.json"
    m.save(path)
    assert EnergyModel.load(path).latency_model.measured_rows == m.latency_model.measured_rows
    doc = json.loads(path.read_text())
    del doc["latency"]["measured_rows"]  # a file from before the count: unknown, not "no TTFT"
    path.write_text(json.dumps(doc))
    assert EnergyModel.load(path).latency_model.ttft_fitted is None
    doc["latency"]["measured_rows"] = {"ttft_s": -1, "tpot_s": 3}
    path.write_text(json.dumps(doc))
    with pytest.raises(ModelFileError, match="measured_rows"):
        EnergyModel.load(path)



@pytest.mark.parametrize("ttft, tpot", [(5, None), (0, 10**6)])
def test_counts_that_disagree_with_the_residuals_are_refused(v2, tmp_path, ttft, tpot):
    """An edited ttft_s 0 -> 5 made TTFT read as fitted (no roofline note, TTFT bounds from the bootstrap alone)
    though no residual of a measured TTFT backs it; each output keeps one residual per measured row."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = EnergyModel(bootstrap=0).fit(v2.head(60))
    path = tmp_path / "m.json"
    m.save(path)
    doc = json.loads(path.read_text())
    rows = doc["latency"]["measured_rows"]
    doc["latency"]["measured_rows"] = {"ttft_s": ttft, "tpot_s": rows["tpot_s"] if tpot is None else tpot}
    path.write_text(json.dumps(doc))
    with pytest.raises(ModelFileError, match=r"m\.json: latency 'measured_rows' .* disagrees with the residual "
                                             r"counts \[0, "):
        EnergyModel.load(path)


def test_counts_of_a_file_with_one_mixed_sample_are_their_sum(tmp_path, v2):
    lat = _mixed_fit(v2)
    path = tmp_path / "lat.json"
    lat.save(path)
    doc = json.loads(path.read_text())
    state = doc["latency"]
    state["residual_sample"] = sorted(state["residual_samples"][0] + state["residual_samples"][1])
    state["residual_count"] = sum(state.pop("residual_counts"))
    del state["residual_samples"]
    path.write_text(json.dumps(doc))
    assert LatencyModel.load(path).measured_rows == {"ttft_s": 15, "tpot_s": 40}
    state["residual_count"] += 1
    state["fit"]["n_measurements"] += 1  # (the summary agrees: only measured_rows tells)
    path.write_text(json.dumps(doc))
    with pytest.raises(ModelFileError, match=r"disagrees with the residual counts \[56\]"):
        LatencyModel.load(path)
