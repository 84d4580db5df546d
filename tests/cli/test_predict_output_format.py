"""``predict -o`` writes the format its name asks for, whatever the case, and replaces its own earlier output:
a .csv.gz / .bz2 / .xz / .zip name was written as plain CSV (the temporary ``.partial`` name hid the suffix from
pandas), ``out.PARQUET`` as CSV, and a compressed earlier output could not be recognised as predict's own."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pandas as pd
import pytest

from energylens.cli.main import main
from energylens.outputs import csv_compression, table_with_column
from energylens.profiles.datasets import mlenergy_v2

MAGIC = {"gzip": b"\x1f\x8b", "bz2": b"BZh", "xz": b"\xfd7zXZ", "zip": b"PK\x03\x04", "parquet": b"PAR1"}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("predict")
    profiles = folder / "p.csv"
    mlenergy_v2().head(40).to_csv(profiles, index=False)
    model = folder / "m.json"
    assert main(["fit", str(profiles), "-o", str(model), "--bootstrap", "0"]) == 0
    return model, profiles


@pytest.mark.parametrize("name, kind", [("p.csv.gz", "gzip"), ("p.csv.bz2", "bz2"), ("p.csv.xz", "xz"),
                                        ("p.csv.zip", "zip"), ("P.CSV.GZ", "gzip"), ("out.PARQUET", "parquet"),
                                        ("out.parquet", "parquet"), ("p.CSV", None)])
def test_predict_writes_the_format_of_the_name_and_replaces_its_own_output(inputs, tmp_path, capsys, name, kind):
    model, profiles = inputs
    out = tmp_path / name
    assert main(["predict", str(model), str(profiles), "-o", str(out)]) == 0
    head = out.read_bytes()[:8]
    if kind is None:
        assert head.startswith(b"model,") or b"," in out.read_bytes().splitlines()[0]
    else:
        assert head.startswith(MAGIC[kind]), (name, head)
    table = pd.read_parquet(out) if kind == "parquet" else pd.read_csv(out, compression=csv_compression(out))
    assert len(table) == 40 and "energy_j_pred" in table.columns
    if kind == "zip":
        assert zipfile.ZipFile(out).namelist() == ["p.csv"]  # the archive names the table, not the temporary
    assert table_with_column("energy_j_pred")(out)
    capsys.readouterr()
    assert main(["predict", str(model), str(profiles), "-o", str(out)]) == 0  # its own output: replaced
    assert f"replaced existing {out}" in capsys.readouterr().err


def test_a_compressed_file_predict_did_not_write_is_still_refused(inputs, tmp_path, capsys):
    model, profiles = inputs
    mine = tmp_path / "mine.csv.gz"
    pd.DataFrame({"a": [1], "b": [2]}).to_csv(mine, index=False, compression="gzip")
    before = mine.read_bytes()
    assert main(["predict", str(model), str(profiles), "-o", str(mine)]) == 2
    assert "refusing to replace it" in capsys.readouterr().err and mine.read_bytes() == before


@pytest.mark.parametrize("name", ["old.csv.gz", "old.PARQUET", "old.csv.zip"])
def test_an_earlier_plain_csv_output_under_such_a_name_is_replaced(inputs, tmp_path, capsys, name):
    # what predict wrote before the name picked the format: plain CSV under a compressed or Parquet name
    model, profiles = inputs
    out = tmp_path / name
    pd.DataFrame({"model": ["m"], "energy_j_pred": [1.0]}).to_csv(out, index=False, compression=None)
    assert main(["predict", str(model), str(profiles), "-o", str(out)]) == 0
    assert f"replaced existing {out}" in capsys.readouterr().err
    kind = {"old.csv.gz": "gzip", "old.PARQUET": "parquet", "old.csv.zip": "zip"}[name]
    assert out.read_bytes().startswith(MAGIC[kind])
