"""A request's time in the system, the latency model's third prediction (docs/model.md, section 4).

W = TTFT + L_out x TPOT + sigma x B_r x t_p: besides its own prefill and decode steps a request waits while
the prompts its replica admits during its lifetime are prefilled. In steady state a replica running B_r
sequences admits B_r new requests during one request's lifetime (Little's law), and each prefill stalls the
running batch's decode for about one prompt's prefill time t_p: the latency template's device prefill time
of one prompt on the replica (its TTFT without the pp stages, the prompt batching and the per-layer launch
and sync terms; LatencyTemplate::eval_stall, which the search engine evaluates too). TPOT is fitted to the median or mean inter-token latency,
which leaves most of these stalls out. ``prefill_stall`` sigma in [0, 2] (unitless; 1: every admitted
prompt stalls the batch for its whole prefill, as without chunked prefill) is fitted after the template's
10 parameters and the calibration (they are unchanged by it): a 1-D bounded least squares of
log(W_measured / W_pred) over the training rows that measured W = batch_size x output_tokens /
token_throughput_tok_s (Little's law on the steady state). Without such rows sigma keeps its start value 1.

The search (load mode's capacity and Little's-law running batch, fixed-batch mode's GPU-seconds per
request) uses W; a model file written before the term loads with sigma = 1.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from energylens import _core
from energylens.errors import ModelFileError
from energylens.model.chunks import evaluate_chunk
from energylens.profiles.native_rows import RowInputs

__all__ = ["PREFILL_STALL_START", "PREFILL_STALL_BOUNDS", "measured_time_in_system", "fit_prefill_stall",
           "stall_outputs", "fitted_prefill_stall", "read_prefill_stall", "describe_prefill_stall"]

#: sigma's start value (and the value of a model file written before the term).
PREFILL_STALL_START = 1.0
#: sigma's bounds.
PREFILL_STALL_BOUNDS = (0.0, 2.0)
#: Columns the measured time in the system is computed from.
MEASURED_COLUMNS = ("batch_size", "output_tokens", "token_throughput_tok_s")


def measured_time_in_system(frame: Any) -> np.ndarray:
    """Per row: running batch x output tokens / output token throughput (s; Little's law on the steady
    state), NaN where a column is absent, not finite or not positive."""
    n = len(frame)
    cols = [np.asarray(frame[c], dtype=np.float64) if c in frame else np.full(n, np.nan) for c in MEASURED_COLUMNS]
    ok = np.all([np.isfinite(c) & (c > 0) for c in cols], axis=0)
    return np.where(ok, cols[0] * cols[1] / np.where(ok, cols[2], 1.0), np.nan)


def _loss(y: np.ndarray, base: np.ndarray, stall: np.ndarray, sigma: float) -> float:
    return float(np.sum((y - np.log(base + sigma * stall)) ** 2))


def fit_prefill_stall(base: np.ndarray, stall: np.ndarray, measured: np.ndarray) -> tuple[float, int]:
    """(sigma, rows): the sigma in PREFILL_STALL_BOUNDS minimising sum log(measured / (base + sigma stall))^2
    over the rows where all three are finite and positive (``stall`` >= 0): a grid of 201 points, then a
    golden-section search between the best point's neighbours. No such row: (PREFILL_STALL_START, 0)."""
    ok = (np.isfinite(measured) & (measured > 0) & np.isfinite(base) & (base > 0) & np.isfinite(stall)
          & (stall >= 0))
    if not ok.any():
        return PREFILL_STALL_START, 0
    y, a, s = np.log(measured[ok]), base[ok], stall[ok]
    grid = np.linspace(*PREFILL_STALL_BOUNDS, 201)
    k = int(np.argmin([_loss(y, a, s, x) for x in grid]))
    lo, hi = grid[max(k - 1, 0)], grid[min(k + 1, len(grid) - 1)]
    g = (np.sqrt(5.0) - 1.0) / 2.0
    for _ in range(60):
        m1, m2 = hi - g * (hi - lo), lo + g * (hi - lo)
        lo, hi = (lo, m2) if _loss(y, a, s, m1) <= _loss(y, a, s, m2) else (m1, hi)
    return float(0.5 * (lo + hi)), int(ok.sum())


