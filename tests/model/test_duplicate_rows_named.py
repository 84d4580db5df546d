"""A fit on rows that repeat another row exactly warned "N of M rows duplicate another row exactly"
(DegenerateFitWarning) without naming a row, so a user could not find them. The warning now names the copies as
the schema's messages name rows: the file's data rows (1-based) while they are as read, else positions with index
labels.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from energylens.errors import DegenerateFitWarning
from energylens.model import EnergyModel


def _rows(n: int = 24) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    batch = rng.choice([1.0, 4.0, 16.0, 64.0], n)
    inp, out = rng.integers(128, 2048, n).astype(float), rng.integers(64, 512, n).astype(float)
    return pd.DataFrame({
        "model": "meta-llama/Meta-Llama-3.1-8B-Instruct", "gpu": "NVIDIA H100 80GB HBM3",
        "tp": rng.choice([1, 2, 4], n), "batch_size": batch, "input_tokens": inp, "output_tokens": out,
        "energy_j": out * (0.5 + 5.0 / batch) * rng.uniform(0.9, 1.1, n),
        "tpot_s": 0.01 + 0.0002 * batch * rng.uniform(0.9, 1.1, n)})


def _duplicate_warnings(profiles) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        EnergyModel(n_starts=1, bootstrap=0).fit(profiles)
    return [str(w.message) for w in caught
            if issubclass(w.category, DegenerateFitWarning) and "duplicate another row" in str(w.message)]


def test_the_copies_are_named_as_data_rows_of_the_file(tmp_path):
    rows = _rows()
    table = pd.concat([rows, rows.iloc[[2, 7]]], ignore_index=True)  # data rows 25 and 26 copy rows 3 and 8
    path = tmp_path / "p.csv"
    table.to_csv(path, index=False)
    said = _duplicate_warnings(str(path))
    assert said, "no duplicate warning"
    assert all("2 of 26 rows" in s and "data rows 25, 26 (1-based" in s and "p.csv" in s for s in said), said
    assert all("copies of data rows 3, 8" in s for s in said), said


def test_the_copies_of_a_frame_built_by_hand_are_its_positions():
    rows = _rows()
    frame = pd.concat([rows, rows.iloc[[5]]]).reset_index(drop=True)
    frame.index = frame.index + 100
    said = _duplicate_warnings(frame)
    # (a frame on the light path is named by positions, as the fit's other row messages name it: rows_where)
    assert said and all("(data row 25 (1-based" in s and "copies of data row 6)" in s for s in said), said


def test_rows_unique_warn_nothing():
    assert _duplicate_warnings(_rows()) == []


@pytest.mark.parametrize("n", [5000])
def test_a_large_table_names_its_copies_too(n):
    rows = _rows(n)
    table = pd.concat([rows, rows.iloc[[10]]], ignore_index=True)
    said = _duplicate_warnings(table)
    assert said and all(f"data row {n + 1} " in s and "copies of data row 11)" in s for s in said), said


@pytest.mark.parametrize("read", ["path", "load_profiles"])
def test_the_file_and_the_row_note_are_said_once(tmp_path, read):
    """Given its path, the fit read 'data rows 25, 26 (1-based, header not counted) of FILE: copies of data rows 3, 8
    (1-based, header not counted) of FILE': the file and the note twice in one parenthesis."""
    from energylens.profiles import load_profiles

    rows = _rows()
    path = tmp_path / "p.csv"
    pd.concat([rows, rows.iloc[[2, 7]]], ignore_index=True).to_csv(path, index=False)
    said = _duplicate_warnings(str(path) if read == "path" else load_profiles(str(path)))
    assert said
    for s in said:
        assert s.count(str(path)) == 1 and s.count("1-based") == 1, s
        assert "copies of data rows 3, 8)" in s, s
