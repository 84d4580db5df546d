"""What the models' calls accept as configurations, validated once: :func:`load_configs` (a DataFrame, a profile
file or ``"bundled"``, one mapping or a list of mappings) and :func:`fit_input` (the light path for a plain raw
frame, :mod:`energylens.profiles.light`)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from energylens.profiles import read_profiles
from energylens.profiles.datasets import BUNDLED_NAMES
from energylens.profiles.light import LightProfiles, light_profiles
from energylens.profiles.problems import (
    MAPPING_SOURCES,
    MEASUREMENT_SOURCE,
    MEASUREMENTS_SOURCE,
    REQUEST_SOURCE,
    REQUESTS_SOURCE,
)
from energylens.profiles.schema import _NUMERIC_COLUMNS, _SPELLED_COLUMNS, _TEXT_COLUMNS, as_profiles

__all__ = ["load_configs", "fit_input", "mapping_frame", "refuse_mistyped_values", "MistypedValueError"]

# the smallest request a mapping may be (params_b and the rest from the tables)
REQUEST_COLUMNS = ("model", "gpu", "tp", "batch_size", "input_tokens", "output_tokens")
# keys whose value is a number: a mapping's text there is the caller's bug (a CSV cell's text is parsed)
_NUMBER_KEYS = frozenset(_NUMERIC_COLUMNS) | {"video_frames", "scale_up_domain_gpus"} | {
    c for c in _SPELLED_COLUMNS if c.startswith("gpu_") and c != "gpu_vendor"}
# keys whose value is a name: a mapping's number there is the caller's bug (model=5: an index into its own list)
_NAME_KEYS = frozenset(_TEXT_COLUMNS) | {"compute_precision", "mamba_ssm_cache_dtype", "weight_layout", "gpu_vendor"}


def mapping_frame(configs: Any, *, measured: bool = False) -> Any:
    """A mapping (one row: column -> value; a pandas Series too) or a list of them as a raw DataFrame (not yet
    validated: a model's predict then takes it on the light path like any raw frame; an empty list: 0 rows of
    :data:`REQUEST_COLUMNS`, so an empty result); anything else as it is.
    A key no mapping gives is a column the table lacks (``pp``: 1, the schema's default); one that only some give
    is a blank cell in the others' rows (``pp``: the same 1; a required column's blank: an error naming the row).
    Errors name its rows as requests ("request 3 of 8"), or with ``measured`` (fit's) as rows ("row 3 of 8")."""
    if isinstance(configs, (list, tuple)) and not configs:  # no requests this tick: 0 rows, an empty result
        return pd.DataFrame({c: pd.Series(dtype=object if c in ("model", "gpu") else float) for c in REQUEST_COLUMNS})
    row = (Mapping, pd.Series)  # a Series: a table's row as pandas gives it (frame.iloc[0]; it was refused)
    if isinstance(configs, row) or (isinstance(configs, (list, tuple)) and configs
                                    and all(isinstance(c, row) for c in configs)):
        rows = [configs] if isinstance(configs, row) else list(configs)
        _refuse_columns(rows[0])
        frame = pd.DataFrame([dict(r) if isinstance(r, pd.Series) else r for r in rows])
        # errors name its rows as what the caller gave: "the request", "request 3 of 8" (not "<DataFrame>")
        one = isinstance(configs, row)
        frame.attrs["mapping_rows"] = len(rows)  # "request 3 of 8" in a chunk (refuse_mistyped_values)
        table_rows = tuple(i for i, r in enumerate(rows) if type(r) is not dict and isinstance(r, pd.Series))
        if table_rows:  # a table's row holds its cells as the table read them (text in a dtype=str frame)
            frame.attrs["table_rows"] = table_rows
        frame.attrs["source"] = ((MEASUREMENT_SOURCE if one else MEASUREMENTS_SOURCE) if measured
                                 else REQUEST_SOURCE if one else REQUESTS_SOURCE)
        return frame
    return configs


def _refuse_columns(first: Any) -> None:
    """A mapping is one row: one holding columns (``{"tp": [1, 2], ...}``, as pandas' DataFrame constructor takes them)
    is named here instead of failing as pandas' "unhashable type: 'list'" deep in the model-table lookup. Only the
    first mapping's values are looked at (a few isinstance checks per call: the scheduler's path)."""
    if isinstance(first, pd.Series):
        return
    for key, value in first.items():
        if isinstance(value, (list, tuple, pd.Series, pd.Index)) or (isinstance(value, np.ndarray) and value.ndim):
            one = (value.iloc[0] if isinstance(value, pd.Series) else value[0]) if len(value) == 1 else None
            if len(value) == 1 and np.ndim(one) == 0:  # (tp=[2]: one value, wrapped; not [[1, 2]])
                one = one.item() if isinstance(one, np.generic) else one
                raise TypeError(f"the mapping's {key!r} holds one value in a {type(value).__name__}; a mapping is one "
                                f"configuration (column -> value): pass the value itself, {key}={one!r}")
            raise TypeError(
                f"the mapping's {key!r} holds {len(value)} value{'' if len(value) == 1 else 's'}, but a mapping is one configuration (column -> "
                "value); for several rows pass a list of mappings, or pandas.DataFrame(mapping)")


#: Binary values a mapping's name key may not hold (a name is a str; a frame's bytes cells are decoded instead).
_BYTES = (bytes, bytearray, memoryview)

class MistypedValueError(TypeError):
    """A mapping's number key holding text, or its name key a number (:func:`refuse_mistyped_values`): the one
    TypeError a chunked prediction re-validates the whole table for (energylens.model.chunks), so that the error
    names every such cell of the list; any other TypeError raised on the way is a bug and propagates as it is."""


def refuse_mistyped_values(frame: pd.DataFrame) -> None:
    """A number key of a frame built from mappings (:func:`mapping_frame`) holding text (``tp="2"``, ``b"64"``), or a
    name key holding a number (``model=5``, ``gpu=3``: an index into the caller's own list) or bytes (``model=b"x"``,
    never decoded), is named as a TypeError: a
    mapping comes from Python, where such a value was never converted, not a CSV cell (a file's and a DataFrame's text
    numbers are parsed by the schema); it is a :class:`MistypedValueError`. Called where the light path refused the frame (it refuses both), so a request of
    well-typed values pays nothing for it; rows are named by the frame's index (a chunk's rows as the whole list's)."""
    named = MAPPING_SOURCES.get(frame.attrs.get("source"))
    if named is None:
        return
    table_rows = frozenset(frame.attrs.get("table_rows", ()))  # (rows of a table: text read as the table's would be)
    many, noun, lone = named
    found = []
    for key, dtype in frame.dtypes.items():
        number = key in _NUMBER_KEYS
        if (number and dtype.kind in "iufb") or not (number or key in _NAME_KEYS):  # (pandas 3: text is kind "O")
            continue
        for label, value in zip(frame.index.tolist(), frame[key].tolist(), strict=True):
            if label in table_rows:
                continue
            if number and isinstance(value, (str, *_BYTES)):
                said = f"holds the text {value!r}, not a number"
            elif not number and isinstance(value, _BYTES):  # (was read as its text, or "unhashable type")
                said = f"holds a {type(value).__name__} value {value!r}, not text (a str): decode it"
            elif not number and isinstance(value, (int, float, np.number, np.bool_)) and value == value:  # (NaN: blank)
                said = f"holds the number {value!r}, not a name"
            else:
                continue
            where = f"{noun} {label + 1} of {frame.attrs.get('mapping_rows', len(frame))}" if many else lone
            found.append(f"{where}: key {key!r} {said}")
    if found:
        raise MistypedValueError("; ".join(found[:20]) + (f"; and {len(found) - 20} more" if len(found) > 20 else "") +
                        ": pass numbers (int or float) for counts and sizes and text for names; text numbers are "
                        "read only from profile files")


def load_configs(configs: Any, *, require_energy: bool) -> pd.DataFrame:
    """Validate a profile / configuration table through schema v1: a DataFrame, a profile file, an
    ML.ENERGY v2 flat CSV, a Splitwise perf_model CSV (latency only) or ``"bundled"``, read as the
    command line reads them (``energylens.profiles.read_profiles``). A mapping is one row and a list of mappings
    rows (a scheduler's request ``{"model": ..., "gpu": ..., "tp": 2, ...}``); anything else is a TypeError
    naming what the model's calls take (it named load_profiles, which the caller never called)."""
    configs = mapping_frame(configs)
    if not isinstance(configs, (str, os.PathLike, pd.DataFrame)):
        raise TypeError("the configurations must be a pandas.DataFrame, a path (str or os.PathLike) of a profile "
                        "file, 'bundled', a mapping (one row: column -> value) or a list of mappings, not "
                        f"{type(configs).__name__}")
    if isinstance(configs, (str, os.PathLike)):  # the same dispatch as the command line
        frame = read_profiles(str(configs), require_energy=require_energy)
        frame.attrs["file_rows"] = True  # read here: its rows are the file's (model.domain names them so)
        if isinstance(configs, str) and configs in BUNDLED_NAMES:  # messages name it as the user did, not by the
            frame.attrs["source"] = configs  # package path (.../site-packages/energylens/data/...)
        return frame
    refuse_mistyped_values(configs)
    return as_profiles(configs, require_energy=require_energy)


def fit_input(profiles: Any, *, require_energy: bool) -> pd.DataFrame | LightProfiles:
    """What fit reads: a raw frame of the common simple kind on the light path
    (:mod:`energylens.profiles.light`, no validated DataFrame built), anything else through
    :func:`load_configs`."""
    if isinstance(profiles, (list, tuple)) and not profiles:  # (predict's empty result; a fit has nothing to fit)
        raise ValueError("fit: the list of measurements is empty; give measured rows (about 50 are recommended)")
    profiles = mapping_frame(profiles, measured=True)  # its mappings are measured rows, not requests
    light = light_profiles(profiles, require_energy=require_energy)
    return load_configs(profiles, require_energy=require_energy) if light is None else light
