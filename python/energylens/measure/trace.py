"""The energylens trace: power readings, marks and kernel intervals on one steady-clock time base.

A :class:`Trace` is what the sampler (``energylens.measure.sampler``) records, what the replay source reads,
what :func:`energylens.measure.attribution.attribute` consumes, and the fixture format of the tests. It holds
three tables and a metadata dict:

``samples`` (one row per reading)
    ``t_ns`` int64 (steady-clock ns), ``gpu`` int32 (the GPU's position 0..n-1 in ``meta["gpus"]``, whose
    ``index`` is the device's; a position past the GPUs it lists is refused), ``power_w`` float64 (NaN where the reading has
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
    columns, null where a table lacks it. The Arrow schema metadata key ``energylens.trace`` holds
    JSON ``{"format": "energylens.trace", "version": 1, "meta": {...}}``. A reader refuses a file
    without that key, of another format, of a newer version, or with missing/mistyped columns or
    nulls where a table needs values, raising :class:`~energylens.errors.EnergyLensError` naming the
    file and the problem. Round trips are exact (int64 ns stay int64; float64 bit-for-bit, NaN kept).

:func:`synthetic_trace` makes a trace that imitates NVML from a known truth (per-class powers, an
idle power, random kernels, an update period and an averaging window) and returns that truth; the
generator itself is :mod:`energylens.measure.synthetic`.
"""

from __future__ import annotations

import contextvars
import datetime as _dt
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from energylens.errors import EnergyLensError, OutputError
from energylens.measure.synthetic import (
    DEFAULT_CLASS_POWER_W,
    SyntheticTruth,
    check_synthetic,
    class_probabilities,
    draw_kernels,
    draw_phased_kernels,
    kernel_table,
    nvml_readings,
    synthetic_meta,
    true_power,
    truth_of,
)
from energylens.measure.trace_checks import check_gpus, check_meta, check_values
from energylens.measure.units import UnitsWarning, warn_units
from energylens.outputs import atomic_file

if TYPE_CHECKING:  # pandas loads with the first table built: `energylens monitor` samples before that
    import pandas as pd

__all__ = [
    "FORMAT_VERSION",
    "SOURCES",
    "Trace",
    "SyntheticTruth",
    "synthetic_trace",
    "empty_samples",
    "empty_marks",
    "empty_kernels",
    "UnitsWarning",
]

#: Version of the on-disk format written by :meth:`Trace.save`; readers accept this and older.
FORMAT_VERSION = 1
# The file format's name: a stable identifier, not the module path (files written before the measure
# subpackage existed carry it too).
_FORMAT_NAME = "energylens.trace"
_META_KEY = b"energylens.trace"
# What a trace being made is made from, for its UnitsWarning: "Trace", or the file Trace.load reads.
_MADE_FROM: contextvars.ContextVar[str] = contextvars.ContextVar("energylens_trace_made_from", default="Trace")

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
    import pandas as pd

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
                raise EnergyLensError(f"{where}: {table}.source has unknown value(s) {unknown} at rows "
                                      f"{np.flatnonzero(bad)[:10].tolist()}; allowed: {list(SOURCES)}")
            out[name] = pd.Categorical(raw, dtype=pd.CategoricalDtype(categories=list(SOURCES), ordered=False))
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
    check_values(table, df, where)
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
        # (NVML's mW / mJ left undivided: every figure 1000x, without a word); a file read names itself
        warn_units(self.samples, _MADE_FROM.get())
        object.__setattr__(self, "marks", _normalise("marks", self.marks, "Trace"))
        object.__setattr__(self, "kernels", _normalise("kernels", self.kernels, "Trace"))
        meta = _default_meta(self.meta)
        try:
            meta = json.loads(json.dumps(meta, allow_nan=True))
        except (TypeError, ValueError) as exc:
            raise EnergyLensError(f"Trace: meta must be JSON-serialisable: {exc}") from exc
        check_meta(meta, "Trace", SOURCES)  # (checked where it is made, not first when the saved file is read back)
        check_gpus(self.samples, meta["gpus"], "Trace")
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

    def with_marks(self, marks: Any) -> Trace:
        """A copy of the trace whose ``marks`` table is ``marks`` (a DataFrame or dict of arrays, ``t_ns`` and
        ``label``, checked as the constructor checks it: EnergyLensError); the samples and kernels are shared, not
        checked again (rebuilding the trace took ~0.6 s per 3 M readings)."""
        new = object.__new__(type(self))
        for name, value in (("samples", self.samples), ("marks", _normalise("marks", marks, "Trace.with_marks")),
                            ("kernels", self.kernels), ("meta", dict(self.meta))):
            object.__setattr__(new, name, value)
        return new

    def equals(self, other: Trace) -> bool:
        """True when both traces have identical tables (dtypes, values, NaN positions) and meta."""
        if not isinstance(other, Trace):
            return False
        return (self.samples.equals(other.samples) and self.marks.equals(other.marks)
                and self.kernels.equals(other.kernels) and self.meta == other.meta)

    # ---- file format ---------------------------------------------------------------------------
    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the trace to one Parquet file (format version :data:`FORMAT_VERSION`), atomically; OutputError
        naming ``path`` when it cannot be written."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        if not os.fspath(path):  # (it read '.: could not write (Is a directory)')
            raise OutputError("Trace.save: the path is empty; give the trace file's path")
        name = os.path.basename(os.fspath(path))
        if (suffix := os.path.splitext(name)[1]) and suffix.lower() not in (".parquet", ".pq"):  # (run.csv: Parquet)
            raise OutputError(f"Trace.save: {name}: this writes a Parquet trace, which a {suffix} name would hide; end "
                              "the name in .parquet or .pq")
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

        where = os.fspath(path)
        table = _read_parquet(where)
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
        check_meta(meta, where, SOURCES)  # what replay, the monitor and update_period_s read (a list failed there)
        if "table" not in table.column_names:
            raise EnergyLensError(f"{where}: column 'table' is missing")
        extra = sorted(set(table.column_names) - {"table"} - {c for cols in _SCHEMA.values() for c in cols})
        if extra:  # (they were dropped without a word; Trace() refuses them too)
            raise EnergyLensError(f"{where}: column(s) {extra} are not part of trace format version {version}")
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
                    rows = np.flatnonzero(pc.is_null(arr).to_numpy(zero_copy_only=False))[:10].tolist()
                    raise EnergyLensError(f"{where}: table '{name}' column '{col}' has {arr.null_count} null "
                                          f"value(s), at rows {rows} of that table")
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
        made_from = _MADE_FROM.set(where)
        try:
            return cls(samples=tables["samples"], marks=tables["marks"], kernels=tables["kernels"],
                       meta=meta)
        except EnergyLensError as exc:
            raise EnergyLensError(f"{where}: {exc}") from exc
        finally:
            _MADE_FROM.reset(made_from)


