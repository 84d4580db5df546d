"""A blank ``weight_precision`` in an ML.ENERGY v3 export is an error naming the file, row and column.

It used to fall silently to the schema's default (the checkpoint's published format, else bf16): the
real export names every row's format (bfloat16 / fp8 / mxfp4), and the format sets the bytes per
parameter the model prices (2x between bf16 and fp8, ~4x to mxfp4), so a blank is a damaged file, not a
value to guess. The rows are HAND-WRITTEN in the v3 layout (test_mlenergy_v3.row).
"""
from __future__ import annotations

import pandas as pd
import pytest
from test_mlenergy_v3 import MOE, excerpt, row

from data_paths import V3
from energylens.cli.main import main as cli_main
from energylens.errors import ProfileSchemaError
from energylens.profiles import read_profiles
from energylens.profiles.mlenergy_v3 import mlenergy_v3


@pytest.mark.parametrize("blank", ["", "   ", None])
def test_a_blank_weight_precision_names_file_row_and_column(tmp_path, blank):
    path = excerpt(tmp_path, [row(), row(**MOE), row(weight_precision=blank)])
    with pytest.raises(ProfileSchemaError, match=r"column 'weight_precision': missing value \(blank\).*"
                                                 r"\(data row 3 \(1-based\)\)") as info:
        mlenergy_v3(path)
    assert str(path) in str(info.value) and info.value.column == "weight_precision" and info.value.rows == [2]


def test_the_command_line_exits_non_zero_on_it(tmp_path, capsys):
    path = excerpt(tmp_path, [row(), row(weight_precision="")])
    assert cli_main(["fit", str(path), "-o", str(tmp_path / "m.json"), "--bootstrap", "0"]) != 0
    err = capsys.readouterr().err
    assert f"{path}: column 'weight_precision': missing value (blank)" in err and "data row 2" in err


def test_every_row_of_the_real_export_has_its_precision():
    if not V3.is_file():
        pytest.skip("the shared ML.ENERGY v3 export is not here")
    df = read_profiles(V3)
    assert len(df) == len(pd.read_csv(V3)) and set(df["precision"]) == {"bf16", "fp8", "mxfp4"}
