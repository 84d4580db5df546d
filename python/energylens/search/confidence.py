"""Latency limits met with a stated confidence: ``search(..., limit_confidence=P)``.

With ``P = 0.5`` (the default) a candidate passes a latency limit when its *predicted* TTFT / TPOT (the
latency model's point prediction, what the native engine evaluates) meets it. With another ``P`` it
passes only if the upper P-quantile of the quantity meets it, the quantile of the latency model's own
predictive distribution, the one :meth:`energylens.model.LatencyModel.predict_interval` reads its bounds
from (:mod:`energylens.model.intervals`): for a row x,

    Y_b(x) = f_b(x) / (1 + r_b),   b = 1..B bootstrap refits,

``f_b`` the template at refit ``b``'s parameters and ``r_b`` a training residual predicted / measured - 1
(its log scatter inflated for the fitted degrees of freedom: ``measurement_factors``) drawn by the
interval's own hash of (seed, b, the row's feature values), so the quantile at P is
exactly ``predict_interval(level=2P - 1)``'s upper bound (P > 0.5; the lower bound at ``level=1 - 2P``
for P < 0.5). A calibrated latency model (``latency_calibration``) multiplies f and every f_b by the same
per-combination factor, so its quantile is the calibrated point prediction times the same ratio, as
predict_interval scales its bounds. A candidate on a GPU the latency model was not fitted on draws its TTFT and
TPOT factors times the GPU transfer factor (:func:`energylens.model.intervals.transfer_factors`,
``TTFT_TRANSFER_LOG_SD``, ``TPOT_TRANSFER_LOG_SD``), and on a GPU with a few rows in the fit at its share of the log
sd, as predict_interval does for such a row (:func:`unseen_candidates`); candidates on other fitted GPUs keep their
quantiles bit for bit. A latency model that saw no measured TTFT has no TTFT interval
(predict_interval gives NaN bounds): its TTFT limit is applied to the point prediction as given, and the
settings say so (``ttft_limit_confidence_note``).

The engine compares one number per candidate with one limit, and the ratio R(x) = q_P(Y(x)) / f(x) is not
the same for every row (the residual part is, the parameter part is not: rows far from the training data
carry a wider bootstrap; x1.14 to x1.59 at P = 0.9 over one 70B space fitted on 50 v3 rows,
bench/confidence_ratio.py). So the limit
L is replaced by one *effective limit* T on the point prediction, computed before the engine runs:

* **Every candidate evaluated** (explicit candidates, or at most :data:`ENUMERATE_MAX` in the space): each
  relevant candidate's own quantile q(x) is computed (relevant: it passes every check but the latency
  limits, evaluated by the engine itself, so load mode's Little's-law batch and a workload distribution's
  worst point are the search's own), and T is the largest threshold that admits no candidate with q(x) > L:
  halfway between the largest compliant point prediction below the smallest one of a violating candidate
  and that one (when none violates, above every prediction), and never below L / max R.
  Exact: every candidate the engine admits meets the limit at confidence P (tests/search/test_search_confidence.py).
* **Larger spaces**: the same on a seeded sample of :data:`ENUMERATE_MAX` distinct candidates (drawn
  without replacement) gives max R over the
  sample's relevant candidates, and T = L / max R, the conservative factor: exact for the sampled ones,
  and for the rest as good as the sample's coverage of the largest ratio (the settings say which).

Either way T <= L for P > 0.5 (a confidence above the default never loosens it) and T >= L for P < 0.5, and
T never increases with P, so a higher confidence never admits a candidate a lower one rejects. Each limit
is met at confidence P on its own (both together: at least 2P - 1).

A candidate table searched with measured latency (:mod:`.measured`) checks a measured value against the limit as
given and only the predicted ones against T; :func:`limits_line` says which rows each limit was applied how.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from energylens import _core
from energylens.errors import IntervalsUnavailableError
from energylens.model.intervals import OUT0, OUT1, GpuTransfer, transfer_sd
from energylens.outputs import plural
from energylens.search.predictive import candidate_keys
from energylens.search.space import SearchSpace

__all__ = ["ENUMERATE_MAX", "DEFAULT_CONFIDENCE", "check_confidence", "upper_quantiles", "confidence_limits",
           "unseen_candidates", "predicted_rows", "limits_line", "least_given_limit"]

#: Candidates whose quantiles are computed one by one (more: a seeded sample of this many). About 0.3 us per
#: candidate and refit in fixed-batch mode (0.25 s at 100 refits), ~10x that in load mode.
ENUMERATE_MAX = 8192
#: The default: the point prediction decides (today's search, bit for bit).
DEFAULT_CONFIDENCE = 0.5
_LIMITS = (("ttft", "ttft_limit_s"), ("tpot", "tpot_limit_s"))


def check_confidence(value: Any) -> float:
    """``limit_confidence`` as a float in (0, 1), or ValueError naming the option."""
    try:
        p = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"limit_confidence must be a number in (0, 1), got {value!r}") from None
    if isinstance(value, bool) or not 0.0 < p < 1.0:
        raise ValueError(f"limit_confidence must be strictly between 0 and 1 (0.5: the point prediction; 0.9: "
                         f"the limit is met with 90 % confidence), got {value!r}")
    return p


def _unlimited(options: dict[str, Any]) -> dict[str, Any]:
    """The options without the latency limits: reason -1 then means "passes every other check"."""
    return {k: v for k, v in options.items() if k not in ("ttft_limit_s", "tpot_limit_s")}


def upper_quantiles(space: SearchSpace, energy_theta, latency_model, options: dict[str, Any], indices,
                    p: float, progress: Callable[[int, int], None] | None = None) -> dict[str, np.ndarray]:
    """Per candidate of ``indices``: the point TTFT / TPOT the engine predicts, their upper ``p``-quantiles
    (module docstring) and ``relevant`` (the candidate passes every check but the latency limits).
    ``progress(done, total)`` is called after each bootstrap refit's engine pass."""
    idx = np.ascontiguousarray(indices, dtype=np.uint64)
    opts = _unlimited(options)
    args = space.native_args()
    point = _core.search_evaluate(*args, energy_theta, latency_model.theta, opts, idx)
    boot = latency_model.bootstrap_params
    ttft, tpot = np.empty((len(boot), len(idx))), np.empty((len(boot), len(idx)))
    for b, phi_b in enumerate(boot):
        c = _core.search_evaluate(*args, energy_theta, phi_b, opts, idx)
        ttft[b], tpot[b] = c.ttft_s, c.tpot_s
        if progress is not None:
            progress(b + 1, len(boot))
    # the interval's own draws: one measurement factor per (refit, configuration key), each output's from its own
    # residuals (output 0: TTFT, 1: TPOT), and the p-quantile over the refits (np.quantile's, bit for bit); a
    # candidate on a GPU the latency model was not fitted on draws that output's factors times the GPU transfer
    # factor, as predict_interval does (TPOT log sd 0.14, TTFT 0.06: intervals.transfer_sd)
    unseen = unseen_candidates(space, latency_model, idx)
    keys = candidate_keys(space, latency_model, idx)  # predict_interval's draws of each candidate's configuration

    def quantile(values: np.ndarray, output: int) -> np.ndarray:
        factors = GpuTransfer([latency_model.measurement_factors(output)], [transfer_sd("latency", (OUT0, OUT1)[output])])
        return factors.quantiles(values, 0, unseen, keys=keys, seed=latency_model.options["seed"], q_lo=p, q_hi=p)[1]

    return {"ttft": point.ttft_s, "tpot": point.tpot_s, "relevant": point.reason < 0,
            # no measured TTFT: no scatter to take a quantile of (predict_interval's TTFT bounds are NaN)
            "ttft_q": point.ttft_s if latency_model.ttft_fitted is False else quantile(ttft, 0),
            "tpot_q": quantile(tpot, 1)}


