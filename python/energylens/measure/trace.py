"""The energylens trace: power readings, marks and kernel intervals on one steady-clock time base.

A :class:`Trace` is what the sampler (``energylens.measure.monitor``) records, what the replay source reads,
what :func:`energylens.measure.attribution.attribute` consumes, and the fixture format of the tests. It holds
three tables and a metadata dict:

``samples`` (one row per reading)
    ``t_ns`` int64 (steady-clock ns), ``gpu`` int32, ``power_w`` float64 (NaN where the reading has
    no power), ``energy_j`` float64 (cumulative energy counter, NaN where the source gives none),
    ``source`` category, one of :data:`SOURCES`.
``marks`` (user marks, e.g. the start of a prefill or decode iteration)
    ``t_ns`` int64, ``label`` str.
``kernels`` (device activity, e.g. from CUPTI)
    ``gpu`` int32, ``start_ns`` int64, ``end_ns`` int64 (``end_ns >= start_ns``), ``name`` str,
    ``kind`` str (``"kernel"``, ``"memcpy"``, or any user class).
``meta`` (JSON-serialisable dict)
    ``gpus`` (list of ``{"index", "name", "uuid"}``), ``update_period_s`` (``{source: seconds}``
    detected per source), optionally ``averaging_window_s`` (``{source: seconds}``),
    ``energylens_version`` and ``created`` (ISO-8601 UTC; both filled in when missing), anything else
    the producer wants to keep (e.g. ``synthetic`` parameters and ground truth).

File format (:meth:`Trace.save` / :meth:`Trace.load`), version :data:`FORMAT_VERSION`
    One Parquet file. Its rows are the three tables concatenated, told apart by a ``table`` column
    (``"samples"``, ``"marks"``, ``"kernels"``); every column is the union of the three tables'
    columns, null where a table lacks it. The Arrow schema metadata key ``energylens.measure.trace`` holds
    JSON ``{"format": "energylens.measure.trace", "version": 1, "meta": {...}}``. A reader refuses a file
    without that key, of another format, of a newer version, or with missing/mistyped columns or
    nulls where a table needs values, raising :class:`~energylens.errors.EnergyLensError` naming the
    file and the problem. Round trips are exact (int64 ns stay int64; float64 bit-for-bit, NaN kept).

:func:`synthetic_trace` makes a trace that imitates NVML from a known truth (per-class powers, an
idle power, random kernels, an update period and an averaging window) and returns that truth.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from energylens.errors import EnergyLensError
from energylens.outputs import atomic_file

__all__ = [
    "FORMAT_VERSION",
    "SOURCES",
    "Trace",
    "SyntheticTruth",
    "synthetic_trace",
    "empty_samples",
    "empty_marks",
    "empty_kernels",
]

#: Version of the on-disk format written by :meth:`Trace.save`; readers accept this and older.
FORMAT_VERSION = 1
_FORMAT_NAME = "energylens.measure.trace"
_META_KEY = b"energylens.measure.trace"

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

_SOURCE_DTYPE = pd.CategoricalDtype(categories=list(SOURCES), ordered=False)

# Column name -> (kind, numpy dtype); kind "i" int, "f" float, "s" string, "c" source category.
_SCHEMA: dict[str, dict[str, tuple[str, Any]]] = {
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
    return _normalise("samples", {}, "<empty>")


def empty_marks() -> pd.DataFrame:
    """An empty ``marks`` table with the right dtypes."""
    return _normalise("marks", {}, "<empty>")


def empty_kernels() -> pd.DataFrame:
    """An empty ``kernels`` table with the right dtypes."""
    return _normalise("kernels", {}, "<empty>")


def _normalise(table: str, data: Any, where: str) -> pd.DataFrame:
    """Coerce a DataFrame or dict of arrays to ``table``'s schema; raise EnergyLensError if impossible."""
    schema = _SCHEMA[table]
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
                raise EnergyLensError(f"{where}: {table}.source has unknown value(s) {unknown}; "
                                      f"allowed: {list(SOURCES)}")
            out[name] = pd.Categorical(raw, dtype=_SOURCE_DTYPE)
            length = len(raw)
        elif kind == "s":
            raw = np.asarray(values, dtype=object)
            if raw.ndim != 1:
                raise EnergyLensError(f"{where}: {table}.{name} must be one-dimensional")
            if not all(isinstance(v, str) for v in raw):
                raise EnergyLensError(f"{where}: {table}.{name} must hold strings only")
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
    if table == "kernels" and len(df) and (df["end_ns"].to_numpy() < df["start_ns"].to_numpy()).any():
        bad_rows = np.flatnonzero(df["end_ns"].to_numpy() < df["start_ns"].to_numpy())[:10].tolist()
        raise EnergyLensError(f"{where}: kernels with end_ns < start_ns at rows {bad_rows}")
    return df


