"""The synthetic NVML world behind :func:`energylens.measure.trace.synthetic_trace`: random kernels on
one stream (optionally in mark-delimited phases), the exact true power they imply, NVML-like readings
of it (instant field, energy counter, driver buffer) and the truth to score estimates against.

Pure NumPy on plain arrays and dicts (no :class:`~energylens.measure.trace.Trace`), so ``trace``
can build its constructor on it without a cycle. Every draw comes from one ``numpy`` Generator in a
fixed order, so a seed fixes the whole trace.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["check_synthetic", "SyntheticTruth", "DEFAULT_CLASS_POWER_W", "Kernels", "TruePower", "class_probabilities", "draw_kernels",
           "draw_phased_kernels", "true_power", "nvml_readings", "truth_of", "kernel_table",
           "synthetic_meta"]

DEFAULT_CLASS_POWER_W: dict[str, float] = {"gemm": 520.0, "attention": 330.0, "memcpy": 190.0}


@dataclass(frozen=True)
class SyntheticTruth:
    """The truth behind a :func:`~energylens.measure.trace.synthetic_trace`.

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


@dataclass(frozen=True)
class Kernels:
    """Kernels on one stream (never overlapping): int64 ``start``/``end`` ns and class index ``cls``;
    ``mark_t``/``mark_label``: the phase marks (empty without phases; the last one closes a span)."""

    start: np.ndarray
    end: np.ndarray
    cls: np.ndarray
    mark_t: np.ndarray
    mark_label: np.ndarray


def class_probabilities(names: list[str], weights: Mapping[str, float] | None) -> np.ndarray:
    """Probabilities over ``names`` (uniform for None); ValueError for unknown or invalid weights."""
    if weights is None:
        return np.full(len(names), 1.0 / len(names))
    unknown = set(weights) - set(names)
    if unknown:
        raise ValueError(f"weights name unknown classes {sorted(unknown)}; classes: {names}")
    p = np.array([float(weights.get(c, 0.0)) for c in names])
    if p.sum() <= 0 or (p < 0).any():
        raise ValueError("class weights must be non-negative and not all zero")
    return p / p.sum()


def _kernels(starts: list[int], ends: list[int], cls: list[int], mark_t: list[int],
             mark_label: list[str]) -> Kernels:
    return Kernels(start=np.asarray(starts, dtype=np.int64), end=np.asarray(ends, dtype=np.int64),
                   cls=np.asarray(cls, dtype=np.int64), mark_t=np.asarray(mark_t, dtype=np.int64),
                   mark_label=np.asarray(mark_label, dtype=object))


def draw_kernels(rng: np.random.Generator, p: np.ndarray, t: int, t_end: int, duration_s: float,
                 kernel_duration_s: tuple[float, float], gap_s: tuple[float, float]) -> Kernels:
    """Kernels from ``t`` until ``t_end``: classes drawn with probabilities ``p``, durations and gaps
    uniform in their ranges (drawn in chunks until the span is full)."""
    lo, hi = kernel_duration_s
    starts: list[int] = []
    ends: list[int] = []
    cls: list[int] = []
    while t < t_end:
        n = max(16, int(duration_s / ((lo + hi) / 2 + (gap_s[0] + gap_s[1]) / 2)) + 16)
        c = rng.choice(p.size, size=n, p=p)
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
    return _kernels(starts, ends, cls, [], [])


def draw_phased_kernels(rng: np.random.Generator, n_classes: int, phase_p: Mapping[str, np.ndarray], t: int,
                        t_end: int, kernels_per_phase: tuple[int, int], kernel_duration_s: tuple[float, float],
                        gap_s: tuple[float, float]) -> Kernels:
    """Iterations until ``t_end``: each picks a phase label at random, marks its start, and runs
    ``kernels_per_phase`` kernels drawn with that phase's class probabilities. A final ``"end"`` mark
    closes the last span."""
    lo, hi = kernel_duration_s
    labels = list(phase_p)
    starts: list[int] = []
    ends: list[int] = []
    cls: list[int] = []
    mark_t: list[int] = []
    mark_label: list[str] = []
    kmin, kmax = kernels_per_phase
    done = False
    while not done:
        lab = labels[int(rng.integers(len(labels)))]
        n = int(rng.integers(kmin, kmax + 1))
        c = rng.choice(n_classes, size=n, p=phase_p[lab])
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
    mark_t.append(min(t, t_end))
    mark_label.append("end")
    return _kernels(starts, ends, cls, mark_t, mark_label)


