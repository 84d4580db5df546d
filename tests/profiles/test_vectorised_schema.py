"""The column-wise validation (energylens.profiles.cells) against the per-row rules it replaced
(tests/profiles/rowwise_schema.py, the old code verbatim): on every bad profile file of the CLI harness
(tests/cli/test_bad_inputs.py) and on bad frames like those of tests/profiles/test_schema.py, both give
the same exception (type, message, column, rows) or the same frame, the same dropped rows and reasons,
and the same warnings."""

from __future__ import annotations

import importlib.util
import sys
import types
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rowwise_schema as rowwise

from energylens.profiles import architecture as vectorised_architecture
from energylens.profiles import cells, schema


def _rowwise_text(series: pd.Series, blank: np.ndarray, fn=str) -> pd.Series:
    return series.astype(object).where(~blank, "").map(fn)


def _rowwise_cells(values, native=None) -> tuple[np.ndarray, np.ndarray]:
    """One code per cell (NA cells too): every rule below then runs on each cell, as the per-row code did."""
    every = pd.Series(values, copy=False).astype(object).to_numpy()
    return np.arange(len(every), dtype=np.intp), every


def _rowwise_per_code(c, uniques, fn, missing=None) -> np.ndarray:
    out = np.empty(len(uniques), dtype=object)
    out[:] = [fn(u) for u in uniques]
    return out[c]


def _rowwise_choices(c, uniques, allowed, canon=None) -> tuple[np.ndarray, np.ndarray]:
    values, bad = rowwise.normalise_choice(pd.Series(uniques, dtype=object), allowed, canon)
    return values.to_numpy(dtype=object)[c], bad[c]


def _rowwise_float(values) -> tuple[np.ndarray, np.ndarray]:
    parsed, bad = rowwise.to_numeric(pd.Series(values, copy=False))
    return parsed.to_numpy(dtype=np.float64, na_value=np.nan), bad


#: The schema's cell API with the per-row rules behind it (column reads and the native coder are no rules: the
#: coder declines every column, so each is coded cell by cell).
_ROWWISE_CELLS = types.SimpleNamespace(
    is_blank=rowwise.is_blank, to_numeric=rowwise.to_numeric, normalise_choice=rowwise.normalise_choice,
    text=_rowwise_text, is_missing=rowwise.blank, column_arrays=cells.column_arrays,
    text_codes_of=lambda columns: [None] * len(columns), coded_cells=_rowwise_cells,
    blank_codes=lambda values, c, uniques: rowwise.is_blank(pd.Series(values, copy=False))[c],
    per_code=_rowwise_per_code, choice_codes=_rowwise_choices, to_float=_rowwise_float,
    str_array=lambda values: pd.Series(values, dtype=object, copy=False).astype(str).array,
    text_of=cells.text_of)  # (a bytes cell's text: no per-row rule of its own)
_ROWWISE_ARCH = types.SimpleNamespace(fill_architecture=rowwise.fill_architecture,
                                      table_params_b=vectorised_architecture.table_params_b,  # a table lookup, no cell rule
                                      unknown_models_said=vectorised_architecture.unknown_models_said)  # (message text)


def _outcome(load, monkeypatch, rowwise_rules: bool):
    """What load() gives: ('error', type, message, column, rows) or ('frame', frame, dropped, warnings)."""
    with monkeypatch.context() as m:
        if rowwise_rules:
            m.setattr(schema, "cells", _ROWWISE_CELLS)
            m.setattr(schema, "_architecture", _ROWWISE_ARCH)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                frame = load()
            except Exception as exc:  # noqa: BLE001 - the exception itself is what is compared
                return ("error", type(exc), str(exc), getattr(exc, "column", None), getattr(exc, "rows", None))
    return ("frame", frame, frame.attrs.get("dropped"), [(w.category, str(w.message)) for w in caught])


def assert_same(load, monkeypatch) -> None:
    new, old = _outcome(load, monkeypatch, False), _outcome(load, monkeypatch, True)
    assert new[0] == old[0], (new, old)
    if new[0] == "error":
        assert new[1:] == old[1:]
        return
    pd.testing.assert_frame_equal(new[1], old[1])
    if old[2] is None:
        assert new[2] is None
    else:
        pd.testing.assert_frame_equal(new[2], old[2])
    assert new[3] == old[3]


