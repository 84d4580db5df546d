"""What :func:`~energylens.measure.attribution.attribute` and
:func:`~energylens.measure.attribution.attribute_phases` return: :class:`Attribution` (power and energy per kernel
class, with their uncertainty and how the fit went) and :class:`PhaseAttribution` (energy per mark-delimited
phase). Both are importable from :mod:`energylens.measure.attribution` (and ``energylens``) as before."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from energylens.errors import EnergyLensError, renamed_attribute
from energylens.measure.attribution_phases import phase_repr
from energylens.measure.pickled import setstate_renaming

__all__ = ["Attribution", "PhaseAttribution"]


@dataclass(frozen=True, eq=False)
class Attribution:
    """Per-class power and energy from :func:`attribute`. Arrays are indexed like ``classes``.

    Attributes:
        classes: the class labels.
        power_w: power above idle while a kernel of the class runs (W).
        power_abs_w: absolute power while it runs: ``idle_power_w + power_w`` (W).
        power_stderr_w: standard error of ``power_w`` (bootstrap when run, else analytic; NaN for a
            coefficient at the zero bound without bootstrap, or when not identifiable).
        power_stderr_analytic_w: ``sqrt(diag(sigma^2 (A_P^T A_P)^-1))`` on the active set.
        power_ci_w: ``(k, 2)`` 2.5 / 97.5 % bootstrap percentiles (NaN without bootstrap).
        busy_s: total busy time of each class over the analysed span (s).
        energy_j: energy above idle attributed to each class over the span: ``power_w * busy_s`` (J).
        energy_stderr_j: ``power_stderr_w * busy_s`` (J).
        idle_power_w, idle_power_stderr_w: the idle term (W) and its standard error.
        span_s: length of the analysed span (``span_ns``; by default first kernel start to last end, s).
        idle_energy_j: ``idle_power_w * span_s`` (J).
        n_intervals: readings (rows) used.
        window_s: the averaging window used for power readings, or None (whole intervals).
        clock_offset_s: the kernel-vs-readings clock offset used (s).
        update_period_s: the source's update period (from the argument, meta, or detected).
        source, signal: the samples used (``"energy"`` counter deltas or ``"power"`` readings).
        measured_energy_j: sum of the regression targets (J within the rows' windows): for windowed readings
            (``nvml_instant``, 25 ms of each 100 ms) about a quarter of the span's energy, not comparable with
            ``idle_energy_j + energy_j.sum()`` (30 s synthetic: 2028 J against 8003 J; 7970 J by the counter).
        residual_rms_w: RMS of the residuals divided by each row's length (W).
        r2: coefficient of determination of the fit.
        condition_number: of the column-scaled design (inf when not identifiable).
        identifiable: False when the design is rank deficient (classes always co-occur in fixed
            proportion, or busy time never varies): the split between them is then arbitrary.
        at_bound: classes whose power hit the zero bound.
        converged: NNLS converged.
        method: a one-line description of the regression that was run.
        backend: ``"native"`` or ``"numpy"``.
        covariance_w2: ``(k+1, k+1)`` covariance of ``[idle, power_w...]`` (W^2; bootstrap when run, else
            analytic with NaN off the active set), used for phase energy uncertainty.
        bootstrap_coef_w: ``(bootstrap, k+1)`` replicate coefficients ``[idle, power_w...]`` (W).
        covariance, bootstrap_coef: deprecated names (0.1.0) of the two above; reading them warns.
    """

    classes: tuple[str, ...]
    power_w: np.ndarray
    power_abs_w: np.ndarray
    power_stderr_w: np.ndarray
    power_stderr_analytic_w: np.ndarray
    power_ci_w: np.ndarray
    busy_s: np.ndarray
    energy_j: np.ndarray
    energy_stderr_j: np.ndarray
    idle_power_w: float
    idle_power_stderr_w: float
    span_s: float
    idle_energy_j: float
    n_intervals: int
    window_s: float | None
    clock_offset_s: float
    update_period_s: float | None
    source: str
    signal: str
    measured_energy_j: float
    residual_rms_w: float
    r2: float
    condition_number: float
    identifiable: bool
    at_bound: tuple[str, ...]
    converged: bool
    method: str
    backend: str
    covariance_w2: np.ndarray
    bootstrap_coef_w: np.ndarray
    covariance = renamed_attribute("Attribution", "covariance", "covariance_w2")
    bootstrap_coef = renamed_attribute("Attribution", "bootstrap_coef", "bootstrap_coef_w")
    # a pickle of before 2026-12-06 holds the old names (it loaded, then failed on first use)
    __setstate__ = setstate_renaming({"covariance": "covariance_w2", "bootstrap_coef": "bootstrap_coef_w"},
                                     "run attribute() on its trace again")

    def __repr__(self) -> str:  # a summary: the arrays (bootstrap_coef_w, covariance_w2) would flood a REPL
        parts = ", ".join(f"{c}: {p:.1f} +- {s:.1f} W, {e:.3g} J" for c, p, s, e in
                          zip(self.classes, self.power_w, self.power_stderr_w, self.energy_j, strict=True))
        return (f"Attribution({parts}; idle {self.idle_power_w:.1f} W, span {self.span_s:.3g} s, "
                f"r2 {self.r2:.3f}, identifiable={self.identifiable}, {self.backend})")

    def as_frame(self) -> pd.DataFrame:
        """One row per class: power, its uncertainty, busy time and energy."""
        return pd.DataFrame({
            "class": list(self.classes),
            "power_w": self.power_w,
            "power_abs_w": self.power_abs_w,
            "power_stderr_w": self.power_stderr_w,
            "power_ci_low_w": self.power_ci_w[:, 0],
            "power_ci_high_w": self.power_ci_w[:, 1],
            "busy_s": self.busy_s,
            "energy_j": self.energy_j,
            "energy_stderr_j": self.energy_stderr_j,
        })

    def power_of(self, cls: str) -> float:
        """``power_w`` of one class; EnergyLensError names the known classes if it is unknown."""
        try:
            return float(self.power_w[self.classes.index(cls)])
        except ValueError:
            raise EnergyLensError(f"unknown class {cls!r}; classes: {list(self.classes)}") from None


@dataclass(frozen=True, eq=False)
class PhaseAttribution:
    """Energy per phase from :func:`attribute_phases`. Arrays are indexed like ``phases``.

    Attributes:
        phases: the phase labels.
        n_spans: how many mark-delimited spans each phase has.
        duration_s: total duration of each phase's spans (s).
        busy_s: ``(phases, classes)`` busy time of each class inside each phase (s).
        energy_j: energy of each phase including idle: ``idle * duration + sum_c power_c * busy_c`` (J).
        dynamic_energy_j: the part above idle (J).
        energy_stderr_j: standard error of ``energy_j`` from the class fit's covariance (J).
        energy_per_span_j: ``energy_j / n_spans`` (J), e.g. the energy of one decode iteration.
        attribution: the class attribution the phases were built from.
    """

    phases: tuple[str, ...]
    n_spans: np.ndarray
    duration_s: np.ndarray
    busy_s: np.ndarray
    energy_j: np.ndarray
    dynamic_energy_j: np.ndarray
    energy_stderr_j: np.ndarray
    energy_per_span_j: np.ndarray
    attribution: Attribution
    __repr__ = phase_repr  # units and the sum; not the bare arrays and the whole class attribution
    __setstate__ = setstate_renaming({}, "run attribute_phases() on its trace again")

    def as_frame(self) -> pd.DataFrame:
        """One row per phase."""
        return pd.DataFrame({
            "phase": list(self.phases),
            "n_spans": self.n_spans,
            "duration_s": self.duration_s,
            "energy_j": self.energy_j,
            "dynamic_energy_j": self.dynamic_energy_j,
            "energy_stderr_j": self.energy_stderr_j,
            "energy_per_span_j": self.energy_per_span_j,
        })
