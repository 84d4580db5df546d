"""A complex-valued number column (numpy's result of a square root or FFT left complex) was cast to float with
numpy's "ComplexWarning: Casting complex values to real discards the imaginary part", naming no column or row, and
the imaginary parts were dropped. A cell with a non-zero imaginary part is now a non-numeric value naming the column
and row; a column whose imaginary parts are all zero reads as its real parts, with no warning."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from energylens.errors import ProfileSchemaError
from energylens.profiles import load_profiles

LLAMA = "meta-llama/Meta-Llama-3.1-8B-Instruct"


def frame(batch) -> pd.DataFrame:
    return pd.DataFrame({"model": [LLAMA] * 3, "gpu": ["H100"] * 3, "tp": [1, 2, 4], "batch_size": batch,
                         "input_tokens": [512.0] * 3, "output_tokens": [256.0] * 3, "energy_j": [1.0, 2.0, 3.0]})


def test_an_imaginary_part_is_an_error_naming_the_cell():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ProfileSchemaError, match=r"column 'batch_size': non-numeric value in data row 2 .*"
                                                     r"value\(s\): \(16\+1j\)") as exc:
            load_profiles(frame(np.array([8, 16 + 1j, 32])))
    assert exc.value.column == "batch_size" and exc.value.rows == [1]


def test_zero_imaginary_parts_read_as_the_real_numbers():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        df = load_profiles(frame(np.array([8, 16, 32], dtype=complex)))
    assert df["batch_size"].dtype == np.float64 and df["batch_size"].tolist() == [8.0, 16.0, 32.0]
