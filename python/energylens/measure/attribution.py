"""Energy per kernel class and per phase, below NVML's update period.

NVML publishes a new power or energy value only every ~100 ms (docs/measuring.md), far coarser than a
kernel or a decode step. :func:`attribute` recovers per-class power by regressing many coarse readings
onto each class's busy time in the same time span:

    energy(interval i) = P_idle * length_i + sum_c  dP_c * busy_c(i) + noise_i,      dP_c >= 0, P_idle >= 0

solved by non-negative least squares (Lawson-Hanson, native ``_core``) with an idle term. The row of
each reading depends on the signal:

- an **energy counter** (``energy_j``, e.g. ``nvml_energy``): the delta between consecutive readings,
  over the **whole** interval between them;
- a **power reading** that averages the last ``averaging_window_s`` before its update (e.g.
  ``nvml_instant``: ~25 ms of every 100 ms on A100/H100): ``power_w * window`` over **that window
  only**, the busy times taken inside the window too. Using the whole 100 ms interval instead would
  attribute what happened in the 75 ms the reading never saw;
- a power reading with no window (``averaging_window_s`` unknown, e.g. the driver sample buffer):
  each reading is taken as the mean since the previous one.

Uncertainty: analytic standard errors ``sigma^2 (A_P^T A_P)^-1`` on the active set, and a moving-block
bootstrap over intervals (robust to autocorrelated, heteroscedastic residuals), which is what
``power_stderr_w`` reports when ``bootstrap > 1``.

:func:`attribute_phases` turns the class powers into energy per mark-delimited phase (e.g. prefill vs
decode iterations), with the covariance propagated.

The NumPy reference of the native numerics is here too (``reference_busy_time``, ``reference_fit``);
``backend="numpy"`` runs the whole attribution on it.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from energylens import _core
from energylens.errors import EnergyLensError
from energylens.extras import require
from energylens.measure.trace import Trace
from energylens.parallel import honours_n_threads

__all__ = [
    "Attribution",
    "PhaseAttribution",
    "AttributionWarning",
    "attribute",
    "attribute_phases",
    "reference_busy_time",
    "reference_fit",
    "SOURCE_PREFERENCE",
]

#: The order in which :func:`attribute` picks a source when none is given: the energy counter (the
#: integral, NVML's most trustworthy reading), then the ~20 ms driver buffer, then the instant reading.
SOURCE_PREFERENCE: tuple[str, ...] = ("nvml_energy", "nvml_samples", "nvml_instant", "dcgm", "synthetic",
                                      "replay")
OTHER_CLASS = "(other)"


class AttributionWarning(UserWarning):
    """The fit is not trustworthy as it stands (e.g. classes not identifiable); the message says why."""


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
        measured_energy_j: sum of the regression targets (J within the rows' windows).
        residual_rms_w: RMS of the residuals divided by each row's length (W).
        r2: coefficient of determination of the fit.
        condition_number: of the column-scaled design (inf when not identifiable).
        identifiable: False when the design is rank deficient (classes always co-occur in fixed
            proportion, or busy time never varies): the split between them is then arbitrary.
        at_bound: classes whose power hit the zero bound.
        converged: NNLS converged.
        method: a one-line description of the regression that was run.
        backend: ``"native"`` or ``"numpy"``.
        covariance: ``(k+1, k+1)`` covariance of ``[idle, power_w...]`` (bootstrap when run, else
            analytic with NaN off the active set), used for phase energy uncertainty.
        bootstrap_coef: ``(bootstrap, k+1)`` replicate coefficients ``[idle, power_w...]``.
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
    covariance: np.ndarray
    bootstrap_coef: np.ndarray

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


# ======================================================================================================
# NumPy reference of the native numerics (parity tests; backend="numpy")
# ======================================================================================================


def _cumulative_busy_ns(starts: np.ndarray, ends: np.ndarray, t: np.ndarray) -> np.ndarray:
    """sum_k |[s_k, e_k) ∩ (-inf, t)| for each t, exactly in int64 ns (kernels may overlap)."""
    s = np.sort(starts)
    e = np.sort(ends)
    cs = np.concatenate(([0], np.cumsum(s)))
    ce = np.concatenate(([0], np.cumsum(e)))
    ns = np.searchsorted(s, t, side="left")
    ne = np.searchsorted(e, t, side="left")
    return (ns * t - cs[ns]) - (ne * t - ce[ne])


def reference_busy_time(kernel_start_ns, kernel_end_ns, kernel_class, n_classes, interval_start_ns,
                        interval_end_ns) -> np.ndarray:
    """NumPy reference of ``_core.attribution_busy_time`` (same contract, different algorithm)."""
    ks = np.asarray(kernel_start_ns, dtype=np.int64)
    ke = np.asarray(kernel_end_ns, dtype=np.int64)
    kc = np.asarray(kernel_class, dtype=np.int64)
    a = np.asarray(interval_start_ns, dtype=np.int64)
    b = np.asarray(interval_end_ns, dtype=np.int64)
    out = np.zeros((a.size, int(n_classes)))
    for c in range(int(n_classes)):
        sel = kc == c
        busy = _cumulative_busy_ns(ks[sel], ke[sel], b) - _cumulative_busy_ns(ks[sel], ke[sel], a)
        out[:, c] = busy.astype(np.float64) * 1e-9
    return out


def reference_fit(design: np.ndarray, target: np.ndarray, *, bootstrap: int = 0, block_length: int = 0,
                  seed: int = 0) -> dict[str, Any]:
    """NumPy/SciPy reference of ``_core.attribution_fit`` (bootstrap draws differ, statistics agree)."""
    scipy_nnls = require("scipy.optimize", "test", "reference_fit (the SciPy test oracle)").nnls

    a = np.asarray(design, dtype=np.float64)
    b = np.asarray(target, dtype=np.float64)
    m, n = a.shape
    scale = np.linalg.norm(a, axis=0)
    scale[scale == 0] = 1.0

    def solve(aa, bb):
        x, _ = scipy_nnls(aa / scale, bb)
        return x / scale

    coef = solve(a, b)
    resid = b - a @ coef
    rss = float(resid @ resid)
    act = np.flatnonzero(coef > 0)
    sigma2 = rss / (m - act.size) if m > act.size else np.nan
    sv = np.linalg.svd(a / scale, compute_uv=False)
    rank = int(np.sum(sv**2 > sv.max() ** 2 * 1e-13 * n)) if sv.size else 0
    cond = float(sv.max() / sv.min()) if rank == n else np.inf
    cov = np.full((n, n), np.nan)
    if act.size and rank == n:
        ap = a[:, act]
        cov[np.ix_(act, act)] = sigma2 * np.linalg.inv(ap.T @ ap)
    se = np.sqrt(np.diag(cov))
    blen = block_length if block_length > 0 else max(1, int(round(m ** (1 / 3))))
    blen = min(blen, m)
    boots = np.full((bootstrap, n), np.nan)
    rng = np.random.default_rng(seed)
    for r in range(bootstrap):
        starts = rng.integers(0, m - blen + 1, size=-(-m // blen))
        idx = (starts[:, None] + np.arange(blen)[None, :]).ravel()[:m]
        boots[r] = solve(a[idx], b[idx])
    se_boot = boots.std(axis=0, ddof=1) if bootstrap > 1 else np.full(n, np.nan)
    return {"coef": coef, "stderr_analytic": se, "covariance": cov, "residuals": resid, "rss": rss,
            "sigma2": sigma2, "active": int(act.size), "rank": rank, "condition_number": cond,
            "converged": True, "iterations": 0, "block_length": blen, "bootstrap_converged": bootstrap,
            "bootstrap_coef": boots, "stderr_bootstrap": se_boot}


# ======================================================================================================
# Building the regression from a trace
# ======================================================================================================


def _busy(ks, ke, kc, n_classes, a, b, backend):
    if backend == "native":
        return _core.attribution_busy_time(ks, ke, kc.astype(np.int32), n_classes, a, b)
    return reference_busy_time(ks, ke, kc, n_classes, a, b)


def _fit(design, target, bootstrap, block_length, seed, backend):
    if backend == "native":
        return _core.attribution_fit(design, target, bootstrap=bootstrap, block_length=block_length,
                                     seed=seed)
    return reference_fit(design, target, bootstrap=bootstrap, block_length=block_length, seed=seed)


def _labels(kernels: pd.DataFrame, by: str | Callable[[pd.DataFrame], Any]) -> np.ndarray:
    if callable(by):
        labels = np.asarray(by(kernels), dtype=object)
        if labels.shape != (len(kernels),):
            raise EnergyLensError(f"by(kernels) returned shape {labels.shape}, expected ({len(kernels)},)")
        return np.array([str(x) for x in labels], dtype=object)
    if by not in ("kind", "name"):
        raise ValueError(f"by must be 'kind', 'name' or a callable, got {by!r}")
    return kernels[by].to_numpy(dtype=object)


def _pick_gpu(trace: Trace, gpu: int | None) -> int:
    gpus = sorted(set(trace.samples["gpu"].tolist()))
    if gpu is None:
        if len(gpus) > 1:
            raise EnergyLensError(f"the trace has samples from GPUs {gpus}; pass gpu= to choose one "
                                  "(each GPU is attributed on its own)")
        return int(gpus[0])
    if gpu not in gpus:
        raise EnergyLensError(f"gpu {gpu} has no samples; GPUs with samples: {gpus}")
    return int(gpu)


def _pick_source(samples: pd.DataFrame, source: str | None) -> str:
    present = [s for s in SOURCE_PREFERENCE if (samples["source"] == s).any()]
    if source is None:
        if not present:
            have = sorted(set(samples["source"].astype(str)))
            raise EnergyLensError(f"no usable power or energy source in the trace (have {have}); "
                                  "nvml_average is a ~1 s moving average and cannot be attributed")
        return present[0]
    if source == "nvml_average":
        raise EnergyLensError("source 'nvml_average' (nvmlDeviceGetPowerUsage) is a ~1 s moving average: "
                              "it cannot resolve anything below a second; use nvml_energy, nvml_samples "
                              "or nvml_instant")
    if not (samples["source"] == source).any():
        have = sorted(set(samples["source"].astype(str)))
        raise EnergyLensError(f"source {source!r} has no samples for this GPU; sources present: {have}")
    return source


def _dedupe(t: np.ndarray, v: np.ndarray, period_s: float | None) -> tuple[np.ndarray, np.ndarray, bool]:
    """One row per published value, stamped as close to the update instant as the data allows.

    A source polled faster than it updates (median spacing under 3/4 of the update period) shows
    each value several times. The value changed between the last poll that still saw the old value
    and the first that saw the new one: the row is stamped at the midpoint of that bracket (error
    uniform within +-half the poll spacing, no bias) and the first value, whose bracket is unknown,
    is dropped. Otherwise (one row per update, or changes-only streams) exact repeats of the previous
    value are dropped (a stale energy counter is never a zero-energy interval) and stamps are kept.
    Returns (t, v, bracketed).
    """
    if t.size < 3:
        return t, v, False
    change = np.concatenate(([False], v[1:] != v[:-1]))
    if change[1:].all():
        return t, v, False
    spacing = float(np.median(np.diff(t))) * 1e-9
    if period_s is None:
        tc = t[change]
        period_s = float(np.median(np.diff(tc))) * 1e-9 if tc.size > 2 else spacing
    if spacing < 0.75 * period_s:
        idx = np.flatnonzero(change)
        return t[idx - 1] + (t[idx] - t[idx - 1]) // 2, v[idx], True
    keep = change.copy()
    keep[0] = True
    return t[keep], v[keep], False


def _readings(trace, gpu, source, signal, update_period_s):
    s = trace.samples
    s = s[(s["gpu"] == gpu) & (s["source"] == source)]
    if signal == "auto":
        signal = "energy" if np.isfinite(s["energy_j"].to_numpy()).any() else "power"
    if signal not in ("energy", "power"):
        raise ValueError(f"signal must be 'auto', 'energy' or 'power', got {signal!r}")
    col = "energy_j" if signal == "energy" else "power_w"
    s = s[np.isfinite(s[col].to_numpy())].sort_values("t_ns", kind="stable")
    t = s["t_ns"].to_numpy()
    v = s[col].to_numpy()
    period = update_period_s if update_period_s is not None else trace.update_period_s(source)
    t, v, _ = _dedupe(t, v, period)
    if period is None and t.size > 1:
        period = float(np.median(np.diff(t))) * 1e-9
    if t.size < 2:
        raise EnergyLensError(f"source {source!r} on GPU {gpu} has {t.size} usable {col} reading(s); "
                              "attribution needs many (one per update period over tens of seconds)")
    if signal == "energy":
        d = np.diff(v)
        if (d < 0).any():
            raise EnergyLensError(f"the energy counter of source {source!r} goes backwards at "
                                  f"{int((d < 0).sum())} reading(s) (counter reset or wrap?)")
    return signal, np.asarray(t, np.int64), np.asarray(v, np.float64), period


def _intervals(signal, t, v, window, source):
    """Rows of the regression: (start_ns, end_ns, target_j) for the given readings and window."""
    if signal == "energy" or window is None:
        target = np.diff(v) if signal == "energy" else v[1:] * (np.diff(t) * 1e-9)
        return t[:-1], t[1:], target
    if not window > 0:
        raise ValueError(f"averaging_window_s must be positive, got {window}")
    w_ns = int(round(window * 1e9))
    start, end = t - w_ns, t
    if (start[1:] < end[:-1]).any():
        raise EnergyLensError(
            f"averaging window {window * 1e3:g} ms is longer than the spacing of {source!r} readings "
            f"(min {np.diff(t).min() * 1e-6:g} ms): the windows overlap; pass a shorter "
            "averaging_window_s or dedupe the readings")
    return start, end, v * (w_ns * 1e-9)


@honours_n_threads
def attribute(
    trace: Trace,
    *,
    classes: Sequence[str] | None = None,
    by: Literal["kind", "name"] | Callable[[pd.DataFrame], Any] = "kind",
    source: str | None = None,
    signal: Literal["auto", "energy", "power"] = "auto",
    gpu: int | None = None,
    averaging_window_s: float | Literal["fit"] | None = None,
    clock_offset_s: float | Literal["fit"] = 0.0,
    update_period_s: float | None = None,
    span_ns: tuple[int, int] | None = None,
    bootstrap: int = 200,
    block_length: int | None = None,
    seed: int = 0,
    backend: Literal["native", "numpy"] = "native",
) -> Attribution:
    """Estimate the power and energy of each kernel class from coarse readings (module docstring).

    Args:
        trace: readings and kernel intervals on one time base.
        classes: the classes to estimate (labels from ``by``); kernels of other classes are lumped
            into one ``"(other)"`` class so their energy is not charged to idle. None: every label.
        by: the kernel column that names a class (``"kind"`` or ``"name"``), or a callable mapping the
            kernels DataFrame to one label per row (e.g. a regex on names).
        source: which samples to use; None picks by :data:`SOURCE_PREFERENCE`.
        signal: ``"energy"`` (counter deltas over whole intervals), ``"power"`` (window-averaged
            readings), or ``"auto"`` (energy when the source has ``energy_j``).
        gpu: which GPU; None when the trace has one.
        averaging_window_s: the window each power reading averages (e.g. 0.025 for instant power on
            A100/H100). None: ``trace.meta["averaging_window_s"][source]``; else ``"fit"`` for
            ``nvml_instant`` and the whole interval since the previous reading for other sources.
            ``"fit"``: the window that minimises the residual (a 1 ms grid up to the reading spacing,
            then 0.1 ms), for when the GPU's window is unknown; costs ~100 fits per round.
        clock_offset_s: how far kernel timestamps lag the readings' time base (s): a reading at
            ``t`` covers kernel time ``[t - window - offset, t - offset]``. ``"fit"``: chosen by the
            residual on a 0.5 ms grid over +-max(10 ms, 0.3 update periods), then 0.1 ms, jointly
            with a fitted window (a changes-only sampler's poll lag shows up here).
        update_period_s: the source's update period (to recognise polling faster than the updates,
            whose repeated values become one row stamped mid-bracket). None: from ``meta``, else
            detected.
        span_ns: ``(start, end)``: use only rows whose interval lies inside. None: the span of the
            kernels (first start to last end), where kernel tracing is known to be on.
        bootstrap: moving-block bootstrap replicates (0 or 1: analytic standard errors only).
        block_length: rows per bootstrap block (None: ``round(n ** (1/3))``).
        seed: bootstrap seed.
        backend: ``"native"`` (C++ core) or ``"numpy"`` (the reference).
        n_threads: cap on the native loops' threads (default: the process-wide setting,
            :mod:`energylens.parallel`).

    Raises:
        EnergyLensError: empty trace, no kernels, an unknown class, a class with no busy time in any
            analysed interval, too few readings, or a source that cannot be attributed.
    Warns:
        AttributionWarning: the design is rank deficient (``identifiable`` is False in the result).
    """
    if backend not in ("native", "numpy"):
        raise ValueError(f"backend must be 'native' or 'numpy', got {backend!r}")
    if bootstrap < 0:
        raise ValueError("bootstrap must be >= 0")
    if len(trace.samples) == 0:
        raise EnergyLensError("the trace has no samples: nothing to attribute")
    if len(trace.kernels) == 0:
        raise EnergyLensError("the trace has no kernels: attribution needs kernel intervals "
                              "(record them with CUPTI, or add them to Trace.kernels)")
    gpu = _pick_gpu(trace, gpu)
    kern = trace.kernels[trace.kernels["gpu"] == gpu]
    if len(kern) == 0:
        raise EnergyLensError(f"the trace has no kernels on GPU {gpu}")
    source = _pick_source(trace.samples[trace.samples["gpu"] == gpu], source)
    signal, t_read, v_read, period = _readings(trace, gpu, source, signal, update_period_s)

    labels = _labels(kern, by)
    present = sorted(set(labels.tolist()))
    if classes is None:
        names = present
    else:
        names = [str(c) for c in classes]
        if len(set(names)) != len(names):
            raise ValueError(f"classes has duplicates: {names}")
        unknown = [c for c in names if c not in present]
        if unknown:
            raise EnergyLensError(f"unknown class(es) {unknown}: no kernel on GPU {gpu} has that "
                                  f"{by if isinstance(by, str) else 'label'}; present: {present[:30]}")
        if set(present) - set(names):
            names = names + [OTHER_CLASS]
    index = {c: i for i, c in enumerate(names)}
    other = index.get(OTHER_CLASS, -1)
    kc = np.array([index.get(lab, other) for lab in labels], dtype=np.int64)
    ks = kern["start_ns"].to_numpy()
    ke = kern["end_ns"].to_numpy()
    k = len(names)
    lo, hi = span_ns if span_ns is not None else (int(ks.min()), int(ke.max()))

    if signal == "energy":
        if averaging_window_s is not None:
            raise ValueError("averaging_window_s applies to power readings; energy-counter deltas always "
                             "cover the whole interval between readings")
        window = None
    else:
        window = averaging_window_s if averaging_window_s is not None else trace.averaging_window_s(source)
        if window is None and source == "nvml_instant":
            # The instant reading averages an unknown part of each period (~25 ms of 100 ms on
            # A100/H100); the whole interval would be badly wrong, so measure it from the data.
            window = "fit"
    if isinstance(window, str) and window != "fit":
        raise ValueError(f"averaging_window_s must be seconds, None or 'fit', got {window!r}")
    if isinstance(clock_offset_s, str) and clock_offset_s != "fit":
        raise ValueError(f"clock_offset_s must be seconds or 'fit', got {clock_offset_s!r}")

    def rows(win, off_ns):
        start, end, target = _intervals(signal, t_read, v_read, win, source)
        start, end = start - off_ns, end - off_ns  # reading time -> kernel time
        keep = (start >= lo) & (end <= hi) & (end > start)
        return start[keep], end[keep], target[keep]

    def misfit(win, off_ns):
        start, end, target = rows(win, off_ns)
        if start.size <= k + 1:
            return np.inf
        length = (end - start) * 1e-9
        design = np.column_stack([length, _busy(ks, ke, kc, k, start, end, backend)])
        f = _fit(design, target, 0, 0, 0, backend)
        return float(np.mean((np.asarray(f["residuals"]) / length) ** 2))

    fitted = []
    if window == "fit" or clock_offset_s == "fit":
        spacing = float(np.diff(t_read).min()) * 1e-9
        w_max = min(period or spacing, spacing) if signal == "power" else None
        w_grid = np.arange(0.001, w_max + 1e-12, 0.001) if window == "fit" else None
        o_max = max(0.010, 0.3 * (period or spacing))  # a changes-only stream lags up to its poll spacing
        o_grid = np.arange(-o_max, o_max + 1e-12, 0.0005) if clock_offset_s == "fit" else None
        win = (w_max / 2 if window == "fit" else window)
        off = 0.0 if clock_offset_s == "fit" else float(clock_offset_s)
        for step in (1.0, 0.1):
            for _ in range(6):
                before = (win, off)
                if w_grid is not None:
                    grid = w_grid if step == 1.0 else np.clip(win + np.arange(-10, 11) * 1e-4, 1e-4, w_max)
                    win = float(grid[np.argmin([misfit(w, int(round(off * 1e9))) for w in grid])])
                if o_grid is not None:
                    grid = o_grid if step == 1.0 else off + np.arange(-5, 6) * 1e-4
                    off = float(grid[np.argmin([misfit(win, int(round(o * 1e9))) for o in grid])])
                if (win, off) == before:
                    break
        if window == "fit":
            window = round(win, 6)
            fitted.append(f"averaging window fitted ({window * 1e3:g} ms)")
        if clock_offset_s == "fit":
            clock_offset_s = round(off, 6)
            fitted.append(f"clock offset fitted ({clock_offset_s * 1e3:g} ms)")
    offset_ns = int(round(float(clock_offset_s) * 1e9))
    start, end, target = rows(window, offset_ns)
    n_rows = int(start.size)
    if n_rows <= k + 1:
        raise EnergyLensError(f"only {n_rows} reading interval(s) of {source!r} lie inside the analysed "
                              f"span; {k + 1} unknowns need many more (record longer: >= 60 s is typical)")

    busy = _busy(ks, ke, kc, k, start, end, backend)
    empty = [names[c] for c in range(k) if not busy[:, c].any()]
    if empty:
        raise EnergyLensError(f"class(es) {empty} have no busy time inside any analysed "
                              f"{'averaging window' if window else 'interval'}: their power cannot be "
                              "estimated (drop them from classes, or record longer)")
    length_s = (end - start) * 1e-9
    design = np.column_stack([length_s, busy])
    fit = _fit(design, target, bootstrap, block_length or 0, seed, backend)

    coef = np.asarray(fit["coef"])
    identifiable = fit["rank"] == design.shape[1]
    boots = np.asarray(fit["bootstrap_coef"])
    if bootstrap > 1:
        stderr = np.asarray(fit["stderr_bootstrap"])
        ci = np.percentile(boots, [2.5, 97.5], axis=0).T
        cov = np.cov(boots, rowvar=False)
    else:
        stderr = np.asarray(fit["stderr_analytic"])
        ci = np.full((design.shape[1], 2), np.nan)
        cov = np.asarray(fit["covariance"])
    cov = np.atleast_2d(cov)
    if not identifiable:
        stderr = np.full_like(stderr, np.nan)
        warnings.warn(
            f"attribution design is rank deficient (rank {fit['rank']} of {design.shape[1]}): the split of "
            f"energy between classes {names} (and idle) is not identifiable from this trace; classes that "
            "always run together in fixed proportion must be merged, and the workload must vary its class "
            "mix across update intervals", AttributionWarning, stacklevel=2)

    in_span = (ks >= lo) & (ke <= hi)
    total_busy = np.array([((ke - ks)[in_span & (kc == c)]).sum() * 1e-9 for c in range(k)])
    span_s = (hi - lo) * 1e-9
    resid = np.asarray(fit["residuals"])
    tss = float(((target - target.mean()) ** 2).sum())
    power = coef[1:]
    where = ("each reading's averaging window" f" ({window * 1e3:g} ms)" if window is not None
             else "the whole interval between readings")
    method = (f"NNLS of {'energy-counter deltas' if signal == 'energy' else 'power x window'} on idle time + "
              f"busy time per class within {where}; {n_rows} rows; "
              + "".join(f"{x}; " for x in fitted)
              + (f"moving-block bootstrap {bootstrap} x (block {fit['block_length']})" if bootstrap > 1
                 else "analytic active-set standard errors"))
    return Attribution(
        classes=tuple(names),
        power_w=power,
        power_abs_w=power + coef[0],
        power_stderr_w=stderr[1:],
        power_stderr_analytic_w=np.asarray(fit["stderr_analytic"])[1:],
        power_ci_w=ci[1:],
        busy_s=total_busy,
        energy_j=power * total_busy,
        energy_stderr_j=stderr[1:] * total_busy,
        idle_power_w=float(coef[0]),
        idle_power_stderr_w=float(stderr[0]),
        span_s=float(span_s),
        idle_energy_j=float(coef[0] * span_s),
        n_intervals=n_rows,
        window_s=window,
        clock_offset_s=float(clock_offset_s),
        update_period_s=period,
        source=source,
        signal=signal,
        measured_energy_j=float(target.sum()),
        residual_rms_w=float(np.sqrt(np.mean((resid / length_s) ** 2))),
        r2=float(1.0 - fit["rss"] / tss) if tss > 0 else float("nan"),
        condition_number=float(fit["condition_number"]),
        identifiable=bool(identifiable),
        at_bound=tuple(names[c] for c in range(k) if power[c] <= 0.0),
        converged=bool(fit["converged"]),
        method=method,
        backend=backend,
        covariance=cov,
        bootstrap_coef=boots,
    )


@honours_n_threads
def attribute_phases(
    trace: Trace,
    *,
    phases: Sequence[str] | None = None,
    attribution: Attribution | None = None,
    gpu: int | None = None,
    by: Literal["kind", "name"] | Callable[[pd.DataFrame], Any] = "kind",
    **attribute_kwargs: Any,
) -> PhaseAttribution:
    """Energy per phase, where a phase is a set of mark-delimited spans.

    Each mark opens a span that lasts until the next mark (any label); the span takes the mark's
    label. The last mark only closes the span before it (label it e.g. ``"end"``). The energy of a
    phase is ``idle * duration + sum_c power_c * busy_c`` over its spans, with the class powers from
    ``attribution`` (or a fresh :func:`attribute` with ``attribute_kwargs``) and the uncertainty
    propagated through their covariance.

    Args:
        phases: the labels to report (None: every span label).
        attribution: a class attribution of the same trace to reuse; it must have been made with the
            same ``by``.
        gpu, by, attribute_kwargs: as in :func:`attribute`.

    Raises:
        EnergyLensError: no marks (fewer than two), or a phase label that no span has.
    """
    marks = trace.marks.sort_values("t_ns", kind="stable")
    if len(marks) < 2:
        raise EnergyLensError(f"the trace has {len(marks)} mark(s): phases are spans between consecutive "
                              "marks, so at least two are needed")
    if attribution is None:
        attribution = attribute(trace, gpu=gpu, by=by, **attribute_kwargs)
    gpu = _pick_gpu(trace, gpu)
    mt = marks["t_ns"].to_numpy()
    span_label = marks["label"].to_numpy(dtype=object)[:-1]
    present = list(dict.fromkeys(span_label.tolist()))
    if phases is None:
        names = present
    else:
        names = [str(p) for p in phases]
        unknown = [p for p in names if p not in present]
        if unknown:
            raise EnergyLensError(f"unknown phase(s) {unknown}: no span starts with that mark label; "
                                  f"span labels: {present[:30]}")
    kern = trace.kernels[trace.kernels["gpu"] == gpu]
    labels = _labels(kern, by)
    classes = list(attribution.classes)
    index = {c: i for i, c in enumerate(classes)}
    other = index.get(OTHER_CLASS, -1)
    kc = np.array([index.get(lab, other) for lab in labels], dtype=np.int64)
    busy_spans = _busy(kern["start_ns"].to_numpy(), kern["end_ns"].to_numpy(), kc, len(classes), mt[:-1],
                       mt[1:], attribution.backend)
    dur = np.diff(mt) * 1e-9
    n = len(names)
    busy = np.zeros((n, len(classes)))
    duration = np.zeros(n)
    count = np.zeros(n, dtype=np.int64)
    for i, p in enumerate(names):
        sel = span_label == p
        busy[i] = busy_spans[sel].sum(axis=0)
        duration[i] = dur[sel].sum()
        count[i] = int(sel.sum())
    coef = np.concatenate(([attribution.idle_power_w], attribution.power_w))
    g = np.column_stack([duration, busy])  # (phases, 1 + classes)
    energy = g @ coef
    dynamic = busy @ attribution.power_w
    cov = np.nan_to_num(attribution.covariance, nan=0.0)
    var = np.einsum("pi,ij,pj->p", g, cov, g)
    stderr = np.sqrt(np.maximum(var, 0.0))
    if not attribution.identifiable:
        stderr[:] = np.nan
    return PhaseAttribution(
        phases=tuple(names),
        n_spans=count,
        duration_s=duration,
        busy_s=busy,
        energy_j=energy,
        dynamic_energy_j=dynamic,
        energy_stderr_j=stderr,
        energy_per_span_j=np.where(count > 0, energy / np.maximum(count, 1), np.nan),
        attribution=attribution,
    )
