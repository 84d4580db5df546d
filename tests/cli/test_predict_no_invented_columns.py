"""``energylens predict model.json configs.csv -o out.csv`` on configurations without energies wrote an empty
``energy_j`` column beside ``energy_j_pred`` (and empty prefill_energy_j, decode_energy_j, ttft_s, tpot_s, latency_s,
avg_power_w, task, image_tokens_per_image: the schema's columns the reader adds), none of them in the input. The
output now holds the input's columns, the values the reader filled in that the predictions rest on (precision,
n_layers, ...: docs/cli.md) and the predictions, and no column the reader added empty."""

from __future__ import annotations

import pandas as pd
import pytest

from energylens.cli.main import main

CONFIGS = """note,model,params_b,gpu,tp,pp,batch_size,input_tokens,output_tokens,tpot_s
a,meta-llama/Meta-Llama-3.1-8B-Instruct,8.03,H100,1,1,64,512,300,
b,meta-llama/Meta-Llama-3.1-8B-Instruct,8.03,H100,2,1,64,512,300,
"""
EMPTY_ADDED = ["energy_j", "prefill_energy_j", "decode_energy_j", "ttft_s", "latency_s", "avg_power_w", "task",
               "image_tokens_per_image"]


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "m.json"
    assert main(["fit", "bundled", "-o", str(path)]) == 0
    return path


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_predict_writes_no_empty_column_the_input_did_not_have(model, tmp_path, suffix, capsys):
    configs = tmp_path / f"configs{suffix}"
    if suffix == ".csv":
        configs.write_text(CONFIGS)
    else:
        (tmp_path / "c.csv").write_text(CONFIGS)
        pd.read_csv(tmp_path / "c.csv").to_parquet(configs)
    out = tmp_path / "out.csv"
    assert main(["predict", str(model), str(configs), "-o", str(out)]) == 0
    columns = list(pd.read_csv(out).columns)
    assert not set(EMPTY_ADDED) & set(columns), columns
    assert columns[:10] == CONFIGS.splitlines()[0].split(","), columns  # the input's, in its order, first
    assert "tpot_s" in columns  # given (empty): kept
    assert {"energy_j_pred", "precision", "n_layers"} <= set(columns), columns


def test_a_measured_energy_column_is_kept(model, tmp_path):
    configs = tmp_path / "c.csv"
    configs.write_text(CONFIGS.replace("tpot_s", "energy_j").replace(",\n", ",123.0\n"))
    out = tmp_path / "out.csv"
    assert main(["predict", str(model), str(configs), "-o", str(out)]) == 0
    assert pd.read_csv(out)["energy_j"].tolist() == [123.0, 123.0]
