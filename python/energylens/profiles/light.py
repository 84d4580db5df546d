"""The light path: a raw table of the common simple kind validated on NumPy arrays, without a DataFrame.

``EnergyModel.fit(df)`` and ``predict(df)`` on a user's freshly read table spend their time in pandas
when they go through :func:`energylens.profiles.load_profiles`, which builds the whole validated frame
(30-odd typed columns, text in pandas' ``str`` dtype) that only :func:`~energylens.profiles.features.build_features`
reads. :func:`light_profiles` takes the common case (the required columns, optionally ``pp``, ``precision`` and
measured columns, nothing the schema would derive or fill from other columns) and returns the columns
``build_features`` reads as NumPy arrays (text as :class:`energylens.profiles.cells.Coded`: one code
per row, one Python value per distinct name), ``active_params_b`` filled from the model table as the schema fills it.

It only ever *accepts*: any cell the schema would reject, warn about, strip, default or derive (a blank,
a NaN in a required column, an unknown model or GPU, a non-numeric dtype, a column it does not handle)
makes it return ``None``, and the caller takes the full path, which raises or warns with its usual
messages. So the two paths cannot disagree on errors, and tests/profiles/test_light.py checks that their
features are equal bit for bit.
"""
from __future__ import annotations

import functools
import weakref

import numpy as np
import pandas as pd

from energylens import _core
from energylens.errors import EnergyLensError
from energylens.profiles import cells, tables
from energylens.profiles.cells import Coded
from energylens.profiles.checkpoints import checkpoint_precision
from energylens.profiles.features import ARCH_LOOKUP, features_of
from energylens.profiles.gpu_table import gpu_spec
from energylens.profiles.header import column_typos, parallel_synonyms
from energylens.profiles.limits import LIMITS, power_too_low
from energylens.profiles.parallelism import DEFAULT_PP
from energylens.profiles.schema import (
    _SPELLED_COLUMNS,
    ARCHITECTURE_COLUMNS,
    KV_CACHE_DTYPES,
    MAX_GPU_COUNT,
    MEASURED_COLUMNS,
    OPTIONAL_DEFAULTS,
    PRECISIONS,
    REQUIRED_COLUMNS,
    SCHEMA_VERSION,
)

__all__ = ["LightProfiles", "light_profiles"]

_TEXT = ("model", "gpu")
_INTEGER = ("tp", "pp", "dp", "ep")
# column -> (lower bound, bound allowed) of the required numbers (energy_j and the others: > 0)
_RANGES = {"tp": (1.0, True), "pp": (1.0, True), "params_b": (0.0, False), "batch_size": (0.0, False),
           "input_tokens": (0.0, False), "output_tokens": (0.0, False), "dp": (1.0, True), "ep": (1.0, True)}
#: Optional columns the light path takes as given where every cell is as the schema would keep it: pipeline stages
#: (absent: every row 1, as the schema fills it; a blank cell goes to the full path), data-parallel replicas and
#: the expert-parallel group (whole numbers >= 1, the schema's cross-column rules checked here, any doubt to the
#: full path), and the KV-cache dtype in its canonical spelling.
_PARALLEL = ("pp", "dp", "ep")
_HANDLED = frozenset(REQUIRED_COLUMNS) | frozenset(MEASURED_COLUMNS) | {"precision", "kv_cache_dtype", *_PARALLEL}
# columns outside the schema that build_features or the GPU look-up still read: the full path handles them.
# Derived from the architecture look-up's own list (every model-table column a profile column overrides),
# so that a column added there cannot be dropped here (tests/profiles/test_light_columns.py scans the
# feature builder for the rest).
_READ_ELSEWHERE = frozenset(ARCH_LOOKUP) | frozenset({"compute_precision", "video_frames", "mamba_ssm_cache_dtype",
                                                      "scale_up_domain_gpus", "weight_layout",
                                                      "layer_pattern"})
# lower-case names an unknown column may not fold to (case, spaces): the full path raises on them
_NEAR_MISSES = _READ_ELSEWHERE | frozenset(REQUIRED_COLUMNS) | frozenset(OPTIONAL_DEFAULTS)


