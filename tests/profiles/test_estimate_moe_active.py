"""An unknown MoE's estimate when its active parameter count is not given (energylens.profiles.architecture)."""
from __future__ import annotations

import warnings

import pandas as pd
import pytest

from energylens.profiles import load_profiles
from energylens.profiles.tables import EstimatedArchitectureWarning


def test_an_unknown_moe_without_its_active_count_says_it_is_priced_as_all_active():
    """An unknown MoE row without active_params_b is sized and priced as if every parameter were active (the
    estimate cannot know the share): the warning says so and names the column to give; it listed only the
    estimated shape columns, so a 5-10x over-estimate of a sparse MoE's work went unremarked."""
    row = dict(model="acme/Mystery-MoE-30B", params_b=30, architecture="moe", gpu="H100", tp=1, pp=1, batch_size=8,
               input_tokens=512, output_tokens=256)
    with pytest.warns(EstimatedArchitectureWarning, match=r"every parameter is taken as active.*active_params_b"):
        out = load_profiles(pd.DataFrame([row]), require_energy=False)
    assert out["active_params_b"].iloc[0] == 30.0
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        load_profiles(pd.DataFrame([dict(row, active_params_b=3.0)]), require_energy=False)
    assert not any("taken as active" in str(w.message) for w in seen)
