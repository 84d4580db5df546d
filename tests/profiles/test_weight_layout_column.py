"""A profile row's own ``weight_layout`` (docs/profile-schema.md): which of the checkpoint's weights are in the
row's format, as its config.json declared it to the sweep. A checkpoint the model table does not know (a user's own
int4 requantisation of a Kimi K2) was priced by its format alone: every weight at int4's 4.25 bits, for the
features' decode weight bytes and for the memory check. A row that gives the column is now priced as the table's
entry with the same layout (moonshotai/Kimi-K2-Thinking: ``int4 experts group32``) is."""

import math
import warnings

import numpy as np
import pandas as pd
import pytest

import energylens
from energylens.errors import ProfileSchemaError
from energylens.model import EnergyModel
from energylens.profiles import load_profiles
from energylens.profiles.checkpoints import WeightLayout, canonical_layout, checkpoint_layout, row_layout
from energylens.profiles.features import build_features
from energylens.profiles.light import light_profiles
from energylens.search.memory import checkpoint_weight_bytes, weights_per_gpu

THINKING = "moonshotai/Kimi-K2-Thinking"  # the table: int4 experts group32 (the same architecture as Instruct)
INSTRUCT = "moonshotai/Kimi-K2-Instruct"  # the table: fp8 throughout; in int4 a what-if: every weight int4


def _frame(*rows):
    base = {"gpu": "H200", "precision": "int4", "tp": 8, "batch_size": 4, "input_tokens": 512,
            "output_tokens": 256, "energy_j": 1.0}
    return pd.DataFrame([{**base, **r} for r in rows])


def _quiet(fn, *args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kw)


def test_the_cell_spellings():
    assert canonical_layout("  Group32 EXPERTS ") == "experts group32"
    assert canonical_layout("all") == "all" and canonical_layout("group128") == "group128"
    assert canonical_layout(None) == canonical_layout(float("nan")) == canonical_layout(" ") == ""
    for bad in ("expert", "all experts", "experts group32 group64", "group0", "experts,group32"):
        with pytest.raises(ValueError, match="expected 'all' or 'experts'"):
            canonical_layout(bad)


def test_a_rows_layout_decides_before_the_table():
    assert row_layout(INSTRUCT, "int4", "experts group32") == checkpoint_layout(THINKING, "int4")
    assert row_layout("me/unknown-moe", "int4", "experts group32") == WeightLayout(True, 0.5625)
    assert row_layout(THINKING, "int4", "all") == WeightLayout(False, math.nan)  # the row's own, not the table's
    assert row_layout(THINKING, "int4", "") == checkpoint_layout(THINKING, "int4")  # blank: the table's
    assert row_layout("openai/gpt-oss-120b", "mxfp4", "all").experts_only  # vLLM's mxfp4 is experts-only anyway


def test_features_of_a_row_with_the_column_equal_the_tables_entry():
    """Kimi-K2-Instruct in int4 with 'experts group32' is what Kimi-K2-Thinking is: the same decode weight bytes
    (before, the row's bf16 rest and experts all streamed at int4's 0.53125 B: about 5x fewer shared bytes)."""
    frame = _frame({"model": THINKING}, {"model": INSTRUCT, "weight_layout": "experts group32"},
                   {"model": INSTRUCT, "weight_layout": ""}, {"model": INSTRUCT})
    f = _quiet(build_features, frame)
    for name, values in f.items():
        assert values[1] == values[0], name
    assert f["weight_bytes_per_step"][2] == f["weight_bytes_per_step"][3] < f["weight_bytes_per_step"][0]
    # and the other way round: a row of the table's entry that says its checkpoint is int4 throughout
    whole = _quiet(build_features, _frame({"model": THINKING, "weight_layout": "all"}))
    assert whole["weight_bytes_per_step"][0] == f["weight_bytes_per_step"][3]


