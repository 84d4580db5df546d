"""Files users bring (Excel headers, hand-edited v3 exports, local checkpoint paths): a near miss is an error
naming the file and column, never a value silently replaced by a default.

Every table here is a few hand-written rows (made-up numbers) in a tmp dir.
"""
from __future__ import annotations

import gzip
import io

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from test_mlenergy_v3 import MOE as V3_MOE
from test_mlenergy_v3 import excerpt as v3_excerpt
from test_mlenergy_v3 import row as v3_row

from energylens.errors import ProfileSchemaError
from energylens.model.base import fit_input
from energylens.profiles import load_profiles
from energylens.profiles.checkpoints import checkpoint_precision
from energylens.profiles.features import build_features
from energylens.profiles.gpu_table import GpuTableError, load_gpu_table
from energylens.profiles.light import light_profiles
from energylens.profiles.mlenergy_v3 import mlenergy_v3
from energylens.profiles.tables import find_model, gpu_spec

HEADER = "model,params_b,gpu,tp,pp,batch_size,input_tokens,output_tokens,energy_j"
ROW = "meta-llama/Llama-3.1-8B-Instruct,8.03,H100-SXM,1,1,32,500,300,41.2"


@pytest.mark.parametrize("name, value, schema_name", [
    ("Precision", "fp8", "precision"),       # Excel-capitalised: precision silently bf16
    (" n_gpus", "8", "n_gpus"),              # a space after the comma: energy charged to 1 GPU, not 8
    ("DP", "2", "dp"),
    ("gpu_TDP_w", "600", "gpu_tdp_w"),       # a GPU spec column
    ("Video_Frames", "4", "video_frames"),   # a column the features read
])
def test_a_known_column_spelled_with_other_case_or_spaces_is_an_error(tmp_path, name, value, schema_name):
    path = tmp_path / "runs.csv"
    path.write_text(f"{HEADER},{name}\n{ROW},{value}\n")
    with pytest.raises(ProfileSchemaError, match="only in case or surrounding spaces") as ei:
        load_profiles(path)
    assert str(path) in str(ei.value) and repr(name) in str(ei.value) and repr(schema_name) in str(ei.value)
    assert ei.value.column == name
    frame = pd.read_csv(path)  # a DataFrame too
    with pytest.raises(ProfileSchemaError, match="only in case or surrounding spaces"):
        load_profiles(frame)


def test_a_required_column_spelled_with_other_case_names_the_rename(tmp_path):
    path = tmp_path / "runs.csv"
    path.write_text(HEADER.replace("energy_j", "Energy_J ") + f"\n{ROW}\n")
    with pytest.raises(ProfileSchemaError, match="missing required column") as ei:
        load_profiles(path)
    assert "rename 'Energy_J ' for 'energy_j'" in str(ei.value)


def test_the_light_path_leaves_a_near_miss_column_to_the_full_path():
    """EnergyModel.fit / predict read a raw frame through fit_input: a 'Precision' column must not be kept
    as an unknown one there either (its rows were priced as bf16)."""
    frame = pd.read_csv(io.StringIO(f"{HEADER},Precision\n{ROW},fp8\n"))
    assert light_profiles(frame, require_energy=True) is None
    with pytest.raises(ProfileSchemaError, match="'Precision' \\(did you mean 'precision'\\?\\)"):
        fit_input(frame, require_energy=True)
    assert light_profiles(frame.drop(columns="Precision"), require_energy=True) is not None


# ML.ENERGY v3 exports edited by hand (rows in the v3 layout of test_mlenergy_v3.py)

