"""Profile schema v1: every violation names the file, the 1-based data rows and the column."""

from __future__ import annotations

import math
import re
import warnings

import numpy as np
import pandas as pd
import pytest

from energylens.errors import ProfileSchemaError
from energylens.profiles.schema import (
    ARCHITECTURE_COLUMNS,
    ARCHITECTURES,
    COLUMN_ORDER,
    MEASURED_COLUMNS,
    MODALITIES,
    OPTIONAL_DEFAULTS,
    PRECISIONS,
    REQUIRED_COLUMNS,
    SCHEMA_VERSION,
    DroppedRowsWarning,
    load_profiles,
)
from energylens.profiles.tables import EstimatedArchitectureWarning, find_model


def good_frame(n: int = 4) -> pd.DataFrame:
    return pd.DataFrame({
        "model": ["meta-llama/Meta-Llama-3.1-8B-Instruct"] * n,
        "params_b": [8.03] * n,
        "gpu": ["NVIDIA H100 80GB HBM3"] * n,
        "tp": [1, 2, 4, 8][:n] + [1] * max(0, n - 4),
        "pp": [1] * n,
        "batch_size": [16.0 * (i + 1) for i in range(n)],
        "input_tokens": [200.0] * n,
        "output_tokens": [300.0] * n,
        "energy_j": [50.0 + i for i in range(n)],
    })


def write_csv(tmp_path, frame: pd.DataFrame, name: str = "profiles.csv"):
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


def assert_names(exc: ProfileSchemaError, path, rows_1based: list[int], column: str) -> None:
    """The message names the file, the rows (1-based) and the column; the attributes agree."""
    msg = str(exc)
    assert str(path) in msg
    assert f"column {column!r}" in msg
    first_line = msg.splitlines()[0]
    m = re.search(r"data rows? ([0-9, ]+)", first_line)
    assert m, msg
    assert [int(x) for x in m.group(1).split(",")] == rows_1based
    assert "1-based" in first_line
    assert exc.column == column
    assert exc.rows == [r - 1 for r in rows_1based]  # zero-based, as errors.py documents
    assert exc.source == str(path)


# --------------------------------------------------------------------------------------------------
# constants
# --------------------------------------------------------------------------------------------------

def test_constants():
    assert SCHEMA_VERSION == 1
    assert REQUIRED_COLUMNS == ("model", "params_b", "gpu", "tp", "batch_size", "input_tokens",
                                "output_tokens", "energy_j")  # pp: optional since 2026-12-06, default 1
    assert OPTIONAL_DEFAULTS["pp"] == 1
    assert COLUMN_ORDER[:9] == ("model", "params_b", "gpu", "tp", "pp", "batch_size", "input_tokens",
                                "output_tokens", "energy_j")  # a validated frame's layout as while pp was required
    assert COLUMN_ORDER[9:] == tuple(c for c in OPTIONAL_DEFAULTS if c != "pp")
    assert set(PRECISIONS) == {"fp32", "fp16", "bf16", "fp8", "fp8_block", "int8", "int4", "mxfp4", "nvfp4",
                               "nvfp4a16"}
    assert set(MODALITIES) == {"text", "image", "video"}
    assert set(ARCHITECTURES) == {"dense", "moe", "hybrid"}
    assert OPTIONAL_DEFAULTS["ep"] == 1 and OPTIONAL_DEFAULTS["precision"] == "bf16"
    assert OPTIONAL_DEFAULTS["modality"] == "text" and OPTIONAL_DEFAULTS["architecture"] == "dense"
    assert OPTIONAL_DEFAULTS["task"] == ""
    for c in MEASURED_COLUMNS + ARCHITECTURE_COLUMNS:
        assert math.isnan(OPTIONAL_DEFAULTS[c])


# --------------------------------------------------------------------------------------------------
# the good path
# --------------------------------------------------------------------------------------------------

