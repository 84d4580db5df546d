"""Trace.load / Trace.save given a path that is no file: ``Trace.load("")`` (an unset shell variable) said ': no
such trace file', naming nothing; ``Trace.load(folder)`` read the folder as a Parquet dataset and said 'not an
energylens trace (schema metadata key ... is missing)'; ``save("")`` said '.: could not write (Is a directory)'.
Each now says what the path is."""

from __future__ import annotations

import pytest

from energylens.errors import EnergyLensError, OutputError
from energylens.measure import Trace, synthetic_trace


def test_an_empty_path_is_named_as_empty():
    with pytest.raises(EnergyLensError, match=r"^Trace\.load: the path is empty"):
        Trace.load("")
    with pytest.raises(OutputError, match=r"^Trace\.save: the path is empty"):
        synthetic_trace(duration_s=0.3)[0].save("")


def test_a_folder_is_named_as_a_folder(tmp_path):
    folder = tmp_path / "run.parquet"
    folder.mkdir()
    with pytest.raises(EnergyLensError, match=rf"^{folder}: is a folder, not a trace file"):
        Trace.load(folder)
