"""A new user's model table, as they write it: a header a letter off a column is named with it, and a count in
parameters where the column counts billions is an error in the table, not in the profile that names the model."""

from __future__ import annotations

import re

import pytest

from energylens.profiles import model_table


def _model_table(tmp_path, header: str, row: str):
    path = tmp_path / "my_models.csv"
    path.write_text(header + "\n" + row + "\n")
    return path


MODEL_HEADER = ("name,architecture,params_b,active_params_b,n_layers,d_model,n_heads,n_kv_heads,head_dim,n_experts,"
                "experts_per_token")


def test_a_model_table_header_a_letter_off_is_named_with_the_column(tmp_path):
    path = _model_table(tmp_path, MODEL_HEADER.replace("n_layers", "n_layer"),
                        "acme/Coder-8B,dense,8.03,8.03,32,4096,32,8,128,1,1")
    with pytest.raises(model_table.ModelTableError, match=re.escape("'n_layer' (did you mean 'n_layers'?)")):
        model_table.load_model_table(path)


def test_a_model_table_count_in_parameters_is_named_in_the_table_not_in_the_profile(tmp_path):
    """Before, 8030000000 was registered and predict then blamed the configuration file's params_b ('value(s): nan')."""
    path = _model_table(tmp_path, MODEL_HEADER, "acme/Coder-8B,dense,8030000000,8.03,32,4096,32,8,128,1,1")
    with pytest.raises(model_table.ModelTableError,
                       match=r"data row 1 .*column 'params_b': 8\.03e\+09 billion parameters .*write 8\.03$"):
        model_table.load_model_table(path)


def test_model_aliases_written_comma_separated_are_an_error_naming_the_cell(tmp_path):
    path = _model_table(tmp_path, MODEL_HEADER + ",aliases",
                        'acme/Coder-8B,dense,8.03,8.03,32,4096,32,8,128,1,1,"coder-8b, acme/coder"')
    with pytest.raises(model_table.ModelTableError, match=re.escape(
            "column 'aliases': 'coder-8b, acme/coder' holds a ','; aliases are ';'-separated: write "
            "'coder-8b; acme/coder'")):
        model_table.load_model_table(path)