def _default_meta(meta: Mapping[str, Any] | None) -> dict[str, Any]:
    out = dict(meta or {})
    if "energylens_version" not in out:
        try:
            from importlib.metadata import version

            out["energylens_version"] = version("energylens")
        except Exception:  # noqa: BLE001 - source tree never installed
            out["energylens_version"] = "0.0.0+unknown"
    if "created" not in out:
        out["created"] = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    out.setdefault("gpus", [])
    out.setdefault("update_period_s", {})
    return out


@dataclass(frozen=True, eq=False)
class Trace:
    """Readings, marks and kernel intervals on one steady-clock time base (see the module docstring).

    Construct from DataFrames or dicts of arrays; columns are checked and coerced to the schema
    (:class:`~energylens.errors.EnergyLensError` on a mismatch). The dataclass is frozen; the tables
    are copies owned by the trace and should be treated as read-only.
    """

    samples: pd.DataFrame = field(default_factory=empty_samples)
    marks: pd.DataFrame = field(default_factory=empty_marks)
    kernels: pd.DataFrame = field(default_factory=empty_kernels)
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "samples", _normalise("samples", self.samples, "Trace"))
        object.__setattr__(self, "marks", _normalise("marks", self.marks, "Trace"))
        object.__setattr__(self, "kernels", _normalise("kernels", self.kernels, "Trace"))
        meta = _default_meta(self.meta)
        try:
            meta = json.loads(json.dumps(meta, allow_nan=True))
        except (TypeError, ValueError) as exc:
            raise EnergyLensError(f"Trace: meta must be JSON-serialisable: {exc}") from exc
        object.__setattr__(self, "meta", meta)

    # ---- convenience ---------------------------------------------------------------------------
    def update_period_s(self, source: str) -> float | None:
        """The update period recorded in ``meta`` for ``source``, or None."""
        v = self.meta.get("update_period_s", {}).get(source)
        return None if v is None else float(v)

    def averaging_window_s(self, source: str) -> float | None:
        """The averaging window recorded in ``meta`` for ``source``, or None."""
        v = self.meta.get("averaging_window_s", {}).get(source)
        return None if v is None else float(v)

    def sources(self) -> list[str]:
        """The sources that have at least one sample, in :data:`SOURCES` order."""
        present = set(self.samples["source"].astype(object).unique())
        return [s for s in SOURCES if s in present]

    def equals(self, other: Trace) -> bool:
        """True when both traces have identical tables (dtypes, values, NaN positions) and meta."""
        if not isinstance(other, Trace):
            return False
        return (self.samples.equals(other.samples) and self.marks.equals(other.marks)
                and self.kernels.equals(other.kernels) and self.meta == other.meta)

    # ---- file format ---------------------------------------------------------------------------
    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the trace to one Parquet file (format version :data:`FORMAT_VERSION`), atomically."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        parts = []
        for table in ("samples", "marks", "kernels"):
            df: pd.DataFrame = getattr(self, table)
            arrays = {"table": pa.array([table] * len(df), pa.string())}
            for name, (kind, dtype) in _SCHEMA[table].items():
                if kind == "c":
                    arrays[name] = pa.array(df[name].astype(object).to_numpy(), pa.string())
                elif kind == "s":
                    arrays[name] = pa.array(df[name].to_numpy(), pa.string())
                else:
                    arrays[name] = pa.array(df[name].to_numpy(), pa.from_numpy_dtype(np.dtype(dtype)))
            parts.append(pa.table(arrays))
        combined = pa.concat_tables(parts, promote_options="default")
        header = {"format": _FORMAT_NAME, "version": FORMAT_VERSION, "meta": self.meta}
        combined = combined.replace_schema_metadata({_META_KEY: json.dumps(header).encode()})
        with atomic_file(path) as tmp:  # whole or absent, even if killed mid-write
            pq.write_table(combined, os.fspath(tmp))

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Trace:
        """Read a trace written by :meth:`save`; EnergyLensError names the file and what is wrong."""
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.parquet as pq

        where = os.fspath(path)
        try:
            table = pq.read_table(where)
        except FileNotFoundError as exc:
            raise EnergyLensError(f"{where}: no such trace file") from exc
        except (pa.ArrowException, OSError) as exc:
            raise EnergyLensError(f"{where}: not a readable Parquet trace file ({exc})") from exc
        raw = (table.schema.metadata or {}).get(_META_KEY)
        if raw is None:
            raise EnergyLensError(f"{where}: not an energylens trace (schema metadata key "
                                  f"'{_META_KEY.decode()}' is missing)")
        try:
            header = json.loads(raw)
        except ValueError as exc:
            raise EnergyLensError(f"{where}: trace header is not valid JSON ({exc})") from exc
        if not isinstance(header, dict) or header.get("format") != _FORMAT_NAME:
            raise EnergyLensError(f"{where}: header format is {header.get('format')!r} "
                                  f"(expected {_FORMAT_NAME!r})" if isinstance(header, dict)
                                  else f"{where}: trace header is not a JSON object")
        version = header.get("version")
        if not isinstance(version, int) or isinstance(version, bool):
            raise EnergyLensError(f"{where}: trace format version {version!r} is not an integer")
        if version > FORMAT_VERSION:
            raise EnergyLensError(f"{where}: trace format version {version} is newer than this "
                                  f"energylens reads ({FORMAT_VERSION}); upgrade energylens")
        if version < 1:
            raise EnergyLensError(f"{where}: trace format version {version} is invalid")
        meta = header.get("meta")
        if not isinstance(meta, dict):
            raise EnergyLensError(f"{where}: trace header has no 'meta' object")
        if "table" not in table.column_names:
            raise EnergyLensError(f"{where}: column 'table' is missing")
        tables: dict[str, dict[str, Any]] = {}
        labels = table.column("table")
        known = {"samples", "marks", "kernels"}
        present = set(pc.unique(labels).to_pylist())
        if present - known:
            raise EnergyLensError(f"{where}: unknown 'table' value(s) {sorted(map(str, present - known))}")
        for name, schema in _SCHEMA.items():
            sub = table.filter(pc.equal(labels, name))
            cols: dict[str, Any] = {}
            for col, (kind, dtype) in schema.items():
                if col not in table.column_names:
                    raise EnergyLensError(f"{where}: column '{col}' of table '{name}' is missing")
                arr = sub.column(col)
                if arr.null_count:
                    raise EnergyLensError(f"{where}: table '{name}' column '{col}' has "
                                          f"{arr.null_count} null value(s)")
                try:
                    if kind in ("s", "c"):
                        if not pa.types.is_string(arr.type) and not pa.types.is_large_string(arr.type):
                            raise TypeError(f"type {arr.type}, expected string")
                        cols[col] = np.asarray(arr.to_pylist(), dtype=object)
                    else:
                        expected = pa.from_numpy_dtype(np.dtype(dtype))
                        if arr.type != expected:
                            raise TypeError(f"type {arr.type}, expected {expected}")
                        cols[col] = arr.to_numpy()
                except TypeError as exc:
                    raise EnergyLensError(f"{where}: table '{name}' column '{col}' has {exc}") from exc
            tables[name] = cols
        try:
            return cls(samples=tables["samples"], marks=tables["marks"], kernels=tables["kernels"],
                       meta=meta)
        except EnergyLensError as exc:
            raise EnergyLensError(f"{where}: {exc}") from exc