def test_good_csv_defaults_types_order(tmp_path):
    frame = good_frame()
    frame["my_note"] = ["a", "b", "c", "d"]
    frame.insert(0, "run_id", [10, 11, 12, 13])
    path = write_csv(tmp_path, frame)
    df = load_profiles(path)
    assert list(df.columns[: len(COLUMN_ORDER)]) == list(COLUMN_ORDER)
    assert len(COLUMN_ORDER) == len(REQUIRED_COLUMNS) + len(OPTIONAL_DEFAULTS)
    assert list(df.columns[len(COLUMN_ORDER):]) == ["run_id", "my_note"]
    for c in ("tp", "pp", "ep", "n_gpus"):
        assert df[c].dtype == np.int64
    for c in ("params_b", "batch_size", "energy_j", "active_params_b", "tpot_s", "n_layers"):
        assert df[c].dtype == np.float64
    for c in ("model", "gpu", "precision", "modality", "architecture", "task"):
        assert all(isinstance(v, str) for v in df[c])
    assert (df["ep"] == 1).all()
    assert df["n_gpus"].tolist() == [1, 2, 4, 8]
    assert (df["precision"] == "bf16").all() and (df["modality"] == "text").all()
    assert (df["architecture"] == "dense").all() and (df["task"] == "").all()
    assert (df["active_params_b"] == df["params_b"]).all()
    assert df["ttft_s"].isna().all()
    # architecture from the model table
    assert (df["n_layers"] == 32).all() and (df["d_model"] == 4096).all() and (df["n_kv_heads"] == 8).all()
    # unknown columns untouched
    assert df["run_id"].tolist() == [10, 11, 12, 13] and df["my_note"].tolist() == ["a", "b", "c", "d"]
    assert df.attrs["schema_version"] == 1 and df.attrs["source"] == str(path)
    assert "dropped" not in df.attrs


def test_dataframe_input_not_modified_and_source_name():
    frame = good_frame()
    before = frame.copy()
    df = load_profiles(frame)
    pd.testing.assert_frame_equal(frame, before)
    assert df.attrs["source"] == "<DataFrame>"
    bad = good_frame()
    bad.loc[2, "energy_j"] = -1.0
    with pytest.raises(ProfileSchemaError, match="<DataFrame>") as ei:
        load_profiles(bad)
    assert ei.value.rows == [2] and ei.value.column == "energy_j"


def test_architecture_filled_only_where_missing():
    frame = good_frame(2)
    frame["n_layers"] = [40.0, np.nan]
    frame["model"] = "mistralai/Mixtral-8x7B-Instruct-v0.1"
    frame["params_b"] = 46.7
    df = load_profiles(frame)
    assert df["n_layers"].tolist() == [40.0, 32.0]
    assert (df["n_experts"] == 8).all() and (df["experts_per_token"] == 2).all()
    assert (df["architecture"] == "moe").all()
    assert df["active_params_b"].iloc[0] == pytest.approx(46.7 * 12.880 / 46.703)
    # fill_architecture=False: nothing from the table, plain defaults
    df2 = load_profiles(frame, fill_architecture=False)
    assert df2["n_layers"].iloc[0] == 40.0 and math.isnan(df2["n_layers"].iloc[1])
    assert (df2["architecture"] == "dense").all() and (df2["active_params_b"] == 46.7).all()


def test_unknown_model_estimated_with_one_warning():
    frame = good_frame(3)
    frame["model"] = ["acme/Foo-13B", "acme/Foo-13B", "acme/Bar-70B"]
    frame["params_b"] = [13.0, 13.0, 70.0]
    with pytest.warns(EstimatedArchitectureWarning) as rec:
        df = load_profiles(frame)
    assert len(rec) == 1
    msg = str(rec[0].message)
    assert "acme/Foo-13B" in msg and "acme/Bar-70B" in msg and "<DataFrame>" in msg
    assert df["n_layers"].notna().all() and (df["head_dim"] == 128).all()
    assert (df["architecture"] == "dense").all()


def test_given_architecture_columns_are_kept_for_unknown_model():
    frame = good_frame(1)
    frame["model"] = "acme/Custom"
    for c, v in dict(n_layers=10, d_model=1024, n_heads=8, n_kv_heads=8, head_dim=128, n_experts=1,
                     experts_per_token=1).items():
        frame[c] = v
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        df = load_profiles(frame)
    assert df["n_layers"].iloc[0] == 10 and df["d_model"].iloc[0] == 1024


def test_text_values_normalised():
    frame = good_frame(3)
    frame["precision"] = ["BF16", "bfloat16", " FP8 "]
    frame["modality"] = ["Text", "image", "VIDEO"]
    frame["architecture"] = ["Dense", "moe", "HYBRID"]
    df = load_profiles(frame)
    assert df["precision"].tolist() == ["bf16", "bf16", "fp8"]
    assert df["modality"].tolist() == ["text", "image", "video"]
    assert df["architecture"].tolist() == ["dense", "moe", "hybrid"]