@pytest.mark.parametrize("tp, dp", [(2, 1), (3, 2)])
def test_v3_expert_row_with_a_tensor_parallel_label_neither_1_nor_num_gpus_over_dp_is_an_error(tmp_path, tp, dp):
    """The benchmark writes tensor_parallel 1 on expert-parallel rows (and the reader relabels it num_gpus / dp);
    a 2 on 8 GPUs was silently read as tp 8."""
    path = v3_excerpt(tmp_path, [v3_row(), v3_row(**{**V3_MOE, "num_gpus": 8, "tensor_parallel": tp,
                                                     "expert_parallel": 8, "data_parallel": dp})])
    with pytest.raises(ProfileSchemaError, match="tensor_parallel': on rows with expert parallelism") as ei:
        mlenergy_v3(path)
    assert str(path) in str(ei.value) and "data row 2 (1-based)" in str(ei.value) and ei.value.rows == [1]
    ok = v3_excerpt(tmp_path, [v3_row(**{**V3_MOE, "num_gpus": 8, "tensor_parallel": 8 // dp, "expert_parallel": 8,
                                         "data_parallel": dp})], "ok.csv")
    assert mlenergy_v3(ok)["tp"].tolist() == [8 // dp]  # a label that says how it ran still reads


def test_v3_blank_architecture_names_the_row(tmp_path):
    path = v3_excerpt(tmp_path, [v3_row(), v3_row(architecture=None)])  # was a TypeError naming nothing
    with pytest.raises(ProfileSchemaError, match="column 'architecture': unknown architecture") as ei:
        mlenergy_v3(path)
    assert ei.value.rows == [1] and str(path) in str(ei.value)


@pytest.mark.parametrize("column, cell", [("total_params_billions", "1,000"), ("activated_params_billions", "abc")])
@pytest.mark.parametrize("model", ["Qwen/Qwen3-14B", "acme/Foo-14B"])  # in the model table, and not
def test_v3_parameter_count_that_is_not_a_number_is_an_error(tmp_path, column, cell, model):
    """'abc' active parameters became params_b (dense) without a word; '1,000' total was reported as a missing
    params_b; for a model the table knows the cell was kept as text in params_b_nominal."""
    path = v3_excerpt(tmp_path, [v3_row(model_id=model), v3_row(model_id=model, **{column: cell})])
    with pytest.raises(ProfileSchemaError, match=f"column '{column}': non-numeric value") as ei:
        mlenergy_v3(path)
    assert ei.value.rows == [1] and str(path) in str(ei.value)


# Checkpoint names and local paths (energylens.profiles.checkpoints)

@pytest.mark.parametrize("name, precision", [
    ("nm-testing/Meta-Llama-3-8B-Instruct-W8A8-FP8", "fp8"),         # was int8: W8A8 gives the width, FP8 the format
    ("RedHatAI/Meta-Llama-3.1-8B-Instruct-quantized.w8a8", "int8"),  # unchanged: W8A8 alone is int8
    ("Qwen/Qwen2.5-72B-Instruct-GPTQ-Int8", "int8"),
    ("unsloth/Meta-Llama-3.1-8B-Instruct-bnb-4bit", "int4"),
    ("acme/Llama-3.1-8B-Instruct-bnb-nf4", "int4"),                  # was bf16: bitsandbytes NF4 is 4-bit weights
    ("/models/Qwen3-8B-AWQ/", "int4"),                               # was bf16: a local path with a trailing '/'
    ("/models/openai/gpt-oss-120b/", "mxfp4"),                       # was bf16: the table's row not found
    ("C:\\models\\DeepSeek-V3", "fp8"),                              # a Windows path
])
def test_checkpoint_precision_of_names_and_local_paths(name, precision):
    assert checkpoint_precision(name) == precision


def test_a_local_path_with_a_trailing_slash_finds_the_model_table_row():
    assert find_model("/models/openai/gpt-oss-120b/").name == "openai/gpt-oss-120b"
    assert find_model("deepseek-ai/DeepSeek-V3/").name == "deepseek-ai/DeepSeek-V3"


# Compressed CSV files get the checks of a plain one

@pytest.mark.parametrize("suffix, sep, words", [
    (".csv.gz", ";", "separated by semicolons"), (".csv.bz2", "\t", "separated by tabs"),
    (".csv.xz", ";", "separated by semicolons"), (".csv.zip", "\t", "separated by tabs"),
])
def test_a_compressed_csv_with_another_separator_says_so(tmp_path, suffix, sep, words):
    """Before: 'missing required column(s) model, params_b, ... found 'model;params_b;...'' for a compressed file,
    the separator message only for a plain .csv."""
    path = tmp_path / f"runs{suffix}"
    pd.DataFrame([ROW.split(",")], columns=HEADER.split(",")).to_csv(path, sep=sep, index=False)
    with pytest.raises(ProfileSchemaError, match=words) as ei:
        load_profiles(path)
    assert str(path) in str(ei.value)
    pd.read_csv(path, sep=sep).to_csv(path, index=False)  # the same file with commas loads
    assert len(load_profiles(path)) == 1


def test_a_compressed_utf16_csv_says_so(tmp_path):
    path = tmp_path / "runs.csv.gz"
    path.write_bytes(gzip.compress(f"{HEADER}\n{ROW}\n".encode("utf-16")))
    with pytest.raises(ProfileSchemaError, match="UTF-16 text; save it as UTF-8"):
        load_profiles(path)


# User GPU tables saved from Excel

GPU_HEADER = "name,hbm_bw_gbs,tdp_w,interconnect_bw_gbs,peak_bf16_tflops"
GPU_ROW = "Acme-X1,4000,600,400,800"


@pytest.mark.parametrize("sep, words", [(";", "separated by semicolons"), ("\t", "separated by tabs")])
def test_a_gpu_table_with_another_separator_says_so(tmp_path, sep, words):
    """Before: "unknown column(s) 'name;hbm_bw_gbs;...'"."""
    path = tmp_path / "gpus.csv"
    path.write_text(f"{GPU_HEADER}\n{GPU_ROW}\n".replace(",", sep))
    with pytest.raises(GpuTableError, match=words) as ei:
        load_gpu_table(path)
    assert str(path) in str(ei.value)


def test_a_utf16_gpu_table_says_so(tmp_path):
    path = tmp_path / "gpus.csv"
    path.write_bytes(f"{GPU_HEADER}\n{GPU_ROW}\n".encode("utf-16"))
    with pytest.raises(GpuTableError, match="UTF-16 text"):
        load_gpu_table(path)


def test_a_gpu_table_with_excel_trailing_empty_columns_loads(tmp_path):
    """Before: "unknown column(s) 'Unnamed: 5', 'Unnamed: 6'" for columns that hold nothing."""
    path = tmp_path / "gpus.csv"
    path.write_text(f"{GPU_HEADER},,\r\n{GPU_ROW},,\r\n")
    (spec,) = load_gpu_table(path)
    assert (spec.name, spec.hbm_bw_gbs, spec.peak_bf16_tflops) == ("Acme-X1", 4000.0, 800.0)
    path.write_text(f"{GPU_HEADER},\n{GPU_ROW},\nAcme-X2,4000,600,400,800,900\n")  # a value without a header name
    with pytest.raises(GpuTableError, match="column 6 has no header name but holds '900' in data row 2") as ei:
        load_gpu_table(path)
    assert ei.value.rows == [1]


# Parquet files from other writers

def _parquet(path, columns: dict) -> None:
    pq.write_table(pa.table(columns), path)


def _columns(model=None) -> dict:
    return {"model": model if model is not None else pa.array(["meta-llama/Llama-3.1-8B-Instruct"]),
            "params_b": [8.03], "gpu": ["H100"], "tp": pa.array([1], pa.int8()), "pp": pa.array([1], pa.uint8()),
            "batch_size": pa.array([32.0], pa.float32()), "input_tokens": [500.0], "output_tokens": [300.0],
            "energy_j": [41.2]}


def test_a_parquet_binary_text_column_is_read_as_text(tmp_path):
    """Text written as Parquet binary (no UTF-8 annotation) came back as bytes: the model became
    "b'meta-llama/Llama-3.1-8B-Instruct'", missed the model table and was estimated."""
    path = tmp_path / "runs.parquet"
    _parquet(path, _columns(pa.array([b"meta-llama/Llama-3.1-8B-Instruct"], pa.binary())))
    df = load_profiles(path)
    assert df["model"].tolist() == ["meta-llama/Llama-3.1-8B-Instruct"]
    assert df["n_layers"].tolist() == [32.0]  # the model table's row
    _parquet(path, _columns(pa.array([b"\xff\xfe"], pa.binary())))
    with pytest.raises(ProfileSchemaError, match="column 'model' is binary and not UTF-8 text"):
        load_profiles(path)


def test_a_parquet_file_with_a_repeated_column_name_says_so(tmp_path):
    path = tmp_path / "runs.parquet"
    table = pa.table(_columns())
    pq.write_table(table.append_column("energy_j", pa.array([99.0])), path)
    with pytest.raises(ProfileSchemaError, match="duplicate column header\\(s\\) 'energy_j'") as ei:
        load_profiles(path)
    assert str(path) in str(ei.value)


def test_a_parquet_file_pandas_cannot_restore_is_named(tmp_path):
    """pandas' metadata for an Arrow dictionary column raised a bare TypeError naming no file."""
    path = tmp_path / "runs.parquet"
    frame = pd.DataFrame({k: (v.to_pylist() if isinstance(v, pa.Array) else v) for k, v in _columns().items()})
    frame["model"] = frame["model"].astype(pd.ArrowDtype(pa.dictionary(pa.int32(), pa.string())))
    frame.to_parquet(path)
    with pytest.raises(ProfileSchemaError, match="could not read the PARQUET file") as ei:
        load_profiles(path)
    assert str(path) in str(ei.value)


@pytest.mark.parametrize("cell, precision", [("FP8-Dynamic", "fp8"), ("W8A8", "int8"), ("nf4", "int4")])
def test_precision_cells_spelled_as_checkpoint_names_read(cell, precision):
    """The precision column refused the spellings the checkpoint-name parser reads ('-FP8-Dynamic', 'W8A8', NF4)."""
    frame = pd.read_csv(io.StringIO(f"{HEADER},precision\n{ROW},{cell}\n"))
    assert load_profiles(frame)["precision"].tolist() == [precision]


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz"])
def test_excel_separator_hint_line_is_named(tmp_path, suffix):
    """Excel's 'sep=,' first line was read as the header: "data row 1 has more fields than the header's 2 columns"."""
    path = tmp_path / f"runs{suffix}"
    text = f"sep=,\n{HEADER}\n{ROW}\n".encode()
    path.write_bytes(gzip.compress(text) if suffix.endswith(".gz") else text)
    with pytest.raises(ProfileSchemaError, match="'sep=,' is Excel's separator hint"):
        load_profiles(path)


# GPU spec columns (gpu_*) in a profile

SPEC_HEADER = f"{HEADER},gpu_hbm_bw_gbs,gpu_peak_bf16_tflops,gpu_tdp_w,gpu_interconnect_bw_gbs"


@pytest.mark.parametrize("first, second, column", [
    ("Acme-X1,1,1,32,500,300,41.2,4000,800,600,400", "acme-x1,1,1,32,500,300,41.2,4000,800,700,400", "gpu_tdp_w"),
    ("A10G,1,1,32,500,300,41.2,,70,,", "NVIDIA A10G,1,1,32,500,300,41.2,,125,,", "gpu_peak_bf16_tflops"),
])
def test_two_names_of_one_gpu_with_different_spec_columns_is_an_error(tmp_path, first, second, column):
    """Each spelling of one GPU got its own spec from its rows' gpu_* cells (600 W and 700 W, or a 70 and a 125
    TFLOP/s A10G) without a word; the rule is one GPU, one spec."""
    path = tmp_path / "runs.csv"
    path.write_text(f"{SPEC_HEADER}\nQwen/Qwen3-8B,8.19,{first}\nQwen/Qwen3-8B,8.19,{second}\n")
    with pytest.raises(GpuTableError, match="already described by .* with different values") as ei:
        build_features(load_profiles(path))
    assert ei.value.column == column and ei.value.rows == [0, 1] and "names the same GPU" in str(ei.value)
    agreeing = second.split(",", 1)[0] + "," + first.split(",", 1)[1]  # the second name with the first's cells
    path.write_text(f"{SPEC_HEADER}\nQwen/Qwen3-8B,8.19,{first}\nQwen/Qwen3-8B,8.19,{agreeing}\n")
    assert len(build_features(load_profiles(path))["tp"]) == 2


# Names copied from web pages and word processors

@pytest.mark.parametrize("model", ["Qwen/Qwen3\u20118B\u2011FP8",   # non-breaking hyphens
                                   "Qwen/Qwen3\u20138B-FP8",         # an en dash
                                   "Qwen/Qwen3-8B-FP8\u200b"])        # a zero-width space at the end
def test_unicode_dashes_and_zero_width_characters_in_a_model_name(model, recwarn):
    """The model missed the table (estimated architecture) and its -FP8 token, so it was priced as bf16."""
    frame = pd.read_csv(io.StringIO(f"{HEADER}\n{ROW}\n"))
    frame["model"] = model
    out = load_profiles(frame)
    assert out["precision"].tolist() == ["fp8"] and out["model"].tolist() == [model.strip()]  # the name kept as given
    assert find_model(model).name == "Qwen/Qwen3-8B"
    assert not [w for w in recwarn if "estimated" in str(w.message)]


@pytest.mark.parametrize("gpu", ["H100\u2011SXM", "\uff28100", "MI300X\u200b"])  # nb-hyphen, full-width H, ZWSP
def test_unicode_variants_of_a_gpu_name_resolve(gpu):
    assert gpu_spec(gpu).name in ("H100-SXM5-80GB", "MI300X")


def test_spreadsheet_trailing_empty_rows_are_named_as_empty(tmp_path):
    """',,,,' rows Excel saved were reported as a missing value in each of the nine required columns."""
    path = tmp_path / "runs.csv"
    path.write_text(f"{HEADER}\n{ROW}\n,,,,,,,,\n,, ,,,,,,\n")  # (a blank model cell marks the candidates)
    with pytest.raises(ProfileSchemaError) as ei:
        load_profiles(path)
    first = str(ei.value).splitlines()[0]
    assert "empty row (every cell blank" in first and "data rows 2, 3 (1-based" in first
    assert "more problem" not in str(ei.value) and ei.value.rows == [1, 2]
    with pytest.warns(UserWarning, match="dropped 2 of 3 rows"):
        out = load_profiles(path, drop_invalid=True)
    assert len(out) == 1 and out.attrs["dropped"]["row"].tolist() == [2, 3]
