"""Cells and lines of a profile CSV as spreadsheets and people write them, through the Python API
(``energylens.profiles.read_profiles``) and the CLI (``energylens fit`` / ``evaluate``, exit 2).

A number with a thousands separator ('1,234', '1 234'), a percent sign, a unit ('350W', '50ms'), a decimal comma or
a '-' placeholder was a bare "non-numeric value"; each now says what the cell is and what to write instead, in the
column's unit, and nothing is converted. A '#' line below the header was a row of "missing value" problems, or
pandas' "Expected 11 fields in line 5, saw 12", and a commented-out data row ('#model,...') was read as a
measurement of a model named '#model'; each is now an error naming the line as a comment (schema v1 has no comment
lines, above the header or below it). A row with an extra field later in the file is located by line and data
row."""

from __future__ import annotations

import warnings

import pytest

from energylens.cli.main import main
from energylens.errors import ProfileSchemaError
from energylens.profiles import load_profiles, read_profiles

HEADER = "model,params_b,gpu,tp,pp,batch_size,input_tokens,output_tokens,energy_j,avg_power_w,ttft_s"
ROWS = [f"meta-llama/Llama-3.1-8B-Instruct,8.03,NVIDIA H100 80GB HBM3,{tp},1,{b},500,300,{30 + tp * 10 + b / 4},350,0.05"
        for tp in (1, 2, 4) for b in (8, 16, 32, 64)]  # 12 rows


def _row3(old: str, new: str) -> list[str]:
    rows = list(ROWS)
    rows[2] = rows[2].replace(old, new, 1)
    return [HEADER, *rows]


#: name -> (lines, the error's row (zero-based data row), texts the message must hold)
CELLS = {
    "thousands_comma": (_row3(",500,", ',"1,234",'), 2, [
        "column 'input_tokens': non-numeric value in data row 3 (1-based, header not counted); value(s): '1,234': "
        "a thousands separator (','); write '1,234' as 1234, digits only (or 1.234 if ',' is a decimal comma there)"]),
    "thousands_space": (_row3(",500,", ",1 234,"), 2, [
        "column 'input_tokens'", "data row 3", "'1 234': a thousands separator (a space); write '1 234' as 1234"]),
    "thousands_many": (_row3(",500,", ',"12,345,678",'), 2, ["write '12,345,678' as 12345678, digits only"]),
    "percent": (_row3(",350,", ",5%,"), 2, [
        "column 'avg_power_w'", "data row 3", "'5%': a percentage; column 'avg_power_w' is in watts (W), summed "
        "over the GPUs, not a percentage: write the number in that unit, without '%'"]),
    "percent_required": (_row3(",300,", ",5%,"), 2, ["column 'output_tokens'", "is in tokens per request"]),
    "unit_watts": (_row3(",350,", ",350W,"), 2, ["'350W': a unit after the number; column 'avg_power_w' is in "
                                                  "watts (W), summed over the GPUs: write '350W' as 350"]),
    "unit_seconds": (_row3(",0.05", ",0.05s"), 2, ["column 'ttft_s'", "write '0.05s' as 0.05, the number alone"]),
    "unit_converted": (_row3(",0.05", ",50 ms"), 2, ["column 'ttft_s' is in seconds (s): write '50 ms' as 0.05, "
                                                      "converted to that unit"]),
    "unit_other": (_row3(",350,", ",350 Watts,"), 2, ["text after the number ('Watts'); column 'avg_power_w' is in "
                                                       "watts (W)"]),
    "decimal_comma": (_row3(",0.05", ',"0,05"'), 2, ["'0,05': a decimal comma; write '0,05' as 0.05"]),
    "placeholder": (_row3(",0.05", ",-"), 2, ["column 'ttft_s'", "'-': a placeholder ('-'), not a number; leave "
                                                                 "the cell empty where there is no value"]),
    "placeholder_required": (_row3(",300,", ",-,"), 2, ["column 'output_tokens'", "a required column: give the "
                                                                                  "value, or delete the row"]),
    "spreadsheet_error": (_row3(",350,", ",#DIV/0!,"), 2, ["'#DIV/0!': a spreadsheet's error value"]),
    # a spreadsheet's TRUE / FALSE, a hexadecimal number, a date or a clock time: each said what it is (2026-12-06)
    "boolean": (_row3(",1,1,", ",TRUE,1,"), 2, [
        "column 'tp'", "'TRUE': a true/false value, not a number; column 'tp' is in a whole number of GPUs: write the "
        "number"]),
    "boolean_yes": (_row3(",350,", ",yes,"), 2, ["'yes': a true/false value, not a number"]),
    "hexadecimal": (_row3(",500,", ",0x12C,"), 2, [
        "column 'input_tokens'", "'0x12C': a hexadecimal number; write '0x12C' as 300, in decimal digits"]),
    "hexadecimal_letters_only": (_row3(",500,", ",0xFA,"), 2, ["'0xFA': a hexadecimal number; write '0xFA' as 250"]),
    "date_iso": (_row3(",300,", ",2024-01-03,"), 2, [
        "column 'output_tokens'", "'2024-01-03': a date, not a number (a spreadsheet turns a value such as 1-3 into "
        "a date): format the column as numbers and write the value again, in tokens per request"]),
    "date_slashes": (_row3(",300,", ",1/3/2024,"), 2, ["'1/3/2024': a date, not a number"]),
    "clock_time": (_row3(",0.05", ",00:00:01"), 2, [
        "column 'ttft_s'", "'00:00:01': a time of day (h:mm:ss), not a number; column 'ttft_s' is in seconds (s): "
        "write the duration as a number in that unit"]),
}

