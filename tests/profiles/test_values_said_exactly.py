"""A refused cell's value is shown as it is: ``tp`` 1.000000001 (a float column computed upstream: 0.1 * 30 is
3.0000000000000004, and the like) was refused with "column 'tp': must be an integer >= 1 in data row 1 ...; value(s): 1": six significant
digits, so the value shown was an integer and the message contradicted itself. A value that six digits render
exactly is shown as before (2.5, 512, nan, inf)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from energylens.errors import ProfileSchemaError
from energylens.profiles import load_profiles
from energylens.profiles.problems import problem_text

LLAMA = "meta-llama/Meta-Llama-3.1-8B-Instruct"


def test_a_value_six_digits_cannot_show_is_shown_in_full():
    frame = pd.DataFrame({"model": [LLAMA] * 2, "gpu": ["H100"] * 2, "tp": [1 + 1e-9, 2.0], "batch_size": [8.0, 8.0],
                          "input_tokens": [512.0] * 2, "output_tokens": [256.0] * 2, "energy_j": [1.0, 2.0]})
    with pytest.raises(ProfileSchemaError, match=r"column 'tp': must be an integer >= 1 in data row 1 .*; "
                                                 r"value\(s\): 1\.000000001(\n|$)"):
        load_profiles(frame)


@pytest.mark.parametrize("value, said", [(2.5, "2.5"), (512.0, "512"), (np.nan, "nan"), (np.inf, "inf"),
                                         (1e-12, "1e-12"), (123456789.0, "123456789.0"), (np.float64(0.1), "0.1"),
                                         ("x", "'x'")])
def test_values_as_said(value, said):
    assert problem_text(np.array([0]), "c", "bad", [value]).endswith(f"value(s): {said}")