def test_memory_of_a_row_with_the_column_equals_the_tables_entry():
    rows = _quiet(load_profiles, _frame({"model": THINKING}, {"model": INSTRUCT, "weight_layout": "EXPERTS group32"},
                                        {"model": INSTRUCT}))
    one = np.ones(3)
    w = weights_per_gpu(rows, np.full(3, 8.0), one, one, one)
    assert w[1] == w[0] and w[2] < w[0]
    # one cell for every row, as a candidate's combo passes it: blank (None / NaN) is the table's, 'experts' the row's
    args = (np.array(["int4", "int4"]), np.full(2, 1e9), np.full(2, 5e8), 0.0, np.ones(2, dtype=bool), np.nan, "me/x")
    whole = checkpoint_weight_bytes(*args)
    assert np.array_equal(checkpoint_weight_bytes(*args, float("nan")), whole)
    assert np.array_equal(checkpoint_weight_bytes(*args, None), whole)
    assert np.array_equal(checkpoint_weight_bytes(*args, "experts group32"), np.full(2, 0.5625 * 5e8 + 2.0 * 5e8))


def test_the_search_prices_a_candidate_rows_layout_as_the_tables():
    """A candidate table row's weight_layout reaches the engine's weight bytes (memory per GPU) and the features."""
    table = pd.DataFrame([{"model": m, "gpu": "H200", "precision": "int4", "tp": 8, "max_num_seqs": 1,
                           "input_tokens": 512, "output_tokens": 256, **kw}
                          for m, kw in ((THINKING, {}), (INSTRUCT, {"weight_layout": "experts group32"}),
                                        (INSTRUCT, {}))])
    r = _quiet(energylens.search, candidates=table, bootstrap=False, top=10)
    got = r.to_frame().sort_values("candidate")
    mem = got["memory_gib_per_gpu"].to_numpy(dtype=float)
    energy = got["energy_j"].to_numpy(dtype=float)
    assert len(mem) == 3
    assert mem[1] == pytest.approx(mem[0], rel=1e-12) and energy[1] == pytest.approx(energy[0], rel=1e-12)
    assert mem[2] < mem[0]


def test_predict_on_a_dict_reads_the_column(small_model_file):
    model = EnergyModel.load(small_model_file)
    cfg = {"gpu": "H200", "precision": "int4", "tp": 8, "batch_size": 4, "input_tokens": 512, "output_tokens": 256}
    table, own = (_quiet(model.predict, {**cfg, **kw}, check_range=False)
                  for kw in ({"model": THINKING}, {"model": INSTRUCT, "weight_layout": "experts group32"}))
    plain = _quiet(model.predict, {**cfg, "model": INSTRUCT}, check_range=False)
    assert np.asarray(own)[0] == np.asarray(table)[0] != np.asarray(plain)[0]


def test_a_bad_cell_is_an_error_naming_the_row_and_column():
    frame = _frame({"model": THINKING}, {"model": INSTRUCT, "weight_layout": "experts only"})
    with pytest.raises(ProfileSchemaError, match=r"column 'weight_layout'.*data row 2.*'experts only'"):
        load_profiles(frame, require_energy=False)
    with pytest.raises(ProfileSchemaError, match=r"column 'weight_layout'"):
        build_features(frame)


def test_a_misspelt_header_is_named_and_old_files_read_as_before():
    with pytest.raises(ProfileSchemaError, match="Weight_Layout"):
        load_profiles(_frame({"model": THINKING, "Weight_Layout": "all"}), require_energy=False)
    old = _frame({"model": THINKING}, {"model": INSTRUCT})
    assert light_profiles(old, require_energy=False) is not None  # no column: the light / native path as before
    assert light_profiles(old.assign(weight_layout=""), require_energy=False) is None  # the full path reads it
    a, b = _quiet(build_features, old), _quiet(build_features, old.assign(weight_layout=[None, ""]))
    assert all(np.array_equal(a[k], b[k]) for k in a)
