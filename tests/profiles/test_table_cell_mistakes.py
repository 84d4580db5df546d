"""Mistakes a new user makes in the files beside a profile table (2026-12-06, an adversarial pass over copies of
real files): the user model table, the user GPU table and an ML.ENERGY v3 export with an ``input_tokens`` column
added by hand.

* A model table cell written for people ('13B', 'TRUE', '0x28') was a bare "is not a number"; the GPU table's cells
  said what they were and what to write (number_cells' hint): the model table now says it too.
* A spreadsheet's trailing empty rows (',,,,') in a GPU or model table were "missing GPU name" / "missing model
  name", and in a v3 export "column 'gpu_model': blank cell: each row must name the GPU": each is now called an
  empty row, to delete, as the profile table calls it.
* A bad ``input_tokens`` cell of a v3 export was "must be a number of tokens >= 0" without the cell or what it is
  ('-', '1,234', '300 tokens', 'TRUE' all alike), and said ">= 0" where 0 is then refused as "must be > 0": it now
  quotes the cell with the hint, and a number out of range gets the schema's own message.
"""
from __future__ import annotations

import warnings

import pandas as pd
import pytest
from test_mlenergy_v3 import HEADER as V3_HEADER
from test_mlenergy_v3 import row

from energylens.cli.main import main
from energylens.errors import ProfileSchemaError
from energylens.profiles import read_profiles
from energylens.profiles.gpu_table import GpuTableError, load_gpu_table, register_gpu_table, user_gpus
from energylens.profiles.mlenergy_v3 import mlenergy_v3
from energylens.profiles.model_table import (
    ModelTableError,
    load_model_table,
    register_model_table,
    user_models,
)

MODEL_HEADER = ("name,architecture,params_b,active_params_b,n_layers,d_model,n_heads,n_kv_heads,head_dim,n_experts,"
                "experts_per_token")
MODEL_ROW = "acme/Coder-13B,dense,13.0,13.0,40,5120,40,8,128,1,1"
GPU_HEADER = "name,hbm_bw_gbs,peak_bf16_tflops,tdp_w,interconnect_bw_gbs,memory_gb"
GPU_ROW = "Acme-X1,4000,800,600,400,96"


def _model_table(tmp_path, *rows: str):
    path = tmp_path / "my_models.csv"
    path.write_text("\n".join([MODEL_HEADER, *rows]) + "\n")
    return path


@pytest.mark.parametrize(("column", "cell", "says"), [
    ("params_b", "13B", "column 'params_b': '13B' is not a number: a unit after the number; column 'params_b' is "
     "in billions of parameters (8.03 for an 8B model): write '13B' as 13, the number alone"),
    ("n_layers", "TRUE", "column 'n_layers': 'TRUE' is not a number: a true/false value, not a number"),
    ("n_layers", "0x28", "column 'n_layers': '0x28' is not a number: a hexadecimal number; write '0x28' as 40"),
    ("d_model", '"5,120"', "column 'd_model': '5,120' is not a number: a thousands separator (','); write '5,120' "
     "as 5120"),
])
def test_a_model_table_cell_says_what_it_is(tmp_path, column, cell, says):
    cells = MODEL_ROW.split(",")
    cells[MODEL_HEADER.split(",").index(column)] = cell
    path = _model_table(tmp_path, ",".join(cells))
    with pytest.raises(ModelTableError) as info:
        load_model_table(path)
    assert str(info.value).startswith(f"{path}: data row 1 (1-based, header not counted), ") and says in str(
        info.value), str(info.value)
    assert info.value.column == column and info.value.rows == [0]


EMPTY = "empty row (every cell blank, e.g. trailing rows a spreadsheet saved): delete it"


def test_a_model_tables_trailing_empty_rows_are_called_empty_rows(tmp_path):
    path = _model_table(tmp_path, MODEL_ROW, "," * 10, "," * 10)
    with pytest.raises(ModelTableError) as info:
        load_model_table(path)
    assert str(info.value) == f"{path}: data row 2 (1-based, header not counted): {EMPTY}", str(info.value)
    assert info.value.rows == [1]
    # a row with a blank name and other cells is still a missing name
    path = _model_table(tmp_path, MODEL_ROW, "," + MODEL_ROW.partition(",")[2])
    with pytest.raises(ModelTableError, match="column 'name': missing model name"):
        load_model_table(path)


