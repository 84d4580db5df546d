"""A categorical text column (pandas' ``category`` dtype, what ``pd.read_parquet`` gives a dictionary-encoded
column) was not read for blanks: ``model`` or ``gpu`` '' or whitespace passed ``load_profiles`` as a value,
where the same cell in an object or string column is "missing value (NaN/empty) in a required column", and the
frame's re-check inside predict then refused what the schema had accepted. Now every text dtype is read alike."""

from __future__ import annotations

import pandas as pd
import pytest

from energylens.errors import ProfileSchemaError
from energylens.profiles import load_profiles
from energylens.profiles.cells import is_blank
from energylens.profiles.datasets import mlenergy_v2


@pytest.mark.parametrize("column", ["model", "gpu"])
@pytest.mark.parametrize("blank", ["", "  "])
@pytest.mark.parametrize("dtype", ["object", "string", "category"])
def test_a_blank_text_cell_is_missing_in_every_text_dtype(column, blank, dtype):
    frame = mlenergy_v2().head(3).reset_index(drop=True)
    values = frame[column].astype(object).tolist()
    values[1] = blank
    frame[column] = pd.Series(values).astype(dtype)
    with pytest.raises(ProfileSchemaError, match=rf"column '{column}': missing value .* data row 2"):
        load_profiles(frame)


def test_categorical_columns_without_blanks_still_load():
    frame = mlenergy_v2().head(5).reset_index(drop=True)
    frame["model"] = frame["model"].astype("category")
    frame["gpu"] = frame["gpu"].astype("category")
    assert len(load_profiles(frame)) == 5


def test_is_blank_reads_text_categories_only():
    assert is_blank(pd.Series(["a", " ", None], dtype="category")).tolist() == [False, True, True]
    assert is_blank(pd.Series([1.0, float("nan")], dtype="category")).tolist() == [False, True]