def unseen_candidates(space: SearchSpace, latency_model, indices) -> np.ndarray | None:
    """Per candidate of ``indices``: the share of the GPU transfer log sd its quantile draws, as ``latency_model``'s
    predict_interval draws it for such a row (its ``transfer_shares``: 1 on a GPU the model was not fitted on,
    (1 - w) x min(1, sqrt(p / n)) on a GPU of n of the fit's rows where that is at least 0.25
    (:func:`~energylens.model.intervals.few_row_scales`), 0 on the others; until 2026-12-07 the unseen flags alone, so a few-row GPU's
    quantile drew none). None when every candidate's is 0, or the model cannot say (a latency model without
    ``transfer_shares``)."""
    if not hasattr(latency_model, "transfer_shares"):
        return None
    gpus = [row.get("gpu", combo.gpu) for row, combo in zip(space.profile_rows, space.combos, strict=True)]
    shares = np.asarray(latency_model.transfer_shares(pd.DataFrame({"gpu": gpus})), dtype=np.float64)  # per combo
    if not (shares > 0).any():
        return None
    return shares[space.digits(np.asarray(indices, dtype=np.int64))[0]]


def _threshold(limit: float, pred: np.ndarray, q: np.ndarray, p: float, exact: bool) -> tuple[float, float]:
    """(effective limit T on the point prediction, largest ratio q / pred) for one limit (module docstring)."""
    ok = np.isfinite(pred) & (pred > 0) & np.isfinite(q)
    pred, q = pred[ok], q[ok]
    ratio = float(np.max(q / pred)) if len(pred) else 1.0
    t = limit / ratio
    if exact and len(pred):
        bad = q > limit
        if not bad.any():  # none violates: all pass (above the largest prediction; P > 0.5: L, clamped below)
            t = max(t, limit, float(pred.max()) * (1.0 + 1e-9))
        else:  # between the largest compliant prediction below the first violator and that violator's
            first_bad = float(pred[bad].min())
            below = pred[~bad & (pred < first_bad)]
            if len(below):  # (halfway: the engine's vectorised pass may differ from this one by an ulp)
                t = max(t, 0.5 * (float(below.max()) + first_bad))
    return (min(t, limit) if p > 0.5 else max(t, limit)), ratio