def test_a_gpu_tables_trailing_empty_rows_are_called_empty_rows(tmp_path, capsys):
    path = tmp_path / "my_gpus.csv"
    path.write_text("\n".join([GPU_HEADER, GPU_ROW, "," * 5, "," * 5]) + "\n")
    with pytest.raises(GpuTableError) as info:
        load_gpu_table(path)
    assert str(info.value) == f"{path}: data row 2 (1-based, header not counted): {EMPTY}", str(info.value)
    assert info.value.rows == [1]
    path.write_text("\n".join([GPU_HEADER, GPU_ROW, "," + GPU_ROW.partition(",")[2]]) + "\n")
    with pytest.raises(GpuTableError, match="column 'name': missing GPU name"):
        load_gpu_table(path)


def test_a_gpu_table_true_cell_says_what_it_is(tmp_path):
    path = tmp_path / "my_gpus.csv"
    path.write_text("\n".join([GPU_HEADER, GPU_ROW.replace(",800,", ",TRUE,")]) + "\n")
    with pytest.raises(GpuTableError, match="column 'peak_bf16_tflops': 'TRUE' is not a number: a true/false value"):
        load_gpu_table(path)


def _v3(tmp_path, rows, name="llm_configs_h100.csv"):
    path = tmp_path / name
    columns = [*V3_HEADER, *(c for c in rows[0] if c not in V3_HEADER)]
    pd.DataFrame(rows, columns=columns).to_csv(path, index=False)
    return path


def _v3_error(path) -> ProfileSchemaError:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ProfileSchemaError) as info:
            mlenergy_v3(path)
    return info.value


@pytest.mark.parametrize(("cell", "says"), [
    ("-", "value(s): '-': a placeholder ('-'), not a number; leave the cell empty where there is no value"),
    ("1,234", "value(s): '1,234': a thousands separator (','); write '1,234' as 1234"),
    ("300 tokens", "value(s): '300 tokens': a unit after the number; column 'input_tokens' is in tokens per "
     "request: write '300 tokens' as 300, the number alone"),
    ("TRUE", "value(s): 'TRUE': a true/false value, not a number"),
    ("0x12C", "value(s): '0x12C': a hexadecimal number; write '0x12C' as 300"),
])
def test_a_v3_input_tokens_cell_is_quoted_with_what_to_write(tmp_path, cell, says):
    path = _v3(tmp_path, [row(input_tokens=""), row(input_tokens=cell), row(input_tokens="350")])
    err = _v3_error(path)
    assert str(err).startswith(f"{path}: column 'input_tokens': non-numeric value") and says in str(err), str(err)
    assert "(data row 2 (1-based))" in str(err) and err.column == "input_tokens" and err.rows == [1]


@pytest.mark.parametrize("cell", ["0", "-5"])
def test_a_v3_input_tokens_number_out_of_range_gets_the_schemas_message(tmp_path, cell):
    err = _v3_error(_v3(tmp_path, [row(input_tokens=""), row(input_tokens=cell)]))
    assert "column 'input_tokens': must be > 0 (mean prompt tokens per request" in str(err), str(err)
    assert ">= 0" not in str(err) and err.rows == [1]


def test_a_v3_exports_trailing_empty_rows_are_called_empty_rows(tmp_path, capsys):
    path = _v3(tmp_path, [row(), row()])
    with open(path, "a") as fh:
        fh.write("," * (len(V3_HEADER) - 1) + "\n" + "," * (len(V3_HEADER) - 1) + "\n")
    err = _v3_error(path)
    assert str(err).startswith(f"{path}: ") and EMPTY in str(err) and "data rows 3, 4" in str(err), str(err)
    assert "gpu_model" not in str(err) and err.rows == [2, 3]
    assert main(["evaluate", str(path), "--no-progress"]) == 2
    assert EMPTY in capsys.readouterr().err


