"""Files users bring (Excel headers, hand-edited v3 exports, local checkpoint paths): a near miss is an error
naming the file and column, never a value silently replaced by a default.

Every table here is a few hand-written rows (made-up numbers) in a tmp dir.
"""
from __future__ import annotations

import io

import pandas as pd
import pytest

from energylens.errors import ProfileSchemaError
from energylens.model.base import fit_input
from energylens.profiles import load_profiles
from energylens.profiles.light import light_profiles

HEADER = "model,params_b,gpu,tp,pp,batch_size,input_tokens,output_tokens,energy_j"
ROW = "meta-llama/Llama-3.1-8B-Instruct,8.03,H100-SXM,1,1,32,500,300,41.2"


@pytest.mark.parametrize("name, value, schema_name", [
    ("Precision", "fp8", "precision"),       # Excel-capitalised: precision silently bf16
    (" n_gpus", "8", "n_gpus"),              # a space after the comma: energy charged to 1 GPU, not 8
    ("DP", "2", "dp"),
    ("gpu_TDP_w", "600", "gpu_tdp_w"),       # a GPU spec column
    ("Video_Frames", "4", "video_frames"),   # a column the features read
])
def test_a_known_column_spelled_with_other_case_or_spaces_is_an_error(tmp_path, name, value, schema_name):
    path = tmp_path / "runs.csv"
    path.write_text(f"{HEADER},{name}\n{ROW},{value}\n")
    with pytest.raises(ProfileSchemaError, match="only in case or surrounding spaces") as ei:
        load_profiles(path)
    assert str(path) in str(ei.value) and repr(name) in str(ei.value) and repr(schema_name) in str(ei.value)
    assert ei.value.column == name
    frame = pd.read_csv(path)  # a DataFrame too
    with pytest.raises(ProfileSchemaError, match="only in case or surrounding spaces"):
        load_profiles(frame)


def test_a_required_column_spelled_with_other_case_names_the_rename(tmp_path):
    path = tmp_path / "runs.csv"
    path.write_text(HEADER.replace("energy_j", "Energy_J ") + f"\n{ROW}\n")
    with pytest.raises(ProfileSchemaError, match="missing required column") as ei:
        load_profiles(path)
    assert "rename 'Energy_J ' for 'energy_j'" in str(ei.value)


def test_the_light_path_leaves_a_near_miss_column_to_the_full_path():
    """EnergyModel.fit / predict read a raw frame through fit_input: a 'Precision' column must not be kept
    as an unknown one there either (its rows were priced as bf16)."""
    frame = pd.read_csv(io.StringIO(f"{HEADER},Precision\n{ROW},fp8\n"))
    assert light_profiles(frame, require_energy=True) is None
    with pytest.raises(ProfileSchemaError, match="'Precision' \\(did you mean 'precision'\\?\\)"):
        fit_input(frame, require_energy=True)
    assert light_profiles(frame.drop(columns="Precision"), require_energy=True) is not None
