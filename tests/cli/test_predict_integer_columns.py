"""``energylens predict model.json configs.csv -o out.csv`` wrote the input's integer columns back as floats
(batch_size 64 became 64.0, input_tokens 512.0, params_b 8.0): the reader validates numbers as float64. The
output now keeps each column the input file held as integers an integer column (the user's file, round-tripped,
CSV and Parquet alike), a column written with decimals (64.0, 8.03) as it was, and the predictions floats."""

from __future__ import annotations

import pandas as pd
import pytest

from energylens.cli.main import main

CONFIGS = """model,params_b,gpu,tp,pp,batch_size,input_tokens,output_tokens,max_len,tpot_s
meta-llama/Meta-Llama-3.1-8B-Instruct,8,H100,1,1,64,512,300,4096,0.05
meta-llama/Meta-Llama-3.1-8B-Instruct,8,H100,2,1,128,1024,300,4096,0.04
"""
INTEGERS = ["params_b", "tp", "pp", "batch_size", "input_tokens", "output_tokens", "max_len"]


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "m.json"
    assert main(["fit", "bundled", "-o", str(path)]) == 0
    return path


def _configs(tmp_path, suffix: str, text: str = CONFIGS):
    path = tmp_path / f"configs{suffix}"
    if suffix == ".csv":
        path.write_text(text)
    else:
        (tmp_path / "c.csv").write_text(text)
        pd.read_csv(tmp_path / "c.csv").to_parquet(path)
    return path


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
@pytest.mark.parametrize("output", ["out.csv", "out.parquet"])
def test_integer_columns_stay_integers(model, tmp_path, suffix, output):
    out = tmp_path / output
    assert main(["predict", str(model), str(_configs(tmp_path, suffix)), "-o", str(out)]) == 0
    got = pd.read_csv(out) if output.endswith(".csv") else pd.read_parquet(out)
    for column in INTEGERS:
        assert pd.api.types.is_integer_dtype(got[column].dtype), (column, got[column].dtype)
    assert got["batch_size"].tolist() == [64, 128]
    assert got["tpot_s"].dtype == float and got["energy_j_pred"].dtype == float
    if output.endswith(".csv"):
        first = out.read_text().splitlines()[1]
        assert first.startswith("meta-llama/Meta-Llama-3.1-8B-Instruct,8,H100,1,1,64,512,300,4096,0.05,"), first


def test_a_column_written_with_decimals_keeps_them(model, tmp_path):
    text = CONFIGS.replace(",64,", ",64.0,").replace(",8,H100,1", ",8.03,H100,1")
    out = tmp_path / "out.csv"
    assert main(["predict", str(model), str(_configs(tmp_path, ".csv", text)), "-o", str(out)]) == 0
    first = out.read_text().splitlines()[1]
    assert first.startswith("meta-llama/Meta-Llama-3.1-8B-Instruct,8.03,H100,1,1,64.0,512,300,4096,"), first


@pytest.mark.parametrize("output", ["out.csv", "out.parquet"])
def test_filled_count_columns_are_integers(model, tmp_path, output):
    """The model table's counts the reader fills in (n_layers, n_heads, ...) were written as floats (32.0): they
    are whole numbers by meaning, written as integers now; params_b (a size) and the predictions stay floats."""
    out = tmp_path / output
    assert main(["predict", str(model), str(_configs(tmp_path, ".csv")), "-o", str(out)]) == 0
    got = pd.read_csv(out) if output.endswith(".csv") else pd.read_parquet(out)
    for column in ("n_layers", "d_model", "n_heads", "n_kv_heads", "head_dim", "n_experts", "experts_per_token"):
        assert pd.api.types.is_integer_dtype(got[column].dtype), (column, got[column].dtype)
    assert got["n_layers"].tolist() == [32, 32] and got["active_params_b"].dtype == float
    assert got["energy_j_pred"].dtype == float and got["ttft_s_pred"].dtype == float
    if output.endswith(".csv"):
        header, first = out.read_text().splitlines()[:2]
        at = header.split(",").index("n_layers")
        assert first.split(",")[at:at + 5] == ["32", "4096", "32", "8", "128"], first


def test_a_count_column_of_the_input_is_kept_as_written(model, tmp_path):
    text = CONFIGS.replace("tpot_s\n", "tpot_s,n_layers\n").replace("0.05\n", "0.05,32.0\n").replace(
        "0.04\n", "0.04,32.0\n")
    out = tmp_path / "out.csv"
    assert main(["predict", str(model), str(_configs(tmp_path, ".csv", text)), "-o", str(out)]) == 0
    header, first = out.read_text().splitlines()[:2]
    assert first.split(",")[header.split(",").index("n_layers")] == "32.0", first
