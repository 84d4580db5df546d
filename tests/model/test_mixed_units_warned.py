"""A measured table where some ``tpot_s`` / ``ttft_s`` values are in milliseconds among seconds, or a row's
``energy_j`` is in kJ (1000x below the rows of its model and GPU), loaded and fitted without a word. A fit now
warns (UnitsWarning) naming the file, the rows, the column and the likely unit, as the schema's avg_power_w check
asks "is it in kilowatts?". Real data sets stay silent (the bundled rows here; docs/profile-schema.md gives the
margins measured on the v3 export and Splitwise).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from energylens import UnitsWarning
from energylens.model import EnergyModel, LatencyModel


def _rows(n: int = 40) -> pd.DataFrame:
    rng = np.random.default_rng(11)
    batch = rng.choice([1.0, 4.0, 16.0, 64.0], n)
    inp, out = rng.integers(128, 2048, n).astype(float), rng.integers(64, 512, n).astype(float)
    return pd.DataFrame({
        "model": rng.choice(["meta-llama/Meta-Llama-3.1-8B-Instruct", "meta-llama/Meta-Llama-3.1-70B-Instruct"], n),
        "gpu": "NVIDIA H100 80GB HBM3", "tp": rng.choice([1, 2, 4], n), "batch_size": batch,
        "input_tokens": inp, "output_tokens": out,
        "energy_j": out * (0.5 + 5.0 / batch) * rng.uniform(0.9, 1.1, n),
        "ttft_s": 0.02 + 1e-4 * inp * rng.uniform(0.9, 1.1, n),
        "tpot_s": 0.01 + 0.0002 * batch * rng.uniform(0.9, 1.1, n)})


def _units_said(model, profiles) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(profiles)
    return [str(w.message) for w in caught if issubclass(w.category, UnitsWarning)]


def _file(tmp_path, rows: pd.DataFrame) -> str:
    path = tmp_path / "measured.csv"
    rows.to_csv(path, index=False)
    return str(path)


def test_tpot_in_milliseconds_among_seconds(tmp_path):
    rows = _rows()
    rows.loc[[3, 8], "tpot_s"] *= 1000
    said = _units_said(LatencyModel(n_starts=1, bootstrap=0), _file(tmp_path, rows))
    assert len(said) == 1, said
    assert "measured.csv" in said[0] and "data rows 4, 9 (1-based" in said[0] and "'tpot_s'" in said[0], said
    assert "milliseconds" in said[0] and "divide them by 1000" in said[0], said


def test_ttft_in_milliseconds_among_seconds(tmp_path):
    rows = _rows()
    rows.loc[[0], "ttft_s"] *= 1000
    said = _units_said(LatencyModel(n_starts=1, bootstrap=0), _file(tmp_path, rows))
    assert len(said) == 1 and "data row 1 (1-based" in said[0] and "'ttft_s'" in said[0], said
    assert "milliseconds" in said[0], said


def test_a_row_of_energy_in_kilojoules(tmp_path):
    rows = _rows()
    rows.loc[[12], "energy_j"] /= 1000
    said = _units_said(EnergyModel(n_starts=1, bootstrap=0), _file(tmp_path, rows))
    assert len(said) == 1 and "data row 13 (1-based" in said[0] and "'energy_j'" in said[0], said
    assert "kJ" in said[0] and "1000" in said[0], said


def test_rows_in_one_unit_warn_nothing(tmp_path):
    path = _file(tmp_path, _rows())
    assert _units_said(EnergyModel(n_starts=1, bootstrap=0), path) == []
    assert _units_said(EnergyModel(n_starts=1, bootstrap=0), "bundled") == []


def test_a_frame_in_memory_is_checked_too():
    rows = _rows()
    rows.loc[[5], "tpot_s"] *= 1000
    said = _units_said(LatencyModel(n_starts=1, bootstrap=0), rows)
    assert len(said) == 1 and "data row 6 " in said[0] and "'tpot_s'" in said[0], said


def test_a_slip_among_another_models_range_is_found_by_its_own_model():
    rows = _rows()
    big = rows.index[rows["model"].str.contains("70B")][0]
    rows.loc[big, "energy_j"] /= 1000
    said = _units_said(EnergyModel(n_starts=1, bootstrap=0), rows)
    assert len(said) == 1 and f"data row {big + 1} " in said[0] and "'energy_j'" in said[0], said
