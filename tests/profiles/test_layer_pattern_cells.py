"""A profile row's own ``layer_pattern`` (written by a sweep for a hybrid the model table lacks) is checked when
the table is read: until 2026-12-07 a cell that did not fit the row's layers was passed over, at predict and search,
for the proportional KV rule without a word (energylens.search.stage_cache.row_patterns)."""

import warnings

import pandas as pd
import pytest

from energylens.errors import ProfileSchemaError
from energylens.profiles import load_profiles
from energylens.profiles.light import light_profiles

NANO = "nvidia/NVIDIA-Nemotron-Nano-9B-v2"  # the table: 56 layers, 4 attention, a Mamba state
GOOD = "M-M-M-MM-M-M-M*-M-M-M*-M-M-M-M*-M-M-M-M*-M-MM-M-M-M-M-M-"


def _frame(*rows):
    base = {"model": NANO, "gpu": "H100", "tp": 1, "pp": 2, "batch_size": 8, "input_tokens": 512,
            "output_tokens": 256, "energy_j": 100.0}
    return pd.DataFrame([{**base, **r} for r in rows])


def _load(frame, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_profiles(frame, **kw)


def test_a_valid_pattern_and_blank_cells_load():
    rows = _load(_frame({"layer_pattern": GOOD}, {"layer_pattern": ""}, {"layer_pattern": None},
                        {"layer_pattern": "(M-M-M-MM-M-M-M*-M-M-M*-M-M-M-M*-M-M-M-M*-M-MM-M-M-M-M-M-)x1"}))
    assert list(rows["layer_pattern"].fillna(""))[:2] == [GOOD, ""]


@pytest.mark.parametrize(("cell", "said"), [
    (GOOD[:-1], "gives 55 layers where n_layers is 56"),
    (GOOD.replace("*", "M", 1), "has 3 attention layers"),
    (GOOD.replace("M", "X", 1), "holds 'X'"),
    (GOOD.replace("M", "-"), "no recurrent-state layer"),
])
def test_a_pattern_that_does_not_fit_the_model_is_named_by_row_and_column(cell, said):
    with pytest.raises(ProfileSchemaError, match=rf"column 'layer_pattern'.*{said}.*data row 2\b"):
        _load(_frame({"layer_pattern": GOOD}, {"layer_pattern": cell}))


def test_the_rows_own_counts_win_over_the_tables():
    rows = _load(_frame({"layer_pattern": "M*M*", "n_layers": 4, "n_attention_layers": 2}))
    assert rows["layer_pattern"].iloc[0] == "M*M*"
    with pytest.raises(ProfileSchemaError, match="has 2 attention layers.* where n_attention_layers is 3"):
        _load(_frame({"layer_pattern": "M*M*", "n_layers": 4, "n_attention_layers": 3}))


def test_a_model_nobody_describes_needs_its_layer_count():
    with pytest.raises(ProfileSchemaError, match="needs the model's layer count: give n_layers"):
        _load(_frame({"model": "acme/hybrid-7b", "params_b": 7.0, "layer_pattern": "M*M*"}))


def test_the_light_path_leaves_the_column_to_the_full_path():
    assert light_profiles(_frame({"layer_pattern": GOOD}), require_energy=True) is None


@pytest.mark.parametrize(("typo", "column"), [("layer_patern", "layer_pattern"), ("gpu_vendr", "gpu_vendor")])
def test_a_column_one_letter_off_the_pattern_or_the_vendor_is_refused(typo, column):
    """'layer_patern' / 'gpu_vendr' were kept as unknown columns: the row's pattern or vendor silently not read."""
    with pytest.raises(ProfileSchemaError, match=rf"'{typo}' \(did you mean '{column}'\?\)"):
        _load(_frame({typo: "x"}))
