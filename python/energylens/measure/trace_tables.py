"""The three tables of a :class:`~energylens.measure.trace.Trace` (``samples``, ``marks``, ``kernels``): their
columns and dtypes (:data:`SCHEMA`), the allowed sources (:data:`SOURCES`), and :func:`normalise`, which checks a
DataFrame or dict of arrays against them and coerces it (an EnergyLensError naming where and what is wrong), for
a trace being made and for one read back from its file (:mod:`energylens.measure.trace_file`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from energylens.errors import EnergyLensError
from energylens.measure.trace_checks import check_values

if TYPE_CHECKING:  # pandas loads with the first table built: `energylens monitor` samples before that
    import pandas as pd

__all__ = ["SOURCES", "SCHEMA", "normalise", "empty_samples", "empty_marks", "empty_kernels"]

#: Allowed values of ``samples.source``. ``nvml_instant``: NVML_FI_DEV_POWER_INSTANT (every ~100 ms,
#: a mean over a short window); ``nvml_average``: nvmlDeviceGetPowerUsage (a ~1 s moving average, not
#: usable for attribution); ``nvml_samples``: the driver's sample buffer (nvmlDeviceGetSamples, ~20 ms);
#: ``nvml_energy``: nvmlDeviceGetTotalEnergyConsumption (cumulative, in ``energy_j``); ``dcgm``;
#: ``synthetic`` / ``replay``: produced by the synthetic and replay sources.
SOURCES: tuple[str, ...] = (
    "nvml_samples",
    "nvml_instant",
    "nvml_average",
    "nvml_energy",
    "dcgm",
    "synthetic",
    "replay",
)

#: Table -> column name -> (kind, numpy dtype); kind "i" int, "f" float, "s" string, "c" source category.
SCHEMA: dict[str, dict[str, tuple[str, Any]]] = {
    "samples": {
        "t_ns": ("i", np.int64),
        "gpu": ("i", np.int32),
        "power_w": ("f", np.float64),
        "energy_j": ("f", np.float64),
        "source": ("c", None),
    },
    "marks": {
        "t_ns": ("i", np.int64),
        "label": ("s", None),
    },
    "kernels": {
        "gpu": ("i", np.int32),
        "start_ns": ("i", np.int64),
        "end_ns": ("i", np.int64),
        "name": ("s", None),
        "kind": ("s", None),
    },
}


def empty_samples() -> pd.DataFrame:
    """An empty ``samples`` table with the right dtypes."""
    return normalise("samples", {}, "<empty>")


def empty_marks() -> pd.DataFrame:
    """An empty ``marks`` table with the right dtypes."""
    return normalise("marks", {}, "<empty>")


def empty_kernels() -> pd.DataFrame:
    """An empty ``kernels`` table with the right dtypes."""
    return normalise("kernels", {}, "<empty>")


def normalise(table: str, data: Any, where: str) -> pd.DataFrame:
    """Coerce a DataFrame or dict of arrays to ``table``'s schema; raise EnergyLensError if impossible."""
    import pandas as pd

    schema = SCHEMA[table]
    if data is None:
        data = {}
    if isinstance(data, pd.DataFrame):
        cols = {c: data[c].to_numpy() if c != "source" else data[c] for c in data.columns}
    elif isinstance(data, Mapping):
        cols = dict(data)
    else:
        raise EnergyLensError(f"{where}: {table} must be a pandas DataFrame or a dict of arrays, "
                              f"got {type(data).__name__}")
    if not cols:
        cols = {c: [] for c in schema}
    missing = [c for c in schema if c not in cols]
    extra = [c for c in cols if c not in schema]
    if missing or extra:
        raise EnergyLensError(f"{where}: {table} has columns {sorted(cols)}; expected exactly "
                              f"{list(schema)} (missing {missing}, unexpected {extra})")
    out: dict[str, Any] = {}
    n = None
    for name, (kind, dtype) in schema.items():
        values = cols[name]
        if kind == "c":
            raw = pd.Series(values, dtype=object).to_numpy() if not isinstance(values, pd.Series) \
                else values.astype(object).to_numpy()
            bad = ~pd.Series(raw, dtype=object).isin(SOURCES).to_numpy()
            if bad.any():
                unknown = sorted({repr(v) for v in raw[bad]})[:10]
                raise EnergyLensError(f"{where}: {table}.source has unknown value(s) {unknown} at rows "
                                      f"{np.flatnonzero(bad)[:10].tolist()}; allowed: {list(SOURCES)}")
            out[name] = pd.Categorical(raw, dtype=pd.CategoricalDtype(categories=list(SOURCES), ordered=False))
            length = len(raw)
        elif kind == "s":
            raw = np.asarray(values, dtype=object)
            if raw.ndim != 1:
                raise EnergyLensError(f"{where}: {table}.{name} must be one-dimensional")
            if not all(isinstance(v, str) for v in raw):  # (it named neither row nor value)
                bad = [i for i, v in enumerate(raw) if not isinstance(v, str)]
                raise EnergyLensError(f"{where}: {table}.{name} must hold strings only, but {len(bad)} of {len(raw)} "
                                      f"are not, at rows {bad[:10]} (the first: {raw[bad[0]]!r}); labels are text: "
                                      f"str(value)")
            out[name] = raw
            length = len(raw)
        else:
            raw = np.asarray(values)
            if raw.ndim != 1:
                raise EnergyLensError(f"{where}: {table}.{name} must be one-dimensional")
            if kind == "i":
                if raw.size and not (np.issubdtype(raw.dtype, np.integer)):
                    if np.issubdtype(raw.dtype, np.floating) and np.all(np.isfinite(raw)) and \
                            np.all(raw == np.round(raw)) and np.all(np.abs(raw) < 2.0**53):
                        raw = raw.astype(np.int64)
                    else:
                        raise EnergyLensError(f"{where}: {table}.{name} must be integer "
                                              f"(got dtype {raw.dtype})")
                info = np.iinfo(dtype)
                if raw.size and (raw.min() < info.min or raw.max() > info.max):
                    raise EnergyLensError(f"{where}: {table}.{name} out of range for {np.dtype(dtype)}")
            else:
                if raw.size and not (np.issubdtype(raw.dtype, np.floating)
                                     or np.issubdtype(raw.dtype, np.integer)):
                    raise EnergyLensError(f"{where}: {table}.{name} must be numeric (got {raw.dtype})")
            out[name] = raw.astype(dtype, copy=True)
            length = len(raw)
        if n is None:
            n = length
        elif length != n:
            raise EnergyLensError(f"{where}: {table} columns have different lengths ({name}: {length}, "
                                  f"expected {n})")
    df = pd.DataFrame(out)
    check_values(table, df, where)
    return df
