"""Opt-in calibration of the energy model: one multiplicative offset per model family (or per model),
fitted after the 12 shared parameters from the training rows' log residuals with empirical-Bayes partial
pooling, and applied after the native evaluation. The default model has none (docs/model.md, calibration).

Estimation, on the training rows whose key is known (r = log(measured / predicted), n_g rows in group g,
N rows, G groups, m_g the group's mean residual): a one-way random-effects model r = u_g + e with
u_g ~ (0, tau^2) centred on the shared model (offset 0) and e ~ (0, sigma^2).

* sigma^2 = sum_g sum_i (r - m_g)^2 / (N - G), the pooled within-group variance;
* tau^2 = max(0, (sum_g n_g m_g^2 - G sigma^2) / N), the moment estimate (E[n_g m_g^2] = n_g tau^2 + sigma^2);
* k = sigma^2 / tau^2 and u_g = sum_i r / (n_g + k), the posterior mean of u_g: a group with few rows
  or little consistent bias is pulled towards 0; k = inf (tau^2 = 0) leaves every offset at 0.

Nothing is tuned on the rows evaluated. A key not seen in training (a new family) gets offset 0, i.e.
the shared model's prediction; :meth:`Calibration.seen` says which rows had an offset.

Intervals (:func:`calibrated_interval`): rows with a seen key use the residuals left after calibration,
inflated for the parameters and the offsets' effective degrees of freedom sum_g n_g / (n_g + k), widened
in quadrature (log scale) for the offset's posterior sd sqrt(sigma^2 / (n_g + k)), and scaled by the
offset; rows with an unseen key keep the shared model's interval (whose residuals include the
between-family spread). Rows on a GPU the model was not fitted on draw either kind's factors times the GPU
transfer factor (:func:`energylens.model.intervals.transfer_factors`), as the uncalibrated model's do.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np
import pandas as pd

from energylens import _core
from energylens.errors import ModelFileError
from energylens.model.gpu_domain import transfer_rows
from energylens.model.intervals import (
    OUT_SUM,
    GpuTransfer,
    interval_bounds,
    interval_preflight,
    model_factors,
    residual_sample,
    transfer_sd,
)
from energylens.outputs import plural
from energylens.profiles.cells import Coded, codes
from energylens.profiles.tables import find_model

__all__ = ["CALIBRATION_KEYS", "Calibration", "check_calibration_key", "fit_calibration", "row_keys", "shrunk_offsets", "as_frame",
           "calibrated_interval", "read_calibration", "widened"]

#: What a calibration can be keyed on, and where each key comes from.
CALIBRATION_KEYS = {
    "family": "the model table's `family` column (python/energylens/data/models.csv), looked up from the "
              "row's `model`",
    "model": "the model table's name of the row's `model` (aliases resolved; the name as given when it is "
             "not in the table)",
}
_STATE_KEYS = frozenset({"by", "keys", "offsets", "counts", "k", "within_var", "between_var", "dof",
                         "residual_sample", "residual_count", "note"})


def check_calibration_key(by: Any) -> str | None:
    """``by`` when it names a calibration key (or None: no calibration); ValueError naming the keys."""
    if by is None or (isinstance(by, str) and by in CALIBRATION_KEYS):
        return by
    known = "; ".join(f"{k!r}: {v}" for k, v in CALIBRATION_KEYS.items())
    raise ValueError(f"calibration key {by!r} is not supported; known keys: {known}")


def _key_of(name: Any, by: str) -> str | None:
    if not isinstance(name, str) or not name:
        return None
    spec = find_model(name)
    if by == "family":
        return None if spec is None else spec.family
    return name if spec is None else spec.name


def row_keys(configs: Any, by: str) -> tuple[np.ndarray, list[str | None]]:
    """(code per row, key per code) of a frame's rows: the ``model`` column factorised once, one table
    look-up per distinct model (never per row). ValueError naming the column when it is absent."""
    if "model" not in configs:
        raise ValueError(f"calibration by {by!r} needs the column 'model' ({CALIBRATION_KEYS[by]}); the "
                         "profiles have none")
    col = configs["model"]
    c, names = codes(col if isinstance(col, Coded) else pd.Series(col))
    return c, [_key_of(n, by) for n in names]


@dataclass(frozen=True)
class Calibration:
    """Fitted offsets: ``offsets[i]`` (log scale, shrunk) for ``keys[i]`` seen on ``counts[i]`` training rows."""

    by: str
    keys: tuple[str, ...]
    offsets: np.ndarray
    counts: np.ndarray
    k: float  # sigma^2 / tau^2; inf when the residuals show no between-key variance
    within_var: float
    between_var: float
    dof: float  # effective number of fitted offsets, sum n_g / (n_g + k)
    residual_sample: np.ndarray  # sorted relative residuals of the training rows after calibration
    residual_count: int
    note: str = ""

    def _per_code(self, names: list[str | None]) -> np.ndarray:
        """Log offset per distinct key (NaN: not seen in training)."""
        index = {k: i for i, k in enumerate(self.keys)}
        return np.array([self.offsets[index[n]] if n in index else math.nan for n in names], dtype=np.float64)

    def log_offsets(self, configs: Any) -> np.ndarray:
        """Log offset of each row of ``configs`` (a frame or the light path's columns), NaN for a key not
        seen in training."""
        c, names = row_keys(configs, self.by)
        table = np.append(self._per_code(names), math.nan)  # code -1 (missing model) -> NaN
        return table[c]

    def factors(self, configs: Any) -> np.ndarray:
        """Multiplicative factor of each row: exp(offset), 1 for a key not seen in training."""
        off = self.log_offsets(configs)
        return np.exp(np.nan_to_num(off, nan=0.0))

    def offset_sd(self, configs: Any) -> np.ndarray:
        """Posterior standard deviation of each row's log offset, sqrt(sigma^2 / (n_g + k)) (0 for a key not
        seen in training, whose offset is exactly 0, and when k = inf)."""
        c, names = row_keys(configs, self.by)
        index = {k: i for i, k in enumerate(self.keys)}
        sd = np.zeros(len(names) + 1)  # code -1 (missing model) -> 0
        if math.isfinite(self.k) and math.isfinite(self.within_var):
            for j, n in enumerate(names):
                if n in index:
                    sd[j] = math.sqrt(self.within_var / (self.counts[index[n]] + self.k))
        return sd[c]

    def seen(self, configs: Any) -> np.ndarray:
        """Per row: was its key seen in training (so an offset, possibly shrunk to 0, applies)?"""
        return np.isfinite(self.log_offsets(configs))

    def describe(self, top: int = 8) -> list[str]:
        """Lines for the model summary: the estimate and the largest offsets."""
        k = "inf" if math.isinf(self.k) else f"{self.k:.3g}"
        lines = [f"calibration by {self.by} (opt-in): {plural(len(self.keys), 'key')}, shrinkage k = {k} rows "
                 f"(within var {self.within_var:.4g}, between var {self.between_var:.4g}, "
                 f"{self.dof:.2f} effective offsets); unseen keys get offset 0"]
        if self.note:
            lines.append(f"  note: {self.note}")
        for i in np.argsort(-np.abs(self.offsets))[:top]:
            lines.append(f"  {self.keys[i]:<28} x{math.exp(self.offsets[i]):.3f}  ({plural(int(self.counts[i]), 'row')})")
        if len(self.keys) > top:  # "11 keys" above 8 lines read as 3 keys lost
            more = len(self.keys) - top
            lines.append(f"  (the {'largest offset' if top == 1 else f'{top} largest offsets'}; {more} more "
                         f"{'key with a smaller one' if more == 1 else 'keys with smaller ones'})")
        return lines

    def to_state(self) -> dict[str, Any]:
        return {"by": self.by, "keys": list(self.keys), "offsets": self.offsets.tolist(),
                "counts": self.counts.astype(int).tolist(), "k": None if math.isinf(self.k) else self.k,
                # undefined variances (one row per key: no within-key scatter) as null, so the file stays JSON
                "within_var": _finite_or_none(self.within_var), "between_var": _finite_or_none(self.between_var),
                "dof": self.dof,
                "residual_sample": self.residual_sample.tolist(), "residual_count": self.residual_count,
                "note": self.note}


def shrunk_offsets(r: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray, float, float, float, str]:
    """(offsets, counts, k, sigma^2, tau^2, note) of residuals ``r`` in groups ``c`` (0..G-1), the module
    docstring's estimate."""
    g = int(c.max()) + 1 if len(c) else 0
    n = np.bincount(c, minlength=g).astype(np.float64)
    sums = np.bincount(c, weights=r, minlength=g)
    means = sums / np.maximum(n, 1.0)
    df_w = len(r) - g
    if g == 0:
        return np.zeros(0), n, math.inf, math.nan, math.nan, "no training row has a key: nothing to calibrate"
    if df_w < 1:
        return (np.zeros(g), n, math.inf, math.nan, math.nan,
                "every key has one training row: within- and between-key variance cannot be separated, "
                "offsets 0")
    within = float(np.sum((r - means[c]) ** 2) / df_w)
    between = max(0.0, float((np.sum(n * means**2) - g * within) / len(r)))
    if between == 0.0:
        return np.zeros(g), n, math.inf, within, between, "no between-key variance in the residuals: offsets 0"
    k = within / between
    return sums / (n + k), n, k, within, between, ""


