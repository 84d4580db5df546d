"""A validated frame (load_profiles' result, a bundled data set) given a second column of a name it has (pd.concat of
a column, a join) crashed load_profiles / EnergyModel.predict with "AttributeError: 'DataFrame' object has no
attribute 'dtype'" (the re-check read the name as one column). It is now the error a CSV file's repeated header
gets, naming the column(s)."""
from __future__ import annotations

import pandas as pd
import pytest

import energylens
from energylens.errors import ProfileSchemaError
from energylens.model import EnergyModel
from energylens.profiles.datasets import mlenergy_v2


@pytest.fixture(scope="module")
def frame():
    return energylens.load_profiles(mlenergy_v2().head(60))


@pytest.fixture(scope="module")
def model(frame):
    return EnergyModel(bootstrap=0).fit(frame, latency=False)


@pytest.mark.parametrize("column", ["tp", "energy_j", "model", "input_tokens"])
def test_a_validated_frame_with_a_repeated_column_names_it(frame, model, column):
    doubled = pd.concat([frame, frame[[column]]], axis=1)
    assert doubled.attrs.get("schema_version") == frame.attrs["schema_version"]  # still marked validated
    want = rf"duplicate column header\(s\) '{column}' \(2 times\); the profile table must name each column once"
    with pytest.raises(ProfileSchemaError, match=want):
        energylens.load_profiles(doubled)
    with pytest.raises(ProfileSchemaError, match=want):
        model.predict(doubled)


def test_two_repeated_columns_are_both_named(frame, model):
    doubled = pd.concat([frame, frame[["tp", "pp"]]], axis=1)
    with pytest.raises(ProfileSchemaError, match=r"'tp' \(2 times\), 'pp' \(2 times\)"):
        model.predict(doubled)
