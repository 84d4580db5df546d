"""The uncertainty a search's top candidates carry, from the models' bootstrap replicates: each candidate's 90 %
energy interval, predict_interval's for that configuration (:func:`.predictive.interval`), and P(best), the
probability that it is truly the cheapest of the top-k (each replicate's parameters ranking the same candidates
again, :func:`replicate_columns`), with an opt-in energy calibration's offset sampled per key (:func:`offset_draws`),
a GPU transfer factor per GPU the model was not fitted on (:func:`.predictive.transfer_draws`), of its energy and,
where the latency ranks candidates, its TTFT / TPOT (:func:`_latency_draws`: the limits as given, :func:`_as_given`,
checked on the drawn values) and, in the measured-latency mode, each row's measured TTFT / TPOT kept in every
replicate (:func:`.measured.pinned`).
docs/search.md, "What a result says".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from energylens import _core
from energylens.model import EnergyModel
from energylens.model.calibration import row_keys
from energylens.model.gpu_domain import fitted_gpu_check
from energylens.model.intervals import OUT0, OUT1, transfer_sd
from energylens.search import measured as measured_mode
from energylens.search.predictive import TPOT_STREAM, TTFT_STREAM, interval, transfer_draws, transfer_scales
from energylens.search.result import TIE_RTOL
from energylens.search.space import COMBO_FIELDS, SearchSpace

__all__ = ["BOOT_COLUMNS", "combo_models", "offset_draws", "not_identified", "replicate_columns"]

BOOT_COLUMNS = ("p_best", "energy_j_lo", "energy_j_hi")  # what replicate_columns adds
_ENERGY = COMBO_FIELDS.index("energy_factor")
_LATENCY = {n: COMBO_FIELDS.index(f"{n}_factor") for n in ("ttft", "tpot")}
_LIMITS = ("ttft_limit_s", "tpot_limit_s")


def combo_models(space: SearchSpace) -> pd.DataFrame:
    """One row per combo: its profile rows' ``model`` (what ``EnergyModel.predict`` keys the calibration on)."""
    return pd.DataFrame({"model": [r["model"] for r in space.profile_rows]})


def offset_draws(space: SearchSpace, model: EnergyModel, seed: int) -> Callable[[], np.ndarray] | None:
    """A function giving, per call, one draw of every combo's energy-calibration factor: exp(fitted offset +
    s_g z_g), z_g ~ N(0, 1) drawn once per calibration key g (combos of one key move together), s_g the
    offset's posterior sd (``Calibration.offset_sd``) for seen keys, 0 (factor as fitted) for unseen ones.
    The same normal log-offset error that ``calibration.widened`` adds in quadrature to the interval. None
    when nothing is uncertain (no calibration, or every s_g = 0): P(best) is then computed as before."""
    cal = getattr(model, "calibration", None)
    if cal is None:
        return None
    frame = combo_models(space)
    sd = np.where(cal.seen(frame), cal.offset_sd(frame), 0.0)
    if not (sd > 0).any():
        return None
    code, names = row_keys(frame, cal.by)
    base = space.combo_values[:, COMBO_FIELDS.index("energy_factor")].copy()
    rng = np.random.default_rng(seed)

    def draw() -> np.ndarray:
        z = np.append(rng.standard_normal(len(names)), 0.0)  # code -1 (no model) -> z 0
        return base * np.exp(sd * z[code])
    return draw


def not_identified(model: EnergyModel) -> str | None:
    """Why no interval or P(best): energy parameters not identified (predict_interval refuses those too)."""
    s = getattr(model, "summary", None)
    return model.intervals_unavailable() if s is not None and not s.identifiable else None