def _stall(inputs: Any, theta: np.ndarray) -> np.ndarray:
    """B_r t_pf per row of one chunk's feature columns, uncalibrated: the search engine's evaluation
    (``_core.latency_stall``, LatencyTemplate::eval_stall), so predict's time in the system takes the engine's
    stall bit for bit."""
    return _core.latency_stall(inputs, theta)[2]


def stall_outputs(model: Any, configs: Any, chunk_rows: int, check_range: bool,
                  call: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(TTFT, TPOT, B_r t_pf, output tokens) per row, uncalibrated: ``model._outputs``'s first two, bit for bit
    (the same native evaluation), the stall the search engine computes: on the light path in the same native
    pass (``_core.predict_rows(..., stall=)``, from the features it builds in cache), else :func:`_stall`."""
    theta = model._require_fitted()
    check = model._range_check(check_range)
    n, chunks = model._chunks(configs, chunk_rows, check, native=True)
    ttft, tpot, stall, lo = np.empty(n), np.empty(n), np.empty(n), np.empty(n)
    names = list(model.feature_names)
    for start, stop, inputs in chunks:
        part = stall[start:stop]
        evaluate_chunk(model._template, inputs, theta, check, ttft[start:stop], tpot[start:stop],
                       stall=part if isinstance(inputs, RowInputs) else None)
        if isinstance(inputs, RowInputs):  # numbers: tp, pp, batch_size, input_tokens, output_tokens, params_b
            lo[start:stop] = inputs.numbers[4]
        else:
            part[:] = _stall(inputs, theta)
            lo[start:stop] = inputs[names.index("output_tokens")]
    if check is not None:
        check.warn(call)
    return ttft, tpot, stall, lo


def fitted_prefill_stall(model: Any, frame: Any) -> tuple[float, int]:
    """(sigma, rows) of a latency model just fitted (parameters and calibration) on its training rows ``frame``
    (a DataFrame or the fit's LightProfiles)."""
    theta = model._require_fitted()
    names = list(model.feature_names)
    cols = model._columns(frame)
    ev = _core.evaluate(model._template, cols, theta)
    ttft, tpot = np.asarray(ev.out0, dtype=np.float64), np.asarray(ev.out1, dtype=np.float64)
    stall = _stall(cols, theta)
    f_ttft, f_tpot = (1.0, 1.0) if model.calibration is None else model.calibration.factors(frame)
    ttft, tpot = ttft * f_ttft, tpot * f_tpot
    base = ttft + cols[names.index("output_tokens")] * tpot
    return fit_prefill_stall(base, f_ttft * stall, measured_time_in_system(frame))


def read_prefill_stall(state: Any, path: str) -> tuple[float, int | None]:
    """(sigma, rows) of a latency model file's ``prefill_stall`` entry ({"sigma": x, "rows": n}); absent (a
    file written before the term): (PREFILL_STALL_START, None). ModelFileError naming the file otherwise."""
    if state is None:
        return PREFILL_STALL_START, None
    lo, hi = PREFILL_STALL_BOUNDS
    ok = (isinstance(state, dict) and set(state) == {"sigma", "rows"}
          and isinstance(state["sigma"], (int, float)) and not isinstance(state["sigma"], bool)
          and lo <= state["sigma"] <= hi
          and isinstance(state["rows"], int) and not isinstance(state["rows"], bool) and state["rows"] >= 0)
    if not ok:
        raise ModelFileError(f"{path}: latency 'prefill_stall' must be {{'sigma': x, 'rows': n}} with {lo:g} <= x "
                             f"<= {hi:g} and a whole number n >= 0, got {state!r}")
    return float(state["sigma"]), state["rows"]


def describe_prefill_stall(sigma: float, rows: int | None) -> str:
    """The fit summary's line on sigma."""
    if rows is None:
        return f"time in system: prefill_stall {sigma:g} (a model file from before the term: its default)"
    if rows == 0:
        return (f"time in system: prefill_stall not identified (no training row has positive batch_size, "
                f"output_tokens and token_throughput_tok_s): its start value {sigma:g}")
    return f"time in system: prefill_stall {sigma:.3f} fitted on {rows} rows with a measured throughput"