# ======================================================================================================
# Synthetic NVML-like traces
# ======================================================================================================


@dataclass(frozen=True)
class SyntheticTruth:
    """The truth behind a :func:`synthetic_trace`.

    Attributes:
        class_power_w: absolute power (W) while a kernel of each class runs (the mean over its
            kernels when ``kernel_power_cv > 0``).
        idle_power_w: power (W) while nothing runs.
        class_busy_s: total busy time (s) of each class.
        class_energy_j: energy above idle (J) of each class (exact, per-kernel powers included).
        total_energy_j: the exact integral of the true power over ``[t0_ns, t_end_ns]``.
        phase_energy_j: per phase label, the exact energy (J, including idle) inside its mark spans.
        phase_duration_s: per phase label, the total duration (s) of its spans.
        t0_ns, t_end_ns: the span the truth covers.
    """

    class_power_w: dict[str, float]
    idle_power_w: float
    class_busy_s: dict[str, float]
    class_energy_j: dict[str, float]
    total_energy_j: float
    phase_energy_j: dict[str, float]
    phase_duration_s: dict[str, float]
    t0_ns: int
    t_end_ns: int


DEFAULT_CLASS_POWER_W: dict[str, float] = {"gemm": 520.0, "attention": 330.0, "memcpy": 190.0}


