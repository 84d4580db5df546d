"""A user's ModelSpec with a value no model has is a ValueError naming the spec and the field
(energylens.search.specs), and two specs of one name with different values are refused naming the fields; a
candidate row whose override cells make such a model is an error naming the row and the field.
Before: "pp=1 exceeds the 0 layers", "tp=1 divides the attention heads of none of the models (x has nan)", a
schema error about data row 1 of an internal "<DataFrame>", a 40-field repr, or no error at all
(experts_per_token above n_experts clamped to it; 32 heads over 3 KV heads priced as given)."""

import dataclasses
import math

import pandas as pd
import pytest

from energylens import search
from energylens.profiles import tables
from energylens.search.candidates import candidate_space
from energylens.search.space import build_space
from energylens.search.specs import check_model_spec, spec_problem

BASE = tables.model_spec("meta-llama/Llama-3.1-8B-Instruct")
MOE = tables.model_spec("Qwen/Qwen3-30B-A3B")


def _spec(base=BASE, **changes) -> tables.ModelSpec:
    return dataclasses.replace(base, name="lab/x", aliases=(), **changes)


def test_every_model_table_row_passes():
    for name in tables.models()["name"]:
        assert check_model_spec(tables.model_spec(name)) is not None


@pytest.mark.parametrize(("changes", "field", "need"), [
    ({"n_layers": 0}, "n_layers", "whole number >= 1"),
    ({"n_layers": -2}, "n_layers", "whole number >= 1"),
    ({"n_layers": math.nan}, "n_layers", "whole number >= 1"),
    ({"n_layers": 31.5}, "n_layers", "whole number >= 1"),
    ({"n_heads": 0}, "n_heads", "whole number >= 1"),
    ({"n_heads": math.nan}, "n_heads", "whole number >= 1"),
    ({"n_kv_heads": 3}, "n_kv_heads", r"divisor of n_heads \(32\)"),
    ({"d_model": 0}, "d_model", "whole number >= 1"),
    ({"head_dim": True}, "head_dim", "whole number >= 1"),
    ({"params_b": 0.0}, "params_b", "> 0"),
    ({"params_b": math.nan}, "params_b", "> 0"),
    ({"active_params_b": 20.0}, "active_params_b", r"<= params_b \(8.03\)"),
    ({"n_experts": 0}, "n_experts", "whole number >= 1"),
    ({"experts_per_token": 4}, "experts_per_token", r"at most n_experts \(1\)"),
    ({"n_attention_layers": 40.0}, "n_attention_layers", r"at most n_layers \(32\)"),
    ({"sliding_window": -1.0}, "sliding_window", ">= 0"),
    ({"state_elems_per_seq": math.inf}, "state_elems_per_seq", ">= 0"),
])
def test_a_bad_spec_is_an_error_naming_the_spec_and_field(changes, field, need):
    with pytest.raises(ValueError, match=rf"ModelSpec 'lab/x' given to search\(model=\.\.\.\): {field} is .*{need}"):
        build_space([_spec(**changes)], "H100", input_tokens=512, output_tokens=256, tp=[1])


def test_a_bad_moe_spec_names_its_field():
    with pytest.raises(ValueError, match=r"experts_per_token is 200; it must be at most n_experts \(128\)"):
        search(model=_spec(MOE, experts_per_token=200), gpus="H100", input_tokens=512, output_tokens=256, tp=1,
               max_num_seqs=1, bootstrap=False)


@pytest.mark.parametrize("order", [0, 1])
def test_two_specs_of_one_name_with_different_values_are_refused(order):
    pair = [_spec(), _spec(n_layers=16)][:: 1 if order == 0 else -1]
    with pytest.raises(ValueError, match=r"two models are named 'lab/x' with different values \(n_layers (32 vs 16|16 vs 32)\)"):
        build_space(pair, "H100", input_tokens=512, output_tokens=256, tp=[1])


def test_a_spec_named_as_a_table_row_beside_that_row_is_refused_naming_the_field():
    edited = dataclasses.replace(BASE, n_layers=16)
    with pytest.raises(ValueError, match=r"different values \(n_layers 16 vs 32\)"):
        build_space([edited, "llama-3.1-8b"], "H100", input_tokens=512, output_tokens=256, tp=[1])
    with pytest.raises(ValueError, match=r"models: 'meta-llama/Meta-Llama-3.1-8B-Instruct' and 'llama-3.1-8b' are the same"):
        build_space(["llama-3.1-8b", BASE], "H100", input_tokens=512, output_tokens=256, tp=[1])


def test_an_estimated_architecture_passes_the_same_rules():
    """Estimates are checked like a user's spec, with no exemption: their heads divide by their KV heads at every
    size (8 B is 32 over 8; it was 30 over 8, which the check then had to exempt)."""
    for p in (0.5, 1.0, 3.0, 8.0, 70.0, 400.0):
        for kind in ("dense", "moe", "hybrid"):
            spec = tables.estimate_architecture(p, kind, None)
            assert spec_problem(spec) is None and check_model_spec(spec) is spec


ROW = dict(gpu="H100", tp=1, batch_size=8, input_tokens=1000, output_tokens=200)


@pytest.mark.parametrize(("model", "cells", "message"), [
    (BASE.name, {"n_kv_heads": 3}, r"n_kv_heads is 3(\.0)? \(the row's own\); it must be a divisor of n_heads \(32\)"),
    (BASE.name, {"experts_per_token": 4}, r"experts_per_token is 4(\.0)? \(the row's own\); it must be at most n_experts \(1\)"),
    (BASE.name, {"n_attention_layers": 50}, r"n_attention_layers is 50(\.0)? \(the row's own\); it must be at most n_layers"),
    (BASE.name, {"sliding_window": -4, "n_sliding_layers": 3}, r"sliding_window is -4(\.0)? \(the row's own\)"),
    (BASE.name, {"state_elems_per_seq": math.inf}, r"state_elems_per_seq is inf \(the row's own\)"),
])
def test_a_candidate_row_whose_cells_describe_no_model_is_an_error_naming_the_row(model, cells, message):
    df = pd.DataFrame([dict(ROW, model=BASE.name, tp=2), dict(ROW, model=model, **cells)])
    with pytest.raises(ValueError, match=r"candidates: row 1 \(0-based\): " + message):
        candidate_space(df)


def test_an_unknown_models_estimate_with_its_rows_params_passes():
    df = pd.DataFrame([dict(ROW, model="lab/unknown", params_b=8.0)])
    with pytest.warns(tables.EstimatedArchitectureWarning):
        space, _ = candidate_space(df)
    assert len(space.combos) == 1


@pytest.mark.parametrize(("model", "cells"), [("google/gemma-3-27b-it", {"n_layers": 20}), (MOE.name, {"n_experts": 4}),
                                              (BASE.name, {"n_heads": 30})])
def test_a_row_cell_that_only_clamps_a_table_value_is_allowed(model, cells):
    """The features clamp the table's value to the row's (sliding layers to its n_layers, experts per token to its
    experts), as EnergyModel.predict does; such rows were searched before and still are."""
    space, index = candidate_space(pd.DataFrame([dict(ROW, model=model, **cells)]))
    assert len(index) == 1