class LightProfiles:
    """Validated columns of a raw table (name -> 1-D array; ``model``, ``gpu`` and ``precision`` as
    :class:`~energylens.profiles.cells.Coded`), ``len()`` = rows, and the GPU specs: what the model's fit and predict read,
    standing in for the validated frame."""

    def __init__(self, columns: dict[str, object], n_rows: int, gpu_specs: dict, model_specs: dict) -> None:
        self._columns = columns
        self._n_rows = n_rows
        self.gpu_specs = gpu_specs
        self.model_specs = model_specs
        self._features: dict[str, np.ndarray] | None = None
        self._derived: dict[str, np.ndarray] = {}
        if "energy_j" not in columns:
            columns["energy_j"] = None  # all NaN, made on first read (prediction never reads it)

    def features(self) -> dict[str, np.ndarray]:
        """build_features of these rows, built once (fit's energy and latency models share them)."""
        if self._features is None:
            self._features = features_of(self, self.gpu_specs, self.model_specs)
        return self._features

    @property
    def columns(self) -> tuple[str, ...]:
        return (*self._columns, "active_params_b")

    def __contains__(self, name: object) -> bool:
        return name in self._columns or name == "active_params_b"

    def __getitem__(self, name: str):
        if name == "active_params_b":  # made on first read: the native prediction computes it per row
            if name not in self._derived:
                self._derived[name] = _active_params_b(self._columns, self.model_specs)
            return self._derived[name]
        if name == "energy_j" and self._columns[name] is None:
            self._columns[name] = np.full(self._n_rows, np.nan)
        return self._columns[name]

    def __len__(self) -> int:
        return self._n_rows


def light_profiles(frame: object, *, require_energy: bool) -> LightProfiles | None:
    """The validated columns of ``frame`` on the light path, or None where the full path must run (see
    the module docstring): a DataFrame not validated yet, with string column names, the required columns
    (``energy_j`` optional without ``require_energy``; ``params_b`` too, filled with the model table's count of
    each model as the schema fills it), and otherwise only ``pp`` (absent: 1), ``dp``, ``ep``,
    ``precision``, ``kv_cache_dtype``, measured columns and columns the schema keeps untouched."""
    if not isinstance(frame, pd.DataFrame) or frame.attrs.get("schema_version") == SCHEMA_VERSION or len(frame) == 0:
        return None
    names = _column_names(frame.columns)
    if not all(isinstance(c, str) for c in names) or len(set(names)) != len(names):
        return None
    required = [c for c in REQUIRED_COLUMNS if require_energy or c != "energy_j"]
    # params_b may be left out, as the schema allows: _filled takes each known model's count from the table
    if any(c not in names for c in required if c != "params_b") or parallel_synonyms(names):  # ('pipeline_parallel_size': the schema's error)
        return None
    if column_typos(tuple(names), _SPELLED_COLUMNS):  # 'ppp': the schema's error
        return None
    for c in names:
        known = c in REQUIRED_COLUMNS or c in OPTIONAL_DEFAULTS
        folded = c if known else c.strip().lower()  # ' n_gpus' / 'Precision': the full path names the near miss
        if (known and c not in _HANDLED) or (not known and (folded in _NEAR_MISSES or folded.startswith("gpu_"))):
            return None
    arrays = dict(zip(names, cells.column_arrays(frame), strict=True))  # the frame's columns, names in order
    columns: dict[str, object] = {}
    for c in names:
        if c in _HANDLED and c not in _TEXT and c not in ("precision", "kv_cache_dtype"):
            values = _number_column(arrays[c], c, required=c in required or c in _PARALLEL)  # (pp, dp, ep: no NaN)
            if values is None:
                return None
            columns[c] = values
    if "pp" not in columns:  # the schema's default (profiles/parallelism.py)
        columns["pp"] = np.full(len(frame), float(DEFAULT_PP))
    text = [c for c in (*_TEXT, "precision", "kv_cache_dtype") if c in arrays]
    coded_text = cells.text_codes_of([arrays[c] for c in text])  # native, the Arrow columns in parallel
    for c, coded in zip(text, coded_text, strict=True):
        column = _text_column(arrays[c], c == "precision", coded)
        if column is None or (c == "kv_cache_dtype" and not _canonical_kv(column)):
            return None
        columns[c] = column
    gpus = _gpu_count(columns)
    if gpus.max() > MAX_GPU_COUNT or not _ep_divides(columns, gpus):
        return None  # tp x pp beyond the schema's GPU count: the full path's error, not a prediction
    if "avg_power_w" in columns and power_too_low(columns["avg_power_w"], gpus).any():
        return None  # a power in kW: the full path names the rows
    return _filled(columns, len(frame))