# ---- Headers written for people -------------------------------------------------------------------

PROFILE_HEADER = "model,params_b,gpu,tp,batch_size,input_tokens,output_tokens,energy_j,tpot_s"
PROFILE_ROWS = [f"meta-llama/Llama-3.1-8B-Instruct,8.03,H100,{tp},{b},500,300,{30 + tp * 10 + b / 4},0.02"
                for tp in (1, 2) for b in (8, 16, 32)]


@pytest.mark.parametrize(("written", "column"), [
    ("energy (J)", "energy_j"), ("Energy [J]", "energy_j"), ("TPOT (s)", "tpot_s"), ("tpot [s]", "tpot_s"),
    ("batch size", "batch_size"), ("Input-Tokens", "input_tokens"), ("params (B)", "params_b"),
])
def test_a_header_with_its_unit_in_brackets_or_spaces_is_named(tmp_path, capsys, written, column):
    """'TPOT (s)' was kept as an unknown column: predict and evaluate ran without the measured TPOT, exit 0, and
    'energy (J)' was a missing energy_j without a word of the column meant."""
    path = tmp_path / "p.csv"
    path.write_text("\n".join([PROFILE_HEADER.replace(column, written), *PROFILE_ROWS]) + "\n")
    with pytest.raises(ProfileSchemaError) as info:
        read_profiles(str(path))
    text = str(info.value)
    if column in ("energy_j", "batch_size", "input_tokens"):  # required: named as the missing column's rename
        said = f"names are exact: rename {written!r} for {column!r}"
        assert text.startswith(f"{path}: missing required column(s) {column!r}") and text.endswith(said), text
    else:
        said = f"{written!r} (did you mean {column!r}?)"
        assert text.startswith(f"{path}: column(s) {said} differ from a profile table column only in case, spaces, "
                               "punctuation or a unit in brackets"), text
        assert "rename the column(s)" in text and info.value.column == written
    assert main(["evaluate", str(path), "--no-progress"]) == 2
    assert said in capsys.readouterr().err


def test_a_header_in_another_unit_or_an_unrelated_name_is_still_kept(tmp_path):
    """'power (W)' (avg_power_w is what the schema names the mean power) and 'tpot_ms' (another unit: fit's note
    names it) are no respelling of a schema column: kept as unknown columns, as before."""
    path = tmp_path / "p.csv"
    path.write_text("\n".join([PROFILE_HEADER + ",power (W),tpot_ms,Unnamed: 0",
                               *(r + ",700,20,1" for r in PROFILE_ROWS)]) + "\n")
    frame = read_profiles(str(path))
    assert {"power (W)", "tpot_ms", "Unnamed: 0"} <= set(frame.columns)


def test_a_gpu_table_header_in_another_case_is_named(tmp_path):
    path = tmp_path / "my_gpus.csv"
    path.write_text("\n".join([GPU_HEADER.replace("name", "Name").replace("tdp_w", "TDP (W)").replace(
        "hbm_bw_gbs", "HBM BW (GB/s)"), GPU_ROW]) + "\n")
    with pytest.raises(GpuTableError) as info:
        load_gpu_table(path)
    assert "unknown column(s) 'Name' (did you mean 'name'?), 'HBM BW (GB/s)' (did you mean 'hbm_bw_gbs'?), " \
           "'TDP (W)' (did you mean 'tdp_w'?)" in str(info.value), str(info.value)


def test_a_model_table_header_in_another_case_is_named(tmp_path):
    path = tmp_path / "my_models.csv"
    path.write_text("\n".join([MODEL_HEADER.replace("n_layers", "N Layers"), MODEL_ROW]) + "\n")
    with pytest.raises(ModelTableError, match=r"unknown column\(s\) 'N Layers' \(did you mean 'n_layers'\?\)"):
        load_model_table(path)