def test_empty_optional_cells_take_defaults(tmp_path):
    frame = good_frame(2)
    frame["precision"] = ["fp8", None]
    frame["ep"] = [np.nan, 1]
    frame["n_gpus"] = [np.nan, 2]
    frame["ttft_s"] = [0.1, np.nan]
    df = load_profiles(write_csv(tmp_path, frame))
    assert df["precision"].tolist() == ["fp8", "bf16"]
    assert df["ep"].tolist() == [1, 1] and df["n_gpus"].tolist() == [1, 2]
    assert df["ttft_s"].iloc[0] == 0.1 and math.isnan(df["ttft_s"].iloc[1])


def test_a_missing_column_names_the_found_column_it_may_be():
    """'batch' / 'input_len' (benchmarks' spellings) got the bare 'missing required column' with no hint."""
    frame = good_frame(2).rename(columns={"batch_size": "batch", "input_tokens": "input_len", "energy_j": "energy_js"})
    with pytest.raises(ProfileSchemaError, match=r"did you mean 'batch' for 'batch_size', 'input_len' for "
                                                 r"'input_tokens', 'energy_js' for 'energy_j'\?"):
        load_profiles(frame)
    with pytest.raises(ProfileSchemaError) as ei:   # nothing alike: no hint
        load_profiles(good_frame(2).drop(columns="tp"))
    assert "did you mean" not in str(ei.value)


def test_params_b_of_a_known_model_comes_from_the_model_table(tmp_path):
    """A configuration of a model the table knows needs no params_b (the search and the CLI's --model take the
    table's); it was a required column, so `model,gpu,tp,...` for Llama 3.1 8B was refused. A blank cell of an
    unknown model stays an error, which now says why the count is needed."""
    frame = good_frame(3).drop(columns=["params_b"])
    df = load_profiles(write_csv(tmp_path, frame))
    assert df["params_b"].tolist() == [find_model("meta-llama/Meta-Llama-3.1-8B-Instruct").params_b] * 3
    given = good_frame(3).assign(params_b=[7.5, np.nan, 8.03])   # a user's own count is kept
    assert load_profiles(given)["params_b"].tolist()[::2] == [7.5, 8.03]
    unknown = good_frame(2).assign(model=["acme/unknown-8b", "meta-llama/Meta-Llama-3.1-8B-Instruct"],
                                   params_b=[np.nan, np.nan])
    with pytest.raises(ProfileSchemaError, match=r"'params_b'.*the model table does not know the model.*data row 1 "):
        load_profiles(unknown)


# --------------------------------------------------------------------------------------------------
# one test per violation
# --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("column", REQUIRED_COLUMNS)
def test_missing_required_column(tmp_path, column):
    if column == "params_b":  # a known model's count comes from the model table; an unknown one's rows need it
        path = write_csv(tmp_path, good_frame().assign(model="acme/unknown-8b").drop(columns=[column]))
        with pytest.raises(ProfileSchemaError, match=r"missing value .*model table does not know") as ei:
            load_profiles(path)
        assert ei.value.column == column and ei.value.rows == [0, 1, 2, 3]
        return
    path = write_csv(tmp_path, good_frame().drop(columns=[column]))
    with pytest.raises(ProfileSchemaError) as ei:
        load_profiles(path)
    msg = str(ei.value)
    assert str(path) in msg and repr(column) in msg and "missing required column" in msg
    assert ei.value.column == column and ei.value.rows == []


def test_missing_required_column_raises_even_with_drop_invalid(tmp_path):
    path = write_csv(tmp_path, good_frame().drop(columns=["energy_j"]))
    with pytest.raises(ProfileSchemaError, match="energy_j"):
        load_profiles(path, drop_invalid=True)


@pytest.mark.parametrize("column", ["params_b", "tp", "pp", "batch_size", "input_tokens", "output_tokens",
                                    "energy_j", "ep", "n_gpus", "ttft_s", "active_params_b", "n_layers"])
def test_non_numeric_value(tmp_path, column):
    frame = good_frame().astype({column: object}) if column in good_frame() else good_frame()
    if column not in frame:
        frame[column] = np.nan
        frame = frame.astype({column: object})
    frame.loc[2, column] = "abc"
    path = write_csv(tmp_path, frame)
    with pytest.raises(ProfileSchemaError, match="non-numeric") as ei:
        load_profiles(path)
    assert_names(ei.value, path, [3], column)
    assert "'abc'" in str(ei.value)


