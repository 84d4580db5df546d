"""Two candidate rows that differ only in how a cell is written describe one configuration and are refused as
duplicates, as identical rows are: a modality 'Image' and 'image', 'text' and no modality, a row giving the
model table's own n_layers beside one leaving it blank, a compute precision 'FP8' and 'fp8'. Before, each was a
combination of its own, both rows were ranked at the same energy and shared P(best) with themselves. And a bad
n_layers cell is named by the schema's rule, not as "pp=1, more than the -1 layers"."""

import numpy as np
import pandas as pd
import pytest

from energylens.search.candidates import candidate_space

ROW = dict(gpu="H100", tp=1, batch_size=8, input_tokens=1000, output_tokens=200)
LLAMA, VL = "meta-llama/Llama-3.1-8B-Instruct", "Qwen/Qwen3-VL-8B-Instruct"


@pytest.mark.parametrize(("first", "second"), [
    (dict(model=VL, modality="Image"), dict(model=VL, modality="image")),
    (dict(model=VL, modality="text"), dict(model=VL)),
    (dict(model=LLAMA, n_layers=32), dict(model=LLAMA, n_layers=np.nan)),
    (dict(model=LLAMA, precision="fp8", compute_precision="FP8"), dict(model=LLAMA, precision="fp8", compute_precision="fp8")),
    (dict(model="nvidia/NVIDIA-Nemotron-Nano-12B-v2", mamba_ssm_cache_dtype="Float32"),
     dict(model="nvidia/NVIDIA-Nemotron-Nano-12B-v2", mamba_ssm_cache_dtype="float32")),
])
def test_rows_written_differently_are_the_same_configuration(first, second):
    df = pd.DataFrame([dict(ROW, model=LLAMA, tp=2), dict(ROW, **first), dict(ROW, **second)])
    with pytest.raises(ValueError, match=r"rows \[1, 2\] \(0-based\) describe the same configuration"):
        candidate_space(df)


def test_rows_that_differ_are_kept_apart():
    df = pd.DataFrame([dict(ROW, model=VL, modality="image"), dict(ROW, model=VL, modality="text"),
                       dict(ROW, model=LLAMA, n_layers=16), dict(ROW, model=LLAMA)])
    space, index = candidate_space(df)
    assert len(set(index.tolist())) == 4 and len(space.combos) == 4


def test_a_bad_n_layers_cell_is_named_by_its_rule():
    df = pd.DataFrame([dict(ROW, model=LLAMA), dict(ROW, model=LLAMA, n_layers=-1)])
    with pytest.raises(ValueError, match=r"column 'n_layers': must be an integer >= 1 in data row 2"):
        candidate_space(df)


def _with(column, cells, dtype):
    """Three rows (a TP 2 one first) whose ``column`` holds ``cells`` as a column of ``dtype``."""
    df = pd.DataFrame([dict(ROW, model=LLAMA, tp=2), dict(ROW, model=LLAMA), dict(ROW, model=LLAMA)])
    df[column] = pd.Series(cells, dtype=dtype)
    return df


@pytest.mark.parametrize(("column", "cells", "dtype"), [
    ("n_layers", [32, 32, pd.NA], "Int64"),            # a nullable column's missing cell (pd.read_csv dtype_backend)
    ("n_layers", [32.0, 32.0, pd.NA], "Float64"),
    ("n_layers", [32.0, 32.0, np.nan], "float32"),     # NaN of another width than Python's float
    ("n_layers", [32, 32, ""], object),                # a blank text cell in a numeric column
    ("compute_precision", [np.nan, np.nan, ""], object),  # blank text beside a missing cell
    ("compute_precision", [None, None, " "], object),
    ("modality", [pd.NA, pd.NA, "text"], "string"),
])
def test_a_blank_override_cell_is_the_model_tables_value(column, cells, dtype):
    """A cell that gives nothing leaves the model table's value, as a missing column does, in every spelling of
    missing: row 2 is then row 1's configuration. Before, only a Python-float NaN did; pd.NA, a float32 NaN or ''
    was the row's own value, refused as "n_layers is nan (the row's own)", and '' beside NaN was a second
    combination (both rows ranked)."""
    with pytest.raises(ValueError, match=r"rows \[1, 2\] \(0-based\) describe the same configuration"):
        candidate_space(_with(column, cells, dtype))


@pytest.mark.parametrize(("cells", "dtype"), [([pd.NA], "Int64"), ([np.nan], "float32"), ([""], object)])
def test_a_lone_blank_n_layers_cell_is_allowed(cells, dtype):
    """One row with a blank n_layers: the table's 32 layers, as with no n_layers column (it was refused)."""
    df = pd.DataFrame([dict(ROW, model=LLAMA)]).assign(n_layers=pd.Series(cells, dtype=dtype))
    space, _ = candidate_space(df)
    plain, _ = candidate_space(pd.DataFrame([dict(ROW, model=LLAMA)]))
    np.testing.assert_array_equal(space.combo_values, plain.combo_values)


@pytest.mark.parametrize("column", ["precision", "kv_cache_dtype"])
@pytest.mark.parametrize("blank", ["", "  "])
def test_blank_precision_text_is_the_default(column, blank):
    """A blank precision / kv_cache_dtype text cell takes the default, as a missing cell and the profile schema
    (what predict and fit read) take it: a profile table with '' there was refused ("unknown precision ''")."""
    fp8 = "RedHatAI/Meta-Llama-3.1-8B-Instruct-FP8"  # its default precision is the checkpoint's fp8
    rows = pd.DataFrame([dict(ROW, model=LLAMA, **{column: blank}), dict(ROW, model=fp8, **{column: blank})])
    space, _ = candidate_space(rows)
    plain, _ = candidate_space(pd.DataFrame([dict(ROW, model=LLAMA), dict(ROW, model=fp8)]))
    assert space.combos == plain.combos and [c.precision for c in space.combos] == ["bf16", "fp8"]
