"""Building the attribution regression from a trace: which GPU, source and readings to use, one row
per reading (start, end, target energy) for a given averaging window and clock offset, the class of
every kernel, and the search for an unknown window/offset by residual. The regression itself and its
result are in :mod:`energylens.measure.attribution`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from energylens import _core
from energylens.errors import EnergyLensError
from energylens.measure.attribution_reference import reference_busy_time, reference_fit
from energylens.measure.trace import Trace

__all__ = [
    "SOURCE_PREFERENCE",
    "OTHER_CLASS",
    "busy_time",
    "check_block_length",
    "check_inputs",
    "checked_span",
    "covered_span",
    "run_fit",
    "class_labels",
    "class_index",
    "pick_gpu",
    "pick_source",
    "dedupe",
    "readings",
    "intervals",
    "resolve_window",
    "Design",
    "search_window_and_offset",
    "always_busy_hint",
    "MAX_CLOCK_OFFSET_S",
    "no_rows_message",
]

#: The order in which :func:`~energylens.measure.attribution.attribute` picks a source when none is
#: given: the energy counter (the integral, NVML's most trustworthy reading), then the ~20 ms driver
#: buffer, then the instant reading.
SOURCE_PREFERENCE: tuple[str, ...] = ("nvml_energy", "nvml_samples", "nvml_instant", "dcgm", "synthetic",
                                      "replay")
#: The class of kernels outside the requested ``classes``.
OTHER_CLASS = "(other)"
#: The largest ``clock_offset_s`` taken (s): a clock mapping is good to a millisecond (docs/measuring.md, section 2).
MAX_CLOCK_OFFSET_S = 1.0


def _whole(x: Any) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, bool)


def check_inputs(trace: Trace, backend: str, bootstrap: Any, block_length: Any, seed: Any, offset: Any) -> None:
    """The arguments of ``attribute`` that need no design: ValueError naming the argument (a negative seed or
    block, or a float count, was a pybind11 signature dump; a NaN offset "cannot convert float NaN to integer"),
    EnergyLensError for a trace without samples or kernels."""
    if backend not in ("native", "numpy"):
        raise ValueError(f"backend must be 'native' or 'numpy', got {backend!r}")
    if not _whole(bootstrap) or bootstrap < 0:
        raise ValueError(f"bootstrap must be a whole number >= 0, got {bootstrap!r}")
    if block_length is not None and (not _whole(block_length) or block_length < 1):
        raise ValueError(f"block_length must be None or a whole number >= 1, got {block_length!r}")
    if not _whole(seed) or not 0 <= seed < 2**64:
        raise ValueError(f"seed must be a whole number in [0, 2**64), got {seed!r}")
    if offset != "fit" and not (isinstance(offset, (int, float, np.number)) and np.isfinite(offset)):
        raise ValueError(f"clock_offset_s must be finite seconds or 'fit', got {offset!r}")
    if offset != "fit" and abs(offset) > MAX_CLOCK_OFFSET_S:  # 5 (meant as ms) fitted idle 248 W for 90 W
        raise ValueError(f"clock_offset_s={offset!r} s is over {MAX_CLOCK_OFFSET_S:g} s: it is seconds (5 ms is "
                         "0.005); kernels that far off the readings are on another clock: map them onto the "
                         "readings' steady clock first (docs/measuring.md, section 2)")
    if len(trace.samples) == 0:
        raise EnergyLensError("the trace has no samples: nothing to attribute")
    if len(trace.kernels) == 0:
        raise EnergyLensError("the trace has no kernels: attribution needs kernel intervals "
                              "(record them with CUPTI, or add them to Trace.kernels)")


def check_block_length(block_length: int | None, rows: int, bootstrap: int) -> None:
    """ValueError for a bootstrap block over half the rows: one block spanning them made every replicate the
    same sample (a standard error of 3e-14 W, a zero-width interval)."""
    if bootstrap > 1 and block_length is not None and 2 * block_length > rows:
        raise ValueError(f"block_length {block_length} leaves fewer than two blocks in the {rows} rows: every "
                         f"bootstrap replicate would be alike (a standard error of ~0); use at most {rows // 2}, "
                         "or None (round(rows ** (1/3)))")


def checked_span(span_ns: Any) -> tuple[int, int]:
    """``span_ns`` as two int64 ns with start < end; a ValueError naming it otherwise (an end before the start
    was reported as too few readings, "record longer"; one past int64 as an OverflowError traceback)."""
    try:
        lo, hi = (int(x) for x in span_ns)
    except (TypeError, ValueError):
        raise ValueError(f"span_ns must be (start_ns, end_ns), two integers, got {span_ns!r}") from None
    if any(isinstance(x, (float, np.floating)) and not float(x).is_integer() for x in span_ns):
        raise ValueError(f"span_ns must be whole steady-clock ns, got {tuple(span_ns)!r}: seconds? (4.3 s is "
                         "4_300_000_000 ns)")  # (0, 4.3) was taken as [0, 4] ns
    if not -(2**63) <= lo < hi < 2**63:
        raise ValueError(f"span_ns ({lo}, {hi}) must have start_ns < end_ns, both int64 steady-clock ns")
    return lo, hi


def covered_span(span_ns: Any, ks: np.ndarray, ke: np.ndarray, t_read: np.ndarray, period: float | None,
                 source: str) -> tuple[int, int]:
    """The analysed span: ``span_ns`` (:func:`checked_span`), else the kernels' first start to last end; an
    EnergyLensError naming both ranges when it reaches more than two update periods (at least 0.25 s) beyond the
    first or last reading of ``source``: span_s and idle_energy_j counted time nothing recorded (a 6 s recording
    read span 35 s, idle 3150 J), as attribute_phases refuses a phase there."""
    lo, hi = checked_span(span_ns) if span_ns is not None else (int(ks.min()), int(ke.max()))
    if t_read.size:
        first, last = int(t_read.min()), int(t_read.max())
        tol = int(max(2 * (period or 0.1), 0.25) * 1e9)
        if lo < first - tol or hi > last + tol:
            what = f"span_ns ({lo}, {hi})" if span_ns is not None else f"the kernels (t_ns {lo}..{hi})"
            fix = "pass span_ns inside the readings" if span_ns is None else "give span_ns inside the readings"
            raise EnergyLensError(f"{what} reach(es) {max(first - lo, hi - last) * 1e-9:.3g} s beyond the {source!r} "
                                  f"readings (t_ns {first}..{last}): span_s and idle_energy_j would count time nothing "
                                  f"recorded; {fix}, or check that kernels, marks and readings share one clock")
    return lo, hi


def busy_time(ks, ke, kc, n_classes, a, b, backend):
    if backend == "native":
        return _core.attribution_busy_time(ks, ke, kc.astype(np.int32), n_classes, a, b)
    return reference_busy_time(ks, ke, kc, n_classes, a, b)


def run_fit(design, target, bootstrap, block_length, seed, backend):
    if backend == "native":
        return _core.attribution_fit(design, target, bootstrap=bootstrap, block_length=block_length,
                                     seed=seed)
    return reference_fit(design, target, bootstrap=bootstrap, block_length=block_length, seed=seed)


def class_labels(kernels: pd.DataFrame, by: str | Callable[[pd.DataFrame], Any]) -> np.ndarray:
    if callable(by):
        labels = np.asarray(by(kernels), dtype=object)
        if labels.shape != (len(kernels),):
            raise EnergyLensError(f"by(kernels) returned shape {labels.shape}, expected ({len(kernels)},)")
        return np.array([str(x) for x in labels], dtype=object)
    if by not in ("kind", "name"):
        raise ValueError(f"by must be 'kind', 'name' or a callable, got {by!r}")
    return kernels[by].to_numpy(dtype=object)


def pick_gpu(trace: Trace, gpu: int | None) -> int:
    gpus = sorted(set(trace.samples["gpu"].tolist()))
    if gpu is None:
        if len(gpus) > 1:
            raise EnergyLensError(f"the trace has samples from GPUs {gpus}; pass gpu= to choose one "
                                  "(each GPU is attributed on its own)")
        return int(gpus[0])
    if gpu not in gpus:
        raise EnergyLensError(f"gpu {gpu} has no samples; GPUs with samples: {gpus}")
    return int(gpu)


def pick_source(samples: pd.DataFrame, source: str | None) -> str:
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


def dedupe(t: np.ndarray, v: np.ndarray, period_s: float | None,
           keep_repeats: bool = False, stamped: bool = False) -> tuple[np.ndarray, np.ndarray, bool]:
    """One row per published value, stamped as close to the update instant as the data allows.

    A source polled faster than it updates (median spacing under 3/4 of the update period) shows
    each value several times. The value changed between the last poll that still saw the old value
    and the first that saw the new one, and at most one update period before the latter: the row is
    stamped at the midpoint of that bracket (clipped to the period; error
    uniform within +-half the poll spacing, no bias) and the first value, whose bracket is unknown,
    is dropped. Otherwise (one row per update, or changes-only streams) exact repeats of the previous
    value are dropped (a stale energy counter is never a zero-energy interval) and stamps are kept,
    unless ``keep_repeats``: a power stream whose every row is the mean over the interval since the
    previous one (the driver's sample buffer) repeats a value when the power did not change, and
    dropping that row would charge the next value to both intervals. ``stamped``: the rows are already one
    per published value at its bracket's midpoint, with the held value re-sent at the last poll that saw it
    and a once-a-second heartbeat (energylens' own NVML instant stream): repeats are dropped and the stamps
    kept (bracketing them again moved every stamp a quarter poll early). Returns (t, v, bracketed).
    """
    if t.size < 3 or keep_repeats:
        return t, v, False
    change = np.concatenate(([False], v[1:] != v[:-1]))
    if change[1:].all():
        return t, v, False
    if stamped:
        change[0] = True
        return t[change], v[change], False
    spacing = float(np.median(np.diff(t))) * 1e-9
    if period_s is None:
        tc = t[change]
        period_s = float(np.median(np.diff(tc))) * 1e-9 if tc.size > 2 else spacing
    if spacing < 0.75 * period_s:
        # The new value is the latest, so it was published within one update period before the poll that first
        # saw it: after a poll stall (a bracket of 0.8 s) the plain midpoint stamped it 0.35 s early.
        idx = np.flatnonzero(change)
        lo = np.maximum(t[idx - 1], t[idx] - int(round(period_s * 1e9)))
        return lo + (t[idx] - lo) // 2, v[idx], True
    keep = change.copy()
    keep[0] = True
    return t[keep], v[keep], False


def _one_per_time(t: np.ndarray, v: np.ndarray, source: str, gpu: int) -> tuple[np.ndarray, np.ndarray]:
    """Time-sorted readings with a row recorded twice over kept once; an EnergyLensError naming them for two
    different values at one t_ns (a corrupt or merged trace: a counter's zero-length interval holding joules)."""
    same = t[1:] == t[:-1]
    if not same.any():
        return t, v
    differ = same & ~((v[1:] == v[:-1]) | (np.isnan(v[1:]) & np.isnan(v[:-1])))
    if differ.any():
        i = int(np.flatnonzero(differ)[0])
        raise EnergyLensError(f"source {source!r} on GPU {gpu} has {int(differ.sum())} time(s) with two different "
                              f"readings, first at t_ns {int(t[i])} ({float(v[i]):.6g} and {float(v[i + 1]):.6g}): one instant has one "
                              "value; a corrupt trace, or two recordings merged into one GPU")
    keep = np.concatenate(([True], ~same))
    return t[keep], v[keep]


def readings(trace, gpu, source, signal, update_period_s):
    s = trace.samples
    s = s[(s["gpu"] == gpu) & (s["source"] == source)]
    if signal == "auto":
        signal = "energy" if np.isfinite(s["energy_j"].to_numpy()).any() else "power"
    if signal not in ("energy", "power"):
        raise ValueError(f"signal must be 'auto', 'energy' or 'power', got {signal!r}")
    col = "energy_j" if signal == "energy" else "power_w"
    # Whole-interval power (the driver's buffer: each row the mean since the previous row): a missing value
    # leaves its interval out (a NaN target, dropped by Design.rows) rather than merging it into the next.
    whole = signal == "power" and source != "nvml_instant" and trace.averaging_window_s(source) is None
    s = (s if whole else s[np.isfinite(s[col].to_numpy())]).sort_values("t_ns", kind="stable")
    t, v = _one_per_time(s["t_ns"].to_numpy(), s[col].to_numpy(), source, gpu)
    period = update_period_s if update_period_s is not None else trace.update_period_s(source)
    # the sampler's own instant stream (meta "sampler": nvml / synthetic) is stamped at the poll bracket's
    # midpoint already; a trace of raw polls (another tool, the shared H200 trace) is bracketed here
    stamped = source == "nvml_instant" and trace.meta.get("sampler") in ("nvml", "synthetic")
    t, v, _ = dedupe(t, v, period, keep_repeats=whole, stamped=stamped)
    if period is None and t.size > 1:
        period = float(np.median(np.diff(t))) * 1e-9
    if int(np.isfinite(v).sum()) < 2:
        raise EnergyLensError(f"source {source!r} on GPU {gpu} has {int(np.isfinite(v).sum())} usable {col} reading(s); "
                              "attribution needs many (one per update period over tens of seconds)")
    if signal == "energy":
        d = np.diff(v)
        if (d < 0).any():
            i = int(np.flatnonzero(d < 0)[0]) + 1
            raise EnergyLensError(f"the energy counter of source {source!r} on GPU {gpu} goes backwards at "
                                  f"{int((d < 0).sum())} reading(s), first at t_ns {int(t[i])} ({v[i - 1]:.3f} -> "
                                  f"{v[i]:.3f} J; a counter reset or a corrupt trace): attribute the part before "
                                  "or after it with span_ns=, or use a power source")
    return signal, np.asarray(t, np.int64), np.asarray(v, np.float64), period


def intervals(signal, t, v, window, source):
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


def class_index(labels: np.ndarray, classes: Sequence[str] | None, by: Any, gpu: int) -> tuple[list[str], np.ndarray]:
    """The class names (the requested ``classes``, plus :data:`OTHER_CLASS` when other kernels run;
    None: every label) and each kernel's class index (int64)."""
    present = sorted(set(labels.tolist()))
    if classes is None:
        names = present
    else:
        names = [classes] if isinstance(classes, str) else [str(c) for c in classes]  # (a str was read letter by letter)
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
    return names, np.array([index.get(lab, other) for lab in labels], dtype=np.int64)


def resolve_window(signal: str, averaging_window_s: Any, trace: Trace, source: str,
                   clock_offset_s: Any) -> float | str | None:
    """The averaging window of each reading: None for counter deltas (whole intervals), seconds, or
    ``"fit"`` (asked for, or the instant field with no window recorded in ``meta``)."""
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
    return window


@dataclass(frozen=True)
class Design:
    """The kernels (``ks``, ``ke``, class ``kc`` of ``k`` classes) and readings (``t_read``,
    ``v_read`` of ``signal`` from ``source``) of one attribution, restricted to ``[lo, hi]``."""

    ks: np.ndarray
    ke: np.ndarray
    kc: np.ndarray
    k: int
    lo: int
    hi: int
    signal: str
    source: str
    t_read: np.ndarray
    v_read: np.ndarray
    backend: str

    def rows(self, window: float | None, offset_ns: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(start_ns, end_ns, target_j) of every reading whose interval, in kernel time, lies in the span."""
        start, end, target = intervals(self.signal, self.t_read, self.v_read, window, self.source)
        start, end = start - offset_ns, end - offset_ns  # reading time -> kernel time
        keep = (start >= self.lo) & (end <= self.hi) & (end > start) & np.isfinite(target)
        return start[keep], end[keep], target[keep]

    def busy(self, start: np.ndarray, end: np.ndarray) -> np.ndarray:
        """(rows, k) busy seconds of each class inside each row."""
        return busy_time(self.ks, self.ke, self.kc, self.k, start, end, self.backend)

    def misfit(self, window: float | None, offset_ns: int) -> float:
        """Mean squared residual power (W^2) of an analytic-only fit; inf with too few rows."""
        start, end, target = self.rows(window, offset_ns)
        if start.size <= self.k + 1:
            return np.inf
        length = (end - start) * 1e-9
        f = run_fit(np.column_stack([length, self.busy(start, end)]), target, 0, 0, 0, self.backend)
        return float(np.mean((np.asarray(f["residuals"]) / length) ** 2))


def no_rows_message(design: Design, clock_offset_s: float) -> str:
    """Why no reading interval is left in the analysed span, naming the clock offset where one moved the readings
    (the readings' own range, inside the span, read as if none lay there)."""
    t = design.t_read
    moved = ""
    if clock_offset_s:
        off = int(round(clock_offset_s * 1e9))
        moved = (f"; clock_offset_s={clock_offset_s:g} s moves the readings to kernel time t_ns {int(t.min()) - off} to "
                 f"{int(t.max()) - off}: is it seconds (5 ms is 0.005)?")
    return (f"no reading interval of {design.source!r} lies inside the analysed span [{design.lo}, {design.hi}] ns "
            f"(readings from t_ns {int(t.min())} to {int(t.max())}{moved}): check span_ns, or that the kernels and "
            "readings share one clock")


def search_window_and_offset(design: Design, window: Any, clock_offset_s: Any,
                             period: float | None) -> tuple[Any, float, list[str], str | None]:
    """Resolve ``"fit"`` for the window and/or the clock offset by residual (coordinate descent on a
    1 ms / 0.5 ms grid, then 0.1 ms). Returns (window, clock_offset_s, notes on what was fitted, a warning when
    the offset ended at the edge of the searched range: kernels 40 ms off fitted 33 ms, 4-5 % off, unsaid)."""
    if window != "fit" and clock_offset_s != "fit":
        return window, float(clock_offset_s), [], None
    spacing = float(np.diff(design.t_read).min()) * 1e-9
    w_max = min(period or spacing, spacing) if design.signal == "power" else None
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
                win = float(grid[np.argmin([design.misfit(w, int(round(off * 1e9))) for w in grid])])
            if o_grid is not None:
                grid = o_grid if step == 1.0 else off + np.arange(-5, 6) * 1e-4
                off = float(grid[np.argmin([design.misfit(win, int(round(o * 1e9))) for o in grid])])
            if w_grid is not None and o_grid is not None:  # the window's end alone (its start kept): on that
                # diagonal ridge moves of one coordinate stopped 0.3 ms off, at 1.1 W rms of a noise-free trace
                d = np.arange(-5, 6) * (5e-4 if step == 1.0 else 1e-4)
                d = d[(win - d >= 1e-4) & (win - d <= w_max)]
                k = int(np.argmin([design.misfit(win - x, int(round((off + x) * 1e9))) for x in d]))
                win, off = float(win - d[k]), float(off + d[k])
            if (win, off) == before:
                break
    notes, edge = [], None
    if clock_offset_s == "fit" and abs(off) >= o_max - 0.0005:
        edge = (f"the clock offset fitted ({off * 1e3:g} ms) is at the edge of the range searched (+-{o_max * 1e3:g} "
                "ms): the kernels' clock may be further off the readings', and the fit is then wrong; map the "
                "clocks (docs/measuring.md, section 2) or pass clock_offset_s")
    if window == "fit":
        window = round(win, 6)
        notes.append(f"averaging window fitted ({window * 1e3:g} ms)")
    if clock_offset_s == "fit":
        clock_offset_s = round(off, 6)
        notes.append(f"clock offset fitted ({clock_offset_s * 1e3:g} ms)")
    return window, float(clock_offset_s), notes, edge


def always_busy_hint(matrix: np.ndarray, names: list[str], design: Design, span_given: bool) -> str:
    """For a rank-deficient design, the classes busy through the whole of every analysed interval (their column
    equals the idle column, whatever the workload's mix: one kernel over the span analysed, by default the kernels'
    own), named with that span and what to do; ``""`` when no class is. The bare warning told a single class to
    'merge' classes that run together."""
    length = matrix[:, 0]
    full = [names[c] for c in range(matrix.shape[1] - 1) if np.allclose(matrix[:, c + 1], length, rtol=1e-9, atol=0)]
    if not full:
        return ""
    where = ("the span_ns you gave" if span_given
             else "the kernels' first start to last end, the default span, where tracing is known to be on")
    return (f"; class(es) {full} busy through every analysed interval (span [{design.lo}, {design.hi}] ns: {where}): "
            "idle power cannot be told from theirs; give span_ns a span that holds readings with them idle too")
