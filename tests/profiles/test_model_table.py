"""A user model table (energylens.profiles.model_table): its rows are found by name, every bad cell is named with
the file, row and column, the clash rule is the GPU table's (fill blanks only), and ModelSpec's architecture is
one of the table's."""

from __future__ import annotations

import dataclasses
import math

import pytest

from energylens.profiles import checkpoints, model_table, tables
from energylens.profiles.model_table import ModelTableError

HEADER = ("name,aliases,family,architecture,params_b,active_params_b,n_layers,d_model,n_heads,n_kv_heads,head_dim,"
          "n_experts,experts_per_token,source,intermediate_size,moe_intermediate_size,context_window_tokens,"
          "vocab_size,tie_word_embeddings,checkpoint_precision\n")
DENSE = "acme/Coder-13B,acme-coder-13b,acme,dense,13.0,13.0,40,5120,40,8,128,1,1,,13824,,32768,32000,0,\n"
MOE = "acme/Mixture-30B-A4B,,acme,moe,30.5,4.2,32,2560,32,4,80,64,4,,,1536,65536,151936,1,fp8\n"


@pytest.fixture(autouse=True)
def _no_user_models():
    model_table.clear_user_models()
    yield
    model_table.clear_user_models()


def _same(a: tables.ModelSpec, b: tables.ModelSpec) -> bool:
    """Equal field by field, NaN equal to NaN (a parsed blank is not the table's NaN object)."""
    return all(x == y or (isinstance(x, float) and isinstance(y, float) and math.isnan(x) and math.isnan(y))
               for x, y in zip(dataclasses.astuple(a), dataclasses.astuple(b), strict=True))


def _table(tmp_path, *rows: str, name: str = "models.csv", header: str = HEADER):
    path = tmp_path / name
    path.write_text(header + "".join(rows))
    return path


def test_registered_rows_are_found_by_name_alias_and_variant(tmp_path):
    assert tables.find_model("acme/Coder-13B") is None
    specs = model_table.register_model_table(_table(tmp_path, DENSE, MOE))
    assert [s.name for s in specs] == ["acme/Coder-13B", "acme/Mixture-30B-A4B"]
    dense = tables.find_model("acme/Coder-13B")
    assert (dense.n_layers, dense.d_model, dense.intermediate_size, dense.context_window_tokens) == (40, 5120, 13824, 32768)
    assert math.isnan(dense.vision_params_b) and dense.source.startswith("user model table")
    assert tables.find_model("acme-coder-13b") is dense and tables.find_model("acme/Coder-13B-AWQ") is dense
    moe = tables.model_spec("acme/Mixture-30B-A4B")
    assert (moe.architecture, moe.n_experts, moe.experts_per_token) == ("moe", 64, 4)
    # its checkpoint_precision cell: the search's default format, as a bundled row's
    assert checkpoints.checkpoint_precision("acme/Mixture-30B-A4B") == "fp8"
    assert model_table.user_models() == (dense, moe)
    model_table.unregister_model("acme-coder-13b")
    assert tables.find_model("acme/Coder-13B") is None and checkpoints.checkpoint_precision("acme/Coder-13B") == "bf16"


def test_load_registers_nothing_and_the_bundled_table_is_unchanged(tmp_path):
    assert len(model_table.load_model_table(_table(tmp_path, DENSE))) == 1
    assert tables.find_model("acme/Coder-13B") is None
    model_table.register_model_table(_table(tmp_path, DENSE))
    assert "acme/Coder-13B" not in set(tables.models()["name"])
    assert tables.find_model("Qwen/Qwen3-8B").name == "Qwen/Qwen3-8B"


@pytest.mark.parametrize(("row", "column", "message"), [
    (DENSE.replace(",40,5120,", ",4x0,5120,"), "n_layers", "'4x0' is not a number"),
    (DENSE.replace(",40,5120,", ",40.5,5120,"), "n_layers", "'40.5' is not a whole number"),
    (DENSE.replace(",40,5120,", ",,5120,"), "n_layers", "blank; every model gives it"),
    (DENSE.replace(",dense,", ",denso,"), "architecture", "'denso' is not one of dense, moe, hybrid"),
    (DENSE.replace("13.0,13.0", "13.0,14.0"), "active_params_b", "<= params_b (13)"),
    (DENSE.replace(",40,8,128,", ",40,7,128,"), "n_kv_heads", "a divisor of n_heads (40)"),
    (MOE.replace(",64,4,", ",4,64,"), "experts_per_token", "at most n_experts (4)"),
    (DENSE.replace(",32768,", ",-1,"), "context_window_tokens", "'-1' is not a finite number >= 0"),
    (DENSE.replace(",0,\n", ",0,fp9\n"), "checkpoint_precision", "fp9"),
    (",x,acme,dense,13.0,13.0,40,5120,40,8,128,1,1,,,,,,,\n", "name", "missing model name"),
])
def test_every_bad_cell_names_file_row_and_column(tmp_path, row, column, message):
    path = _table(tmp_path, MOE, row)
    with pytest.raises(ModelTableError) as info:
        model_table.register_model_table(path)
    text = str(info.value)
    assert text.startswith(f"{path}: data row 2 (1-based, header not counted), column {column!r}: "), text
    assert message in text and info.value.column == column and info.value.rows == [1]
    assert model_table.user_models() == ()  # nothing of a bad file is registered


