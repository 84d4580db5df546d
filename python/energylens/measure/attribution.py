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

The result types, :class:`Attribution` and :class:`PhaseAttribution`, are defined in
:mod:`energylens.measure.attribution_results` (importable from here). The rows of the regression are built in
:mod:`energylens.measure.attribution_design`; the NumPy reference of the native numerics (``reference_busy_time``,
``reference_fit``, re-exported here) is in :mod:`energylens.measure.attribution_reference`; ``backend="numpy"``
runs the whole attribution on it.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from energylens.errors import EnergyLensError, user_stacklevel
from energylens.measure.attribution_design import (
    OTHER_CLASS,
    SOURCE_PREFERENCE,
    Design,
    always_busy_hint,
    busy_time,
    check_block_length,
    check_inputs,
    class_index,
    class_labels,
    covered_span,
    no_rows_message,
    pick_gpu,
    pick_source,
    readings,
    resolve_window,
    run_fit,
    search_window_and_offset,
)
from energylens.measure.attribution_phases import (
    check_covered,
    check_holes,
    kernel_classes,
    mark_spans,
    phase_names,
    sum_by_phase,
    warn_fit_holes,
)
from energylens.measure.attribution_reference import reference_busy_time, reference_fit
from energylens.measure.attribution_results import Attribution, PhaseAttribution
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
    "OTHER_CLASS",
]


class AttributionWarning(UserWarning):
    """The fit is not trustworthy as it stands (e.g. classes not identifiable); the message says why."""


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
            whose repeated values become one row stamped mid-bracket). None: from ``meta``, else detected.
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
        SampleGapWarning: whole-interval power readings (the driver buffer) span a hole in the analysed span.
    """
    check_inputs(trace, backend, bootstrap, block_length, seed, clock_offset_s)
    gpu = pick_gpu(trace, gpu)
    kern = trace.kernels[trace.kernels["gpu"] == gpu]
    if len(kern) == 0:
        raise EnergyLensError(f"the trace has no kernels on GPU {gpu}")
    source = pick_source(trace.samples[trace.samples["gpu"] == gpu], source)
    signal, t_read, v_read, period = readings(trace, gpu, source, signal, update_period_s)
    names, kc = class_index(class_labels(kern, by), classes, by, gpu)
    ks, ke = kern["start_ns"].to_numpy(), kern["end_ns"].to_numpy()
    lo, hi = covered_span(span_ns, ks, ke, t_read, period, source)
    design = Design(ks=ks, ke=ke, kc=kc, k=len(names), lo=lo, hi=hi, signal=signal, source=source,
                    t_read=t_read, v_read=v_read, backend=backend)
    window = resolve_window(signal, averaging_window_s, trace, source, clock_offset_s)
    window, clock_offset_s, fitted, edge = search_window_and_offset(design, window, clock_offset_s, period)
    _warn_before_fit(trace, gpu, source, edge, signal == "power" and window is None, period, (lo, hi))
    length_s, matrix, target = _regression(design, names, window, clock_offset_s)
    check_block_length(block_length, length_s.size, bootstrap)
    fit = run_fit(matrix, target, bootstrap, block_length or 0, seed, backend)
    stderr, ci, cov, identifiable = _uncertainty(fit, matrix.shape[1], bootstrap, names,
                                                 always_busy_hint(matrix, names, design, span_ns is not None))
    method = _method(signal, window, length_s.size, fitted, bootstrap, fit)
    return _result(fit, design, names, target, length_s, stderr, ci, cov, identifiable,
                   window=window, clock_offset_s=clock_offset_s, update_period_s=period, method=method)


def _warn_before_fit(trace: Trace, gpu: int, source: str, edge: str, whole: bool, period: float | None,
                     span: tuple[int, int]) -> None:
    """The warnings of a fit's footing: a search at its edge, kernels dropped, ``whole``-interval power across a hole."""
    for why in filter(None, (edge, _dropped_kernels(trace))):
        warnings.warn(why, AttributionWarning, stacklevel=user_stacklevel())
    warn_fit_holes(trace, gpu, source, period, *span) if whole else None


