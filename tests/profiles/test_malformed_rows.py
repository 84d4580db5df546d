"""Five malformed profile files as people make them, through the Python API (read_profiles) and `energylens fit`:
each error names the file, the data row and the column. Two were named only by their symptoms: a second header
line (two CSVs joined with cat) was six "non-numeric value 'tp'" problems, and a spreadsheet's "Total" row six
"missing value" ones; each is now one error saying what the row is."""

from __future__ import annotations

import pytest

from energylens.cli.main import main
from energylens.errors import ProfileSchemaError
from energylens.profiles import load_profiles, read_profiles

HEADER = "model,gpu,tp,batch_size,input_tokens,output_tokens,energy_j,params_b\n"
NAME = "meta-llama/Meta-Llama-3.1-8B-Instruct,NVIDIA H100 80GB HBM3"
ROWS = "".join(f"{NAME},{t},{b},100,100,{5 + t + b},8\n" for t in (1, 2, 4) for b in (8, 16, 32, 64))  # 12 rows

CASES = {
    "joined": (HEADER + ROWS + HEADER + ROWS,
               ["data row 13 (1-based, header not counted) repeats the header", "two CSV files joined", "column 'model'"]),
    "total": (HEADER + ROWS + "Total,,,,,,1234,\n",
              ["data row 13 (1-based, header not counted) looks like a summary row (column 'model' holds 'Total')"]),
    "thousands": (HEADER + ROWS + f'{NAME},1,8,"1,234",100,5,8\n',
                  ["column 'input_tokens': non-numeric value in data row 13", "'1,234'"]),
    "percent": (HEADER + ROWS + f"{NAME},1,8,100,100,5%,8\n",
                ["column 'energy_j': non-numeric value in data row 13", "'5%'"]),
    "smart_quotes": (None, ["line 14 (data row 13), column 'model'", "Windows-1252"]),
}


def _write(tmp_path, case):
    path = tmp_path / f"{case}.csv"
    text = CASES[case][0]
    if text is None:
        path.write_bytes((HEADER + ROWS).encode() + f"\u201cLlama\u201d,{NAME[38:]},1,8,100,100,5,8\n".encode("cp1252"))
    else:
        path.write_text(text)
    return path


@pytest.mark.parametrize("case", CASES)
def test_the_api_names_file_row_and_column(tmp_path, case):
    path = _write(tmp_path, case)
    with pytest.raises(ProfileSchemaError) as info:
        read_profiles(str(path))
    assert str(info.value).startswith(str(path)), info.value
    for text in CASES[case][1]:
        assert text in str(info.value), info.value
    assert info.value.rows[:1] == [12] and info.value.source == str(path)


@pytest.mark.parametrize("case", CASES)
def test_fit_names_file_row_and_column(tmp_path, capsys, case):
    path = _write(tmp_path, case)
    assert main(["fit", str(path), "-o", str(tmp_path / "m.json"), "--bootstrap", "0"]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and all(text in err for text in CASES[case][1]), err
    assert not (tmp_path / "m.json").exists()


def test_rows_that_only_resemble_them_read(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text(HEADER + ROWS + "Totally-New-7B,NVIDIA H100 80GB HBM3,1,8,100,100,5,7\n")
    assert len(load_profiles(path)) == 13


@pytest.mark.parametrize("case", ["joined", "total"])
def test_drop_invalid_still_drops_such_rows(tmp_path, case):
    path = _write(tmp_path, case)
    with pytest.warns(UserWarning, match="dropped 1 of"):
        frame = load_profiles(path, drop_invalid=True)
    assert len(frame) == (24 if case == "joined" else 12)
