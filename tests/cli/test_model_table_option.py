"""``--model-table FILE``: a model the bundled table lacks (a small dense fine-tune, a MoE release) searched over the
axes from the command line, as the Python API does after register_model_table; bad files exit 2 naming the file,
row and column; the same commands as ``--gpu-table`` take it."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from energylens.cli.main import build_parser, main
from energylens.profiles import model_table, tables
from energylens.search import search
from energylens.search.api import bundled_model

TABLE = ("name,aliases,family,architecture,params_b,active_params_b,n_layers,d_model,n_heads,n_kv_heads,head_dim,"
         "n_experts,experts_per_token,source,intermediate_size,moe_intermediate_size,context_window_tokens,vocab_size,"
         "tie_word_embeddings\n"
         "acme/Coder-3B,,acme,dense,3.2,3.2,28,3072,24,8,128,1,1,https://example.com/c3b/config.json,8192,,32768,"
         "32000,1\n"
         "acme/Mixture-30B-A4B,,acme,moe,30.5,4.2,32,2560,32,4,80,64,4,https://example.com/m30/config.json,,1536,"
         "65536,151936,0\n")
MODELS = "acme/Coder-3B,acme/Mixture-30B-A4B"
AXES = ["--gpus", "H100,H200", "--input-tokens", "1000", "--output-tokens", "300", "--tp", "1,2",
        "--max-num-seqs", "16,64", "--top", "8", "--json"]


@pytest.fixture(autouse=True)
def _no_user_models():
    model_table.clear_user_models()
    yield
    model_table.clear_user_models()


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "model.json"
    bundled_model().save(path)
    return str(path)


@pytest.fixture
def table(tmp_path):
    path = tmp_path / "my_models.csv"
    path.write_text(TABLE)
    return path


def test_search_a_dense_and_a_moe_model_from_a_model_table(table, model_file, capsys):
    status = main(["search", "--model", MODELS, *AXES, "--model-file", model_file, "--model-table", str(table)])
    out, err = capsys.readouterr()
    assert status == 0, err
    assert "2 model(s) registered: acme/Coder-3B, acme/Mixture-30B-A4B" in err
    doc = json.loads(out)
    assert doc["candidates"] == 2 * 2 * 2 * 2 and doc["feasible"] > 0
    assert {row["model"] for row in doc["top"]} == {"acme/Coder-3B", "acme/Mixture-30B-A4B"}
    # API parity: register_model_table + search(model=names), and search(model=ModelSpecs) of the rows
    model_table.clear_user_models()
    specs = model_table.register_model_table(table)
    kwargs = dict(input_tokens=1000, output_tokens=300, tp=[1, 2], max_num_seqs=[16, 64], top=8,
                  energy_model=model_file)
    by_name = json.loads(search(MODELS.split(","), ["H100", "H200"], **kwargs).to_json())
    model_table.clear_user_models()
    by_spec = json.loads(search(list(specs), ["H100", "H200"], **kwargs).to_json())
    for other in (by_name, by_spec):
        assert [(r["model"], r["gpu"], r["tp"], r["energy_j"]) for r in other["top"]] == \
            [(r["model"], r["gpu"], r["tp"], r["energy_j"]) for r in doc["top"]]


def test_an_unknown_model_names_the_option(model_file, capsys):
    assert main(["search", "--model", "acme/Coder-3B", *AXES, "--model-file", model_file]) == 2
    err = capsys.readouterr().err
    assert "unknown model 'acme/Coder-3B'" in err and "--model-table FILE" in err


@pytest.mark.parametrize(("edit", "where"), [
    (lambda t: t.replace(",28,3072,", ",28,3O72,"), "data row 1 (1-based, header not counted), column 'd_model': "
                                                    "'3O72' is not a number"),
    (lambda t: t.replace(",moe,", ",MoE-ish,"), "data row 2 (1-based, header not counted), column 'architecture': "
                                               "'MoE-ish' is not one of dense, moe, hybrid"),
    (lambda t: t.replace(",64,4,", ",64,65,"), "data row 2 (1-based, header not counted), column 'experts_per_token'"),
    # a bundled model's name with another shape: the clash rule of --gpu-table (blank cells only)
    (lambda t: t.replace("acme/Coder-3B,", "acme/Llama-3.2-3B-Instruct,"),
     "data row 1 (1-based, header not counted), column 'params_b': model 'acme/Llama-3.2-3B-Instruct' is the bundled "
     "model 'meta-llama/Llama-3.2-3B-Instruct'"),
])
def test_a_bad_model_table_exits_2_naming_file_row_and_column(tmp_path, model_file, capsys, edit, where):
    path = tmp_path / "bad.csv"
    path.write_text(edit(TABLE))
    assert main(["search", "--model", "acme/Mixture-30B-A4B", *AXES, "--model-file", model_file,
                 "--model-table", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"ModelTableError: {path}: {where}" in err, err


def test_the_commands_that_take_gpu_table_take_model_table():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.choices and "search" in a.choices).choices
    gpu = {c for c, p in sub.items() if any("--gpu-table" in a.option_strings for a in p._actions)}
    model = {c for c, p in sub.items() if any("--model-table" in a.option_strings for a in p._actions)}
    assert gpu == model == {"fit", "predict", "evaluate", "search", "discover"}


def test_predict_reads_a_profile_of_a_user_model(table, model_file, tmp_path, capsys):
    rows = pd.DataFrame([dict(model="acme/Coder-3B", gpu="H100", tp=1, pp=1, batch_size=b, input_tokens=1000,
                              output_tokens=300) for b in (8, 32)])
    rows.to_csv(prof := tmp_path / "rows.csv", index=False)
    out = tmp_path / "pred.csv"
    assert main(["predict", model_file, str(prof), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "column 'params_b'" in err and "--model-table FILE" in err
    assert main(["predict", model_file, str(prof), "-o", str(out), "--model-table", str(table)]) == 0, \
        capsys.readouterr().err
    pred = pd.read_csv(out)
    assert (pred["energy_j_pred"] > 0).all() and (pred["n_layers"] == 28).all()
    assert tables.find_model("acme/Coder-3B").d_model == 3072