@pytest.mark.parametrize(("header", "message"), [
    (HEADER.replace("n_heads,", "n_head,"), "unknown column(s) 'n_head'"),
    (HEADER.replace("n_layers,", ""), "needs the column(s) 'n_layers'"),
])
def test_bad_columns_are_named(tmp_path, header, message):
    row = DENSE if "n_layers," in header else DENSE.replace(",40,5120,", ",5120,")
    with pytest.raises(ModelTableError, match=message.replace("(", r"\(").replace(")", r"\)")):
        model_table.load_model_table(_table(tmp_path, row, header=header))


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="model table not found"):
        model_table.load_model_table(tmp_path / "none.csv")
    with pytest.raises(ModelTableError, match="is a folder"):
        model_table.load_model_table(tmp_path)


def test_a_bundled_name_may_fill_blanks_but_not_change_a_value(tmp_path):
    bundled = tables.find_model("meta-llama/Llama-3.1-8B")
    same = ("myorg/Llama-3.1-8B,,,dense,8.03,8.03,32,4096,32,8,128,1,1,,14336,,,128256,0,\n")
    (spec,) = model_table.register_model_table(_table(tmp_path, same))
    assert spec.name == bundled.name and "myorg/Llama-3.1-8B" in spec.aliases
    assert _same(dataclasses.replace(spec, aliases=bundled.aliases), bundled)
    model_table.clear_user_models()
    other = same.replace(",32,4096,", ",40,4096,")
    path = _table(tmp_path, other, name="clash.csv")
    with pytest.raises(ModelTableError) as info:
        model_table.register_model_table(path)
    text = str(info.value)
    assert info.value.column == "n_layers" and "data row 1" in text and str(path) in text
    assert "the bundled model 'meta-llama/Meta-Llama-3.1-8B-Instruct'" in text and "give it another name" in text
    assert tables.find_model("myorg/Llama-3.1-8B") is tables.find_model("meta-llama/Llama-3.1-8B")


def test_two_descriptions_of_one_model(tmp_path):
    first = _table(tmp_path, DENSE.replace(",32000,0,", ",,,"), name="a.csv")
    model_table.register_model_table(first)
    model_table.register_model_table(_table(tmp_path, DENSE, name="b.csv"))  # fills the blanks
    assert tables.find_model("acme/Coder-13B").vocab_size == 32000
    with pytest.raises(ModelTableError, match=r"c\.csv: data row 1 .*column 'd_model'.* described by .*b\.csv "
                                              r"\(data row 1\) with d_model = 5120; 6144 describes a different model"):
        model_table.register_model_table(_table(tmp_path, DENSE.replace(",5120,", ",6144,"), name="c.csv"))
    model_table.register_model_table(_table(tmp_path, DENSE.replace(",5120,", ",6144,"), name="b.csv"))  # replaces
    assert tables.find_model("acme/Coder-13B").d_model == 6144
    with pytest.raises(ModelTableError, match="data row 2.*column 'd_model'.*described on data row 1"):
        model_table.load_model_table(_table(tmp_path, DENSE, DENSE.replace(",5120,", ",6144,"), name="d.csv"))
    with pytest.raises(ModelTableError, match="column 'aliases'.*'acme-coder-13b' is given to two models"):
        model_table.load_model_table(_table(tmp_path, DENSE, MOE.replace(",,acme,moe", ",acme-coder-13b,acme,moe"),
                                            name="e.csv"))


def test_register_model_is_the_python_equivalent_of_a_row(tmp_path):
    (from_file,) = model_table.load_model_table(_table(tmp_path, DENSE))
    spec = dataclasses.replace(tables.estimate_architecture(13.0), name="acme/Coder-13B", aliases=("acme-coder-13b",),
                               family="acme", n_layers=40, d_model=5120, n_heads=40, n_kv_heads=8, head_dim=128,
                               estimated=False, source=from_file.source, intermediate_size=13824.0,
                               context_window_tokens=32768.0, vocab_size=32000.0, tie_word_embeddings=0.0)
    assert _same(model_table.register_model(spec), from_file) and _same(tables.find_model("acme/Coder-13B"), from_file)
    with pytest.raises(ModelTableError, match="n_kv_heads"):
        model_table.register_model(dataclasses.replace(spec, name="acme/bad", aliases=(), n_kv_heads=7))


def test_model_spec_architecture_is_checked():
    base = tables.find_model("Qwen/Qwen3-8B")
    with pytest.raises(ValueError, match="architecture 'denso' is not one of dense, moe, hybrid"):
        dataclasses.replace(base, architecture="denso")
    assert dataclasses.replace(base, architecture=" MoE").architecture == "moe"
    assert set(tables.models()["architecture"]) <= {"dense", "moe", "hybrid"}
