"""Plausibility limits of schema v1's numbers (docs/profile-schema.md, "Plausibility limits").

Every bound is far beyond any real serving measurement, so no real row meets it (the bundled ML.ENERGY v2
rows, the v3 H100 export, the Splitwise table and the profiler's own rows all lie orders of magnitude
inside): what it rejects is a number that cannot be a measurement of that column, an overflow-scale
``output_tokens`` of 1e300 or a denormal ``batch_size`` of 1e-310, which would otherwise reach the template
as inf or 0 and fail a fit far from its cause. Where a column has a natural floor or ceiling it is used
(a prompt and an output have at least one token; a count is at least 1; the profiling spec's longest
length and largest ``max_num_seqs``); the rest are round numbers several orders of magnitude out.

The schema (:mod:`energylens.profiles.schema`) reports a cell outside its limit naming the file, the 1-based
data row, the column and the allowed range; the light path (:mod:`energylens.profiles.light`) and the
re-check of a validated frame (:func:`within_limits`) hand such a table to the schema, so no path accepts
what it refuses. Imports only NumPy, the native core, :mod:`.cells` and :mod:`.problems`.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import NamedTuple

import numpy as np

from energylens import _core
from energylens.profiles.cells import column_values
from energylens.profiles.parallelism import pipeline_stages
from energylens.profiles.problems import Problems

__all__ = ["MAX_TOKENS", "MAX_NUM_SEQS", "MAX_GPU_COUNT", "MAX_BATCH", "MAX_ARCH_COUNT", "MIN_ACTIVE_FRACTION",
           "MIN_GPU_POWER_W", "Limit", "LIMITS",
           "limit_text", "check_limits", "within_limits", "filled_share", "power_too_low", "POWER_PER_GPU_TEXT"]

#: The longest mean prompt or output a row may give (tokens per request): the longest prompt or output a
#: profiling spec may ask for (energylens.profiling.spec.MAX_TOKENS, the same number; tests check they agree),
#: beyond any served model's context.
MAX_TOKENS = 10_000_000
#: The largest ``max_num_seqs`` a profiling spec accepts (energylens.profiling.spec.MAX_NUM_SEQS, the same
#: number), beyond any served model.
MAX_NUM_SEQS = 1_000_000
#: Largest GPU count a row may give or derive (tp, pp, ep, dp, n_gpus and tp * pp * dp): 2**20, a bound no
#: deployment reaches, that keeps every count and product exact in int64 and float64.
MAX_GPU_COUNT = 2**20
#: The largest mean running batch (sequences, all replicas together): MAX_NUM_SEQS on each of MAX_GPU_COUNT
#: GPUs, every GPU a data-parallel replica, 2**20 x 1,000,000 ~ 1.05e12.
MAX_BATCH = MAX_GPU_COUNT * MAX_NUM_SEQS
#: The smallest share of its parameters a model of the model table activates per token (its
#: ``active_params_b`` / ``params_b``; the sparsest bundled MoE, Kimi-K2, activates ~3 %; a test checks the table):
#: the schema fills ``active_params_b`` as ``params_b`` x that share, so a validated row with ``params_b`` near its
#: lower limit holds a filled ``active_params_b`` below it, which the schema (reading such a frame again) and the
#: re-check of a validated frame must keep (:func:`filled_share`).
MIN_ACTIVE_FRACTION = 1e-3
#: Largest architecture count (layers, heads, head and model widths, experts): 2**24, beyond any model (the
#: widest d_model is ~2e4, the most experts 2**20 in PEER's "mixture of a million experts"), exact in float32.
MAX_ARCH_COUNT = 2**24
#: The least mean power per GPU a row's ``avg_power_w`` may give (W; the column is summed over n_gpus): no GPU that
#: serves a model draws less (an idle H100 ~70 W, an L4 ~16 W, a Jetson module ~7 W). Below it the number is in
#: kilowatts (an H100's 650 W written 0.65; eight of them 4.8), which a milliwatt bound let through as watts.
MIN_GPU_POWER_W = 5.0
#: The error of a row below :data:`MIN_GPU_POWER_W`.
POWER_PER_GPU_TEXT = (f"must be at least {MIN_GPU_POWER_W:g} W per GPU (watts summed over the row's n_gpus, "
                      "tp * pp * dp where not given; no GPU serving a model draws less): is it in kilowatts? write "
                      "it in watts (x 1000: 0.65 kW is 650)")


class Limit(NamedTuple):
    """The plausible range of a column, both ends allowed, and what it counts (for the error message)."""

    low: float
    high: float
    what: str


_ENERGY = Limit(1e-9, 1e12, "joules per request; the largest real row is ~1e5 J")
_TIME = Limit(1e-9, 1e9, "seconds: a nanosecond to ~30 years")
_PARAMS = Limit(1e-9, 1e5, "billions of parameters: one parameter to 100 trillion")
_ARCH = Limit(1, MAX_ARCH_COUNT, "a count of layers, heads, widths or experts")

#: Column -> its plausible range (both ends allowed; NaN cells of optional columns are not checked here) and what
#: it counts. The batch's lower bound is not 1: the profiler's measured running batch at max_num_seqs 1 is below
#: one (energylens.profiling.loadgen counts a request while it streams tokens, not while it prefills or
#: travels), so 1e-6 only refuses what no engine that served requests measures.
LIMITS: Mapping[str, Limit] = MappingProxyType({
    "params_b": _PARAMS,
    "active_params_b": _PARAMS,
    "batch_size": Limit(1e-6, MAX_BATCH, "mean running sequences; at most the largest max_num_seqs a profiling "
                        "spec accepts, 1,000,000, on each of 2**20 GPUs"),
    "input_tokens": Limit(1, MAX_TOKENS, "mean prompt tokens per request: a prompt has one token at least, a "
                          "profiling spec asks for 10,000,000 at most"),
    "output_tokens": Limit(1, MAX_TOKENS, "mean generated tokens per request: a finished request generates one at "
                           "least, a profiling spec asks for 10,000,000 at most"),
    "energy_j": _ENERGY,
    "prefill_energy_j": _ENERGY,
    "decode_energy_j": _ENERGY,
    "ttft_s": _TIME,
    "tpot_s": _TIME,
    "latency_s": _TIME,
    "avg_power_w": Limit(1e-3, 1e10, "watts summed over the GPUs: a milliwatt to 2**20 GPUs at 10 kW each"),
    **{c: _ARCH for c in ("n_layers", "d_model", "n_heads", "n_kv_heads", "head_dim", "n_experts",
                          "experts_per_token")},
    "image_tokens_per_image": Limit(0, MAX_TOKENS, "prompt tokens per image"),
})

# The columns the re-check of a validated frame covers: those the template reads, and the energy and latencies
# a fit reads (as energylens.profiles.recheck does for the lower bounds).
_RECHECKED = ("params_b", "active_params_b", "batch_size", "input_tokens", "output_tokens", "energy_j", "tpot_s",
              "ttft_s")


def _number(x: float) -> str:
    return f"{int(x):,}" if 1 <= x <= MAX_ARCH_COUNT and float(x).is_integer() else f"{x:g}"


def limit_text(column: str) -> str:
    """The rule of ``column`` as an error states it: ``must be between 1 and 10,000,000 (...)``."""
    lim = LIMITS[column]
    return f"must be between {_number(lim.low)} and {_number(lim.high)} ({lim.what})"


def within_limits(frame) -> bool:
    """Whether a once-validated frame's numbers (:data:`_RECHECKED` columns, float64 or integer) are still inside
    their :data:`LIMITS` (a column absent is not checked; NaN is left to the other checks): one native pass for
    the lower bound and one maximum per column. An ``active_params_b`` below its limit passes where the schema's
    own fill can have made it (:func:`_filled_active`), so that every frame ``load_profiles`` returns passes."""
    for col in _RECHECKED:
        if col not in frame.columns:
            continue
        values = column_values(frame, col)  # (no Series: pandas deep-copies a validated frame's attrs into each)
        if not isinstance(values, np.ndarray) or values.dtype.kind not in "iuf":
            return False
        values = np.asarray(values, dtype=np.float64)
        if not values.size:
            continue
        lim = LIMITS[col]
        if np.fmax.reduce(values) > lim.high:
            return False
        if not _core.numbers_ok(values, lim.low, True, False, True) and not (
                col == "active_params_b" and _filled_active(frame, values, lim.low)):
            return False
    return True


def _filled_active(frame, active: np.ndarray, low: float) -> bool:
    """Whether every ``active_params_b`` below ``low`` (NaN aside) is one the schema's fill gives, params_b x the
    model's active share: positive, at most ``params_b`` and at least :data:`MIN_ACTIVE_FRACTION` of it (a
    ``params_b`` itself near its lower limit). An edit to 1e-12 or a denormal on a real-sized row stays caught."""
    if "params_b" not in frame.columns:
        return False
    params = column_values(frame, "params_b")
    if not isinstance(params, np.ndarray) or params.dtype.kind not in "iuf":
        return False
    with np.errstate(invalid="ignore"):
        below = active < low
        return bool(filled_share(active[below], np.asarray(params, dtype=np.float64)[below]).all())


def filled_share(active: np.ndarray, params: np.ndarray) -> np.ndarray:
    """Per row, whether ``active`` (billions) is a share the schema's fill can give for ``params``: positive, at
    most ``params`` and at least :data:`MIN_ACTIVE_FRACTION` of it. Below its lower limit such an
    ``active_params_b`` is kept, on a first read and on a re-read of a validated frame alike."""
    with np.errstate(invalid="ignore"):
        return (active > 0) & (active <= params) & (active >= params * MIN_ACTIVE_FRACTION)


def check_limits(out: Mapping[str, np.ndarray], problems: Problems, n_rows: int) -> None:
    """The schema's bounds on the parsed numbers ``out`` (float64 per column) into ``problems`` (NaN cells are not
    checked): every :data:`LIMITS` column, a GPU count derived as tp * pp * dp (reported on tp; n_gpus has its
    own), and ``avg_power_w`` per GPU (:func:`power_too_low`: a value in kW)."""
    for col, lim in LIMITS.items():
        if col in out:
            v = np.asarray(out[col], dtype=np.float64)
            with np.errstate(invalid="ignore"):
                low = v < lim.low
                if col == "active_params_b" and "params_b" in out and low.any():  # what the fill gives a tiny model
                    low &= ~filled_share(v, np.asarray(out["params_b"], dtype=np.float64))
                problems.add(np.isfinite(v) & (low | (v > lim.high)), col, limit_text(col))
    tp, dp, g = (np.asarray(out[c], dtype=np.float64) if c in out else np.full(n_rows, np.nan)
                 for c in ("tp", "dp", "n_gpus"))
    pp = pipeline_stages(out, n_rows)[0]  # 1 where not given
    with np.errstate(invalid="ignore", over="ignore"):
        derived = tp * pp * np.where(np.isnan(dp), 1.0, dp)
        problems.add(np.isnan(g) & (derived > MAX_GPU_COUNT), "tp",
                     f"tp * pp * dp (the GPU count n_gpus) must be <= {MAX_GPU_COUNT} (2**20)")
        if "avg_power_w" in out:
            power = np.asarray(out["avg_power_w"], dtype=np.float64)
            problems.add(power_too_low(power, np.where(np.isnan(g), derived, g)), "avg_power_w", POWER_PER_GPU_TEXT)


def power_too_low(power: np.ndarray, gpus: np.ndarray) -> np.ndarray:
    """Per row, whether ``power`` (avg_power_w, W summed over the GPUs) is below :data:`MIN_GPU_POWER_W` on each
    of its ``gpus``: a value in kW. NaN power (not measured) or a GPU count the other rules refuse is not."""
    with np.errstate(invalid="ignore", over="ignore"):
        return np.isfinite(power) & (power > 0) & (gpus >= 1) & (power < MIN_GPU_POWER_W * gpus)