@dataclass(frozen=True)
class TruePower:
    """The exact, piecewise-constant true power over ``[t0_ns, t_end_ns]``: ``kernel_power_w`` per
    kernel, idle elsewhere; the cumulative energy is piecewise linear with breakpoints at kernel edges."""

    t0_ns: int
    t_end_ns: int
    kernel_power_w: np.ndarray
    breakpoints_s: np.ndarray
    cumulative_j: np.ndarray

    def energy_at(self, t_ns: np.ndarray) -> np.ndarray:
        """The exact energy (J) since ``t0_ns`` at each time."""
        return np.interp((np.asarray(t_ns) - self.t0_ns) * 1e-9, self.breakpoints_s, self.cumulative_j)


def true_power(rng: np.random.Generator, k: Kernels, power_of: np.ndarray, idle_power_w: float,
               kernel_power_cv: float, t0_ns: int, t_end: int) -> TruePower:
    """The true power of kernels ``k`` (class powers ``power_of``; with ``kernel_power_cv`` each
    kernel's power above idle varies as ``dP * (1 + cv * N(0, 1))``, at least 0)."""
    bp = np.concatenate(([t0_ns], np.stack([k.start, k.end], axis=1).ravel(), [t_end]))
    seg_p = np.empty(bp.size - 1)
    seg_p[0::2] = idle_power_w  # before each kernel, and after the last one
    k_power = power_of[k.cls]
    if kernel_power_cv > 0:
        dyn = (k_power - idle_power_w) * (1.0 + kernel_power_cv * rng.standard_normal(k.cls.size))
        k_power = idle_power_w + np.maximum(dyn, 0.0)
    seg_p[1::2] = k_power
    seg_e = seg_p * (np.diff(bp) * 1e-9)
    return TruePower(t0_ns=int(t0_ns), t_end_ns=int(t_end), kernel_power_w=k_power,
                     breakpoints_s=(bp - t0_ns) * 1e-9, cumulative_j=np.concatenate(([0.0], np.cumsum(seg_e))))


def _rows(t: np.ndarray, power_w: np.ndarray, energy_j: np.ndarray, source: str) -> tuple[np.ndarray, ...]:
    return t, power_w, energy_j, np.full(t.size, source, dtype=object)