def _least_given(limit: float, pred: np.ndarray, q: np.ndarray, p: float, exact: bool) -> float | None:
    """When the effective limit of ``limit`` admits no candidate: the least given limit whose effective limit
    admits the lowest point prediction, bisected on :func:`_threshold` over the same quantiles (a limit derived
    from every candidate is not the lowest prediction times the largest ratio; tens of passes over the
    candidates, on an empty result only). None when some candidate passes, none is finite, or the limit is
    sampled (there T = L / max R, and the lowest prediction times max R is exact)."""
    ok = np.isfinite(pred) & (pred > 0) & np.isfinite(q)
    if not exact or not ok.any():
        return None
    lowest = float(pred[ok].min())

    def admits(given: float) -> bool:
        return _threshold(given, pred, q, p, exact)[0] >= lowest
    if admits(limit):
        return None
    lo, hi = limit, max(lowest, float(q[ok].max()), limit) * 2.0  # every quantile and prediction below hi: admits
    for _ in range(60):  # to a relative 2**-60 of the bracket
        mid = 0.5 * (lo + hi)
        lo, hi = (lo, mid) if admits(mid) else (mid, hi)
        if hi - lo <= 1e-12 * hi:
            break
    return hi


def confidence_limits(space: SearchSpace, energy_theta, latency_model, options: dict[str, Any], p: float,
                      indices=None, seed: int = 0, progress: Callable[[int, int], None] | None = None
                      ) -> tuple[dict[str, Any], dict[str, Any]]:
    """The engine options with the effective limits for confidence ``p``, and the record the result's
    settings carry (``limit_confidence``, ``effective_*_limit_s``, the ratios, how many candidates were
    evaluated). ``p == 0.5`` returns ``options`` as they are; ValueError for a ``p`` outside (0, 1).
    ``progress(done, total)``: called per bootstrap refit of the quantile pass (:func:`upper_quantiles`)."""
    p = check_confidence(p)
    given = {name: options.get(key) for name, key in _LIMITS}
    record: dict[str, Any] = {"limit_confidence": p, "effective_ttft_limit_s": given["ttft"],
                              "effective_tpot_limit_s": given["tpot"]}
    if p == DEFAULT_CONFIDENCE:
        return options, record
    if given["ttft"] is None and given["tpot"] is None:
        raise ValueError(f"limit_confidence={p:g} (--limit-confidence) applies to the latency limits, but neither tpot_limit_s nor "
                         "ttft_limit_s (--tpot-limit / --ttft-limit) is set")
    why = latency_model.intervals_unavailable()
    if why is not None:
        raise IntervalsUnavailableError(
            f"limit_confidence={p:g} (--limit-confidence) needs the latency model's prediction intervals, which "
            f"are not available: {why}. Refit with bootstrap replicates (EnergyModel(bootstrap=100), or "
            "energylens fit --bootstrap 100), or use limit_confidence=0.5 (the point prediction decides)")
    total = space.size if indices is None else len(indices)
    exact = total <= ENUMERATE_MAX
    # positions in the space, or in the candidate list; beyond ENUMERATE_MAX exactly that many distinct ones
    pick = (np.arange(total, dtype=np.uint64) if exact else
            np.sort(np.random.default_rng(seed).choice(total, ENUMERATE_MAX, replace=False)).astype(np.uint64))
    indices = pick if indices is None else np.asarray(indices, dtype=np.uint64)[pick]
    q = upper_quantiles(space, np.asarray(energy_theta, dtype=np.float64), latency_model, options, indices, p,
                        progress)
    rel = q["relevant"]
    out = dict(options)
    for name, key in _LIMITS:
        if given[name] is None:
            continue
        t, ratio = _threshold(float(given[name]), q[name][rel], q[name + "_q"][rel], p, exact)
        out[key] = t
        record[f"effective_{name}_limit_s"] = t
        record[f"{name}_quantile_ratio_max"] = ratio
        least = _least_given(float(given[name]), q[name][rel], q[name + "_q"][rel], p, exact)
        if least is not None:  # the empty result's suggestion (result._closest_sentence)
            record[f"least_{name}_limit_s"] = least
    record["limit_confidence_method"] = ("every candidate's own quantile" if exact else
                                         f"largest quantile ratio over a sample of {len(indices)} of {total:,} candidates")
    record["limit_confidence_candidates"] = int(rel.sum())
    if given["ttft"] is not None and latency_model.ttft_fitted is False:
        record["ttft_limit_confidence_note"] = ("the TTFT limit is applied to the predicted TTFT as given: the latency "
                                                "model saw no measured TTFT, so no interval sizes its scatter")
    return out, record