# id(column Index) -> (weak reference to it, its names): an Index is immutable, and listing the names of a
# pandas ``str`` Index costs ~7 us, a tenth of a 50-row table's validation. Bounded; checked by identity.
_NAMES: dict[int, tuple[weakref.ref, list]] = {}


def _column_names(index: pd.Index) -> list:
    """``index.tolist()``, remembered per Index object (a fresh list per call: callers may keep it)."""
    hit = _NAMES.get(id(index))
    if hit is not None and hit[0]() is index:
        return list(hit[1])
    names = index.tolist()
    try:
        ref = weakref.ref(index)
    except TypeError:  # a pandas whose Index takes no weak references: nothing remembered
        return names
    if len(_NAMES) >= 256:
        _NAMES.clear()
    _NAMES[id(index)] = (ref, list(names))
    return names


def _number_column(values: object, name: str, *, required: bool) -> np.ndarray | None:
    """float64 values of a plain NumPy int/float column that pass the schema's rules, else None: a required
    number finite and in its range (tp, pp whole numbers >= 1; params_b, batch_size, output_tokens,
    energy_j, input_tokens > 0), a measured one > 0 where given (NaN: not measured), and every one inside its
    plausibility limit (profiles/limits.py). One native pass (``_core.numbers_ok``) and a maximum; the values
    are read in place where the column already is float64."""
    if not isinstance(values, np.ndarray) or values.ndim != 1 or values.dtype.kind not in "iuf":
        return None
    values = np.asarray(values, dtype=np.float64)
    lower, inclusive = _RANGES.get(name, (0.0, False)) if required else (0.0, False)
    limit = LIMITS.get(name)
    if limit is not None:  # above the sign rule's bound (0) for every limited column
        lower, inclusive = limit.low, True
    if not _core.numbers_ok(values, lower, inclusive, name in _INTEGER, not required):  # (whole, allow_nan)
        return None
    if limit is not None and values.size and np.fmax.reduce(values) > limit.high:
        return None
    if name in _INTEGER and values.size and values.max() > MAX_GPU_COUNT:  # the schema's bound: its error
        return None
    return values


def _gpu_count(columns: dict[str, object]) -> np.ndarray:
    """tp * pp * dp per row (dp 1 where absent): the GPU count the schema derives as n_gpus."""
    n = np.asarray(columns["tp"]) * np.asarray(columns["pp"])
    return n * np.asarray(columns["dp"]) if "dp" in columns else n


def _ep_divides(columns: dict[str, object], gpus: np.ndarray) -> bool:
    """The schema's rule that ep divides n_gpus (``gpus``: tp * pp * dp, :func:`_gpu_count`), on every row (its
    MoE rule: :func:`_filled`)."""
    if "ep" not in columns:
        return True
    return bool((np.mod(gpus, np.asarray(columns["ep"])) == 0).all())


def _canonical_kv(column: Coded) -> bool:
    """Every KV-cache dtype written as the schema writes it (``auto``, ``fp8``, ...; an alias such as
    ``float16`` goes to the full path, which canonicalises it)."""
    return all(v in KV_CACHE_DTYPES and tables.normalize_kv_cache_dtype(v) == v for v in column.values)


def _text_column(column: object, precision: bool, coded: tuple | None) -> Coded | None:
    """Codes and distinct names of a text column whose every cell is a non-blank str with no surrounding
    space (a ``precision`` cell: a weight format as the schema writes it), else None. ``coded``: the
    codes and names from the native coder (:func:`energylens.profiles.cells.text_codes_of`), or None
    (pandas, as the schema would)."""
    if coded is not None:  # (the native coder takes text columns only)
        codes, uniques = coded
    elif isinstance(column, pd.Categorical):  # its own codes: no hashing at all
        codes, uniques = column.codes, column.categories
    elif (isinstance(column, np.ndarray) and column.dtype == object) or pd.api.types.is_string_dtype(column.dtype):
        if coded is None:  # a missing or non-str cell, or another storage
            # a short column as plain objects: pandas' Arrow factorisation costs ~0.1 ms however short
            values = column if len(column) > 4096 or isinstance(column, np.ndarray) else \
                column.to_numpy(dtype=object, na_value=None)
            try:
                coded = pd.factorize(values, use_na_sentinel=True)
            except TypeError:  # an unhashable cell: the full path names it
                return None
        codes, uniques = coded
    else:
        return None
    if len(codes) and codes.min() < 0:
        return None
    values = list(uniques)
    for v in values:
        if not isinstance(v, str) or v == "" or v.strip() != v:
            return None
        if precision and v not in PRECISIONS:  # the full path canonicalises aliases and case (BF16 -> bf16)
            return None
    return Coded(np.asarray(codes, dtype=np.intp), np.array(values, dtype=object))


