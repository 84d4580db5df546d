"""Prediction intervals in bounded memory, from a fixed-size summary of the training residuals.

An interval of a row combines the parameter uncertainty (the model evaluated at every bootstrap
replicate's parameters) with the scatter of a single measurement (one training residual drawn per
replicate and row). Rows are processed in chunks of ``chunk_rows``, so memory is O(rows) for the
outputs plus O(replicates x chunk) for the work arrays, whatever the number of rows (issue 13).

The residual drawn for (replicate ``b``, row ``i``) is a pure function of the seed, ``b`` and the row's
feature values rounded to :data:`KEY_SIGNIFICANT_BITS` significant bits (a splitmix64 hash of the replicate and
of the row's key, :func:`row_keys`), not of a stream consumed in order nor of the row's position: any chunk size,
thread count or neighbouring rows give the same intervals bit for bit, one configuration gets the same bounds at
row 1 of one file and row 5 of another (until 2026-12-07 the key was the row's index in the table, so it did
not), and a float32 column or a value a last bit off the same as the float64 one (until 2026-12-08 the key hashed
the exact bits). Configurations equal to that precision share their draws; their predictions agree as closely.
The hash gives a uniform u in [0, 1) and the draw is the residual at rank floor(u * n) of the sorted sample, so a summary and the residuals it stands for are
drawn at the same quantile. The work of a chunk (the template at every replicate, the draws, the quantiles
per row) is one native call, ``_core.interval_bounds``, threaded over rows; :func:`reference_interval_bounds`
is the same in NumPy (a loop over the replicates), which it matches bit for bit. Each output draws from its own residuals (a LatencyModel's TTFT
from the TTFT residuals, its TPOT from the TPOT residuals: their scatters differ, TTFT's several times
TPOT's on Splitwise), at the same u for (b, i).

A training residual is r = predicted / measured - 1, so the measurement it stands for is
predicted / (1 + r): an interval draws the factors 1 / (1 + r) (:func:`measurement_factors`), never
1 + r, which would put a skewed scatter's long tail on the wrong side of the prediction.

The model file keeps at most :data:`RESIDUAL_SAMPLE_SIZE` residuals: all of them, sorted, when there are
that few, otherwise their quantiles at evenly spaced probabilities (a sorted sample that stands for the
distribution), plus the count. Drawing from that sample gives intervals that match drawing from every
residual to within the sampling noise of the bootstrap (tests/model/test_robust_model.py).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterator, Sequence
from statistics import NormalDist
from typing import Any

import numpy as np

from energylens import _core, warning_sink
from energylens.errors import IntervalLevelWarning, IntervalsUnavailableError

__all__ = ["check_level", "RESIDUAL_SAMPLE_SIZE", "DEFAULT_CHUNK_ROWS", "PREDICT_CHUNK_ROWS", "residual_sample",
           "draw_indices", "row_keys", "drawn_quantiles", "chunk_bounds", "output_residuals",
           "interval_bounds", "reference_interval_bounds", "OUT0", "OUT1", "OUT_SUM", "measurement_factors",
           "replicates_note", "MIN_TAIL_DRAWS", "model_factors", "interval_preflight", "unavailable_reason",
           "GPU_TRANSFER_LOG_SD", "TPOT_TRANSFER_LOG_SD", "TTFT_TRANSFER_LOG_SD", "transfer_factors", "transfer_sd",
           "few_row_scales", "GpuTransfer", "KEY_SIGNIFICANT_BITS"]

#: Draws per row an interval wants beyond each of its bounds: with fewer, the bound is read between the few
#: most extreme of B draws and the interval covers less than its level.
MIN_TAIL_DRAWS = 5

#: Most residuals a model keeps (and writes to its file): 2048 sorted values, about 40 kB of JSON.
RESIDUAL_SAMPLE_SIZE = 2048
#: Rows per chunk of predict_interval: the interval work arrays are replicates x chunk floats
#: (200 x 32768 x 8 B = 52 MB each, a handful of them live at once).
DEFAULT_CHUNK_ROWS = 32768
#: Rows per chunk of predict, predict_phases and extrapolated: a raw frame is validated and its features
#: built chunk by chunk, ~0.5 kB per row while a chunk is in flight (~250 MB); validating a chunk costs
#: several milliseconds however small it is, so small chunks were most of predict(df)'s time.
PREDICT_CHUNK_ROWS = 1 << 19

#: Log standard deviation of the GPU-level bias a fit carries to a GPU it never saw: the energy measured on such a
#: GPU's rows runs a common factor exp(delta) off the prediction, delta ~ N(0, sd^2) over GPUs, which no training
#: residual of the fitted GPUs shows. Measured on the bundled ML.ENERGY v2 rows (bench/unseen_gpu_coverage.py):
#: the template fitted on every A100 row predicts the H100 rows' energy with median log(measured / predicted)
#: +0.077, fitted on the H100 rows the A100 rows' -0.112; their root mean square, 0.096, rounded to 0.10. Two GPU
#: transfers are all the measured data holds: a third GPU may lie further off.
GPU_TRANSFER_LOG_SD = 0.10
#: Log standard deviation of the same GPU-level bias in the latency model's TPOT: the root mean square of the four
#: measured TPOT transfers (a latency model fitted on every row of one GPU, the other GPU's median log(measured /
#: predicted)): bundled v2 A100 -> H100 -0.096, H100 -> A100 +0.087, Splitwise A100 -> H100 -0.224, H100 -> A100
#: +0.124; 0.143, rounded to 0.14 (until 2026-12-07 the v2 pair's alone, 0.09). Checked leaving one transfer out (the
#: other three's sd applied to the one left out: 90 % coverage 0.890, 0.897, 0.438, 0.875 where 0.09 gave 0.835,
#: 0.798, 0.369, 0.651; ``python bench/unseen_gpu_coverage.py --sections tpot_loo --tpot-transfer-sd 0.09``).
TPOT_TRANSFER_LOG_SD = 0.14
#: Log standard deviation of the same GPU-level bias in the latency model's TTFT. No bundled row measures TTFT; the
#: Splitwise measurements (Llama-2-70B, BLOOM-176B; shared data, not bundled) do, on A100 and H100: fitted on every
#: A100 row the template predicts the H100 rows' TTFT with median log(measured / predicted) -0.007, fitted on the
#: H100 rows the A100 rows' -0.091; their root mean square, 0.065, rounded to 0.06 (bench/unseen_gpu_coverage.py,
#: its splitwise runs). Two transfers of one GPU pair in one serving system: a stated assumption, as the others.
TTFT_TRANSFER_LOG_SD = 0.06
#: The few-row rule (:func:`few_row_scales`): "sqrt" (1 - w) x min(1, sqrt(p / n)), the rule; "linear" (1 - w) x
#: min(1, p / n) and "step" (1 - w) up to n = p, none above (until 2026-12-07), kept for bench/unseen_gpu_coverage.py.
FEW_ROW_RULE = "sqrt"
#: The smallest share the sqrt and linear rules give: a GPU whose share falls below it draws none.
FEW_ROW_MIN_SHARE = 0.25
#: Quantiles of the transfer factor each measurement factor is combined with (:func:`transfer_factors`).
TRANSFER_QUANTILES = 32

#: Significant bits of a feature value a row's draw key keeps (:func:`row_keys`; the native kKeySignificantBits,
#: cpp/include/energylens/intervals.hpp), after rounding to float32's 24: float32 against float64 feature columns
#: gave other keys for 0 of the 356 bundled rows, 0 of the 405 v3 H100 rows and 0 of 1e5 resampled rows with
#: non-integer batch, input and output lengths (16 bits: 1 v3 row, 7 of 1e5; 24: 112, 161, 32358; the exact bits:
#: every row), all rows keeping distinct keys (bench/interval_key_precision.py).
KEY_SIGNIFICANT_BITS = 12

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def check_level(level: Any) -> float:
    """An interval's coverage level: a real number strictly between 0 and 1 (a string or bool is refused
    with this message, not a comparison TypeError)."""
    if isinstance(level, bool) or not isinstance(level, numbers.Real) or not 0.0 < float(level) < 1.0:
        hint = ""
        if not isinstance(level, bool) and isinstance(level, numbers.Real) and 1.0 < float(level) < 100.0:
            hint = f" (a fraction: {float(level) / 100:g} for a {float(level):g} % interval)"
        raise ValueError(f"level must be a number in (0, 1), got {level!r}{hint}")
    return float(level)


def residual_sample(residuals: np.ndarray, size: int = RESIDUAL_SAMPLE_SIZE) -> np.ndarray:
    """A sorted sample of at most ``size`` values standing for the distribution of ``residuals``: all of
    them sorted when there are ``size`` or fewer, else the quantiles at probabilities (k + 0.5) / size."""
    res = np.sort(np.asarray(residuals, dtype=np.float64)[np.isfinite(residuals)])
    if len(res) <= size:
        return res
    probs = (np.arange(size, dtype=np.float64) + 0.5) / size
    return np.quantile(res, probs, method="linear")


def replicates_note(level: float, replicates: int) -> str | None:
    """Why ``replicates`` bootstrap refits are too few for an interval at ``level`` (fewer than
    :data:`MIN_TAIL_DRAWS` draws per row beyond each bound), else None."""
    tail = (1.0 - level) / 2.0
    if tail * replicates >= MIN_TAIL_DRAWS - 1e-9:  # (1 - 0.9) / 2 x 100 is 4.999...
        return None
    need = math.ceil(MIN_TAIL_DRAWS / tail - 1e-9)
    return (f"a {level:.12g} interval from {replicates} bootstrap refits reads each bound among the "
            f"{max(tail * replicates, 0):.2g} most extreme draws per row, so it may cover less than {level:.12g}; "
            f"refit with bootstrap >= {need} for this level")


def measurement_factors(sample: np.ndarray, n_residuals: float, n_params: float) -> np.ndarray:
    """The factors measured / predicted that the training residuals ``sample`` (r = predicted / measured - 1)
    stand for, 1 / (1 + r), with their log scatter inflated by sqrt(n / (n - p)) (the unbiased-variance
    correction for ``n_params`` fitted degrees of freedom among ``n_residuals`` residuals of distinct rows;
    none when n <= p). An empty sample gives the factor 1. Inflating the log keeps every factor positive,
    which inflating r itself did not (r near -1 times 1.2 is below -1)."""
    r = np.asarray(sample, dtype=np.float64)
    if not len(r):
        return np.ones(1)
    inflation = math.sqrt(n_residuals / (n_residuals - n_params)) if n_residuals > n_params else 1.0
    return np.exp(-inflation * np.log1p(r))


def model_factors(model: Any, residuals: np.ndarray, count: int, extra_params: float = 0.0) -> np.ndarray:
    """:func:`measurement_factors` of a fitted ``model``'s sorted residual sample ``residuals`` standing for
    ``count`` training residuals, sorted, inflated for the model's parameters plus ``extra_params`` fitted
    degrees of freedom (a calibration's offsets). Training residuals understate the scatter of a new
    measurement by the fitted degrees of freedom; n counts the residuals of distinct rows (exact copies are not
    new measurements). A template's model and an expression model (its constants) alike."""
    n_res = float(max(count, len(residuals)))
    s = model.summary
    if s is not None and s.n_distinct_rows is not None and s.n_rows > 0:
        n_res *= s.n_distinct_rows / s.n_rows
    return np.sort(measurement_factors(residuals, n_res, len(model.param_names) + extra_params))


def transfer_factors(factors: np.ndarray, sd: float | None = None) -> np.ndarray:
    """The measurement factors of a row on a GPU the model was not fitted on: each of ``factors`` (sorted) times
    each of :data:`TRANSFER_QUANTILES` quantiles of the log-normal GPU transfer factor exp(N(0, sd^2)) (``sd``:
    :data:`GPU_TRANSFER_LOG_SD` by default), sorted: a draw from it is a residual factor and an independent
    transfer factor, so the interval adds the transfer's spread to the residuals' (log variances add)."""
    sd = GPU_TRANSFER_LOG_SD if sd is None else float(sd)
    if sd == 0.0:
        return factors
    probs = (np.arange(TRANSFER_QUANTILES, dtype=np.float64) + 0.5) / TRANSFER_QUANTILES
    z = np.array([NormalDist().inv_cdf(p) for p in probs])
    return np.sort((np.asarray(factors, dtype=np.float64)[:, None] * np.exp(sd * z)[None, :]).ravel())


def transfer_sd(kind: str, pick: int) -> float:
    """Log sd of the GPU transfer factor output ``pick`` (:data:`OUT0`, :data:`OUT1`, :data:`OUT_SUM`) of a model
    of ``kind`` ("energy", "latency") draws on a GPU the model was not fitted on: an energy's
    :data:`GPU_TRANSFER_LOG_SD`, a latency model's TPOT (out1) :data:`TPOT_TRANSFER_LOG_SD`, its TTFT (out0)
    :data:`TTFT_TRANSFER_LOG_SD`. Read when called (bench/unseen_gpu_coverage.py sets the module's values)."""
    if kind == "latency":
        return TPOT_TRANSFER_LOG_SD if pick == OUT1 else TTFT_TRANSFER_LOG_SD
    return GPU_TRANSFER_LOG_SD


def few_row_scales(gpus: Sequence[str], gpu_rows: Sequence[int], n_params: int) -> dict[str, float]:
    """Per GPU with a few rows in a fit, the share of the unseen GPU's transfer log sd its rows draw: ``gpus`` (a fit
    summary's) holding ``gpu_rows`` of its rows each, a GPU of n rows, w its share of the rows, gets (1 - w) x
    min(1, sqrt(p / n)), p the model's ``n_params``: 1 - w up to n = p (too few rows to determine the template on its
    own), shrinking above; none where that is under :data:`FEW_ROW_MIN_SHARE` (absent: their rows keep the residuals'
    factors alone, bit for bit; the GPUs of a balanced fit, a large GPU beside a few-row one). The fit splits a
    GPU-level bias it cannot represent among the GPUs by their shares, so a GPU keeps about 1 - w of the bias it would
    carry unseen: fitted on 80 % of the bundled A100 rows plus k H100 rows, the H100 rows' median log(measured /
    predicted) is +0.078, +0.075, +0.072, +0.063 at k = 0, 5, 10, 20 (bench/unseen_gpu_coverage.py). Until 2026-12-07
    the share stopped at n = p (:data:`FEW_ROW_RULE` "step"), a step: at k = 20 the H100 rows drew none and covered
    0.837 / 0.824 (energy; 0.889 / 0.857 now). Empty where ``gpu_rows`` is (a file written before the counts were
    recorded) or with one GPU (its rows are the fit)."""
    if len(gpus) < 2 or len(gpu_rows) != len(gpus):
        return {}
    total = float(sum(gpu_rows))
    if FEW_ROW_RULE == "step":
        return {gpu: 1.0 - n / total for gpu, n in zip(gpus, gpu_rows, strict=True) if n <= n_params}
    power = 1.0 if FEW_ROW_RULE == "linear" else 0.5
    shares = {gpu: (1.0 - n / total) * min(1.0, n_params / max(n, 1)) ** power
              for gpu, n in zip(gpus, gpu_rows, strict=True)}
    return {gpu: s for gpu, s in shares.items() if s >= FEW_ROW_MIN_SHARE}


def unavailable_reason(replicates: int, summary: Any, n_params: int, noun: str = "parameters") -> str | None:
    """Why a fit with ``replicates`` converged bootstrap refits, ``summary`` (a FitSummary or None) and
    ``n_params`` fitted ``noun`` (a template's parameters, an expression's constants) gives no prediction
    interval, or None when it does: too few refits, no more distinct configurations than ``noun`` (not
    identified), or no more distinct rows than ``noun`` (too few residuals for the scatter of a new measurement)."""
    if not replicates:
        return "no bootstrap replicates: fit with bootstrap >= 10 to get intervals"
    if replicates < 10:
        return f"only {replicates} bootstrap refits: fit with bootstrap >= 10 to get intervals"
    s, p = summary, n_params
    if s is not None and not s.identifiable:
        return (f"the training data had {s.n_distinct_configs} distinct configuration(s) for "
                f"{p} {noun}, so the {noun} are not identified and an interval "
                "would be falsely precise; refit on more distinct configurations")
    if s is not None and s.n_distinct_rows is not None and s.n_distinct_rows <= p:
        return (f"the training data had {s.n_distinct_rows} distinct row(s) for {p} {noun}: too few "
                f"residuals to estimate the scatter of a new measurement (a prior fixes the {noun}, not "
                f"that scatter), so an interval would be falsely precise; refit on more than {p} distinct rows")
    return None


def interval_preflight(model: Any, level: Any, stacklevel: int = 4) -> float:
    """The checked ``level`` of a ``model``'s interval; IntervalsUnavailableError when the model has none
    (``model.intervals_unavailable()``), and an IntervalLevelWarning when its bootstrap refits cannot resolve
    the level (the shared, the calibrated and the expression model's intervals all start here). ``stacklevel``:
    the frame the warning names, counted from here (4: the caller of predict_interval -> _intervals -> here)."""
    level = check_level(level)
    why = model.intervals_unavailable()
    if why is not None:
        raise IntervalsUnavailableError(f"{type(model).__name__}: prediction intervals are not available: {why}")
    note = replicates_note(level, len(model.bootstrap_params))
    if note is not None:
        warning_sink.warn(f"{type(model).__name__}.predict_interval: {note}", IntervalLevelWarning,
                          stacklevel=stacklevel)
    return level


def _splitmix(z: np.ndarray) -> np.ndarray:
    """The splitmix64 finaliser, in place on a uint64 array (wrap-around arithmetic)."""
    z ^= z >> np.uint64(30)
    z *= _M1
    z ^= z >> np.uint64(27)
    z *= _M2
    z ^= z >> np.uint64(31)
    return z


def row_keys(columns: Sequence[np.ndarray]) -> np.ndarray:
    """The draw key of each row of ``columns`` (1-D float64 arrays of one length, or of one value standing for every
    row): a splitmix64 chain over the row's values, h = splitmix64(h ^ bits(x)) + golden ratio per column, bits(x)
    the IEEE-754 pattern of x + 0.0 (-0 as +0) rounded to nearest (ties to even) at 24 significant bits, as a
    float32 cast rounds it, then at :data:`KEY_SIGNIFICANT_BITS` (12: relative 2^-12); every NaN as one value,
    infinities as they are. So the key is the row's feature values to 12 significant bits: a column read as float32,
    or a value a last bit off, gets the float64 value's key and bounds (until 2026-12-08 the exact bits were hashed,
    and such a row drew afresh: bounds moved by the Monte-Carlo noise, a few %), and configurations equal to that
    precision share their draws (harmless: their predictions agree as closely). Native (``_core.row_keys``,
    threaded), bit for bit :func:`_row_keys_numpy`, the definition."""
    return _core.row_keys([np.asarray(c, dtype=np.float64) for c in columns])


def _round_mantissa(bits: np.ndarray, drop: int) -> np.ndarray:
    """IEEE-754 double patterns rounded to nearest (ties to even) at their lowest ``drop`` mantissa bits, cleared."""
    half = np.uint64((1 << (drop - 1)) - 1)
    return (bits + half + ((bits >> np.uint64(drop)) & np.uint64(1))) & ~np.uint64((1 << drop) - 1)


def _row_keys_numpy(columns: Sequence[np.ndarray], bits: int = KEY_SIGNIFICANT_BITS) -> np.ndarray:
    """:func:`row_keys` in NumPy: the definition the native keys reproduce (tests' reference); ``bits`` other
    than :data:`KEY_SIGNIFICANT_BITS` (up to 24) for bench/interval_key_precision.py's comparison."""
    cols = [np.atleast_1d(np.asarray(c, dtype=np.float64)) for c in columns]
    rows = max((len(c) for c in cols), default=0)
    h = np.zeros(rows, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for c in cols:
            x = np.broadcast_to(c, (rows,))
            b = _round_mantissa((x + 0.0).view(np.uint64), 52 - 23)
            b = np.where(np.isnan(x), np.uint64(0x7FF8000000000000), _round_mantissa(b, 53 - bits) if bits < 24 else b)
            h = _splitmix(h ^ b) + _GOLDEN
    return h


def draw_indices(seed: int, replicates: int, keys: np.ndarray, n: int) -> np.ndarray:
    """(replicates, len(keys)) indices in [0, n): the residual drawn for each replicate and row, a hash of (seed,
    replicate, the row's key ``keys[i]``, :func:`row_keys` of its feature values), so that it depends on neither the
    row's position nor the chunking. Native (``_core.draw_indices``, threaded), bit for bit
    :func:`_draw_indices_numpy`, the definition."""
    return _core.draw_indices(int(seed) % 2**63, int(replicates), np.ascontiguousarray(keys, dtype=np.uint64), int(n))


def _draw_indices_numpy(seed: int, replicates: int, keys: np.ndarray, n: int) -> np.ndarray:
    """:func:`draw_indices` in NumPy: the definition the native draw reproduces (tests' reference)."""
    with np.errstate(over="ignore"):
        keys_b = _splitmix((np.arange(replicates, dtype=np.uint64) + np.uint64(seed % 2**63) * _M1)[:, None].copy())
        rows = np.asarray(keys, dtype=np.uint64)[None, :] * _GOLDEN
        z = _splitmix(keys_b + rows)
    # A uniform u in [0, 1) from the top 53 bits, index floor(u * n): monotone in u, so a sorted sample of
    # quantiles and the sorted residuals it summarises are drawn at the same probability (coupled draws).
    u = (z >> np.uint64(11)).astype(np.float64) * (1.0 / 2**53)
    return np.minimum((u * max(n, 1)).astype(np.intp), max(n, 1) - 1)


def drawn_quantiles(values: np.ndarray, factors: np.ndarray, *, keys: np.ndarray, seed: int, q_lo: float,
                    q_hi: float) -> tuple[np.ndarray, np.ndarray]:
    """Per row of ``values`` (replicates x rows, a bootstrap's predictions of rows whose :func:`row_keys` are
    ``keys``): the ``q_lo`` and ``q_hi`` quantiles over the replicates of each value times the factor drawn for it
    (:func:`draw_indices`), as ``np.quantile(values * factors[draw_indices(...)], [q_lo, q_hi], axis=0)`` gives
    them bit for bit, in one native pass without the replicates x rows temporaries (``_core.drawn_quantiles``)."""
    return _core.drawn_quantiles(values, factors, keys=np.ascontiguousarray(keys, dtype=np.uint64),
                                 seed=int(seed) % 2**63, q_lo=float(q_lo), q_hi=float(q_hi))


def chunk_bounds(n_rows: int, chunk_rows: int) -> Iterator[tuple[int, int]]:
    """(start, stop) of consecutive chunks of at most ``chunk_rows`` rows covering ``n_rows``."""
    if isinstance(chunk_rows, bool) or not isinstance(chunk_rows, (int, np.integer)) or chunk_rows < 1:
        raise ValueError(f"chunk_rows must be a positive integer, got {chunk_rows!r}")
    for start in range(0, n_rows, int(chunk_rows)):
        yield start, min(start + int(chunk_rows), n_rows)


def output_residuals(template: str, columns: list[np.ndarray], theta: np.ndarray, targets: list[np.ndarray],
                     summed: bool) -> list[np.ndarray]:
    """Relative residuals predicted / measured - 1 of a fit, one array per fitted output over that output's
    finite targets: the sum's alone when ``summed`` (an EnergyModel), else out0's and out1's (a LatencyModel's
    TTFT and TPOT, kept apart so that each output's interval draws its own scatter)."""
    ev = _core.evaluate(template, columns, theta, sum=summed)  # (summed in the pass: out0 + out1)
    preds = [ev.out0] if summed else [ev.out0, ev.out1]
    res = []
    for p, t in zip(preds, targets[: len(preds)], strict=True):
        finite = np.isfinite(t)
        res.append(p / t - 1.0 if np.count_nonzero(finite) == len(t) else p[finite] / t[finite] - 1.0)
    return res


#: Which template output an interval is of (``picks`` of :func:`interval_bounds`): out0, out1, or their sum
#: (an energy per request).
OUT0, OUT1, OUT_SUM = 0, 1, -1
_PICKS = {OUT0: lambda a, b: a, OUT1: lambda a, b: b, OUT_SUM: lambda a, b: a + b}


def interval_bounds(template: str, columns: list[np.ndarray], boot: np.ndarray, samples: Sequence[np.ndarray], *,
                    seed: int, level: float, picks: Sequence[int],
                    check: Any = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """(lo, hi) at ``level`` of each output ``pick`` (:data:`OUT0`, :data:`OUT1` or :data:`OUT_SUM`) for one
    chunk of rows, each row's draws keyed by its feature values (:func:`row_keys`); ``samples`` holds one sorted
    :func:`measurement_factors` per pick (one drawn per replicate and row multiplies that replicate's
    prediction of that output). One native call (``_core.interval_bounds``: the template at every replicate,
    the draws and the quantiles per row, threaded over rows), bit for bit :func:`reference_interval_bounds`.
    ``check`` (a :class:`~energylens.model.domain.RangeCheck`, or None) gets the chunk's extrapolation tally,
    counted in the same pass (what ``check.flags(columns)`` adds, without its ~90 NumPy reductions)."""
    if len(samples) != len(picks):
        raise ValueError(f"interval_bounds: {len(samples)} residual samples for {len(picks)} outputs")
    alpha = (1.0 - level) / 2.0
    above, below = check.thresholds() if check is not None else (None, None)
    r = _core.interval_bounds(template, columns, boot, samples, picks, seed=seed % 2**63,
                              q_lo=alpha, q_hi=1.0 - alpha, above=above, below=below)
    bounds = [(np.maximum(lo, 0.0), hi) for lo, hi in r.bounds]
    if check is not None:
        check.absorb(len(bounds[0][0]) if bounds else len(columns[0]), r.range_count, r.range_high, r.range_low,
                     r.range_flagged)
    return bounds


def widened_where(unseen: np.ndarray, narrow: tuple[np.ndarray, np.ndarray],
                  wide: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(lo, hi) of ``narrow``, the rows of ``unseen`` (boolean per row) taken from ``wide``."""
    return np.where(unseen, wide[0], narrow[0]), np.where(unseen, wide[1], narrow[1])


def _scale_groups(unseen: np.ndarray | None) -> list[tuple[float, np.ndarray]]:
    """(scale, rows) per distinct positive transfer scale of ``unseen`` (booleans: scale 1 where True; floats: each
    row's scale of the transfer log sd, 0 for none), in increasing order; [] for None."""
    if unseen is None:
        return []
    unseen = np.asarray(unseen)
    if unseen.dtype == bool:
        return [(1.0, unseen)] if unseen.any() else []
    return [(float(s), unseen == s) for s in np.unique(unseen[unseen > 0.0])]


class GpuTransfer:
    """The factors of one prediction call, per output: ``samples[k]`` (sorted :func:`measurement_factors`) for rows on
    a fitted GPU, and for rows on a GPU the model was not fitted on those times the GPU transfer factor of log sd
    ``sds[k]`` (:func:`transfer_factors`, computed once, on the first chunk holding such rows; an output of sd 0
    draws none). A row on a GPU with a few rows in the fit draws the factor at a share of that sd
    (:func:`few_row_scales`): the rows argument of :meth:`quantiles` and :meth:`interval_bounds` is a boolean per row
    (on an unseen GPU) or each row's share (0: none, 1: an unseen GPU's). What every interval on such a GPU shares:
    the template's and the expression model's predict_interval, the calibrated interval and the search's confidence
    limits."""

    def __init__(self, samples: Sequence[np.ndarray], sds: Sequence[float]) -> None:
        self.samples, self.sds = list(samples), [float(sd) for sd in sds]
        self.outputs = [k for k, sd in enumerate(self.sds) if sd > 0.0]  # those whose unseen rows draw wider
        self._wide: dict[tuple[int, float], np.ndarray] = {}

    def factors(self, k: int, scale: float = 1.0) -> np.ndarray:
        """Output ``k``'s factors for a row on an unseen GPU (``scale`` 1), or on a few-row GPU drawing ``scale``
        times its transfer log sd."""
        wide = self._wide.get((k, scale))
        if wide is None:
            wide = self._wide[k, scale] = transfer_factors(self.samples[k], self.sds[k] * scale)
        return wide

    def quantiles(self, values: np.ndarray, k: int, unseen: np.ndarray | None,
                  **args: Any) -> tuple[np.ndarray, np.ndarray]:
        """:func:`drawn_quantiles` of ``values`` (replicates x rows) with output ``k``'s factors, the rows of ``unseen``
        (None: no row; booleans or shares, as the class says) with their widened factors: the same replicates and
        draws."""
        q = drawn_quantiles(values, self.samples[k], **args)
        if k not in self.outputs:
            return q
        for scale, rows in _scale_groups(unseen):
            q = widened_where(rows, q, drawn_quantiles(values, self.factors(k, scale), **args))
        return q

    def interval_bounds(self, template: str, columns: list[np.ndarray], boot: np.ndarray, picks: Sequence[int],
                        unseen: np.ndarray | None, **args: Any) -> list[tuple[np.ndarray, np.ndarray]]:
        """:func:`interval_bounds` of each output ``picks[k]`` with its factors, the rows of ``unseen`` (None: no row;
        booleans or shares) with their widened factors, in one native call: the widened outputs ride along as extra
        picks (the same replicates and draws; the replicates' template values are computed once)."""
        extra = [(k, scale, rows) for scale, rows in _scale_groups(unseen) for k in self.outputs]
        bounds = interval_bounds(template, columns, boot,
                                 self.samples + [self.factors(k, scale) for k, scale, _ in extra],
                                 picks=[*picks, *(picks[k] for k, _, _ in extra)], **args)
        out = bounds[:len(picks)]
        for (k, _, rows), wide in zip(extra, bounds[len(picks):], strict=True):
            out[k] = widened_where(rows, out[k], wide)
        return out


def reference_interval_bounds(template: str, columns: list[np.ndarray], boot: np.ndarray,
                              samples: Sequence[np.ndarray], *, seed: int, level: float,
                              picks: Sequence[int], check: Any = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """:func:`interval_bounds` in NumPy, the definition the native pass reproduces bit for bit: the template
    evaluated once per replicate, :func:`_row_keys_numpy`, :func:`_draw_indices_numpy`, np.quantile over the replicates, ``check.flags``
    (the tests' and bench/bench_predict_interval.py's baseline; what predict_interval ran before 2026-12-06)."""
    if len(samples) != len(picks):
        raise ValueError(f"interval_bounds: {len(samples)} residual samples for {len(picks)} outputs")
    if check is not None:
        check.flags(columns)
    m = len(columns[0])
    n_boot = len(boot)
    out0 = np.empty((n_boot, m))
    out1 = np.empty((n_boot, m))
    for b, theta_b in enumerate(boot):
        _core.evaluate(template, columns, theta_b, out=(out0[b], out1[b]))
    # One u per (replicate, row), the same for every output, each output reading it in its own residuals:
    # each output's interval depends on that output's replicates and residuals only.
    alpha = (1.0 - level) / 2.0
    keys = _row_keys_numpy(columns)
    bounds = []
    for pick, sample in zip(picks, samples, strict=True):
        draws = sample[_draw_indices_numpy(seed, n_boot, keys, len(sample))] if len(sample) else 1.0
        values = _PICKS[pick](out0, out1) * draws
        lo, hi = np.quantile(values, [alpha, 1.0 - alpha], axis=0)
        bounds.append((np.maximum(lo, 0.0), hi))
    return bounds
