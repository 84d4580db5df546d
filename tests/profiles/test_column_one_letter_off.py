"""A configuration's optional key or column one letter off a schema column ({"ppp": 2}, "precison", "n_gpu") was kept
as an unknown column: predict ran with pp = 1 (its default) and said nothing, while "PP" and "pipeline_parallel" were
already refused. Such a name (one letter inserted, deleted, changed or two swapped, of a column the table lacks) is
now the same error, for a dict and a DataFrame alike; other extra columns are kept as before, and so is another
unit of a column (tpot_ms beside tpot_s)."""
from __future__ import annotations

import pandas as pd
import pytest

import energylens
from energylens.errors import ProfileSchemaError
from energylens.model import EnergyModel
from energylens.profiles.datasets import mlenergy_v2

ROW = {"model": "google/gemma-2-27b-it", "gpu": "NVIDIA A100-SXM4-40GB", "tp": 4, "batch_size": 128,
       "input_tokens": 140, "output_tokens": 392}


@pytest.fixture(scope="module")
def model():
    return EnergyModel(bootstrap=0).fit(mlenergy_v2().head(60), latency=False)


@pytest.mark.parametrize(("key", "meant"), [("ppp", "pp"), ("tpp", "pp"), ("pe", "ep"), ("precison", "precision"),
                                            ("n_gpu", "n_gpus"), ("n_layer", "n_layers")])
@pytest.mark.parametrize("shape", ["dict", "frame"])
def test_a_key_one_letter_off_a_column_is_refused(model, key, meant, shape):
    row = {**ROW, key: 2}
    configs = row if shape == "dict" else pd.DataFrame([row])
    noun = "key" if shape == "dict" else "column"  # a request dict's names are keys (6f91370f)
    with pytest.raises(ProfileSchemaError, match=rf"{noun}\(s\) '{key}' \(did you mean '{meant}'\?\) differ"):
        model.predict(configs)


@pytest.mark.parametrize("shape", ["dict", "frame"])
def test_other_extra_columns_are_kept(model, shape):
    row = {**ROW, "note": "x", "run_id": 7, "tps": 1e3, "cp": 1, "sp": 2, "tpot_ms": 20.0, "ttft_ms": 5.0,
           "energy_wh": 0.1}
    configs = row if shape == "dict" else pd.DataFrame([row])
    assert model.predict(configs) == pytest.approx(model.predict(ROW))


def test_a_column_present_is_not_a_target(model):
    """tp is in the table: 'tpp' can only mean the absent pp; with pp there too it is an extra column."""
    assert model.predict({**ROW, "pp": 1, "tpp": 9}) == pytest.approx(model.predict(ROW))


def test_a_file_names_it(tmp_path):
    path = tmp_path / "runs.csv"
    pd.DataFrame([{**mlenergy_v2().iloc[0][["model", "params_b", "gpu", "tp", "batch_size", "input_tokens",
                                               "output_tokens", "energy_j"]].to_dict(), "ppp": 2}]).to_csv(path, index=False)
    with pytest.raises(ProfileSchemaError, match=r"runs\.csv: column\(s\) 'ppp' \(did you mean 'pp'\?\)"):
        energylens.load_profiles(path)


@pytest.mark.parametrize(("key", "meant"), [("tsak", "task"), ("precison", "precision"), ("ppp", "pp")])
def test_the_message_names_the_default_of_the_column_meant(key, meant, tmp_path):
    """'tsak' for 'task' read "(the optional column's default, pp = 1 for pp, would silently take its place)": the
    column meant is named (its own default, task's ''), not pp's whatever the typo."""
    from energylens.profiles import load_profiles
    row = {**ROW, "pp": 1, "task": "chat", "precision": "bf16", "energy_j": 500.0}
    del row[meant]
    row[key] = 1 if meant == "pp" else "chat" if meant == "task" else "bf16"
    with pytest.raises(ProfileSchemaError) as info:
        load_profiles(pd.DataFrame([row]))
    text = str(info.value)
    assert f"'{meant}' would take its default" in text and ("pp = 1" in text) == (meant == "pp"), text