@pytest.mark.parametrize("column", ["tp", "pp", "ep", "dp"])
def test_true_false_in_a_count_column_is_not_a_count(column):
    """ep = True (meaning "expert parallelism on") was cast to ep = 1 and fitted without a word."""
    frame = good_frame().assign(**{column: [True, True, False, True]})
    with pytest.raises(ProfileSchemaError, match=rf"column '{column}': non-numeric value in data rows 1, 2, 3") as ei:
        load_profiles(frame)
    assert "True" in str(ei.value)


@pytest.mark.parametrize("column", REQUIRED_COLUMNS)
def test_nan_or_empty_in_required_column(tmp_path, column):
    frame = good_frame().astype({column: object})
    if column == "params_b":  # (a known model's blank is the model table's count)
        frame["model"] = "acme/unknown-8b"
    frame.loc[1, column] = None
    frame.loc[3, column] = "" if column in ("model", "gpu") else None
    path = write_csv(tmp_path, frame)
    with pytest.raises(ProfileSchemaError, match="missing value") as ei:
        load_profiles(path)
    assert_names(ei.value, path, [2, 4], column)


def test_whitespace_model_name_is_missing(tmp_path):
    frame = good_frame()
    frame.loc[0, "model"] = "   "
    with pytest.raises(ProfileSchemaError, match="missing value") as ei:
        load_profiles(frame)
    assert ei.value.column == "model" and ei.value.rows == [0]


@pytest.mark.parametrize(("column", "value"), [
    ("tp", 0), ("tp", -2), ("tp", 1.5), ("pp", 0), ("pp", 2.5), ("ep", 0), ("ep", 1.5), ("n_gpus", 0),
])
def test_counts_must_be_integers_ge_1(tmp_path, column, value):
    frame = good_frame()
    frame[column] = frame[column] if column in frame else 1
    frame = frame.astype({column: float})
    if column == "n_gpus":
        frame["n_gpus"] = frame["tp"]
    frame.loc[1, column] = value
    path = write_csv(tmp_path, frame)
    with pytest.raises(ProfileSchemaError, match="integer >= 1") as ei:
        load_profiles(path)
    assert_names(ei.value, path, [2], column)


@pytest.mark.parametrize(("column", "value", "phrase"), [
    ("params_b", 0.0, "> 0"),
    ("params_b", -7.0, "> 0"),
    ("batch_size", 0.0, "> 0"),
    ("output_tokens", 0.0, "> 0"),
    ("energy_j", 0.0, "> 0"),
    ("energy_j", -3.5, "> 0"),
    ("input_tokens", -1.0, "> 0"),
    ("active_params_b", 0.0, "> 0"),
])
def test_non_positive_values(tmp_path, column, value, phrase):
    frame = good_frame()
    if column not in frame:
        frame[column] = frame["params_b"]
    frame.loc[[0, 3], column] = value
    path = write_csv(tmp_path, frame)
    with pytest.raises(ProfileSchemaError) as ei:
        load_profiles(path)
    assert phrase in str(ei.value).splitlines()[0]
    assert_names(ei.value, path, [1, 4], column)


def test_input_tokens_zero_is_refused():
    """An empty prompt cannot be priced (the features need >= 1 token): refused here, not by the features."""
    frame = good_frame()
    frame["input_tokens"] = 0.0
    with pytest.raises(ProfileSchemaError, match=r"'input_tokens': must be > 0"):
        load_profiles(frame)


@pytest.mark.parametrize("column", MEASURED_COLUMNS)
def test_measured_columns_positive_where_present(tmp_path, column):
    frame = good_frame()
    frame[column] = [1.0, np.nan, 0.0, 2.0]
    path = write_csv(tmp_path, frame)
    with pytest.raises(ProfileSchemaError, match="where measured") as ei:
        load_profiles(path)
    assert_names(ei.value, path, [3], column)


def test_infinite_energy(tmp_path):
    frame = good_frame()
    frame.loc[1, "energy_j"] = np.inf
    with pytest.raises(ProfileSchemaError, match="non-finite") as ei:
        load_profiles(frame)
    assert ei.value.rows == [1] and ei.value.column == "energy_j"


def test_active_params_above_total(tmp_path):
    frame = good_frame()
    frame["active_params_b"] = [8.03, 9.0, 8.03, 8.03]
    path = write_csv(tmp_path, frame)
    with pytest.raises(ProfileSchemaError, match="<= params_b") as ei:
        load_profiles(path)
    assert_names(ei.value, path, [2], "active_params_b")


