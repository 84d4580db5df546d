"""The profile-table contract, schema v1 (docs/profile-schema.md).

A profile table has one row per measured serving configuration: which model on which GPUs, how it was
parallelised and batched, how long prompts and generations were, and the energy one request took.
:func:`load_profiles` reads such a table (CSV, Parquet or a DataFrame), validates every row, fills
defaults and architecture columns, and returns a frame with fixed dtypes and column order.

Row numbers in error messages are **1-based data rows** (the header does not count; in a CSV file
without blank or multi-line records, data row N is line N + 1). ``ProfileSchemaError.rows`` keeps the
same rows **zero-based** (positions, for ``frame.iloc``), as documented in :mod:`energylens.errors`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pandas as pd

from energylens.profiles import architecture as _architecture
from energylens.profiles import cells, tables
from energylens.profiles.bare_fp4 import mark_bare, resolve_bare
from energylens.profiles.checkpoints import checkpoint_precision
from energylens.profiles.feature_columns import check_feature_columns
from energylens.profiles.files import suffix_kind
from energylens.profiles.header import (
    check_column_spelling,
    check_column_typos,
    check_parallel_synonyms,
    check_required_columns,
    check_unique_columns,
)
from energylens.profiles.limits import MAX_GPU_COUNT, check_limits, within_limits
from energylens.profiles.number_cells import non_numeric_problems
from energylens.profiles.parallelism import check_expert_parallel_model, check_parallelism, pipeline_stages
from energylens.profiles.pattern_cells import check_layer_patterns
from energylens.profiles.problems import (
    EMPTY_ROW,
    EMPTY_ROW_REASON,
    MISSING_REASON,
    Problems,
    Requests,
    container_cells,
    empty_rows,
    frame_source,
    raise_or_drop,
)
from energylens.profiles.reading import (
    COMMENT_REASON,
    DATAFRAME_SOURCE,
    INTEGER_COLUMNS,
    check_stray_rows,
    comment_rows,
    integer_columns,
    read_table,
)
from energylens.profiles.recheck import still_valid
from energylens.profiles.row_names import as_read, by_label, origin_text, remember
from energylens.profiles.store_dir import STORE_MARKER, part_origin, read_store_dir

__all__ = [
    "SCHEMA_VERSION",
    "REQUIRED_COLUMNS",
    "COLUMN_ORDER",
    "OPTIONAL_DEFAULTS",
    "DERIVED_DEFAULTS",
    "MEASURED_COLUMNS",
    "ARCHITECTURE_COLUMNS",
    "PRECISIONS",
    "MODALITIES",
    "ARCHITECTURES",
    "MAX_GPU_COUNT",
    "DroppedRowsWarning",
    "load_profiles",
    "STORE_MARKER",
    "read_store_dir",
    "as_profiles",
    "as_feature_profiles",
]

#: Version of the contract this module implements.
SCHEMA_VERSION = 1

#: Columns every profile table must have (units: params_b in 1e9 parameters, tokens per request,
#: energy_j in joules per request summed over every device used). ``pp`` was one until 2026-12-06.
REQUIRED_COLUMNS: tuple[str, ...] = (
    "model", "params_b", "gpu", "tp", "batch_size", "input_tokens", "output_tokens", "energy_j",
)

#: Optional measurements: absent or NaN means "not measured"; where present they must be > 0.
MEASURED_COLUMNS: tuple[str, ...] = (
    "prefill_energy_j", "decode_energy_j", "ttft_s", "tpot_s", "latency_s", "avg_power_w",
)

#: Architecture columns; absent/NaN cells are filled from the model table (energylens.profiles.tables).
ARCHITECTURE_COLUMNS: tuple[str, ...] = (
    "n_layers", "d_model", "n_heads", "n_kv_heads", "head_dim", "n_experts", "experts_per_token",
    "image_tokens_per_image",
)

#: Optional columns and their defaults, in output order. NaN for ``active_params_b`` and ``n_gpus``
#: means "derived" (see :data:`DERIVED_DEFAULTS`); NaN for a measurement means "not measured"; NaN
#: for an architecture column means "filled from the model table" (``fill_architecture=True``).
OPTIONAL_DEFAULTS: Mapping[str, object] = MappingProxyType({
    "pp": 1,  # a blank cell too (parallelism.DEFAULT_PP, vLLM's --pipeline-parallel-size default)
    "active_params_b": math.nan,
    "ep": 1,
    "dp": math.nan,
    "n_gpus": math.nan,
    "architecture": "dense",
    "precision": "bf16",
    "kv_cache_dtype": "auto",
    "modality": "text",
    "task": "",
    **{c: math.nan for c in MEASURED_COLUMNS},
    **{c: math.nan for c in ARCHITECTURE_COLUMNS},
})

#: How the derived defaults are computed, per row.
DERIVED_DEFAULTS: Mapping[str, str] = MappingProxyType({
    "precision": "the format the model's checkpoint is published in (energylens.profiles.checkpoints: a "
                 "-FP8 / -AWQ / -NVFP4 name, openai/gpt-oss-* mxfp4, DeepSeek-V3 fp8 ...), else bf16",
    "active_params_b": "params_b (for a model of the model table: params_b * its active/total ratio)",
    "dp": "n_gpus / (tp * pp) when n_gpus is given, else 1",
    "n_gpus": "tp * pp * dp",
})

#: Weight formats (energylens.profiles.precision.WEIGHT_FORMATS, the one precision table).
PRECISIONS: tuple[str, ...] = tuple(tables.WEIGHT_FORMATS)
#: KV-cache element types (vLLM ``--kv-cache-dtype``): ``auto`` = the activation dtype.
KV_CACHE_DTYPES: tuple[str, ...] = ("auto", "fp32", "fp16", "bf16", "fp8")
MODALITIES: tuple[str, ...] = ("text", "image", "video")
ARCHITECTURES: tuple[str, ...] = ("dense", "moe", "hybrid")

#: The schema's columns in a validated frame's order: the required ones with ``pp`` after ``tp``, where it stood
#: while it was required (so a validated frame is laid out as before), then the other optional ones.
COLUMN_ORDER: tuple[str, ...] = (*REQUIRED_COLUMNS[:4], "pp", *REQUIRED_COLUMNS[4:],
                                 *(c for c in OPTIONAL_DEFAULTS if c != "pp"))

_TEXT_COLUMNS = ("model", "gpu", "architecture", "precision", "kv_cache_dtype", "modality", "task")
_INT_COLUMNS = ("tp", "pp", "ep", "dp", "n_gpus")
_NUMERIC_COLUMNS = tuple(c for c in COLUMN_ORDER if c not in _TEXT_COLUMNS)  # parsed (problems found) in this order
_OUTPUT_COLUMNS = frozenset(COLUMN_ORDER)
_LEADING_COLUMNS = COLUMN_ORDER[:len(REQUIRED_COLUMNS) + 1]  # the required ones and pp
#: Every column name the schema, the features and the GPU spec columns read (exact names; a near miss is an error).
_SPELLED_COLUMNS = (*_OUTPUT_COLUMNS, "video_frames", "scale_up_domain_gpus", "compute_precision",
                    "mamba_ssm_cache_dtype", "weight_layout", "layer_pattern", "gpu_vendor",
                    *tables.INLINE_COLUMNS)


class DroppedRowsWarning(UserWarning):
    """``load_profiles(..., drop_invalid=True)`` dropped rows; the message counts them per reason."""


# --------------------------------------------------------------------------------------------------
# Validation helpers
# --------------------------------------------------------------------------------------------------

# --------------------------------------------------------------------------------------------------
# load_profiles
# --------------------------------------------------------------------------------------------------

def load_profiles(path_or_frame, *, drop_invalid: bool = False, fill_architecture: bool = True,
                  source: str | None = None, require_energy: bool = True,
                  column_names: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Read and validate a profile table (schema v1, docs/profile-schema.md).

    Args:
        path_or_frame: a ``.csv`` (optionally compressed, e.g. ``.csv.gz``) or ``.parquet`` path, or a
            DataFrame (not modified).
        drop_invalid: drop invalid rows instead of raising; a :class:`DroppedRowsWarning` counts them
            per column and reason, and ``result.attrs["dropped"]`` holds them (original values, plus
            ``row`` = 1-based data row and ``reason``). A missing required column still raises.
        fill_architecture: fill absent/NaN architecture cells (and ``architecture``,
            ``active_params_b``) from the model table; unknown models are estimated from ``params_b``
            with one :class:`energylens.profiles.tables.EstimatedArchitectureWarning` listing them.
        source: the name used in messages (default: the path, or ``"<DataFrame>"``).
        require_energy: ``False`` reads a table of *configurations to predict*: ``energy_j`` may be
            absent (it is then added as NaN) or empty; every other rule still applies.
        column_names: schema column -> the source's own name for it (a converted export's header: ``{"tp":
            "TP"}``): row errors name the column as the user's file spells it, ``column 'TP' (schema column
            'tp')`` (``ProfileSchemaError.column`` stays the schema column).

    Returns:
        A new DataFrame: the schema's columns in :data:`COLUMN_ORDER` (required ones, ``pp`` after ``tp``, then
        every other optional column), then unknown columns (kept untouched, in their order). ``tp, pp, ep, n_gpus`` are int64, the other numeric columns
        float64, text columns str. The index is kept (for files: the zero-based data row), so dropped
        rows leave gaps. ``attrs``: ``source``, ``schema_version`` (and ``dropped`` with
        ``drop_invalid=True``).

    Raises:
        ProfileSchemaError: a violation; the message names the source, the column and the 1-based data
            rows, and lists every further problem found.
        FileNotFoundError: the path does not exist.
    """
    return _load(path_or_frame, drop_invalid, fill_architecture, source, require_energy, plain_text=False,
                 names=column_names)


