"""Prediction chunk by chunk: validation of each chunk (light path or schema), its template inputs, and
the native pass that prices a light-path chunk straight from its columns.

A DataFrame not validated yet is validated ``chunk_rows`` rows at a time, so that its filled copy never
exists whole. A chunk on the light path (:mod:`energylens.profiles.light`) whose combinations the native
pass takes (:func:`energylens.profiles.native_rows.row_inputs`) is evaluated by ``_core.predict_rows``:
features built in cache and never stored, the extrapolation tally taken in the same pass; any other
chunk gets its feature columns from features.py and ``_core.evaluate``. Both give the same predictions
(tests/profiles/test_native_rows.py; a MoE row's last bit aside). A frame validated earlier (marked) is re-checked
whole once; its chunks whose filled cells are the model table's take the light path's columns too
(:mod:`energylens.profiles.validated_light`), the others features.py without a second re-check.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import pandas as pd

from energylens import _core, warning_sink
from energylens.model.configs import MistypedValueError, load_configs, mapping_frame, refuse_mistyped_values
from energylens.model.domain import RangeCheck
from energylens.model.gpu_domain import GpuCheck
from energylens.model.intervals import chunk_bounds
from energylens.profiles.frame_columns import checked_columns
from energylens.profiles.light import LightProfiles, light_profiles
from energylens.profiles.native_rows import RowInputs, row_inputs
from energylens.profiles.schema import SCHEMA_VERSION, as_feature_profiles
from energylens.profiles.validated_light import validated_light

__all__ = ["validated_chunk", "iter_chunks", "config_chunks", "evaluate_chunk", "per_row_frame"]


def per_row_frame(columns: dict[str, np.ndarray], configs: object) -> pd.DataFrame:
    """Per-row results as a DataFrame that carries the index of a DataFrame input, so that
    ``df["x"] = model.predict_phases(df)["x"]`` and ``pd.concat([df, ...], axis=1)`` align row for row
    (a path or mapping input gets 0..n-1)."""
    return pd.DataFrame(columns, index=configs.index if isinstance(configs, pd.DataFrame) else None)


def validated_chunk(part: pd.DataFrame, seen: set[tuple[type, str]]) -> pd.DataFrame | LightProfiles:
    """One chunk through the light path or the schema; a warning already shown for an earlier chunk is
    not repeated."""
    light = light_profiles(part, require_energy=False)
    if light is not None:
        return light
    refuse_mistyped_values(part)  # (a mapping's tp="2" or model=5: the light path refused them)
    with warning_sink.collected() as got:  # per thread: catch_warnings is process-wide and not thread-safe
        out = as_feature_profiles(part)
    for message, category in got:
        if (category, message) not in seen:
            seen.add((category, message))
            warning_sink.warn_bounded(message, category, stacklevel=5)  # the caller of predict / predict_phases
    return out


def iter_chunks(frame, validated: bool, chunk_rows: int, columns_of: Callable, check: RangeCheck | None,
                native: bool, whole_table_error: Callable[[], object],
                gpus: GpuCheck | None = None, trusted: bool = False) -> Iterator[tuple[int, int, object]]:
    """(start, stop, inputs) per chunk of ``frame``: :class:`RowInputs` where ``native`` and the chunk
    takes the native pass, else its feature columns (``columns_of``; extrapolation flags accumulated in
    ``check``). Each validated chunk's ``gpu`` column goes to ``gpus`` (default: ``check.gpus``). On a validation
    error (a ValueError, KeyError or :class:`MistypedValueError`) of a table of several chunks, ``whole_table_error``
    runs first, so that the error names rows of the whole table, not of a chunk. ``trusted``: ``frame`` is the
    caller's marked frame, re-checked whole as it is, so a chunk that keeps features.py is not re-checked again."""
    if gpus is None and check is not None:
        gpus = check.gpus
    n = len(frame)
    seen: set[tuple[type, str]] = set()
    if n == 0:  # no rows, no outputs; the columns are still checked (a missing column is an error)
        if not validated:
            validated_chunk(frame, seen)
        return
    bounds = list(chunk_bounds(n, chunk_rows))
    try:
        for start, stop in bounds:
            part = frame if stop - start == n else frame.iloc[start:stop]
            # a validated (re-checked) chunk: the light path's columns where its filled cells are the model
            # table's, so that it takes the native pass as the same raw rows do (else features.py reads the frame)
            if not validated:
                part = validated_chunk(part, seen)
            else:
                part = validated_light(part) or (checked_columns(part) if trusted else part)
            if gpus is not None and "gpu" in part:
                gpus.tally(part["gpu"])
            inputs = row_inputs(part) if native and isinstance(part, LightProfiles) else None
            if inputs is None:
                inputs = columns_of(part)
                if check is not None:
                    check.flags(inputs)
            yield start, stop, inputs
    # ProfileSchemaError, an unknown GPU or model, a mapping's mistyped value: what the whole table names better.
    # Not any TypeError: one from a bug in the chunk's pass propagates as it is, not after validating the whole
    # table again (seconds on 1e6 rows; a later chunk's validation error then stood in for the bug).
    except (ValueError, KeyError, MistypedValueError):
        if len(bounds) > 1:
            whole_table_error()
        raise


def config_chunks(configs, chunk_rows: int, columns_of: Callable, check: RangeCheck | None,
                  native: bool = False, gpus: GpuCheck | None = None) -> tuple[int, Iterator]:
    """The number of rows of ``configs`` (a path, a frame, a mapping or a list of them) and :func:`iter_chunks`
    over them: a DataFrame not yet validated (a mapping or a list of mappings is one) is validated chunk by chunk
    (memory O(chunk)); paths and validated frames are read at once. ``columns_of`` maps a validated chunk to its
    feature columns (a model's ``_columns``); the template's and the expression model's ``_chunks``."""
    configs = mapping_frame(configs)
    if isinstance(configs, pd.DataFrame) and configs.attrs.get("schema_version") != SCHEMA_VERSION:
        frame, validated = configs, False
    else:
        frame, validated = load_configs(configs, require_energy=False), True
    # the caller's marked frame back as it is passed its re-check; one validated here (a path, a frame edited
    # after it was read) keeps features.py's re-check per chunk (the schema's output is re-checked as before)
    return len(frame), iter_chunks(frame, validated, chunk_rows, columns_of, check, native,
                                   lambda: columns_of(load_configs(configs, require_energy=False)), gpus,
                                   trusted=frame is configs)


def evaluate_chunk(template: str, inputs, theta: np.ndarray, check: RangeCheck | None, out0: np.ndarray,
                   out1: np.ndarray | None, stall: np.ndarray | None = None) -> None:
    """The template's outputs for one chunk into ``out0`` and ``out1``, or with ``out1`` None their sum
    into ``out0`` (rounded as adding the two arrays); ``stall`` (a light-path chunk of the latency template
    only): each row's prefill stall from the same pass (``_core.predict_rows``)."""
    if isinstance(inputs, RowInputs):
        above, below = check.thresholds() if check is not None else (None, None)
        r = _core.predict_rows(template, inputs.numbers, inputs.codes, inputs.n_gpu, inputs.n_precision,
                               inputs.combos, theta, summed=out1 is None, above=above, below=below,
                               kv_head_replication=inputs.kv_head_replication, out0=out0, out1=out1, stall=stall)
        if check is not None:
            check.absorb(len(out0), r.range_count, r.range_high, r.range_low, r.range_flagged)
        return
    second = np.empty(len(out0)) if out1 is None else out1
    _core.evaluate(template, inputs, theta, out=(out0, second))
    if out1 is None:
        np.add(out0, second, out=out0)