def test_a_v3_blank_task_is_called_blank_not_nan(tmp_path):
    """A blank task cell was "unknown v3 task [nan]"; it is named blank, with the same remedy."""
    err = _v3_error(_v3(tmp_path, [row(), row(task=""), row()]))
    assert "column 'task': blank cell where the task is expected (known: gpqa, " in str(err), str(err)
    assert "nan" not in str(err) and "add an 'input_tokens' column" in str(err) and err.rows == [1]
    err = _v3_error(_v3(tmp_path, [row(), row(task=""), row(task="my-task")]))
    assert "unknown v3 task ['my-task'] and 1 blank cell (known: gpqa, " in str(err) and err.rows == [1, 2], str(err)


# ---- A user row that names a bundled GPU or model through an alias ---------------------------------

def test_a_gpu_alias_that_names_a_bundled_gpu_says_so(tmp_path):
    """'Acme-X1' with the alias 'H100' was "GPU 'H100-SXM5-80GB' is in the table with memory_gb = 80 ...": the row
    says Acme-X1, and nothing said the alias tied it to the H100."""
    path = tmp_path / "my_gpus.csv"
    path.write_text("name,aliases,hbm_bw_gbs,peak_bf16_tflops,tdp_w,interconnect_bw_gbs,memory_gb\n"
                    "Acme-X1,H100,4000,800,600,400,96\n")
    with pytest.raises(GpuTableError) as info:
        register_gpu_table(path)
    assert "GPU 'H100-SXM5-80GB' (named by this row's alias 'H100') is in the table with" in str(info.value), str(
        info.value)
    path.write_text("name,hbm_bw_gbs,peak_bf16_tflops,tdp_w,interconnect_bw_gbs\nH100,4000,989,700,900\n")
    with pytest.raises(GpuTableError) as info:
        register_gpu_table(path)
    assert not user_gpus()
    assert "GPU 'H100-SXM5-80GB' (named by this row's name 'H100') is in the table with" in str(info.value)


def test_a_model_alias_that_names_a_bundled_model_says_so(tmp_path):
    """'acme/Coder-13B' with the alias 'Qwen/Qwen3-14B' was "... is the bundled model 'Qwen/Qwen3-14B' (names match
    without their org/ prefix; ...)", though the alias matched it, org and all."""
    path = tmp_path / "my_models.csv"
    path.write_text(MODEL_HEADER.replace("name,", "name,aliases,") + "\n"
                    + MODEL_ROW.replace("acme/Coder-13B,", "acme/Coder-13B,Qwen/Qwen3-14B,") + "\n")
    with pytest.raises(ModelTableError) as info:
        register_model_table(path)
    assert not user_models()
    text = str(info.value)
    assert "model 'acme/Coder-13B' is the bundled model 'Qwen/Qwen3-14B' (named by this row's alias " \
           "'Qwen/Qwen3-14B'; names compare without case, punctuation or org/ prefix;" in text, text
    assert "names match without their org/ prefix" not in text


def test_v2_and_splitwise_trailing_empty_rows_are_called_empty_rows(tmp_path):
    """A spreadsheet's trailing ',,,,' row was "column 'GPU': unknown GPU nan" in an ML.ENERGY v2 flat table and
    "column 'prompt_size' must be a number > 0" in a Splitwise table."""
    from energylens.profiles.datasets import bundled_path, mlenergy_v2, splitwise

    lines = bundled_path().read_text().splitlines()[:6]
    path = tmp_path / "flat.csv"
    path.write_text("\n".join([*lines, "," * lines[0].count(",")]) + "\n")
    with pytest.raises(ProfileSchemaError) as info:
        mlenergy_v2(path)
    assert str(info.value) == f"{path}: {EMPTY} in data row 6 (1-based, header not counted)", str(info.value)
    assert info.value.rows == [5]
    header = "model,hardware,prompt_size,batch_size,token_size,peak_power,average_power,prompt_time,token_time," \
             "e2e_time,tensor_parallel"
    path = tmp_path / "perf_model.csv"
    path.write_text("\n".join([header, "llama2-70b,h100-80gb,128,1,128,0,0,50.0,20.0,2600.0,8",
                               "," * header.count(","), "," * header.count(",")]) + "\n")
    with pytest.raises(ProfileSchemaError) as info:
        splitwise(path)
    assert str(info.value) == f"{path}: {EMPTY} in data rows 2, 3 (1-based, header not counted)", str(info.value)