def _load(path_or_frame, drop_invalid: bool, fill_architecture: bool, source: str | None, require_energy: bool,
          *, plain_text: bool, frame_rows: bool = False, names: Mapping[str, str] | None = None) -> pd.DataFrame:
    """load_profiles; ``plain_text`` leaves the text columns NumPy object arrays (see as_feature_profiles);
    ``frame_rows`` names rows as positions in the frame, with its index labels (see as_profiles)."""
    frame, src = read_table(path_or_frame, source, _TEXT_COLUMNS)
    headers = [str(c) for c in frame.columns]
    check_unique_columns(headers, src)
    required = REQUIRED_COLUMNS if require_energy else tuple(c for c in REQUIRED_COLUMNS if c != "energy_j")
    # params_b may be left out where the model table knows the model (_parse_numeric fills it)
    check_required_columns(headers, tuple(c for c in required if c != "params_b" or "model" not in headers), src)
    check_column_spelling(headers, _SPELLED_COLUMNS, src)  # ' n_gpus' / 'Precision' silently ignored
    check_parallel_synonyms(headers, src)  # 'pipeline_parallel_size' silently ignored, pp = 1 (ep, dp alike)
    check_column_typos(headers, _SPELLED_COLUMNS, src)  # 'ppp' silently ignored, pp = 1
    # the columns' values, read once (a Series per column and check cost more than a small table's whole pass)
    arrays = cells.column_arrays(frame)
    raw = dict(zip(headers, arrays, strict=True))
    # energy_j of a table of configurations; params_b of known models' configurations (the model table's counts)
    add_energy = tuple(c for c, absent in (("energy_j", not require_energy and "energy_j" not in raw),
                                           ("params_b", "params_b" not in raw)) if absent)
    for c in add_energy:
        raw[c] = np.full(len(frame), np.nan)

    problems = Problems(len(frame), raw)
    if not isinstance(path_or_frame, pd.DataFrame) and suffix_kind(Path(path_or_frame)) == "csv" and headers:
        # '#' lines below the header (a commented-out row too, whose cells would otherwise all read as valid)
        problems.add(comment_rows(arrays[0]), headers[0], COMMENT_REASON)
    problems.add(empty_rows(frame, np.asarray(pd.isna(raw["model"]), dtype=bool)), EMPTY_ROW,
                 EMPTY_ROW_REASON, arrays[0])
    container_cells(raw, _TEXT_COLUMNS, problems)  # a JSON array in a cell: named, not pandas' 'unhashable'
    out = _parse_numeric(raw, required, problems)
    _check_ranges(out, problems, len(frame))
    check_feature_columns(raw, problems)
    _parse_text(raw, out, problems)
    check_layer_patterns(raw, out["model"], problems)  # a hybrid's own layer kinds (a sweep's row)
    dropped = None
    if problems.items or drop_invalid:
        if problems.items and not drop_invalid and not isinstance(path_or_frame, pd.DataFrame):
            check_stray_rows(frame, src, Path(path_or_frame))  # a comment line, a repeated header, a summary row
        frame = _as_read(frame, headers, add_energy)
        labelled = frame_rows or (isinstance(path_or_frame, pd.DataFrame) and by_label(src, frame.index))
        origin = (lambda rows: origin_text(frame, rows)) if src == DATAFRAME_SOURCE else None  # pd.concat's rows
        if not isinstance(path_or_frame, pd.DataFrame) and (Path(path_or_frame) / STORE_MARKER).is_file():
            origin = part_origin(path_or_frame, frame)  # a store's rows: the part files they are
        labels = Requests.of(src, len(frame)) or (frame.index if labelled else None)  # (a model call's mappings)
        frame, out, dropped = raise_or_drop(frame, out, problems, src, drop_invalid, labels, names,
                                            DroppedRowsWarning, origin)
        extras = [(c, frame[c].array) for c in frame.columns if c not in _OUTPUT_COLUMNS]
    else:
        extras = _extra_columns(frame, headers, arrays, add_energy)

    result = _assemble(out, frame.index, extras, src, fill_architecture, plain_text)
    result.attrs["source"] = src
    result.attrs["schema_version"] = SCHEMA_VERSION
    if not isinstance(path_or_frame, pd.DataFrame) or not src.startswith("<"):  # a file (or a reader's frame of
        remember(result)  # one, named by its path): its rows, as read, for messages (row_names)
    if not isinstance(path_or_frame, pd.DataFrame):  # a file's integer columns (predict writes them so again)
        result.attrs[INTEGER_COLUMNS] = integer_columns(headers, arrays)
    if dropped is not None:
        result.attrs["dropped"] = dropped
    return result