def fit_calibration(model: Any, frame: Any, by: str) -> Calibration:
    """The offsets of a fitted energy model on its training rows ``frame`` (validated frame or light path)."""
    c, names = row_keys(frame, by)
    ev = _core.evaluate(model._template, model._columns(frame), model.theta)
    pred = ev.out0 + ev.out1
    meas = np.asarray(frame["energy_j"], dtype=np.float64)
    key_of_row = np.array([names[i] if i >= 0 else None for i in range(len(names))] + [None], dtype=object)[c]
    return shrunk_calibration(by, key_of_row, meas, pred)


def shrunk_calibration(by: str, key_of_row: np.ndarray, meas: np.ndarray, pred: np.ndarray) -> Calibration:
    """The shrunk per-key offsets of measured against predicted values (rows with a key and both positive;
    module docstring), with the calibrated relative residuals' summary for the intervals."""
    keyed = np.array([k is not None for k in key_of_row], dtype=bool)
    ok = keyed & np.isfinite(meas) & (meas > 0) & (pred > 0)
    uniq, grp = np.unique(key_of_row[ok].astype(str), return_inverse=True)
    r = np.log(meas[ok] / pred[ok])
    offsets, counts, k, within, between, note = shrunk_offsets(r, grp.astype(np.intp))
    if not ok.any():  # "no key" said with the key's name and where it comes from
        why = (f"has a known {by} ({CALIBRATION_KEYS[by]})" if not keyed.any()
               else f"with a known {by} has a measured and a predicted value > 0")
        note = f"no training row {why}: no offsets, every row keeps the shared model's prediction"
    rel = pred[ok] * np.exp(offsets[grp]) / meas[ok] - 1.0
    dof = float(np.sum(counts / (counts + k))) if math.isfinite(k) else 0.0
    return Calibration(by, tuple(str(u) for u in uniq), offsets, counts, k, within, between, dof,
                       residual_sample(rel), len(rel), note)