def test_unknown_precision(tmp_path):
    frame = good_frame()
    frame["precision"] = ["bf16", "fp8", "q3_k_m", "bf16"]
    path = write_csv(tmp_path, frame)
    with pytest.raises(ProfileSchemaError, match="unknown precision") as ei:
        load_profiles(path)
    assert_names(ei.value, path, [3], "precision")
    assert "'q3_k_m'" in str(ei.value)


def test_kv_cache_dtype_is_validated_and_normalised(tmp_path):
    frame = good_frame()
    frame["kv_cache_dtype"] = ["auto", "FP8_E5M2", "", "int4"]
    path = write_csv(tmp_path, frame)
    with pytest.raises(ProfileSchemaError, match="unknown kv_cache_dtype") as ei:
        load_profiles(path)
    assert_names(ei.value, path, [4], "kv_cache_dtype")
    frame["kv_cache_dtype"] = ["auto", "FP8_E5M2", "", "bfloat16"]
    out = load_profiles(write_csv(tmp_path, frame))
    assert list(out["kv_cache_dtype"]) == ["auto", "fp8", "auto", "bf16"]


def test_unknown_modality(tmp_path):
    frame = good_frame()
    frame["modality"] = ["text", "audio", "text", "smell"]
    path = write_csv(tmp_path, frame)
    with pytest.raises(ProfileSchemaError, match="unknown modality") as ei:
        load_profiles(path)
    assert_names(ei.value, path, [2, 4], "modality")


def test_unknown_architecture(tmp_path):
    frame = good_frame()
    frame["architecture"] = ["dense", "dense", "dense", "mamba"]
    path = write_csv(tmp_path, frame)
    with pytest.raises(ProfileSchemaError, match="unknown architecture") as ei:
        load_profiles(path)
    assert_names(ei.value, path, [4], "architecture")


def test_n_gpus_inconsistent(tmp_path):
    frame = good_frame()
    frame["dp"] = [1, 1, 2, 1]
    frame["n_gpus"] = [1, 4, 8, 8]  # row 2: tp*pp*dp = 2
    path = write_csv(tmp_path, frame)
    with pytest.raises(ProfileSchemaError, match=r"tp \* pp \* dp") as ei:
        load_profiles(path)
    assert_names(ei.value, path, [2], "n_gpus")


def test_dp_derived_from_n_gpus_and_n_gpus_from_dp(tmp_path):
    frame = good_frame()
    frame["n_gpus"] = [4, 4, 8, 8]  # tp 1, 2, 4, 8 -> dp 4, 2, 2, 1
    df = load_profiles(write_csv(tmp_path, frame))
    assert df["dp"].tolist() == [4, 2, 2, 1] and df["dp"].dtype == np.int64
    frame = good_frame().drop(columns=[])
    frame["dp"] = [2, 1, 1, 1]
    df = load_profiles(write_csv(tmp_path, frame, "b.csv"))
    assert df["n_gpus"].tolist() == [2, 2, 4, 8]
    assert load_profiles(write_csv(tmp_path, good_frame(), "c.csv"))["dp"].tolist() == [1, 1, 1, 1]


def test_n_gpus_not_a_multiple_of_tp_pp(tmp_path):
    frame = good_frame()
    frame["n_gpus"] = [1, 3, 4, 8]  # row 2: tp 2 does not divide 3
    path = write_csv(tmp_path, frame)
    with pytest.raises(ProfileSchemaError, match=r"multiple of tp \* pp") as ei:
        load_profiles(path)
    assert_names(ei.value, path, [2], "n_gpus")


def moe_frame() -> pd.DataFrame:
    """vLLM deployments of a MoE model: TP 8 + EP 8 on 8 GPUs, DP 4 + EP 4 on 4 GPUs, TP 2 alone."""
    return pd.DataFrame({
        "model": ["Qwen/Qwen3-30B-A3B"] * 3, "params_b": [30.5] * 3, "gpu": ["H100"] * 3,
        "tp": [8, 1, 2], "pp": [1, 1, 1], "dp": [1, 4, 1], "ep": [8, 4, 1], "n_gpus": [8, 4, 2],
        "batch_size": [64.0] * 3, "input_tokens": [200.0] * 3, "output_tokens": [300.0] * 3,
        "energy_j": [50.0] * 3,
    })


def test_vllm_tp_ep_and_dp_ep_deployments_are_valid(tmp_path):
    df = load_profiles(write_csv(tmp_path, moe_frame()))
    assert df["ep"].tolist() == [8, 4, 1] and df["dp"].tolist() == [1, 4, 1] and df["n_gpus"].tolist() == [8, 4, 2]


