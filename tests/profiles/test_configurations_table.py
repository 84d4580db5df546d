"""A table of configurations to predict (no ``energy_j`` column: what ``energylens predict MODEL CONFIGS`` takes)
given to ``load_profiles`` said only "missing required column(s) 'energy_j' (schema v1 requires ...)", with no word
of ``require_energy=False``, which reads it (a blank energy cell's error already named it). It now says so; a
table missing energy_j and other columns too is told only what it lacks, as before."""
from __future__ import annotations

import pandas as pd
import pytest

from energylens.errors import ProfileSchemaError
from energylens.profiles import load_profiles

CONFIG = dict(model="meta-llama/Llama-3.1-8B-Instruct", gpu="H100", tp=1, batch_size=8, input_tokens=512,
              output_tokens=256)


def test_a_table_without_energy_is_pointed_at_require_energy(tmp_path):
    path = tmp_path / "configs.csv"
    pd.DataFrame([CONFIG, dict(CONFIG, tp=2)]).to_csv(path, index=False)
    with pytest.raises(ProfileSchemaError, match=r"missing required column\(s\) 'energy_j' .*; a table of "
                                                 r"configurations to predict has none: load_profiles\(\.\.\., "
                                                 r"require_energy=False\) reads it") as exc:
        load_profiles(path)
    assert exc.value.column == "energy_j"
    assert len(load_profiles(path, require_energy=False)) == 2  # what the message offers reads it


def test_other_missing_columns_get_no_such_hint():
    with pytest.raises(ProfileSchemaError) as exc:
        load_profiles(pd.DataFrame([CONFIG]).drop(columns="tp"))
    assert "require_energy" not in str(exc.value)