def least_given_limit(s: dict[str, Any], name: str, value: float, closest: dict[str, Any]) -> float:
    """The given ``name`` ("ttft", "tpot") limit whose applied value admits ``value`` (a predicted TTFT / TPOT of an
    empty result, from ``closest``, its ``without_latency_limits`` record), from the result's settings ``s``: for the
    lowest prediction at a confidence with every candidate's own quantile, the least one (:func:`_least_given`);
    else ``value`` times the given over the applied limit (exact where the applied limit is the given one over the
    largest ratio; for another value, one that is enough, a lower one may be)."""
    given, applied = s[f"{name}_limit_s"], s.get(f"effective_{name}_limit_s") or s[f"{name}_limit_s"]
    least = s.get(f"least_{name}_limit_s")
    return least if least is not None and value == closest.get(f"min_{name}_s") else value * given / applied


def predicted_rows(s: dict[str, Any], name: str) -> int | None:
    """In a measured-latency search's settings ``s``: how many rows' ``name`` ("ttft", "tpot") is predicted, the rows
    an effective limit applies to; None in a search that predicts every value."""
    rows = s.get("measured_latency_rows") if s.get("measured_latency") else None
    return None if rows is None else int(s["explicit_candidates"]) - int(rows[name])


def _limit_part(s: dict[str, Any], name: str) -> str:
    given, applied, k = s[f"{name}_limit_s"], s[f"effective_{name}_limit_s"], predicted_rows(s, name)
    head = f"{name.upper()} {given:.4g} s"
    if k is None or k == int(s["explicit_candidates"]):  # every value predicted
        return f"{head} -> {applied:.4g} s predicted"
    measured = int(s["explicit_candidates"]) - k
    if k == 0:
        return f"{head}: measured in {'the one row' if measured == 1 else f'all {measured} rows'}, checked as given"
    return (f"{head}: the {plural(measured, 'measured row')} checked as given, the {k} predicted against "
            f"{applied:.4g} s")


def limits_line(s: dict[str, Any]) -> str:
    """The summary's line on latency limits met at a confidence other than 0.5 ("" otherwise), from the result's
    settings ``s``: each limit, the effective limit applied to the predicted value, and how it was derived. In a
    measured-latency search: per limit, the measured rows checked as given and the predicted ones against the
    effective limit; when no limited value is predicted, that the confidence had nothing to apply to."""
    p = s.get("limit_confidence", 0.5)
    if p == 0.5:
        return ""
    names = [n for n in ("tpot", "ttft") if s.get(f"{n}_limit_s") is not None]
    parts = "; ".join(_limit_part(s, n) for n in names)
    if names and all(predicted_rows(s, n) == 0 for n in names):
        return (f"\nlatency limits: {parts}; the confidence {p:g} applies to predicted values only, and no limited "
                "value is predicted (a measurement has no prediction interval)")
    said = "; a measured value has no prediction interval" if s.get("measured_latency") else ""
    return (f"\nlatency limits met with confidence {p:g} (upper {p:g}-quantile of the latency model's prediction "
            f"interval{said}): {parts} ({s['limit_confidence_method']}, "
            f"{plural(n := s['limit_confidence_candidates'], 'candidate')} pass{'es' if n == 1 else ''} the other checks)"
            + (f"; {s['ttft_limit_confidence_note']}" if s.get("ttft_limit_confidence_note") else ""))
