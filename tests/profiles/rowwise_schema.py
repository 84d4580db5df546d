"""The per-row validation helpers of energylens.profiles.schema and .architecture as they were before
they were vectorised (issue 12), kept verbatim as the oracle of tests/profiles/test_vectorised_schema.py:
the vectorised helpers must give the same values, the same rows and the same messages."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from energylens.profiles import tables


def is_blank(series: pd.Series) -> np.ndarray:
    s = series
    blank = np.array(s.isna().to_numpy(), dtype=bool)
    if s.dtype == object or pd.api.types.is_string_dtype(s.dtype):
        stripped = s.astype(object).where(~s.isna(), "").map(lambda v: str(v).strip())
        blank |= (stripped == "").to_numpy()
    return blank


def to_numeric(series: pd.Series) -> tuple[pd.Series, np.ndarray]:
    if pd.api.types.is_bool_dtype(series.dtype):  # True / False are not counts: every non-NA cell is bad
        return pd.Series(np.nan, index=series.index, dtype="float64"), ~series.isna().to_numpy(dtype=bool)
    if pd.api.types.is_numeric_dtype(series.dtype):
        return series.astype("float64"), np.zeros(len(series), dtype=bool)
    blank = is_blank(series)
    obj = series.astype(object).where(~blank, np.nan)
    obj = obj.map(lambda v: v.strip() if isinstance(v, str) else v)
    obj = obj.map(lambda v: np.nan if isinstance(v, bool) else v)
    num = pd.to_numeric(obj, errors="coerce").astype("float64")
    bad = (~blank) & num.isna().to_numpy()
    return num, bad


def normalise_choice(series: pd.Series, allowed: tuple[str, ...], canon=None) -> tuple[pd.Series, np.ndarray]:
    out = []
    bad = np.zeros(len(series), dtype=bool)
    for i, v in enumerate(series.astype(object)):
        key = str(v).strip().lower()
        if canon is not None:
            try:
                key = canon(key)
            except ValueError:
                pass
        if key in allowed:
            out.append(key)
        else:
            out.append(v)
            bad[i] = True
    return pd.Series(out, index=series.index, dtype=object), bad


def stripped_names(series: pd.Series, blank: np.ndarray) -> pd.Series:
    return series.astype(object).where(~blank, "").map(lambda v: str(v).strip())


def task_text(series: pd.Series, blank: np.ndarray) -> pd.Series:
    return series.astype(object).where(~blank, "").map(str)


def blank(values: np.ndarray) -> np.ndarray:
    return np.array([v is None or (isinstance(v, float) and math.isnan(v)) for v in values], dtype=bool)


def fill_architecture(models, params_b, arch, architecture, active_params_b, *, source):
    from energylens.profiles.architecture import _NOT_REQUIRED, _warn_estimated

    n = len(models)
    need_arch = np.zeros(n, dtype=bool)
    for c, values in arch.items():
        if c not in _NOT_REQUIRED:
            need_arch |= np.isnan(values)
    need_meta = blank(architecture) | np.isnan(active_params_b)
    estimated: dict[str, tuple[float, tuple[str, ...]]] = {}
    specs: dict = {}
    inferred: dict = {}  # key -> "moe" where the first row needing an estimate gave routed experts
    for i in np.flatnonzero(need_arch | need_meta):
        key = (str(models[i]), float(params_b[i]))
        if key not in specs or (specs[key] is None and need_arch[i]):
            spec = tables.find_model(key[0])
            if spec is None and need_arch[i]:
                kind = "" if blank(architecture[i:i + 1])[0] else str(architecture[i])
                if not kind and "n_experts" in arch and arch["n_experts"][i] > 1:
                    kind = inferred[key] = "moe"
                pa = float(active_params_b[i]) if np.isfinite(active_params_b[i]) else None
                spec = tables.estimate_architecture(key[1], kind or "dense", pa)
                cols = tuple(c for c, v in arch.items() if c not in _NOT_REQUIRED and math.isnan(v[i])
                             and not (c in ("n_experts", "experts_per_token") and (kind or "dense") == "dense"))
                if cols and key[0] not in estimated:
                    estimated[key[0]] = (key[1], cols)
            specs[key] = spec
        spec = specs[key]
        if spec is None:
            continue
        if need_arch[i]:
            for c, values in arch.items():
                if math.isnan(values[i]):
                    values[i] = float(getattr(spec, c))
        if key in inferred and blank(architecture[i:i + 1])[0]:
            architecture[i] = inferred[key]
        if not spec.estimated:
            if blank(architecture[i:i + 1])[0]:
                architecture[i] = spec.architecture
            if math.isnan(active_params_b[i]) and spec.params_b > 0:
                active_params_b[i] = params_b[i] * spec.active_params_b / spec.params_b
    if estimated:
        _warn_estimated(estimated, source)