def _harness():
    path = Path(__file__).parent.parent / "cli" / "test_bad_inputs.py"
    spec = importlib.util.spec_from_file_location("bad_inputs_harness", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


_HARNESS = _harness()
_FILES = {c.name.removeprefix("fit_"): c.files["p.csv"] for c in _HARNESS.CASES
          if c.name.startswith("fit_") and "p.csv" in c.files}


def test_every_bad_profile_file_of_the_harness_is_covered():
    assert len(_FILES) >= 25


@pytest.mark.parametrize("name", sorted(_FILES))
@pytest.mark.parametrize("mode", ["strict", "configs", "drop_invalid"])
def test_harness_file_same_outcome(name, mode, tmp_path, monkeypatch):
    content = _FILES[name]
    path = tmp_path / "p.csv"
    path.write_bytes(content() if callable(content) else content)
    kw = {"strict": {}, "configs": {"require_energy": False}, "drop_invalid": {"drop_invalid": True}}[mode]
    assert_same(lambda: schema.load_profiles(path, **kw), monkeypatch)


def _good(n: int = 6) -> pd.DataFrame:
    return pd.DataFrame({
        "model": ["meta-llama/Meta-Llama-3.1-8B-Instruct", "Qwen/Qwen3-8B"] * (n // 2),
        "params_b": [8.03, 8.19] * (n // 2), "gpu": ["NVIDIA H100 80GB HBM3", "a100"] * (n // 2),
        "tp": [1, 2] * (n // 2), "pp": [1] * n, "batch_size": [16.0 * (i + 1) for i in range(n)],
        "input_tokens": [200.0] * n, "output_tokens": [300.0] * n, "energy_j": [50.0 + i for i in range(n)],
    })


def _with(**cols) -> pd.DataFrame:
    f = _good().astype(object)
    for c, v in cols.items():
        f[c] = v
    return f


FRAMES = {
    "good": _good(),
    "text_numbers_with_spaces": _with(tp=[" 1", "2 ", "1", "2", " 1 ", "2"]),
    "text_and_blank_numbers": _with(batch_size=["16", "", "  ", "x", "1e2", None]),
    "mixed_objects_bool_and_int": _with(tp=[1, True, 1.0, "1", False, 2]),
    "mixed_objects_choice": _with(precision=["BF16", 1, True, " fp8 ", None, "fp7"]),
    "aliases_and_case": _with(precision=["BF16", "bfloat16", "FP8", "fp16", "float16", "int4"],
                              kv_cache_dtype=["auto", "FP8", "fp8_e4m3", "bf16", "", "fp3"],
                              modality=["TEXT", "image", "video", " text", "", "smell"]),
    "blank_names": _with(model=["", "  ", None, "m", "Qwen/Qwen3-8B", float("nan")], gpu=[" a100", "", "x", None, "a100", "a100"]),
    "unknown_models_estimated": _with(model=["my/model-a", "my/model-b", "my/model-a", "Qwen/Qwen3-8B", "my/model-a", "my/model-b"],
                                      params_b=[7.0, 13.0, 9.0, 8.19, 7.0, 13.0]),
    "architecture_given_partly": _with(n_layers=[32, np.nan, 40, np.nan, np.nan, 36], architecture=["dense", "", None, "moe", "x", "dense"],
                                       active_params_b=[np.nan, 4.0, np.nan, 9.0, np.nan, np.nan]),
    "moe_and_vision_rows": _with(model=["Qwen/Qwen3-30B-A3B", "mixtral-8x7b", "Qwen/Qwen3-30B-A3B", "my/moe", "Qwen/Qwen3-30B-A3B", "x"],
                                 params_b=[30.532, 46.703, 30.532, 50.0, 30.532, 3.0],
                                 architecture=["", None, "dense", "", np.nan, ""],
                                 active_params_b=[np.nan, np.nan, 3.0, np.nan, np.nan, 1.0],
                                 modality=["image", "text", "video", "image", "text", "image"]),
    "many_bad_rows": pd.concat([_with(tp=[0, -1, 1.5, "two", 3, 2])] * 8, ignore_index=True),
    "several_problems": _with(tp=[0, 1, 2, 1, 1, 1], energy_j=[-1, "hot", 3, np.inf, 5, 6], precision="fp7",
                              n_gpus=[1, 2, 9, 1, 1, 1]),
    "task_column": _with(task=["chat", "", None, 3, "code", " x "]),
    "duplicate_index": _good().set_axis([5, 5, 3, 3, 1, 1]),
}


@pytest.mark.parametrize("name", sorted(FRAMES))
@pytest.mark.parametrize("mode", ["strict", "configs", "drop_invalid", "no_fill"])
def test_frame_same_outcome(name, mode, monkeypatch):
    kw = {"strict": {}, "configs": {"require_energy": False}, "drop_invalid": {"drop_invalid": True},
          "no_fill": {"fill_architecture": False}}[mode]
    assert_same(lambda: schema.load_profiles(FRAMES[name], **kw), monkeypatch)


def test_rules_are_the_rowwise_ones_cell_by_cell():
    """Each helper against its per-row twin on a column mixing every kind of cell."""
    col = pd.Series(["a", " a ", "", "  ", None, np.nan, 1, 1.0, True, "1", " 2e3", "x", "BF16", "fp8"] * 3,
                    dtype=object)
    np.testing.assert_array_equal(cells.is_blank(col), rowwise.is_blank(col))
    for series in (col, col.astype(str), pd.Series(["1", " 2", "", None, "y"] * 4, dtype="str")):
        v_new, b_new = cells.to_numeric(series)
        v_old, b_old = rowwise.to_numeric(series)
        pd.testing.assert_series_equal(v_new, v_old)
        np.testing.assert_array_equal(b_new, b_old)
        c_new, bad_new = cells.normalise_choice(series, schema.PRECISIONS, schema.tables.normalize_precision)
        c_old, bad_old = rowwise.normalise_choice(series, schema.PRECISIONS, schema.tables.normalize_precision)
        np.testing.assert_array_equal(bad_new, bad_old)
        assert list(c_new[~bad_new]) == list(c_old[~bad_old])


def test_vectorised_architecture_fill_is_the_module_in_use():
    assert schema._architecture is vectorised_architecture


def test_a_column_subset_of_a_validated_frame_is_validated_again():
    """attrs survive frame[cols]: such a frame must not pass as validated (it lacked 'precision' and failed
    deep in build_features with a KeyError)."""
    validated = schema.load_profiles(_good())
    subset = validated[["model", "params_b", "gpu", "tp", "pp", "batch_size", "input_tokens", "output_tokens",
                        "energy_j"]].copy()
    assert subset.attrs.get("schema_version") == schema.SCHEMA_VERSION
    again = schema.as_profiles(subset)
    assert again is not subset and "precision" in again.columns
    assert schema.as_profiles(validated) is validated
