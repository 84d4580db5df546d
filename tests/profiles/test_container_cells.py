"""A frame read from JSON can hold a list in a text cell (``"model": ["meta-llama/..."]``): fit and predict
raised pandas' bare "TypeError: unhashable type: 'list'" from deep in the validation; now the schema error
names the column, the row and the cell, and ``drop_invalid`` drops the row."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest

from energylens.errors import ProfileSchemaError
from energylens.model import EnergyModel
from energylens.profiles import load_profiles
from energylens.profiles.datasets import mlenergy_v2

MODEL = "meta-llama/Llama-3.1-8B-Instruct"


def _rows(**cell) -> pd.DataFrame:
    rows = [dict(model=MODEL, gpu="H100", tp=1, batch_size=8, input_tokens=512, output_tokens=256,
                 energy_j=100.0 + i) for i in range(3)]
    rows[1].update(cell)
    return pd.read_json(io.StringIO(json.dumps(rows)))  # as a user's JSON file reads


@pytest.fixture(scope="module")
def model() -> EnergyModel:
    return EnergyModel(bootstrap=0).fit(mlenergy_v2().head(40))


@pytest.mark.parametrize("cell", [{"model": [MODEL]}, {"gpu": ["H100", "A100"]}, {"task": {"name": "chat"}}])
def test_predict_and_fit_name_the_column_and_row_of_a_list_cell(model, cell):
    (column, value), = cell.items()
    frame = _rows(**cell)
    for call in (lambda: model.predict(frame), lambda: EnergyModel(bootstrap=0).fit(frame)):
        with pytest.raises(ProfileSchemaError) as err:
            call()
        text = str(err.value)
        assert f"column '{column}'" in text and "data row 2 " in text, text
        assert ("a list" if isinstance(value, list) else "a dict") in text, text
        assert "unhashable" not in text


def test_drop_invalid_drops_the_row_with_a_list_cell():
    with pytest.warns(Warning):
        out = load_profiles(_rows(model=[MODEL]), drop_invalid=True)
    assert len(out) == 2 and (out["model"] == MODEL).all()


def test_a_validated_frame_given_a_list_cell_afterwards_is_validated_again(model):
    frame = load_profiles(_rows()).astype({"model": object})
    frame.at[1, "model"] = [MODEL]
    with pytest.raises(ProfileSchemaError, match=r"column 'model'.*data row 2|data row 2.*column 'model'"):
        model.predict(frame)
