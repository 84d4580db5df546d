"""The evaluation's own energy check names a frame as the schema does: read from the file where its rows are the
file's as read, edited after it was read where they are not."""
from __future__ import annotations

import numpy as np
import pytest

from energylens.compare.runner import run_evaluation
from energylens.profiles import read_profiles
from energylens.profiles.datasets import mlenergy_v2


def test_a_blank_energy_the_file_holds_is_not_called_an_edit(tmp_path):
    """A table of configurations read with require_energy=False whose file leaves energy_j blank was named
    '<DataFrame edited after it was read from FILE>', though nothing was edited."""
    path = tmp_path / "p.csv"
    raw = mlenergy_v2().iloc[:30].reset_index(drop=True)
    raw.loc[4, "energy_j"] = np.nan
    raw.to_csv(path, index=False)
    df = read_profiles(path, require_energy=False)
    with pytest.raises(ValueError, match=r"^<DataFrame read from .*p\.csv>: column 'energy_j': must be finite and > 0 "
                                         r".* in data row 5 of the DataFrame \(1-based position; index label 4\)"):
        run_evaluation(df, repeats=1, splits=("random",), method_names=["llmcarbon"], progress=False)
    edited = df.copy()
    edited.loc[7, "energy_j"] = np.nan
    with pytest.raises(ValueError, match=r"^<DataFrame edited after it was read from .*p\.csv>: "):
        run_evaluation(edited, repeats=1, splits=("random",), method_names=["llmcarbon"], progress=False)
