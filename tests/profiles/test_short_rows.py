"""A CSV row with fewer fields than the header, and a first column without a header name.

Until 2026-12-06 pandas padded a short row with blanks and every reader took it: a profile row written
``...,8,512,256,120.5,0.05`` for ``...,8,,512,...`` (a value left out in the middle) read batch_size 512,
input_tokens 256, output_tokens 120.5 and energy_j 0.05 without a word. A row with an extra field was already
refused; a short one now is too, by the same check (unreadable.ragged_row_error), in profile, GPU and model
tables alike, naming the file, line, data row and both counts. A profile CSV written by ``DataFrame.to_csv``
without ``index=False`` (a first column with a blank header, pandas' 'Unnamed: 0') was kept as an unknown column
and written into predict's output; it is refused as GPU and model tables refuse it.
"""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest

from energylens.cli.main import main
from energylens.errors import ProfileSchemaError
from energylens.profiles import load_profiles, read_profiles, unreadable
from energylens.profiles.gpu_table import GpuTableError, load_gpu_table
from energylens.profiles.model_table import ModelTableError, load_model_table

HEADER = "model,params_b,gpu,tp,pp,batch_size,input_tokens,output_tokens,energy_j,ttft_s"
ROWS = [f"meta-llama/Llama-3.1-8B-Instruct,8.03,H100,{tp},1,{b},512,256,{40 + tp * 9 + b / 3:.2f},0.05"
        for tp in (1, 2) for b in (4, 8, 16)]
GPU_HEADER = "name,memory_gb,hbm_bw_gbs,peak_bf16_tflops,tdp_w,interconnect_bw_gbs"
MODEL_HEADER = ("name,architecture,params_b,active_params_b,n_layers,d_model,n_heads,n_kv_heads,head_dim,n_experts,"
                "experts_per_token")
MODEL_ROW = "acme/Coder-13B,dense,13.0,13.0,40,5120,40,8,128,1,1"


def _left_out(row: str, column: str) -> str:
    """``row`` with the value of ``column`` (of HEADER) left out: its field gone, not blank."""
    cells = row.split(",")
    del cells[HEADER.split(",").index(column)]
    return ",".join(cells)


def _write(tmp_path, lines: list[str], name: str = "runs.csv"):
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_value_left_out_in_the_middle_is_named_not_shifted(tmp_path):
    path = _write(tmp_path, [HEADER, *ROWS[:3], _left_out(ROWS[3], "batch_size"), *ROWS[4:]])
    with pytest.raises(ProfileSchemaError) as info:
        load_profiles(path)
    text = str(info.value)
    assert text.startswith(f"{path}: line 5 (data row 4) has 9 field(s) where the header has 10: a value left out?")
    assert "('a,b,,d', not 'a,b,d'" in text
    assert info.value.rows == [3] and info.value.source == str(path)
    with pytest.raises(ProfileSchemaError, match=r"line 5 \(data row 4\) has 9 field"):
        read_profiles(str(path))


def test_the_line_counts_blank_lines_and_the_data_row_does_not(tmp_path):
    path = _write(tmp_path, [HEADER, ROWS[0], "", "", _left_out(ROWS[1], "tp"), *ROWS[2:]])
    with pytest.raises(ProfileSchemaError, match=r": line 5 \(data row 2\) has 9 field\(s\) where the header has 10"):
        load_profiles(path)


def test_a_short_row_with_two_values_left_out_and_a_short_first_row(tmp_path):
    two = _left_out(_left_out(ROWS[2], "ttft_s"), "pp")
    path = _write(tmp_path, [HEADER, two, *ROWS[3:]])
    with pytest.raises(ProfileSchemaError, match=r"line 2 \(data row 1\) has 8 field\(s\) where the header has 10"):
        load_profiles(path)


def test_blank_cells_written_as_empty_fields_still_read(tmp_path):
    """The check compares field counts only: ',,' and a trailing ',' are blank cells, as before."""
    path = _write(tmp_path, [HEADER, *(r.rpartition(",")[0] + "," for r in ROWS)])  # ttft_s blank on every row
    frame = load_profiles(path)
    assert len(frame) == len(ROWS) and frame["ttft_s"].isna().all() and frame["batch_size"].tolist()[:3] == [4, 8, 16]


def test_a_header_with_empty_trailing_columns_does_not_need_them_on_every_row(tmp_path):
    """A spreadsheet's trailing columns with neither a name nor a value: a row without their commas loses nothing."""
    path = _write(tmp_path, [HEADER + ",,", ROWS[0] + ",,", *ROWS[1:]])
    frame = load_profiles(path)
    assert len(frame) == len(ROWS) and not any(str(c).startswith("Unnamed") for c in frame.columns)