def read_calibration(state: Any, where: str) -> Calibration | None:
    """The calibration a model file's energy state holds (None when absent); ModelFileError naming the key."""
    if state is None:
        return None
    if not isinstance(state, dict) or set(state) - _STATE_KEYS:
        raise ModelFileError(f"{where} calibration: expected an object with keys {sorted(_STATE_KEYS)}")
    try:
        by = check_calibration_key(state["by"])
        offsets = np.asarray(state["offsets"], dtype=np.float64)
        counts = np.asarray(state["counts"], dtype=np.float64)
        bad = ([x for x in state["keys"] if not isinstance(x, str)] if isinstance(state["keys"], list)
               else [state["keys"]])
        if bad:  # (str() made a number or a list a key no row has, without a word)
            raise TypeError(f"keys must be a list of text keys, one per calibrated group; got {bad[0]!r}")
        keys = tuple(state["keys"])
        sample = np.sort(np.asarray(state["residual_sample"], dtype=np.float64))
        k = math.inf if state["k"] is None else float(state["k"])
        cal = Calibration(by, keys, offsets, counts, k, _float_or_nan(state["within_var"]),
                          _float_or_nan(state["between_var"]),
                          float(state["dof"]), sample, int(state["residual_count"]), str(state.get("note", "")))
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(f"{where} calibration is not valid ({type(exc).__name__}: {exc})") from None
    if (by is None or offsets.ndim != 1 or counts.ndim != 1 or not (len(keys) == len(offsets) == len(counts))
            or not np.isfinite(offsets).all()):
        raise ModelFileError(f"{where} calibration: keys, offsets and counts must be lists of equal length "
                             "with finite offsets")
    _check_calibration_values(cal, where)
    return cal


def _finite_or_none(v: float) -> float | None:
    return float(v) if math.isfinite(v) else None


def _float_or_nan(v: Any) -> float:
    """A file's number, null (or an older file's NaN) as NaN; TypeError / ValueError for anything else."""
    if v is None:
        return math.nan
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise TypeError(f"{v!r} is not a number")
    return float(v)


def _check_calibration_values(cal: Calibration, where: str) -> None:
    """ModelFileError naming the first value a fit cannot have written (a hand-edited file)."""
    problems = [
        (len(set(cal.keys)) != len(cal.keys), "keys repeat a key"),
        (not (np.isfinite(cal.counts) & (cal.counts >= 0)).all(), "counts must be finite and >= 0"),
        (not (cal.k >= 0), "k must be >= 0 (or null: no between-key variance)"),
        (not all(math.isnan(v) or v >= 0 for v in (cal.within_var, cal.between_var)),
         "within_var and between_var must be >= 0 (or null: undefined)"),
        (not (math.isfinite(cal.dof) and cal.dof >= 0), "dof must be finite and >= 0"),
        (cal.residual_sample.ndim != 1 or not np.isfinite(cal.residual_sample).all()
         or (len(cal.residual_sample) and not cal.residual_sample[0] > -1.0),
         "residual_sample must be a list of finite residuals above -1"),
        (cal.residual_count < len(cal.residual_sample), "residual_count must be >= the sample's length"),
    ]
    for bad, what in problems:
        if bad:
            raise ModelFileError(f"{where} calibration: {what}")