def _same_gpus(model: Any, other: Any) -> bool:
    """Whether ``other``'s rows draw the GPU transfer at the same shares as ``model``'s (both record the same fitted
    GPUs and few-row shares, :func:`~energylens.model.gpu_domain.fitted_gpu_check`): the latency model of one fit
    then reuses the energy's shares (one GPU check less, ~0.3 ms of a 10 ms search)."""
    if not (hasattr(model, "transfer_shares") and hasattr(other, "transfer_shares")):
        return False
    a = fitted_gpu_check(model.summary, len(model.param_names))
    b = fitted_gpu_check(other.summary, len(other.param_names))
    return a is not None and b is not None and a.fitted == b.fitted and a.scales == b.scales


def _latency_draws(space: SearchSpace, model: EnergyModel, options: dict[str, Any], seed: int, n: int,
                   measured: measured_mode.MeasuredLatency | None,
                   energy_scales: np.ndarray | None) -> dict[str, np.ndarray]:
    """Per latency output ("ttft", "tpot") whose transfer factor some combination draws: ``n`` draws (rows) of every
    combination's, as the latency model's predict_interval draws it for such a row (its ``transfer_shares``, the log
    sd :func:`~energylens.model.intervals.transfer_sd` of that output; TTFT none where the latency model saw no
    measured TTFT: its interval has no TTFT bounds), one per GPU hardware and replicate
    (:func:`.predictive.transfer_draws`, each output its own stream). A measured value stays as measured (factor 1
    on its row's own combination). None drawn where the latency ranks nothing (``options``: fixed batch, no latency
    limit, an energy or carbon objective). Until 2026-12-07 P(best) checked the latency limits on undrawn latencies: a row on
    an unseen GPU 5 % under its TPOT limit passed in every replicate (docs/search.md, "What a result says")."""
    if not any(options.get(k) is not None for k in ("tpot_limit_s", "ttft_limit_s", "rate_per_s")) and \
            options.get("objective") != "cost":
        return {}  # fixed batch, no latency limit, energy or carbon: latency ranks nothing (and costs no time)
    lm = model.latency_model
    scales = energy_scales if _same_gpus(model, lm) else transfer_scales(space, lm)
    out = {}
    for name, pick, stream in (("ttft", OUT0, TTFT_STREAM), ("tpot", OUT1, TPOT_STREAM)):
        if name == "ttft" and getattr(lm, "ttft_fitted", None) is False:
            continue
        draws = transfer_draws(space, scales, seed, n, transfer_sd("latency", pick), stream)
        if draws is not None and measured is not None and len(measured.index):
            own = space.digits(measured.index.astype(np.int64))[0][np.isfinite(measured.values[name])]
            draws[:, own] = 1.0
        if draws is not None:
            out[name] = draws
    return out


def _factor_draws(space: SearchSpace, model: EnergyModel, options: dict[str, Any], seed: int,
                  scales: np.ndarray | None, n: int, measured: measured_mode.MeasuredLatency | None = None
                  ) -> Callable[[np.ndarray, int], np.ndarray] | None:
    """(combo values, replicate ``b``) -> a copy with every combo's factors at replicate ``b``'s draw, for its ranking:
    its energy factor the calibration's offsets (:func:`offset_draws`, one draw per call) times the GPU transfer
    factors (:func:`.predictive.transfer_draws`, row ``b`` of ``n``), its TTFT / TPOT factors times their GPU transfer
    factors (:func:`_latency_draws`); None when nothing draws (P(best) is then the refits' alone, bit for bit)."""
    offsets, transfer = offset_draws(space, model, seed), transfer_draws(space, scales, seed, n)
    latency = _latency_draws(space, model, options, seed, n, measured, scales)
    if offsets is None and transfer is None and not latency:
        return None
    energy = space.combo_values[:, _ENERGY].copy()

    def apply(values: np.ndarray, b: int) -> np.ndarray:
        out = values.copy()
        if offsets is not None or transfer is not None:
            out[:, _ENERGY] = (energy if offsets is None else offsets()) * (1.0 if transfer is None else transfer[b])
        for name, draws in latency.items():
            out[:, _LATENCY[name]] *= draws[b]
        return out
    return apply


