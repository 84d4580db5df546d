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

Here is the :class:`Trace` type; its tables' columns and their coercion are :mod:`energylens.measure.trace_tables`,
the value and ``meta`` checks :mod:`energylens.measure.trace_checks`, the Parquet file
:mod:`energylens.measure.trace_file`; every public name of theirs is importable from here too.
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
from energylens.measure.trace_checks import check_gpus, check_meta
from energylens.measure.trace_file import FORMAT_VERSION, read_tables, write_tables
from energylens.measure.trace_tables import SOURCES, empty_kernels, empty_marks, empty_samples, normalise
from energylens.measure.units import UnitsWarning, warn_units

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

# What a trace being made is made from, for its UnitsWarning: "Trace", or the file Trace.load reads.
_MADE_FROM: contextvars.ContextVar[str] = contextvars.ContextVar("energylens_trace_made_from", default="Trace")


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
        object.__setattr__(self, "samples", normalise("samples", self.samples, "Trace"))
        # (NVML's mW / mJ left undivided: every figure 1000x, without a word); a file read names itself
        warn_units(self.samples, _MADE_FROM.get())
        object.__setattr__(self, "marks", normalise("marks", self.marks, "Trace"))
        object.__setattr__(self, "kernels", normalise("kernels", self.kernels, "Trace"))
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
        for name, value in (("samples", self.samples), ("marks", normalise("marks", marks, "Trace.with_marks")),
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
        """Write the trace to one Parquet file (format version :data:`FORMAT_VERSION`), atomically (``~`` is the home
        folder, as in pandas); OutputError naming ``path`` when it cannot be written."""
        if not os.fspath(path):  # (it read '.: could not write (Is a directory)')
            raise OutputError("Trace.save: the path is empty; give the trace file's path")
        path = os.path.expanduser(os.fspath(path))  # ('~/run.parquet' was 'cannot write here', as pandas expands it)
        name = os.path.basename(path)
        if (suffix := os.path.splitext(name)[1]) and suffix.lower() not in (".parquet", ".pq"):  # (run.csv: Parquet)
            raise OutputError(f"Trace.save: {name}: this writes a Parquet trace, which a {suffix} name would hide; end "
                              "the name in .parquet or .pq")
        write_tables(path, {t: getattr(self, t) for t in ("samples", "marks", "kernels")}, self.meta)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Trace:
        """Read a trace written by :meth:`save` (``~`` is the home folder); EnergyLensError names the file and what
        is wrong."""
        where = os.path.expanduser(os.fspath(path))  # ('~/run.parquet': 'no such trace file')
        tables, meta = read_tables(where)
        made_from = _MADE_FROM.set(where)
        try:
            return cls(samples=tables["samples"], marks=tables["marks"], kernels=tables["kernels"],
                       meta=meta)
        except EnergyLensError as exc:
            raise EnergyLensError(f"{where}: {exc}") from exc
        finally:
            _MADE_FROM.reset(made_from)


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