def test_ep_must_divide_n_gpus(tmp_path):
    frame = moe_frame()
    frame["ep"] = [8, 3, 1]  # row 2: 3 does not divide 4
    path = write_csv(tmp_path, frame)
    with pytest.raises(ProfileSchemaError, match="must divide n_gpus") as ei:
        load_profiles(path)
    assert_names(ei.value, path, [2], "ep")


def test_ep_needs_a_moe_model(tmp_path):
    frame = good_frame()
    frame["architecture"] = ["dense"] * 4
    frame["ep"] = [1, 2, 1, 1]
    path = write_csv(tmp_path, frame)
    with pytest.raises(ProfileSchemaError, match="needs a MoE model") as ei:
        load_profiles(path)
    assert_names(ei.value, path, [2], "ep")


def test_old_files_with_ep_multiplying_the_gpu_count_stay_valid(tmp_path):
    frame = moe_frame().drop(columns=["dp"])
    frame["tp"], frame["ep"], frame["n_gpus"] = [2, 1, 2], [2, 4, 1], [4, 4, 2]  # old rule n = tp pp ep
    df = load_profiles(write_csv(tmp_path, frame))
    assert df["dp"].tolist() == [2, 4, 1]


def test_several_problems_all_listed(tmp_path):
    frame = good_frame()
    frame.loc[0, "energy_j"] = -1.0
    frame["precision"] = ["bf16", "bogus", "bf16", "bf16"]
    path = write_csv(tmp_path, frame)
    with pytest.raises(ProfileSchemaError) as ei:
        load_profiles(path)
    msg = str(ei.value)
    assert "1 more problem" in msg and "'precision'" in msg and "'energy_j'" in msg
    assert ei.value.column == "energy_j" and ei.value.rows == [0]


def test_many_rows_truncated_in_message(tmp_path):
    frame = pd.concat([good_frame()] * 10, ignore_index=True)
    frame["energy_j"] = 0.0
    with pytest.raises(ProfileSchemaError) as ei:
        load_profiles(frame)
    assert "and 20 more" in str(ei.value)
    assert ei.value.rows == list(range(40))


# --------------------------------------------------------------------------------------------------
# drop_invalid
# --------------------------------------------------------------------------------------------------

def test_drop_invalid_reports_what_it_dropped(tmp_path):
    frame = pd.concat([good_frame()] * 2, ignore_index=True)
    frame.loc[1, "energy_j"] = 0.0
    frame.loc[5, "energy_j"] = -2.0
    frame = frame.astype({"tp": object})
    frame.loc[6, "tp"] = "x"
    frame["precision"] = "bf16"
    frame.loc[5, "precision"] = "bogus"
    path = write_csv(tmp_path, frame)
    with pytest.warns(DroppedRowsWarning) as rec:
        df = load_profiles(path, drop_invalid=True)
    msg = str(rec[0].message)
    assert str(path) in msg and "dropped 3 of 8 rows" in msg
    assert "energy_j: must be > 0 (joules per request): 2 rows" in msg
    assert "tp: non-numeric value: 1 row" in msg
    assert "precision: unknown precision" in msg
    assert len(df) == 5 and list(df.index) == [0, 2, 3, 4, 7]
    dropped = df.attrs["dropped"]
    assert dropped["row"].tolist() == [2, 6, 7]
    assert "reason" in dropped.columns
    assert "energy_j" in dropped["reason"].iloc[0]
    assert "energy_j" in dropped["reason"].iloc[1] and "precision" in dropped["reason"].iloc[1]
    assert "tp: non-numeric value" in dropped["reason"].iloc[2]
    assert dropped["tp"].iloc[2] == "x"  # original values kept


def test_drop_invalid_with_nothing_to_drop_is_silent():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        df = load_profiles(good_frame(), drop_invalid=True)
    assert len(df) == 4 and df.attrs["dropped"].empty and "reason" in df.attrs["dropped"].columns


# --------------------------------------------------------------------------------------------------
# files
# --------------------------------------------------------------------------------------------------

def test_round_trip_csv(tmp_path):
    frame = good_frame()
    frame["extra"] = ["p", "q", "r", "s"]
    first = load_profiles(frame)
    path = tmp_path / "out.csv"
    first.to_csv(path, index=False)
    second = load_profiles(path)
    pd.testing.assert_frame_equal(first.reset_index(drop=True), second.reset_index(drop=True),
                                  check_dtype=False)
    for c in ("tp", "pp", "ep", "n_gpus"):
        assert second[c].dtype == np.int64