#: '#' lines and ragged rows below the header.
LINES = {
    "comment": ([HEADER, *ROWS[:3], "# rerun below", *ROWS[3:]], 3, [
        "line 5 (data row 4) is a comment ('# rerun below'); comment lines are not supported in a profile table, "
        "above the header or below it: delete the line"]),
    "comment_with_commas": ([HEADER, *ROWS[:3], "# rerun, tp 2, batch 8, a, b, c, d, e, f, g, h, i", *ROWS[3:]], 3, [
        "line 5 (data row 4) is a comment ('# rerun, tp 2, batch 8"]),
    "commented_out_row": ([HEADER, *ROWS[:3], "#" + ROWS[3], *ROWS[4:]], 3, [
        "line 5 (data row 4) is a comment ('#meta-llama/Llama-3.1-8B-Instruct,8.03,"]),
    "comment_after_blank_lines": ([HEADER, *ROWS[:3], "", "", "  # note", *ROWS[3:]], 3, [
        "line 7 (data row 4) is a comment ('# note')"]),
    "comment_first_data_line_long": ([HEADER, "# a, b, c, d, e, f, g, h, i, j, k, l", *ROWS], 0, [
        "line 2 (data row 1) is a comment ('# a, b, c"]),
    "extra_field_later": ([HEADER, *ROWS[:4], ROWS[4].replace(",350,", ",350,9,"), *ROWS[5:]], 4, [
        "could not read the CSV file: line 6 (data row 5) has 12 fields where the header has 11: a ',' inside a cell "
        "that is not quoted"]),
}
CASES = {**CELLS, **LINES}