def synthetic_trace(
    *,
    class_power_w: Mapping[str, float] | None = None,
    idle_power_w: float = 90.0,
    duration_s: float = 60.0,
    kernel_duration_s: tuple[float, float] = (0.002, 0.050),
    gap_s: tuple[float, float] = (0.0, 0.020),
    class_weights: Mapping[str, float] | None = None,
    phases: Mapping[str, Mapping[str, float]] | None = None,
    kernels_per_phase: tuple[int, int] = (1, 8),
    update_period_s: float = 0.100,
    averaging_window_s: float = 0.025,
    buffer_period_s: float | None = 0.020,
    buffer_jitter_s: float = 0.0025,
    energy_counter: bool = True,
    energy_resolution_j: float = 1e-3,
    noise_w: float = 0.0,
    kernel_power_cv: float = 0.0,
    gpu: int = 0,
    t0_ns: int = 1_000_000_000,
    seed: int | None = 0,
) -> tuple[Trace, SyntheticTruth]:
    """A trace that imitates NVML on one GPU, and the truth it was made from.

    The true power is piecewise constant: ``idle_power_w`` when no kernel runs, ``class_power_w[c]``
    while a kernel of class ``c`` runs (one stream: kernels never overlap). Kernels have durations
    uniform in ``kernel_duration_s`` and gaps uniform in ``gap_s``; classes are drawn with
    ``class_weights`` (uniform by default). With ``phases`` (``{label: {class: weight}}``) the trace
    is a sequence of iterations: each picks a phase label at random, writes a mark with that label at
    its start, and runs ``kernels_per_phase`` kernels drawn with that phase's class weights.

    Readings (all in ``samples``), at update instants ``t_k = t0 + phase + k * update_period_s``
    (random phase):

    - ``nvml_instant``: the mean true power over ``[t_k - averaging_window_s, t_k]`` (plus Gaussian
      ``noise_w``), like NVML_FI_DEV_POWER_INSTANT on A100/H100 (~25 ms of every 100 ms);
    - ``nvml_energy`` (if ``energy_counter``): the exact energy integral since ``t0`` at ``t_k``,
      rounded down to ``energy_resolution_j`` (NVML counts mJ), ``power_w`` NaN;
    - ``nvml_samples`` (if ``buffer_period_s``): the driver buffer, a reading every
      ``buffer_period_s +- buffer_jitter_s``, each the mean true power since the previous one.

    ``noise_w`` is the standard deviation (W) of Gaussian noise added to each power reading;
    ``kernel_power_cv`` makes each kernel's power above idle vary around its class's
    (``dP * (1 + cv * N(0, 1))``, at least 0), so the class power is a mean, as on real hardware.

    ``meta`` records ``update_period_s`` and ``averaging_window_s`` per source and the synthetic
    parameters with the truth (``meta["synthetic"]``). Deterministic for a given ``seed``.
    """
    powers = dict(DEFAULT_CLASS_POWER_W if class_power_w is None else class_power_w)
    if not powers:
        raise ValueError("class_power_w must name at least one class")
    if duration_s <= 0 or update_period_s <= 0:
        raise ValueError("duration_s and update_period_s must be positive")
    if not 0 < averaging_window_s <= update_period_s:
        raise ValueError("averaging_window_s must be in (0, update_period_s]")
    lo, hi = kernel_duration_s
    if not 0 < lo <= hi:
        raise ValueError("kernel_duration_s must be (min, max) with 0 < min <= max")
    if not 0 <= gap_s[0] <= gap_s[1]:
        raise ValueError("gap_s must be (min, max) with 0 <= min <= max")
    names = list(powers)
    rng = np.random.default_rng(seed)

    def draw_weights(w: Mapping[str, float] | None) -> np.ndarray:
        if w is None:
            return np.full(len(names), 1.0 / len(names))
        unknown = set(w) - set(names)
        if unknown:
            raise ValueError(f"weights name unknown classes {sorted(unknown)}; classes: {names}")
        p = np.array([float(w.get(c, 0.0)) for c in names])
        if p.sum() <= 0 or (p < 0).any():
            raise ValueError("class weights must be non-negative and not all zero")
        return p / p.sum()

    dur_ns = int(round(duration_s * 1e9))
    t_end = t0_ns + dur_ns
    starts: list[int] = []
    ends: list[int] = []
    cls: list[int] = []
    mark_t: list[int] = []
    mark_label: list[str] = []
    t = t0_ns + int(rng.uniform(gap_s[0], gap_s[1]) * 1e9)
    if phases is None:
        p = draw_weights(class_weights)
        # Draw in chunks until the trace is full.
        while t < t_end:
            n = max(16, int(duration_s / ((lo + hi) / 2 + (gap_s[0] + gap_s[1]) / 2)) + 16)
            c = rng.choice(len(names), size=n, p=p)
            d = (rng.uniform(lo, hi, size=n) * 1e9).astype(np.int64)
            g = (rng.uniform(gap_s[0], gap_s[1], size=n) * 1e9).astype(np.int64)
            for i in range(n):
                if t + d[i] > t_end:
                    t = t_end
                    break
                starts.append(t)
                ends.append(t + int(d[i]))
                cls.append(int(c[i]))
                t = t + int(d[i]) + int(g[i])
    else:
        labels = list(phases)
        if not labels:
            raise ValueError("phases must name at least one phase")
        pw = {lab: draw_weights(phases[lab]) for lab in labels}
        kmin, kmax = kernels_per_phase
        done = False
        while not done:
            lab = labels[int(rng.integers(len(labels)))]
            n = int(rng.integers(kmin, kmax + 1))
            c = rng.choice(len(names), size=n, p=pw[lab])
            d = (rng.uniform(lo, hi, size=n) * 1e9).astype(np.int64)
            g = (rng.uniform(gap_s[0], gap_s[1], size=n) * 1e9).astype(np.int64)
            if t + int(d[0]) > t_end:
                break
            mark_t.append(t)
            mark_label.append(lab)
            for i in range(n):
                if t + d[i] > t_end:
                    done = True
                    break
                starts.append(t)
                ends.append(t + int(d[i]))
                cls.append(int(c[i]))
                t = t + int(d[i]) + int(g[i])
            if t >= t_end:
                done = True
        # A final mark closes the last span.
        mark_t.append(min(t, t_end))
        mark_label.append("end")

    k_start = np.asarray(starts, dtype=np.int64)
    k_end = np.asarray(ends, dtype=np.int64)
    k_cls = np.asarray(cls, dtype=np.int64)
    power_of = np.array([powers[c] for c in names], dtype=np.float64)

    # Cumulative energy E(t) is piecewise linear with breakpoints at kernel edges.
    bp = np.concatenate(([t0_ns], np.stack([k_start, k_end], axis=1).ravel(), [t_end]))
    seg_p = np.empty(bp.size - 1)
    seg_p[0::2] = idle_power_w  # before each kernel, and after the last one
    k_power = power_of[k_cls]
    if kernel_power_cv > 0:
        dyn = (k_power - idle_power_w) * (1.0 + kernel_power_cv * rng.standard_normal(k_cls.size))
        k_power = idle_power_w + np.maximum(dyn, 0.0)
    seg_p[1::2] = k_power
    seg_e = seg_p * (np.diff(bp) * 1e-9)
    cum = np.concatenate(([0.0], np.cumsum(seg_e)))
    bp_s = (bp - t0_ns) * 1e-9

    def energy_at(t_ns: np.ndarray) -> np.ndarray:
        return np.interp((np.asarray(t_ns) - t0_ns) * 1e-9, bp_s, cum)

    phase_off = int(rng.uniform(0, update_period_s) * 1e9)
    per = int(round(update_period_s * 1e9))
    win = int(round(averaging_window_s * 1e9))
    t_upd = np.arange(t0_ns + phase_off, t_end + 1, per, dtype=np.int64)
    t_upd = t_upd[t_upd - win >= t0_ns]
    inst = (energy_at(t_upd) - energy_at(t_upd - win)) / (win * 1e-9)
    if noise_w > 0:
        inst = inst + rng.normal(0.0, noise_w, size=inst.size)

    t_parts = [t_upd]
    p_parts = [inst]
    e_parts = [np.full(t_upd.size, np.nan)]
    s_parts = [np.full(t_upd.size, "nvml_instant", dtype=object)]
    upd_meta = {"nvml_instant": update_period_s}
    win_meta = {"nvml_instant": averaging_window_s}
    if energy_counter:
        e = energy_at(t_upd)
        if energy_resolution_j > 0:
            e = np.floor(e / energy_resolution_j) * energy_resolution_j
        t_parts.append(t_upd)
        p_parts.append(np.full(t_upd.size, np.nan))
        e_parts.append(e)
        s_parts.append(np.full(t_upd.size, "nvml_energy", dtype=object))
        upd_meta["nvml_energy"] = update_period_s
        win_meta["nvml_energy"] = update_period_s
    if buffer_period_s:
        n_buf = int(duration_s / max(buffer_period_s - buffer_jitter_s, 1e-6)) + 2
        steps = rng.uniform(buffer_period_s - buffer_jitter_s, buffer_period_s + buffer_jitter_s, n_buf)
        tb = t0_ns + np.cumsum((steps * 1e9).astype(np.int64))
        tb = tb[tb <= t_end]
        prev = np.concatenate(([t0_ns], tb[:-1]))
        pb = (energy_at(tb) - energy_at(prev)) / ((tb - prev) * 1e-9)
        if noise_w > 0:
            pb = pb + rng.normal(0.0, noise_w, size=pb.size)
        t_parts.append(tb)
        p_parts.append(pb)
        e_parts.append(np.full(tb.size, np.nan))
        s_parts.append(np.full(tb.size, "nvml_samples", dtype=object))
        upd_meta["nvml_samples"] = buffer_period_s
        # Each buffer sample averages the whole gap since the previous one: window = spacing (None).

    t_all = np.concatenate(t_parts)
    order = np.argsort(t_all, kind="stable")
    samples = {
        "t_ns": t_all[order],
        "gpu": np.full(t_all.size, gpu, dtype=np.int32),
        "power_w": np.concatenate(p_parts)[order],
        "energy_j": np.concatenate(e_parts)[order],
        "source": np.concatenate(s_parts)[order],
    }
    kernels = {
        "gpu": np.full(k_start.size, gpu, dtype=np.int32),
        "start_ns": k_start,
        "end_ns": k_end,
        "name": np.array([f"{names[c]}_kernel" for c in k_cls], dtype=object),
        "kind": np.array([names[c] for c in k_cls], dtype=object),
    }
    marks = {"t_ns": np.asarray(mark_t, dtype=np.int64), "label": np.asarray(mark_label, dtype=object)}

    busy = {c: float(((k_end - k_start)[k_cls == i]).sum() * 1e-9) for i, c in enumerate(names)}
    phase_e: dict[str, float] = {}
    phase_d: dict[str, float] = {}
    if phases is not None and len(mark_t) > 1:
        mt = np.asarray(mark_t, dtype=np.int64)
        span_e = energy_at(mt[1:]) - energy_at(mt[:-1])
        for lab, e, d in zip(mark_label[:-1], span_e, np.diff(mt) * 1e-9, strict=True):
            phase_e[lab] = phase_e.get(lab, 0.0) + float(e)
            phase_d[lab] = phase_d.get(lab, 0.0) + float(d)
    truth = SyntheticTruth(
        class_power_w={c: float(v) for c, v in powers.items()},
        idle_power_w=float(idle_power_w),
        class_busy_s=busy,
        class_energy_j={c: float(((k_power - idle_power_w) * (k_end - k_start))[k_cls == i].sum() * 1e-9)
                        for i, c in enumerate(names)},
        total_energy_j=float(cum[-1]),
        phase_energy_j=phase_e,
        phase_duration_s=phase_d,
        t0_ns=int(t0_ns),
        t_end_ns=int(t_end),
    )
    meta = {
        "gpus": [{"index": int(gpu), "name": "synthetic", "uuid": f"GPU-synthetic-{gpu}"}],
        "update_period_s": upd_meta,
        "averaging_window_s": win_meta,
        "clock": "steady",
        "synthetic": {
            "seed": seed,
            "noise_w": noise_w,
            "kernel_power_cv": kernel_power_cv,
            "class_power_w": truth.class_power_w,
            "idle_power_w": truth.idle_power_w,
            "kernel_duration_s": list(kernel_duration_s),
            "gap_s": list(gap_s),
            "total_energy_j": truth.total_energy_j,
        },
    }
    return Trace(samples=samples, marks=marks, kernels=kernels, meta=meta), truth

