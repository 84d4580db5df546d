"""A list of mappings where only some lack a required key: fit said "column 'tp': missing value (NaN/empty) in a
required column in row 2 of 3", a column and an empty cell the caller never made (they wrote dicts, one without the
key). Now the message names the key and says it is absent (or None/NaN) in that mapping: "key 'tp': absent, or
None/NaN, in row 2 of 3 (1-based, in the list's order)"; a DataFrame's message is unchanged."""
from __future__ import annotations

import pandas as pd
import pytest

from energylens import EnergyModel, ProfileSchemaError, load_profiles

_ROW = dict(model="meta-llama/Meta-Llama-3.1-8B-Instruct", params_b=8.0, gpu="H100", tp=1, batch_size=16.0,
            input_tokens=512.0, output_tokens=256.0, energy_j=100.0)


def _rows(drop: str) -> list[dict]:
    rows = [dict(_ROW, batch_size=8.0 * (i + 1)) for i in range(3)]
    del rows[1][drop]
    return rows


@pytest.mark.parametrize("key", ["tp", "energy_j", "gpu"])
def test_fit_names_the_key_a_measurement_lacks(key):
    with pytest.raises(ProfileSchemaError) as err:
        EnergyModel(bootstrap=0).fit(_rows(key))
    said = str(err.value)
    assert f"key {key!r}: absent, or None/NaN, in row 2 of 3 (1-based, in the list's order)" in said, said
    assert "column" not in said.split("\n")[0], said


def test_predict_names_the_key_a_request_lacks():
    model = EnergyModel(bootstrap=0).fit(load_profiles("bundled"))
    requests = [{k: v for k, v in r.items() if k != "energy_j"} for r in _rows("output_tokens")]
    with pytest.raises(ProfileSchemaError) as err:
        model.predict(requests)
    assert "key 'output_tokens': absent, or None/NaN, in request 2 of 3" in str(err.value), str(err.value)


def test_a_frame_still_names_a_column_and_a_blank_cell():
    frame = pd.DataFrame(_rows("tp"))
    with pytest.raises(ProfileSchemaError) as err:
        EnergyModel(bootstrap=0).fit(frame)
    assert "column 'tp': missing value (NaN/empty) in a required column in data row 2" in str(err.value)