def _as_read(frame: pd.DataFrame, names: list[str], add_energy: tuple[str, ...]) -> pd.DataFrame:
    """The frame as the rows are dropped from and reported: str column names, and ``energy_j`` / ``params_b``
    (NaN) where a table of configurations lacks them. ``frame`` is the reader's own copy."""
    frame.columns = names
    for c in add_energy:
        frame[c] = np.nan
    return frame


def _extra_columns(frame: pd.DataFrame, names: list[str], arrays: list[object],
                   add_energy: tuple[str, ...]) -> list[tuple[str, object]]:
    """The source's unknown columns, in order, as (name, values) for the result. Two blank-named columns (which
    pass the duplicate check) are read by name as before, which fails as it did."""
    extras = [(c, a) for c, a in zip(names, arrays, strict=True) if c not in _OUTPUT_COLUMNS]
    if len({c for c, _ in extras}) < len(extras):
        frame = _as_read(frame, names, add_energy)
        return [(c, frame[c].array) for c in frame.columns if c not in _OUTPUT_COLUMNS]
    return extras


def as_profiles(frame, *, require_energy: bool = True) -> pd.DataFrame:
    """``frame`` itself when :func:`load_profiles` already validated it (``attrs["schema_version"]``) and,
    with ``require_energy``, every row has its energy; otherwise ``load_profiles(frame)``, which validates
    and fills it or raises naming the column and rows. The one entry point through which the model and
    :func:`energylens.profiles.features.build_features` accept a frame, so rows are validated and
    architectures filled once, here.

    A validated frame validated again may have been filtered, reordered or re-indexed since it was read: its
    errors name it ``<DataFrame read from FILE>`` (``<DataFrame edited after it was read from FILE>`` when its
    numbers or columns changed) and its rows as positions in the frame with their index labels, never as
    rows of the file."""
    if not isinstance(frame, pd.DataFrame):
        return load_profiles(frame, require_energy=require_energy)  # raises TypeError naming what it takes
    # attrs survive column selection (frame[cols].copy()): validated means every output column is there too
    source = frame.attrs.get("source")
    if frame.attrs.get("schema_version") != SCHEMA_VERSION:
        return load_profiles(frame, require_energy=require_energy, source=source)
    edited = (not _OUTPUT_COLUMNS.issubset(frame.columns) or not still_valid(frame, MAX_GPU_COUNT)
              or not within_limits(frame))
    # (energy_j read only where required: a Series of a validated frame deep-copies its attrs, ~0.2 ms a predict)
    if not edited and (not require_energy or np.isfinite(frame["energy_j"].to_numpy(dtype="float64")).all()):
        return frame
    if source:  # a file's name: these rows need not be the file's rows (a cell changed, the index reset)
        source = frame_source(source, edited=edited or as_read(frame) is False)
    return _load(frame, False, True, source, require_energy, plain_text=False, frame_rows=True)