def nvml_readings(rng: np.random.Generator, truth: TruePower, *, duration_s: float, update_period_s: float,
                  averaging_window_s: float, noise_w: float, energy_counter: bool, energy_resolution_j: float,
                  buffer_period_s: float | None, buffer_jitter_s: float,
                  gpu: int) -> tuple[dict[str, np.ndarray], dict[str, float], dict[str, float]]:
    """NVML-like readings of the true power (``samples`` columns sorted by time), with the update
    period and averaging window of each source, as :func:`~energylens.measure.trace.synthetic_trace`
    documents them."""
    t0_ns, t_end = truth.t0_ns, truth.t_end_ns
    phase_off = int(rng.uniform(0, update_period_s) * 1e9)
    per = int(round(update_period_s * 1e9))
    win = int(round(averaging_window_s * 1e9))
    t_upd = np.arange(t0_ns + phase_off, t_end + 1, per, dtype=np.int64)
    t_upd = t_upd[t_upd - win >= t0_ns]
    inst = (truth.energy_at(t_upd) - truth.energy_at(t_upd - win)) / (win * 1e-9)
    if noise_w > 0:
        inst = inst + rng.normal(0.0, noise_w, size=inst.size)
    parts = [_rows(t_upd, inst, np.full(t_upd.size, np.nan), "nvml_instant")]
    upd_meta = {"nvml_instant": update_period_s}
    win_meta = {"nvml_instant": averaging_window_s}
    if energy_counter:
        e = truth.energy_at(t_upd)
        if energy_resolution_j > 0:
            e = np.floor(e / energy_resolution_j) * energy_resolution_j
        parts.append(_rows(t_upd, np.full(t_upd.size, np.nan), e, "nvml_energy"))
        upd_meta["nvml_energy"] = update_period_s
        win_meta["nvml_energy"] = update_period_s
    if buffer_period_s:
        n_buf = int(duration_s / max(buffer_period_s - buffer_jitter_s, 1e-6)) + 2
        steps = rng.uniform(buffer_period_s - buffer_jitter_s, buffer_period_s + buffer_jitter_s, n_buf)
        tb = t0_ns + np.cumsum((steps * 1e9).astype(np.int64))
        tb = tb[tb <= t_end]
        prev = np.concatenate(([t0_ns], tb[:-1]))
        pb = (truth.energy_at(tb) - truth.energy_at(prev)) / ((tb - prev) * 1e-9)
        if noise_w > 0:
            pb = pb + rng.normal(0.0, noise_w, size=pb.size)
        parts.append(_rows(tb, pb, np.full(tb.size, np.nan), "nvml_samples"))
        upd_meta["nvml_samples"] = buffer_period_s
        # Each buffer sample averages the whole gap since the previous one: window = spacing (None).
    t_all, p_all, e_all, s_all = (np.concatenate(c) for c in zip(*parts, strict=True))
    order = np.argsort(t_all, kind="stable")
    samples = {"t_ns": t_all[order], "gpu": np.full(t_all.size, gpu, dtype=np.int32), "power_w": p_all[order],
               "energy_j": e_all[order], "source": s_all[order]}
    return samples, upd_meta, win_meta


def truth_of(k: Kernels, truth: TruePower, names: list[str], powers: Mapping[str, float],
             idle_power_w: float, phased: bool) -> SyntheticTruth:
    """Busy time and exact energy per class, per phase (mark-delimited spans) and in total."""
    busy = {c: float(((k.end - k.start)[k.cls == i]).sum() * 1e-9) for i, c in enumerate(names)}
    phase_e: dict[str, float] = {}
    phase_d: dict[str, float] = {}
    if phased and k.mark_t.size > 1:
        span_e = truth.energy_at(k.mark_t[1:]) - truth.energy_at(k.mark_t[:-1])
        for lab, e, d in zip(k.mark_label[:-1], span_e, np.diff(k.mark_t) * 1e-9, strict=True):
            phase_e[lab] = phase_e.get(lab, 0.0) + float(e)
            phase_d[lab] = phase_d.get(lab, 0.0) + float(d)
    dyn = (truth.kernel_power_w - idle_power_w) * (k.end - k.start)
    return SyntheticTruth(
        class_power_w={c: float(v) for c, v in powers.items()},
        idle_power_w=float(idle_power_w),
        class_busy_s=busy,
        class_energy_j={c: float(dyn[k.cls == i].sum() * 1e-9) for i, c in enumerate(names)},
        total_energy_j=float(truth.cumulative_j[-1]),
        phase_energy_j=phase_e,
        phase_duration_s=phase_d,
        t0_ns=truth.t0_ns,
        t_end_ns=truth.t_end_ns,
    )


def kernel_table(k: Kernels, names: list[str], gpu: int) -> dict[str, np.ndarray]:
    """The ``Trace.kernels`` columns of ``k``: ``kind`` is the class, ``name`` is ``<class>_kernel``."""
    return {
        "gpu": np.full(k.start.size, gpu, dtype=np.int32),
        "start_ns": k.start,
        "end_ns": k.end,
        "name": np.array([f"{names[c]}_kernel" for c in k.cls], dtype=object),
        "kind": np.array([names[c] for c in k.cls], dtype=object),
    }