def _as_given(options: dict[str, Any], given: dict[str, Any] | None) -> dict[str, Any]:
    """``options`` with the TTFT / TPOT limits as ``given`` (the user's), not the effective ones a limit_confidence
    other than 0.5 tightened by predict_interval's upper quantile: that quantile holds the refits' spread and an
    unseen GPU's transfer sd, which the replicates draw themselves (checked against the tightened limit they counted
    twice: docs/search.md, "P(best) and limit_confidence"). At 0.5 the limits are the given ones: ``options`` as is."""
    limits = {k: given[k] for k in _LIMITS if given and given.get(k) is not None}
    return {**options, **limits} if any(options.get(k) != v for k, v in limits.items()) else options


def replicate_columns(space: SearchSpace, df: pd.DataFrame, model: EnergyModel, options: dict[str, Any],
               seed: int = 0, measured: measured_mode.MeasuredLatency | None = None,
               given: dict[str, Any] | None = None) -> dict[str, Any]:
    """P(cheapest among the top-k) and a 90 % energy interval per candidate, over paired replicates: the columns
    :data:`BOOT_COLUMNS` of ``df``'s rows (NaN where there are no replicates). P(best) also samples each calibrated
    key's offset and each unseen GPU's transfer factor (:func:`_factor_draws`, one draw per replicate); the interval
    is predict_interval's (:func:`.predictive.interval`). ``measured``: the rows' measured TTFT / TPOT stay theirs in
    every replicate (:func:`.measured.pinned` at its latency parameters). ``given``: the search's options as the user
    gave them; each replicate checks its (drawn) TTFT / TPOT against those limits (:func:`_as_given`)."""
    options = _as_given(options, given)
    boot_e = model.bootstrap_params
    boot_l = model.latency_model.bootstrap_params
    if len(df) == 0 or len(boot_e) < 10 or len(boot_l) < 1 or not_identified(model):
        return dict.fromkeys(BOOT_COLUMNS, np.nan)
    idx = df["index"].to_numpy(dtype=np.uint64)
    n = len(boot_e)
    objective, energy = np.empty((n, len(df))), np.empty((n, len(df)))  # per replicate; ranked once at the end
    reason = np.empty((n, len(df)), dtype=np.int64)
    scales = transfer_scales(space, model)  # the GPU transfer factor's share per combo, interval and P(best) alike
    factors = _factor_draws(space, model, options, seed, scales, n, measured)
    args = list(space.native_args())
    opts = options if measured is None else {k: v for k, v in options.items() if k not in ("tpot_limit_s", "ttft_limit_s")}
    for b, theta_b in enumerate(boot_e):
        phi_b = boot_l[b % len(boot_l)]
        args[0] = base = (space.combo_values if measured is None else
                          measured_mode.pinned(space, space.combo_values, theta_b, phi_b, options, measured, idx))
        cands = ranked = _core.search_evaluate(*args, theta_b, phi_b, opts, idx)
        if factors is not None:  # the engine again, the combos' factors at this replicate's draw
            args[0] = factors(base, b)
            ranked = _core.search_evaluate(*args, theta_b, phi_b, opts, idx)
        objective[b], energy[b] = ranked.objective, cands.energy_j
        reason[b] = ranked.reason if measured is None else measured_mode.reasons(measured, idx, ranked, options)
    objective[reason >= 0] = np.inf  # rejected at this replicate: no win
    # ties (TP 8 and TP 8 + EP 8, a dense model's dp values) share a replicate's win; none where nothing passed
    best = objective.min(axis=1, keepdims=True)
    tied = np.isfinite(best) & (objective <= best + TIE_RTOL * np.abs(best))
    p_best = (tied / np.maximum(tied.sum(axis=1, keepdims=True), 1)).sum(axis=0) / n
    lo, hi = interval(space, model, energy, df["energy_j"].to_numpy(), idx, scales)
    return {"p_best": p_best, "energy_j_lo": lo, "energy_j_hi": hi}