def as_feature_profiles(frame: pd.DataFrame) -> pd.DataFrame:
    """:func:`as_profiles` (``require_energy=False``) for a frame that only
    :func:`energylens.profiles.features.build_features` reads: the same validation, defaults, fills,
    warnings and messages, but a frame not validated yet keeps its text columns as NumPy object arrays
    instead of pandas' ``str`` dtype, whose construction was most of the cost of validating a large
    table. The prediction path of :mod:`energylens.model` validates a user's frame chunk by chunk
    through it."""
    if isinstance(frame, pd.DataFrame) and frame.attrs.get("schema_version") != SCHEMA_VERSION:
        return _load(frame, False, True, frame.attrs.get("source"), False, plain_text=True)
    return as_profiles(frame, require_energy=False)


def _parse_numeric(raw: Mapping[str, object], required: tuple[str, ...], problems: Problems) -> dict[str, np.ndarray]:
    """float64 values of every numeric column present; unparseable, infinite and missing required cells
    are recorded in ``problems``."""
    out: dict[str, np.ndarray] = {}
    for col in _NUMERIC_COLUMNS:
        if col not in raw:
            continue
        values, non_numeric = cells.to_float(raw[col])
        if col == "params_b":  # a blank cell (or no column) of a model the table knows: the table's count
            values = _architecture.table_params_b(raw["model"], values)
        for mask, reason in non_numeric_problems(raw[col], non_numeric, col, col in required):
            problems.add(mask, col, reason)  # with what the cell looks like ('1,234', '5%') and what to write
        nan = np.isnan(values)
        problems.add(~nan & ~np.isfinite(values), col, "non-finite value (inf)")
        if col in required:
            missing = nan & ~non_numeric  # a model the table does not know, without params_b: named
            problems.add(missing, col, MISSING_REASON + (
                _architecture.unknown_models_said(raw["model"], missing) if col == "params_b" and missing.any() else ""))
        out[col] = values
    return out


