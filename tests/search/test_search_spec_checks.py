"""A user's ModelSpec with a value no model has is a ValueError naming the spec and the field
(energylens.search.specs), and two specs of one name with different values are refused naming the fields.
Before: "pp=1 exceeds the 0 layers", "tp=1 divides the attention heads of none of the models (x has nan)", a
schema error about data row 1 of an internal "<DataFrame>", a 40-field repr, or no error at all
(experts_per_token above n_experts clamped to it; 32 heads over 3 KV heads priced as given)."""

import dataclasses
import math

import pytest

from energylens import search
from energylens.profiles import tables
from energylens.search.space import build_space
from energylens.search.specs import check_model_spec

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