def test_round_trip_parquet(tmp_path):
    first = load_profiles(good_frame())
    path = tmp_path / "out.parquet"
    first.to_parquet(path)
    second = load_profiles(path)
    pd.testing.assert_frame_equal(first, second, check_dtype=False)


def test_parquet_validation_names_file(tmp_path):
    frame = good_frame()
    frame.loc[3, "output_tokens"] = 0.0
    path = tmp_path / "bad.parquet"
    frame.to_parquet(path)
    with pytest.raises(ProfileSchemaError) as ei:
        load_profiles(path)
    assert_names(ei.value, path, [4], "output_tokens")


def test_compressed_csv(tmp_path):
    path = tmp_path / "p.csv.gz"
    good_frame().to_csv(path, index=False)
    assert len(load_profiles(path)) == 4


def test_unsupported_suffix(tmp_path):
    path = tmp_path / "profiles.xlsx"
    path.write_text("x")
    with pytest.raises(ProfileSchemaError, match=r"unsupported file type '\.xlsx'") as ei:
        load_profiles(path)
    assert str(path) in str(ei.value)


def test_a_directory_that_is_not_a_store_names_its_tables(tmp_path):
    (tmp_path / "llm_configs_h100.csv").write_text("x")
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(ProfileSchemaError, match="a directory, but not a sweep store") as ei:
        load_profiles(tmp_path)
    assert "it holds llm_configs_h100.csv: pass one of them" in str(ei.value) and "notes.txt" not in str(ei.value)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ProfileSchemaError, match="energylens-store.json") as ei:
        load_profiles(empty)
    assert "holds" not in str(ei.value)


def test_missing_file(tmp_path):
    path = tmp_path / "nope.csv"
    with pytest.raises(FileNotFoundError, match="nope.csv"):
        load_profiles(path)


def test_not_a_path():
    with pytest.raises(TypeError, match=r"load_profiles takes a path .* or a pandas.DataFrame, not int"):
        load_profiles(42)