def _check_ranges(out: dict[str, np.ndarray], problems: Problems, n_rows: int) -> None:
    """The range rules of schema v1 on the parsed numeric columns (NaN cells are not checked here)."""
    finite: dict[str, np.ndarray] = {}

    def rule(col: str, bad_fn, reason: str) -> None:
        if col not in out:
            return
        v = out[col]
        if col not in finite:
            finite[col] = np.isfinite(v)
        problems.add(finite[col] & bad_fn(v), col, reason)  # the comparisons see no NaN where it counts

    for col in _INT_COLUMNS:
        rule(col, lambda v: (v < 1) | (v != np.round(v)), "must be an integer >= 1")
        rule(col, lambda v: v > MAX_GPU_COUNT, f"must be <= {MAX_GPU_COUNT} (2**20; a count of GPUs)")
    rule("params_b", lambda v: v <= 0, "must be > 0 (billions of parameters)")
    rule("active_params_b", lambda v: v <= 0, "must be > 0 (billions of parameters)")
    rule("batch_size", lambda v: v <= 0, "must be > 0 (mean running sequences)")
    rule("input_tokens", lambda v: v <= 0, "must be > 0 (mean prompt tokens per request; the serving engine "
         "refuses an empty prompt, and the features price a prompt of at least one token)")
    rule("output_tokens", lambda v: v <= 0, "must be > 0 (mean generated tokens per request)")
    rule("energy_j", lambda v: v <= 0, "must be > 0 (joules per request)")
    for col in MEASURED_COLUMNS:
        rule(col, lambda v: v <= 0, "must be > 0 where measured (leave empty/NaN if not measured)")
    for col in ARCHITECTURE_COLUMNS:
        if col == "image_tokens_per_image":
            rule(col, lambda v: v < 0, "must be >= 0")
        else:
            rule(col, lambda v: (v < 1) | (v != np.round(v)), "must be an integer >= 1")
    if "active_params_b" in out:
        a, p = out["active_params_b"], out["params_b"]
        with np.errstate(invalid="ignore"):
            # 1e-6: one column stored as float32 (rounding up to 6e-8) and the other as float64 still agree
            problems.add(~np.isnan(a) & ~np.isnan(p) & (a > p * (1 + 1e-6)), "active_params_b",
                         "must be <= params_b")

    check_parallelism(out, problems, n_rows)
    check_limits(out, problems, n_rows)  # plausibility and GPU-count bounds, after the rules above name a sign error


