"""Files other tools write, given to load_profiles / `energylens fit` as they are.

JSON lines (a benchmark script's results, one object a line) said only "unsupported file type '.jsonl'"; the
message now says how to read them (pandas.read_json(path, lines=True)). A table whose energy is a tool's own
column (Zeus's ``gpu_energy`` / ``total_energy``, CodeCarbon's ``energy_consumed`` / ``gpu_energy`` in kWh) said
only "missing required column(s) 'energy_j'"; it now names that column and says energy_j is joules per request."""
from __future__ import annotations

import pytest

from energylens import ProfileSchemaError, load_profiles

_HEAD = "model,params_b,gpu,tp,batch_size,input_tokens,output_tokens"
_ROW = "meta-llama/Meta-Llama-3.1-8B-Instruct,8,H100,1,16,512,256"


@pytest.mark.parametrize("suffix", [".jsonl", ".json", ".ndjson"])
def test_json_lines_say_how_to_read_them(tmp_path, suffix):
    path = tmp_path / f"results{suffix}"
    path.write_text('{"model": "m", "gpu": "H100", "tp": 1}\n')
    with pytest.raises(ProfileSchemaError) as err:
        load_profiles(path)
    said = str(err.value)
    assert f"unsupported file type {suffix!r}" in said and "pandas.read_json(path, lines=True)" in said, said


@pytest.mark.parametrize("column", ["gpu_energy", "total_energy", "energy_consumed", "Energy (kWh)"])
def test_another_tools_energy_column_is_named(tmp_path, column):
    path = tmp_path / "runs.csv"
    path.write_text(f"{_HEAD},{column}\n{_ROW},12.5\n")
    with pytest.raises(ProfileSchemaError) as err:
        load_profiles(path)
    said = str(err.value)
    assert "missing required column(s) 'energy_j'" in said and f"'{column}'" in said.split("found")[-1], said
    assert "GPU joules per request" in said and "kWh x 3,600,000 = J" in said, said
    assert "require_energy=False" not in said, said  # not a table of configurations: it measured energy


def test_a_table_of_configurations_keeps_its_hint(tmp_path):
    path = tmp_path / "configs.csv"
    path.write_text(f"{_HEAD}\n{_ROW}\n")
    with pytest.raises(ProfileSchemaError, match="require_energy=False"):
        load_profiles(path)