def _filled(columns: dict[str, object], n: int) -> LightProfiles | None:
    """The columns the validated frame would hold for features: ``active_params_b`` as the schema fills it
    from the model table (known models only: an estimate warns on the full path). The architecture
    columns are left to build_features, which reads the same table rows (the full path's schema copies
    them into the frame first; features then find them filled)."""
    models = columns["model"]
    assert isinstance(models, Coded)
    specs = _usable_models(tuple(models.values.tolist()))
    if specs is None:
        return None
    if "params_b" not in columns:  # as the schema fills an absent column: the table's count of each model
        counts = np.array([s.params_b for s in specs], dtype=np.float64)
        if not (counts > 0).all():
            return None  # a row without a count: the full path names it
        columns["params_b"] = counts.take(models.codes)
    if "ep" in columns:  # ep > 1 needs a MoE model (the schema's rule; the full path names the row)
        multi = np.bincount(models.codes, weights=np.asarray(columns["ep"]) > 1, minlength=len(specs)) > 0
        if any(m and not (s.architecture == "moe" and s.n_experts > 1) for m, s in zip(multi, specs, strict=True)):
            return None
    if "precision" not in columns:  # as the schema fills it: each row's checkpoint format (an -FP8 name ...)
        formats = _checkpoint_formats(tuple(models.values.tolist()))
        if any(f != "bf16" for f in formats):  # (all bf16: the column stays absent, the features' default)
            values, per_model = np.unique(np.array(formats, dtype=object), return_inverse=True)
            columns["precision"] = Coded(per_model.astype(np.intp).take(models.codes), values)
    gpus = {}
    for g in columns["gpu"].values:  # type: ignore[union-attr]
        try:
            spec = gpu_spec(g)
        except (KeyError, EnergyLensError):
            return None  # unknown GPU: the full path names it and both remedies
        if not all(getattr(spec, c) > 0 for c in ("hbm_bw_gbs", "tdp_w", "interconnect_bw_gbs")):
            return None  # a spec the template needs but the table lacks: the full path says which
        gpus[g] = spec
    return LightProfiles(columns, n, gpus, dict(zip(models.values, specs, strict=True)))


def _active_params_b(columns: dict[str, object], model_specs: dict) -> np.ndarray:
    """``active_params_b`` as the schema fills it: params_b x active / total of the row's model (the
    native pass, cpp/src/row_features.cpp, repeats this per row)."""
    models = columns["model"]
    assert isinstance(models, Coded)
    specs = [model_specs[m] for m in models.values]
    active = np.array([s.active_params_b if s.params_b > 0 else np.nan for s in specs], dtype=np.float64)
    total = np.array([s.params_b if s.params_b > 0 else np.nan for s in specs], dtype=np.float64)
    params = columns["params_b"]
    filled = params * active.take(models.codes) / total.take(models.codes)  # type: ignore[operator]
    return np.where(np.isnan(filled), params, filled)


@functools.lru_cache(maxsize=1024)
def _checkpoint_formats(names: tuple[str, ...]) -> list[str]:
    """The weight format each named model's checkpoint is published in (cached per tuple of names)."""
    return [checkpoint_precision(str(m)) for m in names]


@functools.lru_cache(maxsize=1024)
def _usable_models(names: tuple[str, ...]) -> list[tables.ModelSpec] | None:
    """:func:`_usable_model` of each name, or None when one is not usable; cached per tuple of names (a
    table's distinct models), so a fit of 20-odd models looks them up in one call."""
    specs = [_usable_model(str(m)) for m in names]
    return None if any(spec is None for spec in specs) else specs


@functools.lru_cache(maxsize=4096)
def _usable_model(name: str) -> tables.ModelSpec | None:
    """The model-table row of ``name`` when the light path can use it (known, not estimated, every
    architecture value a number, as the schema's fill needs float()), else None. Cached by name: the
    bundled table is read once per process and never changes, and a name's lookup (normalisation,
    variant key) and the frozen row's hash are ~5 us each, per distinct model of every fit."""
    spec = tables.find_model(name)
    if spec is None or spec.estimated:
        return None
    try:
        numbers = all(isinstance(float(getattr(spec, c)), float) for c in ARCHITECTURE_COLUMNS)
    except (TypeError, ValueError):
        return None
    return spec if numbers else None