#: Text columns the schema reads, and the choice columns' allowed values and alias maps.
_PARSED_TEXT = ("model", "gpu", "precision", "kv_cache_dtype", "modality", "architecture", "task")
_CHOICES = {
    "precision": (PRECISIONS, tables.normalize_precision),
    "kv_cache_dtype": (KV_CACHE_DTYPES, tables.normalize_kv_cache_dtype),
    "modality": (MODALITIES, None),
    "architecture": (ARCHITECTURES, None),
}


def _parse_text(raw: Mapping[str, object], out: dict[str, np.ndarray], problems: Problems) -> None:
    """Stripped names (model, gpu), canonical choices (precision, kv_cache_dtype, modality, architecture)
    and task into ``out`` (object arrays); blank required names and unknown choices into ``problems``. Each
    column is coded once (natively where every cell is a str) and every rule runs per distinct value."""
    present = [c for c in _PARSED_TEXT if c in raw]
    native = dict(zip(present, cells.text_codes_of([raw[c] for c in present]), strict=True))

    def coded(col: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        c, uniques = cells.coded_cells(raw[col], native[col])
        return c, uniques, cells.blank_codes(raw[col], c, uniques)

    for col in ("model", "gpu"):
        c, uniques, blank = coded(col)
        problems.add(blank, col, MISSING_REASON)
        out[col] = cells.per_code(c, uniques, lambda v: cells.text_of(v).strip(), missing="")
        out[col][blank] = ""
    for col, (allowed, canon) in _CHOICES.items():
        if col not in raw:
            continue
        c, uniques, blank = coded(col)
        values, bad = cells.choice_codes(c, uniques, allowed, canon)
        mark_bare(out, col, c, uniques)  # a bare fp4 cell: its row's checkpoint decides (_assemble)
        problems.add(bad & ~blank, col, f"unknown {col} (allowed: {', '.join(allowed)})")
        values[blank] = np.nan
        out[col] = values
    check_expert_parallel_model(out, problems)
    if "task" in raw:
        c, uniques, blank = coded("task")
        out["task"] = cells.per_code(c, uniques, cells.text_of, missing="")
        out["task"][blank] = ""


# --------------------------------------------------------------------------------------------------
# Defaults, architecture fill, dtypes, order
# --------------------------------------------------------------------------------------------------

def _assemble(out: dict[str, np.ndarray], index: pd.Index, extras: list[tuple[str, object]], src: str,
              fill_architecture: bool, plain_text: bool = False) -> pd.DataFrame:
    """Build the result positionally (the index may have duplicate labels); ``extras``: the source's unknown
    columns, appended untouched."""
    n = len(index)

    def num(name: str) -> np.ndarray:
        return np.array(out[name], dtype=np.float64) if name in out else np.full(n, np.nan)

    def text(name: str) -> np.ndarray:
        return np.array(out[name], dtype=object) if name in out else np.full(n, None, dtype=object)

    ep = num("ep")
    ep[np.isnan(ep)] = 1.0
    n_gpus = num("n_gpus")
    tp, pp = num("tp"), pipeline_stages(out, n)[0]  # pp 1 where not given
    dp = num("dp")
    dp = np.where(np.isnan(dp), np.where(np.isnan(n_gpus), 1.0, n_gpus / (tp * pp)), dp)
    n_gpus = np.where(np.isnan(n_gpus), tp * pp * dp, n_gpus)
    params = num("params_b")
    active = num("active_params_b")
    architecture = text("architecture")
    arch = {c: num(c) for c in ARCHITECTURE_COLUMNS}
    if fill_architecture and n:
        _architecture.fill_architecture(text("model"), params, arch, architecture, active, source=src)
    architecture[cells.is_missing(architecture)] = OPTIONAL_DEFAULTS["architecture"]

    cols: dict[str, object] = {c: text(c) if c in _TEXT_COLUMNS else num(c) for c in _LEADING_COLUMNS}
    cols["pp"] = pp
    cols["active_params_b"] = np.where(np.isnan(active), params, active)
    cols["ep"] = ep
    cols["dp"] = dp
    cols["n_gpus"] = n_gpus
    cols["architecture"] = architecture
    for c in ("precision", "kv_cache_dtype", "modality", "task"):
        a = resolve_bare(text(c), out, cols["model"], src) if c == "precision" else text(c)  # fp4: nvfp4 ...
        missing = cells.is_missing(a)
        if c == "precision" and missing.any():  # the format the row's checkpoint is published in, else bf16
            names = cols["model"][missing]
            formats = {m: checkpoint_precision(str(m)) for m in set(names)}
            a[missing] = [formats[m] for m in names]
        else:
            a[missing] = OPTIONAL_DEFAULTS[c]
        cols[c] = a
    for c in MEASURED_COLUMNS:
        cols[c] = num(c)
    cols.update(arch)
    return _typed(cols, index, extras, plain_text)


def _typed(cols: dict[str, object], index: pd.Index, extras: list[tuple[str, object]],
           plain_text: bool = False) -> pd.DataFrame:
    """Fixed dtypes, the source's index, and the source's unknown columns appended untouched; the frame is
    built once from typed columns (setting columns one by one was most of a 50-row fit's time); a text column
    as ``Series.astype(str)`` builds it (:func:`energylens.profiles.cells.str_array`, without its overhead)."""
    typed: dict[str, object] = {}
    for c, values in cols.items():
        if c in _INT_COLUMNS:
            typed[c] = np.asarray(values).astype("int64")
        elif c in _TEXT_COLUMNS and plain_text:  # every cell is a str already (cells.text, defaults filled)
            typed[c] = np.asarray(values, dtype=object)
        elif c in _TEXT_COLUMNS:
            typed[c] = cells.str_array(np.asarray(values, dtype=object))
        else:
            typed[c] = np.asarray(values, dtype="float64")
    for c, values in extras:
        typed[c] = values
    return pd.DataFrame(typed, index=index, copy=False)