def test_a_v2_blank_gpu_cell_is_called_blank(tmp_path):
    """"unknown GPU nan ... (data rows , 1-based)": no row named, and a blank called a GPU named nan."""
    from energylens.profiles.datasets import bundled_path, mlenergy_v2

    lines = bundled_path().read_text().splitlines()[:6]
    cells = lines[3].split(",")
    cells[lines[0].split(",").index("GPU")] = ""
    lines[3] = ",".join(cells)
    path = tmp_path / "flat.csv"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ProfileSchemaError) as info:
        mlenergy_v2(path)
    assert "column 'GPU' (schema column 'gpu'): blank cell: each row must name the GPU it ran on (data rows 3, " \
           "1-based)" in str(info.value) and info.value.rows == [2], str(info.value)


def test_a_parquet_files_named_index_is_read_as_its_column(tmp_path):
    """frame.set_index('model').to_parquet(...) stores model as the index, which the reader left as the frame's index:
    'missing required column(s) 'model'' with model nowhere in the "found" list, and a named index that is not a
    schema column ('run_id') was dropped from what predict writes. A named index level is now a column."""
    path = tmp_path / "runs.parquet"
    frame = pd.DataFrame({"model": ["Qwen/Qwen3-14B"] * 2, "gpu": ["H100"] * 2, "tp": [1, 2], "batch_size": [8.0, 16.0],
                          "input_tokens": [300.0] * 2, "output_tokens": [500.0] * 2, "energy_j": [400.0, 300.0],
                          "run_id": ["a", "b"]})
    frame.set_index("model").to_parquet(path)
    got = read_profiles(str(path))
    assert got["model"].tolist() == ["Qwen/Qwen3-14B"] * 2 and list(got.index) == [0, 1]
    frame.set_index(["run_id", "model"]).to_parquet(path)
    got = read_profiles(str(path))
    assert got["model"].tolist() == ["Qwen/Qwen3-14B"] * 2 and got["run_id"].tolist() == ["a", "b"]
    frame.set_index(pd.Index([100, 101])).to_parquet(path)  # an unnamed index stays the frame's index, as before
    assert list(read_profiles(str(path)).index) == [100, 101]


@pytest.mark.parametrize("cell", ["N/A", "NaN", "n/a", "NULL", "#N/A", "None"])
def test_gpu_and_model_table_na_words_are_blanks_as_in_a_profile_table(tmp_path, cell):
    """A GPU table's 'N/A' for a peak the GPU lacks was "'N/A' is not a number", its 'NaN' "nan is outside the sane
    range [5, 200000]"; a model table's 'NaN' "is not a finite number >= 0". A profile table reads pandas' missing-value
    words as blanks (docs/profile-schema.md, "Numbers"): these tables now do too."""
    path = tmp_path / "my_gpus.csv"
    path.write_text(f"name,hbm_bw_gbs,peak_bf16_tflops,peak_fp8_tflops,tdp_w,interconnect_bw_gbs\n"
                    f"Acme-X1,4000,800,{cell},600,400\n")
    (spec,) = load_gpu_table(path)
    assert spec.name == "Acme-X1" and spec.peak_fp8_tflops != spec.peak_fp8_tflops  # NaN: not given
    path = tmp_path / "my_models.csv"
    path.write_text(MODEL_HEADER + ",sliding_window\n" + MODEL_ROW + f",{cell}\n")
    (model,) = load_model_table(path)
    assert model.sliding_window != model.sliding_window
    path.write_text(MODEL_HEADER + "\n" + MODEL_ROW.replace(",40,5120,", f",{cell},5120,") + "\n")
    with pytest.raises(ModelTableError, match="column 'n_layers': blank; every model gives it"):
        load_model_table(path)