def synthetic_meta(gpu: int, truth: SyntheticTruth, update_period_s: dict[str, float],
                   averaging_window_s: dict[str, float], **params: Any) -> dict[str, Any]:
    """``Trace.meta`` of a synthetic trace: the GPUs (positions 0..``gpu``, since a trace's gpu column is a position
    in them; only ``gpu`` has readings), the update period and averaging window of each source, the steady clock,
    and under ``"synthetic"`` the generator's ``params`` (seed, noise, ...) with the truth's class and idle powers
    and total energy."""
    head = {k: params.pop(k) for k in ("seed", "noise_w", "kernel_power_cv")}
    return {
        "gpus": [{"index": g, "name": "synthetic", "uuid": f"GPU-synthetic-{g}"} for g in range(int(gpu) + 1)],
        "update_period_s": update_period_s,
        "averaging_window_s": averaging_window_s,
        "clock": "steady",
        "synthetic": {**head, "class_power_w": truth.class_power_w, "idle_power_w": truth.idle_power_w,
                      **params, "total_energy_j": truth.total_energy_j},
    }


def _number(name: str, value: Any, *, positive: bool = False) -> float:
    """``value`` as a finite float >= 0 (> 0 where ``positive``); else a ValueError naming ``name`` and the value."""
    if isinstance(value, (bool, np.bool_, str)) or not isinstance(value, numbers.Real) or not math.isfinite(value) \
            or value < 0 or (positive and value == 0):
        raise ValueError(f"synthetic_trace: {name} must be a finite number {'>' if positive else '>='} 0, got {value!r}")
    return float(value)


def _span(name: str, value: Any, low: str) -> None:
    """A ValueError naming ``name`` unless ``value`` is (min, max) with ``low`` (``"0 <"`` or ``"0 <="``) min <= max,
    both finite."""
    ok = isinstance(value, (tuple, list)) and len(value) == 2
    if ok:
        try:
            lo, hi = (_number(name, v, positive=low == "0 <") for v in value)
        except ValueError:
            ok = False
        else:
            ok = lo <= hi
    if not ok:
        raise ValueError(f"synthetic_trace: {name} must be (min, max) seconds with {low} min <= max, got {value!r}")


def check_synthetic(powers: dict[str, float], *, duration_s: Any, update_period_s: Any, averaging_window_s: Any,
                    kernel_duration_s: Any, gap_s: Any, buffer_period_s: Any = None, buffer_jitter_s: Any = 0.0,
                    noise_w: Any = 0.0, kernel_power_cv: Any = 0.0, energy_resolution_j: Any = 0.0,
                    kernels_per_phase: Any = (1, 1)) -> None:
    """ValueError for arguments of ``synthetic_trace`` that make no NVML-like trace, naming the option and the value
    (a negative, NaN or infinite time or amount was taken silently: a negative buffer period drew millions of
    buffer steps, a negative noise was none)."""
    if not powers:
        raise ValueError("class_power_w must name at least one class")
    _number("duration_s", duration_s, positive=True)
    update = _number("update_period_s", update_period_s, positive=True)
    window = averaging_window_s
    if not (isinstance(window, numbers.Real) and not isinstance(window, bool) and 0 < window <= update):
        raise ValueError(f"synthetic_trace: averaging_window_s must be in (0, update_period_s], got {window!r} "
                         f"(update_period_s={update:g})")
    _span("kernel_duration_s", kernel_duration_s, "0 <")
    _span("gap_s", gap_s, "0 <=")
    jitter = _number("buffer_jitter_s", buffer_jitter_s)
    if buffer_period_s is not None and buffer_period_s != 0:  # (None or 0: no driver buffer)
        period = _number("buffer_period_s", buffer_period_s, positive=True)
        if jitter >= period:
            raise ValueError(f"synthetic_trace: buffer_jitter_s={jitter:g} must be less than buffer_period_s="
                             f"{period:g}: each step is buffer_period_s +- buffer_jitter_s, and one of 0 s or less puts "
                             "buffer readings out of time order")
    for name, value in (("noise_w", noise_w), ("kernel_power_cv", kernel_power_cv),
                        ("energy_resolution_j", energy_resolution_j)):
        _number(name, value)
    k = kernels_per_phase
    if not (isinstance(k, (tuple, list)) and len(k) == 2 and all(isinstance(v, numbers.Integral) for v in k)
            and 1 <= k[0] <= k[1]):
        raise ValueError(f"synthetic_trace: kernels_per_phase must be (min, max) integers with 1 <= min <= max, "
                         f"got {k!r}")