def as_frame(configs: Any, load: Any) -> Any:
    """``configs`` as something :func:`row_keys` can read, loading a path once (``load``)."""
    if isinstance(configs, pd.DataFrame):
        return configs
    return load(configs, require_energy=False)


def calibrated_interval(model: Any, configs: Any, level: float, chunk_rows: int, check_range: bool,
                        load: Any) -> tuple[np.ndarray, np.ndarray]:
    """(lo, hi) energy interval of a calibrated model (see the module docstring)."""
    level = interval_preflight(model, level)
    cal: Calibration = model.calibration
    frame = as_frame(configs, load)
    log_off = cal.log_offsets(frame)
    seen = np.isfinite(log_off)
    factor = np.exp(np.nan_to_num(log_off, nan=0.0))
    point = np.empty(len(seen))
    # the calibrated residuals, inflated for the offsets' effective parameters too (dof)
    # by kind of row: a seen key (the calibrated factors) or an unseen key (the shared model's), times the GPU
    # transfer factor at the row's share of its log sd (0: none; 1: a GPU the model was not fitted on;
    # (1 - w) min(1, sqrt(p / n)): a few-row GPU, energylens.model.intervals.few_row_scales)
    sd = transfer_sd("energy", OUT_SUM)
    factors = GpuTransfer([model_factors(model, cal.residual_sample, cal.residual_count, cal.dof),
                           model.measurement_factors()], [sd, sd])
    check = model._range_check(check_range)
    gpus = check.gpus if check is not None else model._gpu_check()
    n, chunks = model._chunks(frame, chunk_rows, check, gpus=gpus)
    lo, hi = np.empty(n), np.empty(n)
    for start, stop, columns in chunks:
        shares = transfer_rows(gpus, stop - start)
        share = np.zeros(stop - start) if shares is None else shares.astype(np.float64)
        levels = np.zeros(1) if shares is None else np.unique(np.concatenate([[0.0], share]))  # (0 first)
        kind = np.where(seen[start:stop], 0, len(levels)) + np.searchsorted(levels, share)
        kinds = np.flatnonzero(np.bincount(kind, minlength=2 * len(levels))).tolist()
        if kinds[0] < len(levels):
            ev = _core.evaluate(model._template, columns, model.theta)
            point[start:stop] = ev.out0 + ev.out1
        samples = [factors.factors(k // len(levels), float(levels[k % len(levels)])) if k % len(levels)
                   else factors.samples[k // len(levels)] for k in kinds]
        # every kind of row in one pass: the same replicates and draws, each kind its own factors
        bounds = interval_bounds(model._template, columns, model._boot, samples, seed=model.options["seed"],
                                 level=level, picks=(OUT_SUM,) * len(kinds))
        for k, (c_lo, c_hi) in zip(kinds, bounds, strict=True):
            rows = np.flatnonzero(kind == k)
            lo[start + rows], hi[start + rows] = c_lo[rows], c_hi[rows]
    if check is not None:
        check.warn(f"{type(model).__name__}.predict_interval")
    lo, hi = widened(lo, hi, point, seen, cal.offset_sd(frame), level)
    return lo * factor, hi * factor


def widened(lo: np.ndarray, hi: np.ndarray, point: np.ndarray, seen: np.ndarray, sd: np.ndarray,
             level: float) -> tuple[np.ndarray, np.ndarray]:
    """Seen rows' bounds widened for the offset's own estimation error: each log half-width h around the
    point prediction becomes sqrt(h^2 + (z sd)^2), z the normal quantile of ``level`` (errors added in
    quadrature, as independent terms of the log prediction error)."""
    w = (z_of(level) * sd) ** 2
    rows = seen & (w > 0) & (point > 0)
    if not rows.any():
        return lo, hi
    with np.errstate(divide="ignore"):
        h_lo = np.log(point[rows] / lo[rows])  # inf where lo was clipped at 0: stays 0
        h_hi = np.log(hi[rows] / point[rows])
    lo, hi = lo.copy(), hi.copy()
    lo[rows] = point[rows] * np.exp(-np.sqrt(np.maximum(h_lo, 0.0) ** 2 + w[rows]))
    hi[rows] = point[rows] * np.exp(np.sqrt(np.maximum(h_hi, 0.0) ** 2 + w[rows]))
    return lo, hi


def z_of(level: float) -> float:
    """The standard normal quantile of a central ``level`` interval (1.645 at 0.9)."""
    return NormalDist().inv_cdf(0.5 + level / 2.0)
