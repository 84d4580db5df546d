"""Input-validation audit: every bad input below gets an error naming what is wrong and where (file, 1-based
data row, column) and a non-zero exit; nothing is silently dropped or misread.

1. integer cells beyond int64 (or any sane GPU count); 2. duplicate column headers; 3. the "found" list of
the missing-column error; 4. a v3 export's expert_parallel that is not num_gpus; 5. ``evaluate`` whose
method scored no headline split, and a --train-size below the model's parameters; 6. one GPU defined twice
with different specs; 7. ``--gpu-table DIR``.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from data_paths import V3 as V3_CSV
from energylens.cli.evaluate import failed_methods
from energylens.cli.main import main as cli_main
from energylens.errors import ProfileSchemaError
from energylens.model import EnergyModel
from energylens.profiles import load_profiles, read_profiles, tables
from energylens.profiles.datasets import mlenergy_v2
from energylens.profiles.gpu_table import GpuTableError
from energylens.profiles.mlenergy_v3 import mlenergy_v3
from energylens.profiles.schema import MAX_GPU_COUNT, as_profiles

ROWS = [dict(model="meta-llama/Llama-3.1-8B-Instruct", params_b=8.03, gpu="H100", tp=tp, pp=1, batch_size=b,
             input_tokens=500, output_tokens=300, energy_j=100.0 * tp / b ** 0.5, task="chat")
        for tp in (1, 2, 4) for b in (4, 16, 64, 128)]


@pytest.fixture(autouse=True)
def _no_user_gpus():
    tables.clear_user_gpus()
    yield
    tables.clear_user_gpus()


def _frame(**columns) -> pd.DataFrame:
    df = pd.DataFrame(ROWS)
    for name, values in columns.items():
        df[name] = values
    return df


# --------------------------------------------------------------------------------------------------
# 1. integer cells: whole numbers within MAX_GPU_COUNT, else an error naming file, data row and column
# --------------------------------------------------------------------------------------------------

def test_huge_n_gpus_in_a_file_is_an_error_naming_file_row_and_column(tmp_path):
    n_gpus = [float(tp) for tp in _frame()["tp"]]
    n_gpus[3] = 1e19
    path = tmp_path / "p.csv"
    _frame(n_gpus=n_gpus).to_csv(path, index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no "invalid value encountered in cast"
        with pytest.raises(ProfileSchemaError, match=r"column 'n_gpus': must be <= 1048576 .* data row 4 ") as ei:
            load_profiles(path)
    assert str(path) in str(ei.value) and ei.value.column == "n_gpus" and ei.value.rows == [3]


@pytest.mark.parametrize("column", ["tp", "pp", "ep", "dp", "n_gpus"])
def test_every_count_column_is_bounded(column):
    values = np.ones(len(ROWS))
    values[2] = 1e20
    df = _frame(**{column: values})
    with pytest.raises(ProfileSchemaError, match=rf"column '{column}': must be <= {MAX_GPU_COUNT}.*data row 3 "):
        load_profiles(df)


def test_tp_beyond_int64_through_the_api_is_not_int64_min():
    tp = [1.0] * len(ROWS)
    tp[2] = 1e20
    with pytest.raises(ProfileSchemaError, match=r"<DataFrame>.*column 'tp'.*data row 3 "):
        load_profiles(_frame(tp=tp))


def test_a_derived_gpu_count_beyond_the_bound_is_an_error():
    dp = [1] * len(ROWS)
    dp[0] = 2**11
    tp = list(_frame()["tp"])
    tp[0] = 2**10  # each within the bound, tp * pp * dp = 2**21 is not
    with pytest.raises(ProfileSchemaError, match=r"column 'tp': tp \* pp \* dp .* must be <= 1048576.*data row 1 "):
        load_profiles(_frame(tp=tp, dp=dp))


def test_the_bound_itself_is_accepted_exactly():
    df = _frame(tp=1024, dp=1024)
    out = load_profiles(df.assign(n_gpus=MAX_GPU_COUNT))
    assert out["n_gpus"].dtype == np.int64 and (out["n_gpus"] == MAX_GPU_COUNT).all() and (out["dp"] == 1024).all()
    assert (load_profiles(df)["n_gpus"] == MAX_GPU_COUNT).all()  # derived


def test_cli_fit_with_a_huge_count_exits_2_naming_file_and_row(tmp_path, capsys):
    tp = [1.0] * len(ROWS)
    tp[4] = 1e20
    path = tmp_path / "p.csv"
    _frame(tp=tp).to_csv(path, index=False)
    assert cli_main(["fit", str(path), "-o", str(tmp_path / "m.json"), "--bootstrap", "0", "--starts", "1",
                     "--no-latency"]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and "column 'tp'" in err and "data row 5 " in err
    assert not (tmp_path / "m.json").exists()


# --------------------------------------------------------------------------------------------------
# 2. duplicate column headers
# --------------------------------------------------------------------------------------------------

def test_duplicate_header_in_a_csv_is_an_error_naming_file_and_column(tmp_path):
    df = _frame()
    df.insert(9, "energy_j_2", df["energy_j"] * 2)
    path = tmp_path / "dup.csv"
    df.rename(columns={"energy_j_2": "energy_j"}).to_csv(path, index=False)
    with pytest.raises(ProfileSchemaError, match=r"dup\.csv: duplicate column header\(s\) 'energy_j' \(2 times\)") as ei:
        load_profiles(path)
    assert ei.value.column == "energy_j"
    assert cli_main(["fit", str(path), "-o", str(tmp_path / "m.json"), "--bootstrap", "0", "--starts", "1"]) == 2


def test_duplicate_header_in_a_compressed_csv_is_an_error(tmp_path):
    path = tmp_path / "dup.csv.gz"
    _frame().rename(columns={"task": "tp"}).to_csv(path, index=False)
    with pytest.raises(ProfileSchemaError, match=r"duplicate column header\(s\) 'tp'"):
        load_profiles(path)


def test_extra_fields_in_the_first_data_row_are_named_not_shifted(tmp_path):
    """pandas reads a first data row with more fields than the header by taking its leading fields as an
    index, shifting every column: the error was "params_b: non-numeric value 'H100'"."""
    text = _frame().to_csv(index=False).splitlines()
    path = tmp_path / "ragged.csv"
    path.write_text("\n".join([text[0], text[1] + ",9,9", *text[2:]]) + "\n")
    with pytest.raises(ProfileSchemaError, match=r"ragged\.csv: data row 1 has more fields than the header's"):
        load_profiles(path)


def test_a_column_literally_named_like_pandas_renaming_is_not_a_duplicate(tmp_path):
    path = tmp_path / "ok.csv"
    _frame(**{"energy_j.1": 5.0}).to_csv(path, index=False)
    assert "energy_j.1" in load_profiles(path).columns


def test_duplicate_column_in_a_dataframe_is_a_schema_error_not_attribute_error():
    df = _frame()
    df = pd.concat([df, df[["tp"]]], axis=1)
    with pytest.raises(ProfileSchemaError, match=r"<DataFrame>: duplicate column header\(s\) 'tp'"):
        load_profiles(df)


def test_duplicate_header_in_a_gpu_table(tmp_path):
    path = tmp_path / "gpus.csv"
    path.write_text("name,hbm_bw_gbs,peak_bf16_tflops,tdp_w,tdp_w,interconnect_bw_gbs\nX9,5000,1000,700,800,900\n")
    with pytest.raises(ProfileSchemaError, match=r"gpus\.csv: duplicate column header\(s\) 'tdp_w'.*GPU table"):
        tables.register_gpu_table(path)


# --------------------------------------------------------------------------------------------------
# 3. the missing-column error lists the columns the source has, and not kilobytes of them
# --------------------------------------------------------------------------------------------------

def test_found_list_names_only_the_files_columns(tmp_path, capsys):
    path = tmp_path / "f.csv"
    _frame().drop(columns=["model", "energy_j"]).to_csv(path, index=False)
    with pytest.raises(ProfileSchemaError, match="missing required column") as ei:
        load_profiles(path, require_energy=False)
    found = str(ei.value).split("found ", 1)[1]
    assert "'energy_j'" not in found and "'params_b'" in found
    assert cli_main(["fit", str(path), "-o", str(tmp_path / "x.json")]) == 2
    assert "'energy_j'" not in capsys.readouterr().err.split("found ", 1)[1]


def test_found_list_is_truncated(tmp_path):
    path = tmp_path / "not_a_table.csv"
    path.write_text('[{' + ", ".join(f'"key_{i}_{"x" * 100}": {i}' for i in range(300)) + "}]\n")
    with pytest.raises(ProfileSchemaError, match="missing required column") as ei:
        load_profiles(path)
    msg = str(ei.value)
    assert len(msg) < 3000 and "and 270 more" in msg and "x" * 100 not in msg


# --------------------------------------------------------------------------------------------------
# 4. a v3 export's expert_parallel must be 1 or num_gpus
# --------------------------------------------------------------------------------------------------

V3 = dict(task="lm-arena-chat", activated_params_billions=22.0, architecture="MoE", avg_batch_size=15.9,
          avg_output_len=600.0, avg_power_watts=900.0, data_parallel=1, energy_per_request_joules=300.0,
          energy_per_token_joules=0.5, expert_parallel=8, gpu_model="H100", max_num_seqs=16, median_itl_ms=20.0,
          model_id="Qwen/Qwen3-235B-A22B-Instruct-2507-FP8", nickname="x", num_gpus=8,
          output_throughput_tokens_per_sec=800.0, p90_itl_ms=22.0, p95_itl_ms=23.0, p99_itl_ms=25.0,
          tensor_parallel=1, total_params_billions=235.0, weight_precision="fp8")


@pytest.mark.parametrize("ep", [3, 4])
def test_v3_expert_parallel_other_than_num_gpus_is_an_error(tmp_path, ep):
    path = tmp_path / "llm_configs_h100.csv"
    pd.DataFrame([V3, {**V3, "expert_parallel": ep}]).to_csv(path, index=False)
    with pytest.raises(ProfileSchemaError, match=r"column 'expert_parallel'.*must equal num_gpus.*data row 2 ") as ei:
        mlenergy_v3(path)
    assert str(path) in str(ei.value) and ei.value.column == "expert_parallel"
    assert ("does not divide" in str(ei.value)) == (ep == 3)
    pd.DataFrame([V3]).to_csv(path, index=False)
    assert mlenergy_v3(path)["ep"].tolist() == [8]


def test_v3_duplicate_header_is_an_error(tmp_path):
    path = tmp_path / "llm_configs_h100.csv"
    df = pd.DataFrame([V3])
    df.insert(0, "energy_per_request_joules_2", 1.0)
    df.rename(columns={"energy_per_request_joules_2": "energy_per_request_joules"}).to_csv(path, index=False)
    with pytest.raises(ProfileSchemaError, match=r"duplicate column header\(s\) 'energy_per_request_joules'"):
        mlenergy_v3(path)


# --------------------------------------------------------------------------------------------------
# 5. evaluate: no scored headline split is a failure; a train size below the parameters is refused up front
# --------------------------------------------------------------------------------------------------

def _table(method: str, split: str, scored: bool, error: str = "") -> dict:
    x = 1.0 if scored else np.nan
    return dict(method=method, split=split, top1=x, pairs_concordant=x, ape_sum=x, error=error)


def test_a_method_scored_only_outside_the_headline_split_failed():
    table = pd.DataFrame([
        _table("energylens", "random", False, "ValueError: 5 measurements for 12 parameters"),
        _table("energylens", "curve", True), _table("latency_proxy", "random", True),
        _table("latency_proxy", "curve", True),
    ])
    assert failed_methods(table) == {"energylens": "ValueError: 5 measurements for 12 parameters"}
    no_random = table[table["split"] != "random"]
    assert failed_methods(no_random) == {}  # no headline split asked for: any scored split counts


def test_evaluate_refuses_a_train_size_below_the_parameters(tmp_path, capsys):
    path = tmp_path / "p.csv"
    _frame(tpot_s=0.02).to_csv(path, index=False)
    args = ["evaluate", str(path), "--train-size", "5", "--repeats", "2", "--no-progress"]
    assert cli_main([*args, "--methods", "energylens"]) == 2
    err = capsys.readouterr().err
    assert "--train-size 5 is below the 12 parameters" in err and "energylens" in err
    assert cli_main([*args, "--methods", "latency_proxy", "--calibrate", "family"]) == 2
    assert "energylens+family" in capsys.readouterr().err
    assert cli_main([*args, "--methods", "latency_proxy", "--splits", "random", "--json"]) == 0


# --------------------------------------------------------------------------------------------------
# 6. one GPU defined twice: the same values (blanks filling) are one GPU, a different value an error
# --------------------------------------------------------------------------------------------------

HEAD = "name,aliases,hbm_bw_gbs,peak_bf16_tflops,peak_fp8_tflops,tdp_w,interconnect_bw_gbs\n"


def test_one_gpu_on_two_rows_with_different_specs(tmp_path):
    path = tmp_path / "gpus.csv"
    path.write_text(HEAD + "X9,,5000,1000,,700,900\nY9,,4000,900,,600,900\nX9,,5000,1000,,800,900\n")
    with pytest.raises(GpuTableError, match=r"gpus\.csv: data row 3 .*column\(s\) 'tdp_w'.*'X9'.*gpus\.csv: data "
                                            r"row 1 .*tdp_w = 700 there, 800 here") as ei:
        tables.register_gpu_table(path)
    assert ei.value.rows == [0, 2] and ei.value.column == "tdp_w"
    with pytest.raises(GpuTableError):
        tables.load_gpu_table(path)


def test_identical_or_filling_rows_are_one_gpu(tmp_path):
    path = tmp_path / "gpus.csv"
    path.write_text(HEAD + "X9,x-nine,5000,1000,,700,900\nX9,,5000,1000,2000,700,900\n")
    (spec,) = tables.register_gpu_table(path)
    assert spec.tdp_w == 700 and spec.peak_fp8_tflops == 2000 and tables.gpu_spec("x-nine") is spec


def test_one_gpu_in_two_tables_with_different_specs(tmp_path, capsys):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text(HEAD + "X9,,5000,1000,,700,900\n")
    b.write_text(HEAD + "Y9,,4000,900,,600,900\nX9,,5200,1000,2000,700,900\n")
    tables.register_gpu_table(a)
    with pytest.raises(GpuTableError, match=r"b\.csv: data row 2 .*'hbm_bw_gbs'.*a\.csv: data row 1 .*5000 there, "
                                            r"5200 here"):
        tables.register_gpu_table(b)
    assert tables.gpu_spec("X9").hbm_bw_gbs == 5000
    tables.clear_user_gpus()
    prof = tmp_path / "p.csv"
    _frame(gpu="X9").to_csv(prof, index=False)
    assert cli_main(["fit", str(prof), "-o", str(tmp_path / "m.json"), "--gpu-table", str(a), "--gpu-table", str(b),
                     "--bootstrap", "0", "--starts", "1", "--no-latency"]) == 2
    err = capsys.readouterr().err
    assert "b.csv: data row 2" in err and "a.csv: data row 1" in err and "hbm_bw_gbs" in err


def test_a_second_table_may_fill_blanks_and_a_table_may_be_registered_again(tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text(HEAD + "X9,,5000,1000,,700,900\n")
    b.write_text(HEAD + "X9,X-Nine,5000,1000,2000,700,900\n")
    tables.register_gpu_table(a)
    tables.register_gpu_table(b)
    spec = tables.gpu_spec("x-nine")
    assert spec.name == "X9" and spec.peak_fp8_tflops == 2000 and spec.hbm_bw_gbs == 5000
    a.write_text(HEAD + "Z9,,3000,500,,400,100\n")
    tables.register_gpu_table(a)  # the same file again: its own GPUs, re-read
    assert tables.gpu_spec("Z9").tdp_w == 400


# --------------------------------------------------------------------------------------------------
# 7. --gpu-table DIR
# --------------------------------------------------------------------------------------------------

def test_gpu_table_folder_says_it_is_a_folder(tmp_path, capsys):
    with pytest.raises(GpuTableError, match=r"is a folder, not a file"):
        tables.register_gpu_table(tmp_path)
    prof = tmp_path / "p.csv"
    _frame().to_csv(prof, index=False)
    assert cli_main(["fit", str(prof), "-o", str(tmp_path / "m.json"), "--gpu-table", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "is a folder, not a file" in err and "not found" not in err


def test_the_fit_fast_path_keeps_the_gpu_count_bound():
    """A raw frame (not validated yet) takes the light path of fit; tp above the schema's bound leaves it
    for the schema, whose error names the column and row."""
    cols = ["model", "params_b", "gpu", "tp", "pp", "batch_size", "input_tokens", "output_tokens", "energy_j"]
    raw = pd.DataFrame(mlenergy_v2().head(60)[cols].to_dict("list"))
    raw["tp"] = raw["tp"].astype(float)
    raw.loc[3, "tp"] = 1e20
    with pytest.raises(ProfileSchemaError, match="'tp'.*data row 4"):
        EnergyModel(bootstrap=0).fit(raw)


def test_export_errors_name_the_files_own_columns_and_rows(tmp_path):
    """v2 / v3 exports: a bad cell's error also names the export's column; Splitwise: the file's own row,
    checked before repeats are averaged, and an unknown GPU names the --gpu-table remedy."""
    v3 = pd.read_csv(V3_CSV).head(30) \
        if V3_CSV.is_file() else None
    if v3 is not None:
        v3.loc[4, "energy_per_request_joules"] = -5
        v3.to_csv(tmp_path / "v3.csv", index=False)
        with pytest.raises(ProfileSchemaError, match="energy_per_request_joules") as info:
            read_profiles(str(tmp_path / "v3.csv"))
        assert info.value.column == "energy_j" and "data row 5" in str(info.value)
    sw = pd.DataFrame({"model": ["llama2-70b"] * 3, "hardware": ["a100-80gb"] * 3, "prompt_size": [128] * 3,
                       "batch_size": [1] * 3, "token_size": [128] * 3, "prompt_time": [50.0] * 3,
                       "token_time": [20.0, 21.0, -1.0], "tensor_parallel": [4] * 3})
    sw.to_csv(tmp_path / "sw.csv", index=False)
    with pytest.raises(ProfileSchemaError, match=r"'token_time'.*data rows 3, 1-based"):
        read_profiles(str(tmp_path / "sw.csv"), require_energy=False)
    sw.loc[2, "token_time"] = 22.0
    sw["hardware"] = "tpu-v5"
    sw.to_csv(tmp_path / "sw.csv", index=False)
    with pytest.raises(ProfileSchemaError, match="--gpu-table"):
        read_profiles(str(tmp_path / "sw.csv"), require_energy=False)


def test_an_export_with_a_column_missing_is_named_as_that_export(tmp_path):
    v2 = pd.read_csv(Path(__file__).parents[2] / "python/energylens/data/mlenergy_v2_2024/llm_configs_flat.csv"
                     ).head(10) if (Path(__file__).parents[2] / "python/energylens/data/mlenergy_v2_2024/"
                                    "llm_configs_flat.csv").is_file() else None
    sw = pd.DataFrame({"model": ["llama2-70b"], "hardware": ["a100-80gb"], "prompt_size": [128], "batch_size": [1],
                       "token_size": [128], "prompt_time": [50.0], "tokn_time": [20.0], "tensor_parallel": [4]})
    sw.to_csv(tmp_path / "sw.csv", index=False)
    with pytest.raises(ProfileSchemaError, match=r"Splitwise perf_model table but lacks column\(s\) 'token_time'"):
        read_profiles(str(tmp_path / "sw.csv"), require_energy=False)
    if v2 is not None:
        v2.rename(columns={"Energy/req (J)": "Energy per req"}).to_csv(tmp_path / "v2.csv", index=False)
        with pytest.raises(ProfileSchemaError, match="ML.ENERGY v2 flat table but lacks"):
            read_profiles(str(tmp_path / "v2.csv"))


def test_a_validated_frame_edited_afterwards_is_validated_again():
    """pandas keeps attrs through edits: a once-validated frame whose numbers were then broken is not
    trusted (profiles/recheck.py); an untouched one still is, as the same object."""
    d = mlenergy_v2().head(60).copy()
    assert as_profiles(d) is d
    for col, bad in (("tp", 0), ("batch_size", -1.0), ("tp", 2**21), ("input_tokens", float("nan"))):
        e = d.copy()
        e[col] = e[col].astype(float)
        e.loc[e.index[3], col] = bad
        with pytest.raises(ProfileSchemaError, match=f"'{col}'.*data row 4"):
            EnergyModel(bootstrap=0).fit(e)