def _write(tmp_path, case: str):
    path = tmp_path / f"{case}.csv"
    path.write_text("\n".join(CASES[case][0]) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("case", CASES)
def test_the_api_says_what_the_cell_or_line_is(tmp_path, case):
    path = _write(tmp_path, case)
    with pytest.raises(ProfileSchemaError) as info:
        read_profiles(str(path))
    message = str(info.value)
    assert message.startswith(f"{path}: "), message
    for text in CASES[case][2]:
        assert text in message, message
    assert info.value.rows[:1] == [CASES[case][1]] and info.value.source == str(path)


@pytest.mark.parametrize("command", ["fit", "evaluate"])
@pytest.mark.parametrize("case", CASES)
def test_the_cli_says_it_and_exits_2(tmp_path, capsys, case, command):
    path = _write(tmp_path, case)
    argv = (["fit", str(path), "-o", str(tmp_path / "m.json"), "--bootstrap", "0"] if command == "fit"
            else ["evaluate", str(path), "--no-progress"])
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert str(path) in err and all(text in err for text in CASES[case][2]), err
    assert not (tmp_path / "m.json").exists()


def test_no_hinted_form_is_converted_under_drop_invalid(tmp_path):
    """Every hinted cell is still refused: drop_invalid drops its row, saying the hint, and keeps the cell as read."""
    rows = list(ROWS)
    rows[1] = rows[1].replace(",500,", ',"1,234",')
    rows[4] = rows[4].replace(",350,", ",5%,")
    rows[6] = rows[6].replace(",0.05", ",50ms")
    path = tmp_path / "p.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n")
    with pytest.warns(UserWarning) as rec:
        frame = load_profiles(path, drop_invalid=True)
    assert len(frame) == 9 and list(frame.index) == [0, 2, 3, 5, 7, 8, 9, 10, 11]
    dropped = frame.attrs["dropped"]
    assert dropped["row"].tolist() == [2, 5, 7]
    assert dropped["input_tokens"].tolist()[0] == "1,234"
    reasons = dropped["reason"].tolist()
    assert reasons[0].startswith("input_tokens: non-numeric value: a thousands separator (',')"), reasons
    assert "avg_power_w: non-numeric value: a percentage" in reasons[1] and "ttft_s: non-numeric value: a unit" in reasons[2]
    assert "\x1f" not in str(rec[0].message) and "a thousands separator" in str(rec[0].message)


def test_a_commented_out_row_is_dropped_not_read(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("\n".join([HEADER, *ROWS[:3], "#" + ROWS[3], *ROWS[4:]]) + "\n")
    with pytest.warns(UserWarning):
        frame = load_profiles(path, drop_invalid=True)
    assert len(frame) == 11 and not frame["model"].str.startswith("#").any()
    assert frame.attrs["dropped"]["row"].tolist() == [4]
    assert "a comment line" in frame.attrs["dropped"]["reason"].iloc[0]


def _energy_first(line: str) -> str:
    cells = line.split(",")
    return ",".join([cells[8], *cells[:8], *cells[9:]])


def test_a_hash_that_is_no_comment_line_is_not_called_one(tmp_path):
    """A '#' inside a name reads as before; Excel's #DIV/0! in a first column is a failed formula, not a comment."""
    path = tmp_path / "p.csv"
    path.write_text("\n".join([HEADER, *(r.replace("Llama-3.1-8B-Instruct", "Llama-3.1-8B-Instruct#2") for r in ROWS)]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # an unknown model: its architecture is estimated
        frame = load_profiles(path)
    assert (frame["model"] == "meta-llama/Llama-3.1-8B-Instruct#2").all()
    lines = [_energy_first(line) for line in [HEADER, *ROWS]]
    lines[2] = "#DIV/0!" + lines[2][lines[2].index(","):]
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ProfileSchemaError, match="value\\(s\\): '#DIV/0!': a spreadsheet's error value") as info:
        load_profiles(path)
    assert "is a comment" not in str(info.value) and info.value.rows == [1] and info.value.column == "energy_j"


@pytest.mark.parametrize("text", ["1e3", "+300", " 300 ", "3.0e2"])
def test_plain_numbers_still_read(tmp_path, text):
    path = tmp_path / "p.csv"
    path.write_text("\n".join(_row3(",300,", f",{text},")) + "\n")
    assert load_profiles(path)["output_tokens"].iloc[2] == float(text)


def test_a_gpu_spec_cell_says_what_to_write(tmp_path):
    header = HEADER + ",gpu_tdp_w,gpu_hbm_bw_gbs,gpu_peak_bf16_tflops,gpu_interconnect_bw_gbs"
    rows = [r.replace("NVIDIA H100 80GB HBM3", "Acme-X1") + ',"1,000",4000,800,400' for r in ROWS]
    path = tmp_path / "p.csv"
    path.write_text("\n".join([header, *rows]) + "\n")
    assert main(["fit", str(path), "-o", str(tmp_path / "m.json"), "--bootstrap", "0"]) == 2
    with pytest.raises(ProfileSchemaError) as info:
        from energylens.profiles.tables import gpu_specs_for_profiles

        gpu_specs_for_profiles(load_profiles(path))
    assert "column 'gpu_tdp_w': '1,000' is not a number: a thousands separator (','); write '1,000' as 1000" in str(
        info.value)
