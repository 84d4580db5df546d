"""Errors about an export's rows name the column as the user's file spells it.

An ML.ENERGY v2 flat table says ``TP``; its reader renames it to the schema's ``tp`` before validating,
and the error used to lead with ``column 'tp'`` (the file's name only in a note at the end). The readers
now pass their rename map to ``load_profiles(..., column_names=...)``; ``ProfileSchemaError.column`` stays
the schema column, as before.
"""
from __future__ import annotations

import re

import pandas as pd
import pytest
from test_mlenergy_v3 import excerpt, row

from energylens.cli.main import main as cli_main
from energylens.errors import ProfileSchemaError
from energylens.profiles import load_profiles
from energylens.profiles.datasets import bundled_path, mlenergy_v2
from energylens.profiles.mlenergy_v3 import mlenergy_v3
from energylens.profiles.schema import DroppedRowsWarning


def _v2(tmp_path, cells: dict) -> str:
    """Six bundled rows with ``cells`` ({(column, zero-based row): value}) changed, as a flat CSV."""
    raw = pd.read_csv(bundled_path()).head(6)
    for (col, at), value in cells.items():
        raw[col] = raw[col].astype(object)
        raw.loc[at, col] = value
    path = tmp_path / "flat.csv"
    raw.to_csv(path, index=False)
    return str(path)


def test_a_v2_tp_error_names_the_files_TP_column(tmp_path):
    path = _v2(tmp_path, {("TP", 2): "abc", ("Energy/req (J)", 4): -2.0})
    with pytest.raises(ProfileSchemaError) as info:
        mlenergy_v2(path)
    msg = str(info.value)
    assert msg.startswith(f"{path}: profile table violates schema v1: column 'TP' (schema column 'tp'): non-numeric "
                          "value in data row 3 (1-based, header not counted); value(s): 'abc'")
    assert "  column 'Energy/req (J)' (schema column 'energy_j'): must be > 0" in msg  # the further problems too
    assert "column 'tp':" not in msg and "is read from this file's column" not in msg  # said once, up front
    assert info.value.column == "tp" and info.value.rows == [2]


@pytest.mark.parametrize(("column", "value", "shown"), [
    ("TP", 0, "'TP' (schema column 'tp'): must be an integer >= 1"),
    ("PP", 1.5, "'PP' (schema column 'pp'): must be an integer >= 1"),
    ("Avg BS (reqs)", -1, "'Avg BS (reqs)' (schema column 'batch_size'): must be > 0"),
    ("Avg Output Tokens", "", "'Avg Output Tokens' (schema column 'output_tokens'): missing value"),
    ("GPU", "NVIDIA Z9000", "'GPU' (schema column 'gpu'): "),
])
def test_every_renamed_v2_column_is_named_as_the_file_spells_it(tmp_path, column, value, shown):
    path = _v2(tmp_path, {(column, 3): value})
    with pytest.raises(ProfileSchemaError, match="column " + re.escape(shown)) as info:
        mlenergy_v2(path)
    assert "data row 4 " in str(info.value) or "data rows 4," in str(info.value)


def test_the_command_line_names_TP_and_exits_non_zero(tmp_path, capsys):
    path = _v2(tmp_path, {("TP", 1): -3})
    assert cli_main(["fit", path, "-o", str(tmp_path / "m.json"), "--bootstrap", "0"]) != 0
    err = capsys.readouterr().err
    assert "column 'TP' (schema column 'tp'): must be an integer >= 1 in data row 2" in err


def test_a_v3_export_names_its_own_columns(tmp_path):
    path = excerpt(tmp_path, [row(), row(avg_batch_size=-4.0)])
    with pytest.raises(ProfileSchemaError, match=r"column 'avg_batch_size' \(schema column 'batch_size'\): must be > 0 "
                                                 r"\(mean running sequences\) in data row 2 ") as info:
        mlenergy_v3(path)
    assert info.value.column == "batch_size"


def test_dropped_rows_report_the_sources_names_too():
    frame = pd.DataFrame({"model": ["m"] * 2, "params_b": [7.0] * 2, "gpu": ["H100"] * 2, "tp": [1, 0], "pp": [1, 1],
                          "batch_size": [8.0] * 2, "input_tokens": [100.0] * 2, "output_tokens": [100.0] * 2,
                          "energy_j": [10.0] * 2})
    with pytest.warns(DroppedRowsWarning, match=r"\(TP: must be an integer >= 1: 1 row\)"):
        out = load_profiles(frame, drop_invalid=True, fill_architecture=False, column_names={"tp": "TP"})
    assert list(out.attrs["dropped"]["reason"]) == ["TP: must be an integer >= 1"]
    with pytest.raises(ProfileSchemaError, match=r"column 'tp': must be an integer >= 1"):  # no map: the schema's name
        load_profiles(frame, fill_architecture=False)
