"""A column named as ``ep`` or ``dp`` otherwise (``expert_parallel``, vLLM's ``data_parallel_size``, ...) in a table
or request without the schema's own column is an error naming it, as ``pipeline_parallel_size`` is for ``pp``
(tests/profiles/test_optional_pp.py). Until 2026-12-07 it was kept as an unknown column and ignored: a request
``{..., "tp": 1, "expert_parallel": 8}`` of an MoE model predicted with ep = 1, silently."""
from __future__ import annotations

import pandas as pd
import pytest

from energylens.errors import ProfileSchemaError
from energylens.model import EnergyModel
from energylens.profiles import load_profiles
from energylens.profiles.light import light_profiles

LLAMA = "meta-llama/Meta-Llama-3.1-8B-Instruct"


def table(**extra) -> pd.DataFrame:
    return pd.DataFrame({"model": [LLAMA] * 4, "gpu": ["H100"] * 4, "tp": [2, 2, 4, 8], "batch_size": [16.0] * 4,
                         "input_tokens": [200.0] * 4, "output_tokens": [300.0] * 4, "energy_j": [50.0] * 4, **extra})


@pytest.mark.parametrize("name, column, what", [
    ("expert_parallel", "ep", "expert-parallel"), ("expert_parallel_size", "ep", "expert-parallel"),
    ("ep_size", "ep", "expert-parallel"), ("data_parallel", "dp", "data-parallel"),
    ("data_parallel_size", "dp", "data-parallel"), ("dp_size", "dp", "data-parallel")])
def test_a_column_named_as_ep_or_dp_otherwise_is_an_error(name, column, what):
    frame = table(**{name: [1] * 4})
    with pytest.raises(ProfileSchemaError, match=rf"column '{name}' looks like the {what} degree.*'{column}' only.*"
                                                 rf"rename it to '{column}'") as ei:
        load_profiles(frame)
    assert ei.value.column == name and ei.value.rows == []
    assert light_profiles(frame, require_energy=True) is None  # the light path leaves it to that error
    kept = load_profiles(frame.assign(**{column: 1}))  # beside the schema's column it is the table's own
    assert kept[column].tolist() == [1] * 4 and kept[name].tolist() == [1] * 4


def test_a_request_with_one_is_refused_too():
    model = EnergyModel()
    request = {k: v[0] for k, v in table().drop(columns="energy_j").to_dict("list").items()}
    with pytest.raises(ProfileSchemaError, match="key 'expert_parallel' looks like the expert-parallel degree"):
        model.fit([dict(request, energy_j=1.0, expert_parallel=2)] * 20)
