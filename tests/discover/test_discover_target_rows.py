"""``discover --target prefill|decode`` on profiles where some rows lack the phase's measurement: the error names
the file and the 1-based data rows (it named neither)."""
from __future__ import annotations

import numpy as np
import pytest

from energylens.discover import search
from energylens.discover.backends import BackendChoice
from energylens.profiles.datasets import mlenergy_v2


def test_rows_without_the_targets_measurement_are_named_with_their_file(tmp_path, monkeypatch):
    monkeypatch.setattr(search, "select_backend", lambda backend: BackendChoice("operon", "test"))  # none is run
    df = mlenergy_v2().reset_index(drop=True)
    df["prefill_energy_j"] = df["energy_j"] * 0.1
    df.loc[[5, 17], "prefill_energy_j"] = np.nan
    path = tmp_path / "partial.csv"
    df.to_csv(path, index=False)
    with pytest.raises(ValueError) as err:
        search.discover(str(path), target="prefill")
    assert str(err.value) == (
        f"{path}: target 'prefill' needs a measured, finite 'prefill_energy_j' in every row; it is missing or not "
        f"finite in 2 of the {len(df)} rows, data rows 6, 18 (1-based, header not counted): measure it there, or "
        "leave those rows out")
    frame = df.drop(columns=["decode_energy_j"], errors="ignore")
    frame.attrs = {}  # a frame of the user's own: named as such
    with pytest.raises(ValueError, match="^<DataFrame>: target 'decode' needs a measured 'decode_energy_j' in every "
                                         "row; the profiles have no 'decode_energy_j' column$"):
        search.discover(frame, target="decode")