def test_a_compressed_profile_table_is_checked_too(tmp_path):
    path = tmp_path / "runs.csv.gz"
    pd.DataFrame([r.split(",") for r in ROWS], columns=HEADER.split(",")).to_csv(path, index=False)
    assert len(load_profiles(path)) == len(ROWS)
    path.write_bytes(gzip.compress(("\n".join([HEADER, *ROWS[:5], _left_out(ROWS[5], "gpu")]) + "\n").encode()))
    with pytest.raises(ProfileSchemaError, match=r"line 7 \(data row 6\) has 9 field"):
        load_profiles(path)


def test_the_cli_exits_2_naming_the_short_row(tmp_path, capsys):
    path = _write(tmp_path, [HEADER, *ROWS[:3], _left_out(ROWS[3], "batch_size"), *ROWS[4:]])
    assert main(["evaluate", str(path), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert f"{path}: line 5 (data row 4) has 9 field(s) where the header has 10" in err and "Traceback" not in err


def test_a_gpu_table_short_row_is_refused_like_a_long_one(tmp_path):
    path = _write(tmp_path, [GPU_HEADER, "MyGPU,48,960,180,300,64", "Other,80,2000,700,450"], "gpus.csv")
    with pytest.raises(GpuTableError, match=rf"^{path}: line 3 \(data row 2\) has 5 field\(s\) where the header "
                                            r"has 6: a value left out\?") as info:
        load_gpu_table(path)
    assert info.value.rows == [1]


def test_a_model_table_short_row_is_refused_like_a_long_one(tmp_path):
    short = MODEL_ROW.replace(",13.0,13.0,", ",13.0,")  # active_params_b left out: n_layers would read 40 as it
    path = _write(tmp_path, [MODEL_HEADER, short], "models.csv")
    with pytest.raises(ModelTableError, match=r"line 2 \(data row 1\) has 10 field\(s\) where the header has 11"):
        load_model_table(path)
    path = _write(tmp_path, [MODEL_HEADER, MODEL_ROW + ",1"], "models.csv")
    with pytest.raises(ModelTableError, match=r"line 2 \(data row 1\) has 12 fields where the header has 11"):
        load_model_table(path)


def _indexed(tmp_path):
    path = tmp_path / "indexed.csv"
    pd.DataFrame([r.split(",") for r in ROWS], columns=HEADER.split(",")).to_csv(path)  # index=True: the default
    return path


def test_a_profile_table_written_with_its_index_is_named_with_the_fix(tmp_path):
    path = _indexed(tmp_path)
    with pytest.raises(ProfileSchemaError) as info:
        load_profiles(path)
    text = str(info.value)
    assert text.startswith(f"{path}: column 1 has no header name but holds '0' in data row 1")
    assert "to_csv(path, index=False)" in text and info.value.rows == list(range(len(ROWS)))


def test_predict_refuses_it_instead_of_writing_the_index_column(tmp_path, capsys, small_model_file):
    path = _indexed(tmp_path)
    out = tmp_path / "pred.csv"
    assert main(["predict", str(small_model_file), str(path), "-o", str(out)]) == 2
    assert "column 1 has no header name" in capsys.readouterr().err and not out.exists()


def test_a_blank_header_column_that_holds_nothing_is_dropped_as_in_gpu_tables(tmp_path):
    path = _write(tmp_path, ["," + HEADER, *("," + r for r in ROWS)])
    frame = load_profiles(path)
    assert list(frame.columns[:3]) == ["model", "params_b", "gpu"] and "Unnamed: 0" not in frame.columns


@pytest.mark.parametrize("block", [3, 17, 4 * 2**20])
def test_counting_commas_agrees_with_reading_the_records(tmp_path, monkeypatch, block):
    """short_lines (NumPy, a block at a time: block edges inside lines tried) says what records() does, on texts
    with blank and whitespace-only lines, CRLF, no final newline, a line without a ','; None where a '"' is."""
    monkeypatch.setattr(unreadable, "_BLOCK_BYTES", block)
    rng = np.random.default_rng(7)
    path = tmp_path / "t.csv"
    for _ in range(150):
        width = int(rng.integers(1, 6))
        lines = [",".join(f"c{j}" for j in range(width)) + ("," * int(rng.integers(0, 2)))]  # + an empty named-less
        for _ in range(int(rng.integers(0, 8))):
            kind = rng.integers(0, 6)
            fields = width - 1 if kind == 0 else width + 1 if kind == 1 else width
            lines.append("" if kind == 2 else "  \r" if kind == 3 else ",".join(["7"] * max(fields, 1)))
        eol = "\r\n" if rng.random() < 0.3 else "\n"
        path.write_text(eol.join(lines) + (eol if rng.random() < 0.7 else ""), newline="")
        need = width
        expected = any(len(f) < need for _, f in list(unreadable.records(path))[1:])
        assert unreadable.short_lines(path, need) is expected, (lines, need)
    path.write_text('a,b,c\n1,"x,y"\n')
    assert unreadable.short_lines(path, 3) is None