def test_empty_csv_is_an_error(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("")
    with pytest.raises(ProfileSchemaError, match="empty.csv"):
        load_profiles(path)


def test_header_only_csv_gives_empty_frame(tmp_path):
    path = tmp_path / "h.csv"
    path.write_text(",".join(REQUIRED_COLUMNS) + "\n")
    df = load_profiles(path)
    assert len(df) == 0 and list(df.columns[:9]) == list(COLUMN_ORDER[:9])  # pp (absent) in its place


def test_configs_without_energy_load_when_energy_is_not_required():
    import pandas as pd

    from energylens.profiles.schema import load_profiles

    frame = pd.DataFrame({"model": ["meta-llama/Meta-Llama-3.1-8B-Instruct"], "params_b": [8.03],
                          "gpu": ["H100 SXM"], "tp": [1], "pp": [1], "batch_size": [8.0],
                          "input_tokens": [100.0], "output_tokens": [200.0]})
    out = load_profiles(frame, require_energy=False)
    assert out["energy_j"].isna().all()
    assert out.loc[0, "n_layers"] == 32
    with pytest.raises(ProfileSchemaError, match="energy_j"):
        load_profiles(frame)


def test_float32_params_b_beside_float64_active_params_b_is_accepted():
    """active_params_b <= params_b allows float32 rounding: a column cast to float32 is not an error."""
    from energylens.profiles.datasets import mlenergy_v2
    from energylens.profiles.schema import as_profiles
    frame = mlenergy_v2().iloc[:40].copy()
    frame.attrs = {}
    assert "active_params_b" in frame
    mixed = frame.astype({"params_b": "float32"})
    got = as_profiles(mixed, require_energy=False)
    assert len(got) == len(frame)
    bad = frame.copy()
    bad["active_params_b"] = bad["params_b"] * 1.001  # a real excess is still refused
    with pytest.raises(ProfileSchemaError, match="active_params_b"):
        as_profiles(bad, require_energy=False)


def test_an_edited_active_params_b_is_checked_again():
    """The re-check of a validated frame covers active_params_b (a negative one was trusted)."""
    from energylens.profiles.datasets import mlenergy_v2
    from energylens.profiles.schema import as_profiles
    frame = mlenergy_v2().iloc[:5].copy()
    frame.loc[frame.index[1], "active_params_b"] = -1.0
    with pytest.raises(ProfileSchemaError, match="active_params_b"):
        as_profiles(frame, require_energy=False)


def _ep_rows(**cols) -> pd.DataFrame:
    base = {"model": "meta-llama/Llama-3.1-70B-Instruct", "params_b": 70.6, "gpu": "H100", "tp": 4, "pp": 1,
            "ep": 4, "batch_size": 8.0, "input_tokens": 500.0, "output_tokens": 300.0, "energy_j": 100.0}
    return pd.DataFrame([{**base, **cols}] * 2)


def test_expert_parallelism_on_a_model_the_table_knows_as_dense_is_an_error():
    """ep > 1 on Llama-3.1-70B without an architecture column was accepted and fitted as a dense model."""
    with pytest.raises(ProfileSchemaError, match="model table has this model as dense or hybrid") as ei:
        load_profiles(_ep_rows())
    assert ei.value.column == "ep" and ei.value.rows == [0, 1]


def test_expert_parallelism_on_an_unknown_model_needs_it_said_to_be_a_moe():
    with pytest.raises(ProfileSchemaError, match="model the model table lacks: say it is a MoE") as ei:
        load_profiles(_ep_rows(model="acme/Mixer-47B", params_b=46.7))
    assert ei.value.column == "ep"


def test_an_unknown_model_with_routed_experts_is_a_moe_sized_as_one():
    """n_experts > 1 without an architecture column: labelled and sized as a MoE (it was 'dense', with the
    layers of a dense 47B), and only the columns the rows left empty are said to be estimated."""
    rows = _ep_rows(model="acme/Mixer-47B", params_b=46.7, active_params_b=12.9, n_experts=8, experts_per_token=2,
                    tp=2, ep=2)
    with pytest.warns(EstimatedArchitectureWarning, match=r"'acme/Mixer-47B' \(46.7B; estimated: n_layers, d_model, "
                      r"n_heads, n_kv_heads, head_dim"):
        got = load_profiles(rows)
    said = load_profiles(rows.assign(architecture="moe"))
    assert (got["architecture"] == "moe").all()
    pd.testing.assert_frame_equal(got, said[got.columns])


def test_an_unknown_dense_model_with_every_shape_column_is_not_called_estimated():
    rows = _ep_rows(model="acme/SuperLM-13B", params_b=13.1, tp=1, ep=1, n_layers=40, d_model=5120, n_heads=40,
                    n_kv_heads=8, head_dim=128)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = load_profiles(rows)
    assert (got["architecture"] == "dense").all() and (got["n_experts"] == 1).all()


def test_feature_read_columns_are_checked_by_column_and_row():
    """video_frames = -4 was accepted and lowered the prediction; scale_up_domain_gpus = 0 failed later with
    a 0-based row and no file."""
    rows = good_frame(3).assign(model="Qwen/Qwen3-VL-8B-Instruct", params_b=8.8, modality="video",
                                video_frames=[-4, 0, 32], scale_up_domain_gpus=[8, 0, np.nan])
    with pytest.raises(ProfileSchemaError, match=r"column 'video_frames': must be >= 0 .* data row 1 of the DataFrame \(1-based") as ei:
        load_profiles(rows)
    assert "column 'scale_up_domain_gpus': must be a whole number of GPUs >= 1 in data row 2" in str(ei.value)
    ok = load_profiles(rows.assign(video_frames=[4, 0, 32], scale_up_domain_gpus=[8, np.nan, 16]))
    assert ok["video_frames"].tolist() == [4, 0, 32]


def test_feature_read_text_columns_are_checked_by_column_and_row():
    """mamba_ssm_cache_dtype = 'float33' failed inside the features with no file and no row, naming the
    wrong column; compute_precision = 'fp9' without the file."""
    rows = good_frame(3).assign(model="nvidia/NVIDIA-Nemotron-Nano-12B-v2", params_b=12.3,
                                mamba_ssm_cache_dtype=["float32", "float33", None], compute_precision=["bf16", "", "fp9"])
    rows.attrs["source"] = "runs.csv"
    with pytest.raises(ProfileSchemaError) as ei:
        load_profiles(rows)
    msg = str(ei.value)
    assert "column 'mamba_ssm_cache_dtype': unknown mamba_ssm_cache_dtype" in msg and "data row 2 of the DataFrame (1-based" in msg
    assert "column 'compute_precision': unknown compute_precision" in msg and "data row 3 of the DataFrame (1-based" in msg
