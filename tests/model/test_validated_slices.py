"""A frame validated by energylens (load_profiles, read_profiles) and then sliced (``df.iloc[:n]``, a boolean mask,
``.loc``, ``sample``) keeps its validated mark (pandas keeps ``attrs`` through a selection) and predicts without being
validated again: the schema's pass cost 5.7 s on 1e6 rows, the re-check of a marked frame (profiles/recheck.py,
limits.py) about 0.05 s. The mark never vouches for values: a slice whose cell was then set to a value the schema
refuses is still caught, naming the column, whichever way it was selected."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from energylens.errors import ProfileSchemaError
from energylens.model import EnergyModel
from energylens.profiles import load_profiles, schema
from energylens.profiles.datasets import mlenergy_v2

COLUMNS = ["model", "params_b", "gpu", "tp", "pp", "batch_size", "input_tokens", "output_tokens"]
SLICES = {"iloc": lambda v: v.iloc[: len(v) // 2], "mask": lambda v: v[v["batch_size"] > 100],
          "loc": lambda v: v.loc[v.index[10]: v.index[1500]], "sample": lambda v: v.sample(700, random_state=1),
          "columns": lambda v: v[list(v.columns)], "step": lambda v: v.iloc[::3]}


@pytest.fixture(scope="module")
def model() -> EnergyModel:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return EnergyModel(bootstrap=0, n_starts=1).fit(mlenergy_v2().sample(60, random_state=0))


@pytest.fixture(scope="module")
def validated() -> pd.DataFrame:
    raw = mlenergy_v2()[COLUMNS].sample(3000, replace=True, random_state=2).reset_index(drop=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_profiles(raw, require_energy=False)


@pytest.fixture
def validations(monkeypatch) -> list:
    """The schema's full passes (every validation, first or again, goes through schema._load)."""
    calls, real = [], schema._load

    def counted(frame, *args, **kwargs):
        calls.append(len(frame))
        return real(frame, *args, **kwargs)

    monkeypatch.setattr(schema, "_load", counted)
    return calls


@pytest.mark.parametrize("how", sorted(SLICES))
def test_a_slice_of_a_validated_frame_is_not_validated_again(model, validated, validations, how):
    part = SLICES[how](validated)
    assert part.attrs.get("schema_version") == schema.SCHEMA_VERSION
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = model.predict(part, chunk_rows=256)  # several chunks: each one's re-check too
    assert validations == []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fresh = model.predict(pd.DataFrame({c: part[c].to_numpy() for c in COLUMNS}))  # no attrs: a raw table
    np.testing.assert_array_equal(got, fresh)  # the same prices as the raw rows validated afresh


@pytest.mark.parametrize("how", sorted(SLICES))
@pytest.mark.parametrize(("column", "value"), [("tp", 0), ("batch_size", -5.0), ("input_tokens", np.nan),
                                               ("n_gpus", 3), ("params_b", 1e9)])
def test_a_slice_edited_to_an_invalid_value_is_caught(model, validated, how, column, value):
    part = SLICES[how](validated)
    row = part.index[len(part) // 2]
    part.loc[row, column] = value  # (pandas copies on write: the validated frame keeps its value)
    assert part.attrs.get("schema_version") == schema.SCHEMA_VERSION  # the mark survived the edit too
    with pytest.raises(ProfileSchemaError) as info:
        model.predict(part, chunk_rows=256)
    assert info.value.column == column, str(info.value)
    assert validated.loc[row, column] != value  # the edit stayed in the slice


def test_a_text_edit_in_a_slice_is_caught(model, validated):
    part = validated.iloc[:2000].copy()
    part.loc[part.index[1234], "gpu"] = "  "
    with pytest.raises(ProfileSchemaError) as info:
        model.predict(part, chunk_rows=256)
    assert info.value.column == "gpu" and info.value.rows == [1234], str(info.value)
