"""An ML.ENERGY v3 export without energy_per_request_joules (dropped, or misspelled) was told that
energy_per_token_joules, a real v3 column holding another quantity (J per output token), was its misspelling:
renaming it as told would fit per-token energies as per-request ones. A suggestion now never offers a column
the export has under its own meaning; a real misspelling is still suggested, and mlenergy_v3() itself (which
said only "missing column(s)") names it too."""

from __future__ import annotations

import pandas as pd
import pytest

from energylens.errors import ProfileSchemaError
from energylens.profiles import read_profiles
from energylens.profiles.mlenergy_v3 import mlenergy_v3

COLUMNS = {"model_id": "meta-llama/Llama-3.1-8B-Instruct", "gpu_model": "H100", "num_gpus": 1,
           "tensor_parallel": 1, "expert_parallel": 1, "data_parallel": 1, "max_num_seqs": 64, "avg_batch_size": 50,
           "avg_output_len": 300, "energy_per_token_joules": 0.1, "energy_per_request_joules": 30.0, "task": "gpqa",
           "median_itl_ms": 20.0, "weight_precision": "bf16", "architecture": "Dense Transformer",
           "total_params_billions": 8.0}


def _export(tmp_path, rename=None, drop=None):
    frame = pd.DataFrame([COLUMNS]).drop(columns=drop or []).rename(columns=rename or {})
    path = tmp_path / "v3.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("reader", [read_profiles, mlenergy_v3])
def test_a_missing_energy_column_is_not_matched_to_the_per_token_one(tmp_path, reader):
    path = _export(tmp_path, drop=["energy_per_request_joules"])
    with pytest.raises(ProfileSchemaError, match="'energy_per_request_joules'") as info:
        reader(path)
    assert "energy_per_token_joules" not in str(info.value), info.value
    assert info.value.column == "energy_per_request_joules"


@pytest.mark.parametrize("reader", [read_profiles, mlenergy_v3])
@pytest.mark.parametrize("typo", ["energy_per_reqest_joules", "energy_per_request_joule"])
def test_a_misspelled_energy_column_is_still_suggested(tmp_path, reader, typo):
    path = _export(tmp_path, rename={"energy_per_request_joules": typo})
    with pytest.raises(ProfileSchemaError) as info:
        reader(path)
    assert f"'energy_per_request_joules' (is {typo!r} a misspelling?)" in str(info.value), info.value
    assert "energy_per_token_joules" not in str(info.value)