def _dropped_kernels(trace: Trace) -> str:
    """The warning for kernel records lost while ``trace`` was recorded (``""`` when none were)."""
    if not trace.meta.get("kernels_dropped"):
        return ""
    return (f"{int(trace.meta['kernels_dropped']):,} kernel records were dropped by CUPTI while this trace was recorded "
            "(meta['kernels_dropped']: its buffers were full): their busy time reads as idle or as the other classes', "
            "so the class powers are biased; record a shorter run or flush the tracer more often")


def _regression(design: Design, names: list[str], window: Any,
                clock_offset_s: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row lengths in s, design matrix [length, busy per class], target J) of the final fit; an
    EnergyLensError when there are too few rows or a class is never busy inside one."""
    start, end, target = design.rows(window, int(round(clock_offset_s * 1e9)))
    n_rows = int(start.size)
    if n_rows == 0:
        raise EnergyLensError(no_rows_message(design, clock_offset_s))
    if n_rows <= design.k + 1:
        raise EnergyLensError(f"only {n_rows} reading interval(s) of {design.source!r} lie inside the analysed "
                              f"span; {design.k + 1} unknowns need many more (record longer: >= 60 s is typical)")
    busy = design.busy(start, end)
    empty = [names[c] for c in range(design.k) if not busy[:, c].any()]
    if empty:
        raise EnergyLensError(f"class(es) {empty} have no busy time inside any analysed "
                              f"{'averaging window' if window else 'interval'}: their power cannot be "
                              "estimated (drop them from classes, or record longer)" + _where_kernels(design, names, empty))
    length_s = (end - start) * 1e-9
    return length_s, np.column_stack([length_s, busy]), target


def _where_kernels(design: Design, names: list[str], empty: list[str]) -> str:
    """Where the first class of ``empty`` ran against the analysed span: kernels wholly outside it (marks or kernels
    of another run, or on another clock) said only 'no busy time'."""
    c = names.index(empty[0])
    mine = design.kc == c
    if not mine.any():
        return ""
    a, b = int(design.ks[mine].min()), int(design.ke[mine].max())
    outside = b <= design.lo or a >= design.hi
    return (f"; class {empty[0]!r} has {int(mine.sum())} kernel(s), from t_ns {a} to {b}; the analysed span is "
            f"[{design.lo}, {design.hi}] ns" + (": wholly outside it (kernels of another run, or on another clock?)"
                                               if outside else ""))


def _method(signal: str, window: Any, n_rows: int, fitted: list[str], bootstrap: int, fit: dict[str, Any]) -> str:
    """The one-line description of the regression that was run (``Attribution.method``)."""
    where = ("each reading's averaging window" f" ({window * 1e3:g} ms)" if window is not None
             else "the whole interval between readings")
    return (f"NNLS of {'energy-counter deltas' if signal == 'energy' else 'power x window'} on idle time + "
            f"busy time per class within {where}; {n_rows} rows; "
            + "".join(f"{x}; " for x in fitted)
            + (f"moving-block bootstrap {bootstrap} x (block {fit['block_length']})" if bootstrap > 1
               else "analytic active-set standard errors"))


def _uncertainty(fit: dict[str, Any], n_coef: int, bootstrap: int, names: list[str],
                 hint: str = "") -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
    """(stderr, 95 % interval, covariance of [idle, power...], identifiable): bootstrap statistics
    when run, else analytic; NaN standard errors (and an AttributionWarning) when rank deficient."""
    identifiable = fit["rank"] == n_coef
    if bootstrap > 1:
        boots = np.asarray(fit["bootstrap_coef"])
        stderr = np.asarray(fit["stderr_bootstrap"])
        ci = np.percentile(boots, [2.5, 97.5], axis=0).T
        cov = np.cov(boots, rowvar=False)
    else:
        stderr = np.asarray(fit["stderr_analytic"])
        ci = np.full((n_coef, 2), np.nan)
        cov = np.asarray(fit["covariance"])
    if not identifiable:
        stderr = np.full_like(stderr, np.nan)
        warnings.warn(
            f"attribution design is rank deficient (rank {fit['rank']} of {n_coef}): the split of "
            f"energy between classes {names} (and idle) is not identifiable from this trace; classes that "
            "always run together in fixed proportion must be merged, and the workload must vary its class "
            f"mix across update intervals{hint}", AttributionWarning, stacklevel=user_stacklevel())
    return stderr, ci, np.atleast_2d(cov), bool(identifiable)


def _result(fit: dict[str, Any], design: Design, names: list[str], target: np.ndarray, length_s: np.ndarray,
            stderr: np.ndarray, ci: np.ndarray, cov: np.ndarray, identifiable: bool, *, window: Any,
            clock_offset_s: float, update_period_s: float | None, method: str) -> Attribution:
    ks, ke, kc, k = design.ks, design.ke, design.kc, design.k
    coef = np.asarray(fit["coef"])
    # each kernel's time inside the span (one straddling an end counts its part inside, not nothing)
    inside = np.clip(np.minimum(ke, design.hi) - np.maximum(ks, design.lo), 0, None)
    total_busy = np.array([inside[kc == c].sum() * 1e-9 for c in range(k)])
    span_s = (design.hi - design.lo) * 1e-9
    resid = np.asarray(fit["residuals"])
    tss = float(((target - target.mean()) ** 2).sum())
    power = coef[1:]
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
        n_intervals=int(length_s.size),
        window_s=window,
        clock_offset_s=float(clock_offset_s),
        update_period_s=update_period_s,
        source=design.source,
        signal=design.signal,
        measured_energy_j=float(target.sum()),
        residual_rms_w=float(np.sqrt(np.mean((resid / length_s) ** 2))),
        r2=float(1.0 - fit["rss"] / tss) if tss > 0 else float("nan"),
        condition_number=float(fit["condition_number"]),
        identifiable=identifiable,
        at_bound=tuple(names[c] for c in range(k) if power[c] <= 0.0),
        converged=bool(fit["converged"]),
        method=method,
        backend=design.backend,
        covariance_w2=cov,
        bootstrap_coef_w=np.asarray(fit["bootstrap_coef"]),
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
        EnergyLensError: no marks (fewer than two), two marks at one time (a zero-length span), a phase label
            that no span has, a reported span reaching beyond the readings (by more than two update
            periods or 0.25 s) or inside a hole in them (a reported span reaching into one: SampleGapWarning), or an ``attribution`` whose classes are not the kernels' labels under ``by``.
    """
    spans = mark_spans(trace.marks)  # (before the fit: a trace without marks fails at once)
    if attribution is None:
        attribution = attribute(trace, gpu=gpu, by=by, **attribute_kwargs)
    gpu = pick_gpu(trace, gpu)
    names = phase_names(spans.label, phases)
    mine = trace.samples[(trace.samples["gpu"] == gpu) & (trace.samples["source"] == attribution.source)]
    check_covered(spans, names, mine["t_ns"].to_numpy(), attribution.source,
                  int(max(2 * (attribution.update_period_s or 0.1), 0.25) * 1e9))
    check_holes(spans, names, mine, attribution.source, attribution.update_period_s, trace.meta)
    kern = trace.kernels[trace.kernels["gpu"] == gpu]
    classes = list(attribution.classes)
    kc = kernel_classes(class_labels(kern, by), classes, OTHER_CLASS)
    busy_spans = busy_time(kern["start_ns"].to_numpy(), kern["end_ns"].to_numpy(), kc, len(classes), spans.start_ns,
                           spans.end_ns, attribution.backend)
    busy, duration, count = sum_by_phase(names, spans.label, busy_spans, (spans.end_ns - spans.start_ns) * 1e-9)
    coef = np.concatenate(([attribution.idle_power_w], attribution.power_w))
    g = np.column_stack([duration, busy])  # (phases, 1 + classes)
    energy = g @ coef
    cov = np.nan_to_num(attribution.covariance_w2, nan=0.0)
    stderr = np.sqrt(np.maximum(np.einsum("pi,ij,pj->p", g, cov, g), 0.0))
    if not attribution.identifiable:
        stderr[:] = np.nan
    return PhaseAttribution(
        phases=tuple(names),
        n_spans=count,
        duration_s=duration,
        busy_s=busy,
        energy_j=energy,
        dynamic_energy_j=busy @ attribution.power_w,
        energy_stderr_j=stderr,
        energy_per_span_j=np.where(count > 0, energy / np.maximum(count, 1), np.nan),
        attribution=attribution,
    )
