"""pd.concat of validated frames, as predict takes it (docs/performance.md "Concatenated validated frames"):
frames of one read keep the schema mark (pandas keeps equal attrs) and are re-checked, not validated again;
frames of two reads lose it (pandas drops attrs that differ: ``read_id``, ``source``) and are validated again,
once; and a concatenation is never trusted past a bad cell of one of its parts."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from energylens import EnergyModel, ProfileSchemaError
from energylens.profiles import read_profiles, schema

_RAW = ["model", "params_b", "gpu", "tp", "pp", "batch_size", "input_tokens", "output_tokens"]


@pytest.fixture(scope="module")
def bundled():
    return read_profiles("bundled")


@pytest.fixture(scope="module")
def model(bundled):
    return EnergyModel(bootstrap=0, n_starts=1).fit(bundled)


@pytest.fixture
def validations(monkeypatch):
    """The full validations (schema._load) that run from here on."""
    calls = []
    real = schema._load

    def counted(*args, **kwargs):
        calls.append(len(args[0]) if isinstance(args[0], pd.DataFrame) else args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(schema, "_load", counted)
    return calls


def test_one_reads_frames_concatenated_are_trusted_without_a_validation(bundled, model, validations):
    both = pd.concat([bundled.iloc[:200], bundled.iloc[200:]], ignore_index=True)
    assert both.attrs.get("schema_version") == schema.SCHEMA_VERSION
    got = model.predict(both)
    assert validations == []
    np.testing.assert_array_equal(got, model.predict(bundled))


def test_two_reads_concatenated_lose_the_mark_and_are_validated_once(bundled, model, validations):
    again = read_profiles("bundled")
    both = pd.concat([bundled, again], ignore_index=True)
    assert both.attrs == {}  # read_id differs: pandas drops every attr
    validations.clear()  # (the second read's own)
    got = model.predict(both)
    assert validations == [2 * len(bundled)]
    np.testing.assert_allclose(got, np.tile(model.predict(bundled), 2), rtol=1e-12, atol=0)


@pytest.mark.parametrize("column, value", [("tp", 0), ("precision", "fp7"), ("n_gpus", 3)])
def test_a_bad_cell_in_a_concatenated_part_is_caught(bundled, model, column, value):
    part = bundled.iloc[100:200].copy()
    part.iloc[7, part.columns.get_loc(column)] = value
    both = pd.concat([bundled.iloc[:100], part], ignore_index=True)
    assert both.attrs.get("schema_version") == schema.SCHEMA_VERSION  # the edit kept the mark: the re-check runs
    with pytest.raises(ProfileSchemaError, match=rf"'{column}'.*data row 108 of the DataFrame"):
        model.predict(both)


def test_a_spelling_validation_rewrites_in_a_concatenated_part_is_rewritten(bundled, model, validations):
    """A cell validation would strip (a GPU name with spaces) is not trusted as written: the frame is validated
    again, which strips it, so the row is priced on its GPU's own spec."""
    part = bundled.iloc[100:200].copy()
    col = part.columns.get_loc("gpu")
    part.iloc[7, col] = f" {part.iloc[7, col]} "
    both = pd.concat([bundled.iloc[:100], part], ignore_index=True)
    assert both.attrs.get("schema_version") == schema.SCHEMA_VERSION
    got = model.predict(both)
    assert validations == [200]  # the re-check declined it: one full validation, which strips the name
    np.testing.assert_allclose(got, model.predict(bundled.iloc[:200]), rtol=1e-12, atol=0)


def test_a_validated_frame_concatenated_with_raw_rows_is_validated(bundled, model):
    raw = pd.DataFrame({c: bundled[c].iloc[:3].to_numpy() for c in _RAW})
    raw.loc[1, "tp"] = 0
    both = pd.concat([bundled.iloc[:100], raw], ignore_index=True)
    assert "schema_version" not in both.attrs
    with pytest.raises(ProfileSchemaError, match=r"'tp'.*data row 102"):
        model.predict(both)
