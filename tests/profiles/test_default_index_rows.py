"""A DataFrame built by hand with pandas' default index (0 .. n-1): its rows were named "data row 3 (1-based,
header not counted)", a file's wording, with no index label, though a DataFrame has no header row and the user
finds the row as ``df.loc[2]``. Now such a row is named as any other frame's row: "data row 3 of the DataFrame
(1-based position; index label 2)", in load_profiles, fit and predict."""
from __future__ import annotations

import pandas as pd
import pytest

from energylens import EnergyModel, ProfileSchemaError, UnknownGpuError, load_profiles

_ROW = dict(model="meta-llama/Meta-Llama-3.1-8B-Instruct", params_b=8.0, gpu="H100", tp=1, batch_size=16.0,
            input_tokens=512.0, output_tokens=256.0, energy_j=100.0)
_SAID = "data row 3 of the DataFrame (1-based position; index label 2)"


def _frame(column: str, value) -> pd.DataFrame:
    rows = [dict(_ROW, batch_size=8.0 * (i + 1)) for i in range(4)]
    rows[2][column] = value
    return pd.DataFrame(rows)


def test_load_profiles_names_the_index_label_of_a_default_index_row():
    df = _frame("batch_size", -1.0)
    with pytest.raises(ProfileSchemaError) as err:
        load_profiles(df)
    assert _SAID in str(err.value) and "header not counted" not in str(err.value)
    assert df.loc[2, "batch_size"] == -1.0  # the label the message gives finds the row


def test_fit_names_the_index_label_of_a_default_index_row():
    with pytest.raises(ProfileSchemaError) as err:
        EnergyModel(bootstrap=0).fit(_frame("input_tokens", "many"))
    assert _SAID in str(err.value) and "header not counted" not in str(err.value)


def test_an_unknown_gpu_of_a_default_index_row_is_named_by_its_label():
    with pytest.raises(UnknownGpuError) as err:
        EnergyModel(bootstrap=0).fit(_frame("gpu", "Acme X9000"))
    assert _SAID in str(err.value) and "header not counted" not in str(err.value)


def test_a_frame_named_after_a_file_keeps_the_files_rows():
    """A reader's frame, named by its path (source=): its default index is the file's data rows."""
    with pytest.raises(ProfileSchemaError) as err:
        load_profiles(_frame("batch_size", -1.0), source="runs.csv")
    assert "runs.csv" in str(err.value) and "data row 3 (1-based, header not counted)" in str(err.value)