def _read_parquet(where: str) -> Any:
    """The Parquet file ``where`` as an Arrow table; EnergyLensError naming it where it is none."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not where:  # (an unset shell variable: it read ': no such trace file')
        raise EnergyLensError("Trace.load: the path is empty; give the trace file's path")
    if os.path.isdir(where):  # (pyarrow reads a folder as a dataset: 'not an energylens trace')
        raise EnergyLensError(f"{where}: is a folder, not a trace file")
    try:
        return pq.read_table(where)
    except FileNotFoundError as exc:
        raise EnergyLensError(f"{where}: no such trace file") from exc
    except (pa.ArrowException, OSError) as exc:
        raise EnergyLensError(f"{where}: not a readable Parquet trace file ({exc})") from exc


# ---- synthetic NVML-like traces (the generator is energylens.measure.synthetic) ------------------------


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
    check_synthetic(powers, duration_s=duration_s, update_period_s=update_period_s, gap_s=gap_s,
                    averaging_window_s=averaging_window_s, kernel_duration_s=kernel_duration_s,
                    buffer_period_s=buffer_period_s, buffer_jitter_s=buffer_jitter_s, noise_w=noise_w,
                    kernel_power_cv=kernel_power_cv, energy_resolution_j=energy_resolution_j,
                    kernels_per_phase=kernels_per_phase)
    names = list(powers)
    rng = np.random.default_rng(seed)
    t_end = t0_ns + int(round(duration_s * 1e9))
    t = t0_ns + int(rng.uniform(gap_s[0], gap_s[1]) * 1e9)
    if phases is None:
        k = draw_kernels(rng, class_probabilities(names, class_weights), t, t_end, duration_s, kernel_duration_s, gap_s)
    else:
        if not phases:
            raise ValueError("phases must name at least one phase")
        phase_p = {lab: class_probabilities(names, phases[lab]) for lab in phases}
        k = draw_phased_kernels(rng, len(names), phase_p, t, t_end, kernels_per_phase, kernel_duration_s, gap_s)
    power = true_power(rng, k, np.array([powers[c] for c in names], dtype=np.float64), idle_power_w,
                       kernel_power_cv, t0_ns, t_end)
    samples, upd_meta, win_meta = nvml_readings(
        rng, power, duration_s=duration_s, update_period_s=update_period_s, averaging_window_s=averaging_window_s,
        noise_w=noise_w, energy_counter=energy_counter, energy_resolution_j=energy_resolution_j,
        buffer_period_s=buffer_period_s, buffer_jitter_s=buffer_jitter_s, gpu=gpu)
    truth = truth_of(k, power, names, powers, idle_power_w, phases is not None)
    meta = synthetic_meta(gpu, truth, upd_meta, win_meta, seed=seed, noise_w=noise_w,
                          kernel_power_cv=kernel_power_cv, kernel_duration_s=list(kernel_duration_s),
                          gap_s=list(gap_s))
    return Trace(samples=samples, marks={"t_ns": k.mark_t, "label": k.mark_label},
                 kernels=kernel_table(k, names, gpu), meta=meta), truth
