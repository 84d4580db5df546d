"""Opt-in calibration of the latency model: one multiplicative offset per model (or family) for TPOT and one
for TTFT, fitted after the template's 10 parameters from the training rows' log residuals with the energy
calibration's empirical-Bayes partial pooling (:mod:`energylens.model.calibration`; docs/model.md, section 4).

Why: on held-out rows a large share of the TPOT error is a constant factor per model (kernels, attention
backend, MoE routing the roofline does not see): on ML.ENERGY v3 a per-model constant removes half of the
in-sample log variance. The usual case for a user is a model of theirs profiled in a few configurations;
its other configurations are then priced with that model's own factor. The key is the model (or family),
*its weight precision and the GPU* ("Qwen/Qwen3-235B-A22B @ fp8 @ H100-SXM5-80GB"): the model table maps an
FP8 checkpoint to the same model as its bf16 one, but their kernels differ (block-scaled FP8 experts run at
a different effective bandwidth), and a model's kernels on an A100 are not those on an H100 (pooling the
two GPUs of ML.ENERGY v2 by model alone corrects nothing), so their factors are kept apart. A key not seen in training keeps the template's prediction
exactly (factor 1), and so does one whose residuals show no consistent bias (the shrinkage sends its offset
to 0). TPOT and TTFT offsets are estimated apart, each from the rows that measured it; an output no
training row measured has no calibration.

Applied by :meth:`LatencyModel.predict` (and so by ``energylens.search``, which prices each
configuration's TPOT and TTFT with its model's factors) after the native evaluation.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from energylens import _core
from energylens.errors import ModelFileError
from energylens.model.calibration import (
    Calibration,
    check_calibration_key,
    read_calibration,
    row_keys,
    shrunk_calibration,
)
from energylens.profiles.cells import Coded, codes
from energylens.profiles.checkpoints import checkpoint_precision
from energylens.profiles.gpu_table import gpu_spec
from energylens.profiles.schema import OPTIONAL_DEFAULTS
from energylens.profiles.tables import normalize_precision

__all__ = ["LatencyCalibration", "fit_latency_calibration", "read_latency_calibration", "latency_keys", "OUTPUTS"]

#: The latency model's outputs, in the template's order, and the measured column each is fitted on.
OUTPUTS = ("ttft_s", "tpot_s")
_STATE_KEYS = frozenset({"by", *OUTPUTS})


def _precision(value: Any) -> str:
    try:
        return normalize_precision(str(value))
    except ValueError:
        return str(value)  # an unknown format is its own key (features.py rejects it when pricing the row)


def _text_codes(configs: Any, column: str, n: int, canonical: Any) -> tuple[np.ndarray, list[str]]:
    """(code per row, canonical name per code) of a text column; a blank cell or an absent column gets the
    last code, the schema's default (or "" where it has none)."""
    if column in configs:
        col = configs[column]
        c, values = codes(col if isinstance(col, Coded) else pd.Series(col))
    else:
        c, values = np.full(n, -1, dtype=np.intp), np.array([], dtype=object)
    blank = np.array([isinstance(v, str) and not v.strip() for v in values], dtype=bool)
    if blank.any():  # a blank text cell is missing, as the schema reads it
        c = np.where(blank.take(np.maximum(c, 0)) & (c >= 0), -1, c)
    default = OPTIONAL_DEFAULTS.get(column, "")
    names = [canonical(v) for v in values] + [canonical(default) if default else ""]
    return np.where(c < 0, len(names) - 1, c), names


def _precision_codes(configs: Any, n: int) -> tuple[np.ndarray, list[str]]:
    """(code per row, weight format per code): the row's ``precision``, else (blank or absent) the format
    its model's checkpoint is published in (``checkpoint_precision``: Llama-3.1-405B-Instruct-FP8 fp8,
    gpt-oss mxfp4), as the schema fills it, so a plain DataFrame and the same rows read from a file get
    one key."""
    pc, precisions = _text_codes(configs, "precision", n, _precision)
    blank = pc == len(precisions) - 1
    if not blank.any():
        return pc, precisions
    mc, models = _text_codes(configs, "model", n, str)
    published = [checkpoint_precision(m) if m else precisions[-1] for m in models]
    return np.where(blank, len(precisions) - 1 + mc, pc), precisions[:-1] + published


def _canonical_gpu(value: Any) -> str:
    try:
        return gpu_spec(str(value)).name
    except (KeyError, ValueError):
        return str(value)  # a GPU not in the table is its own key


def latency_keys(configs: Any, by: str) -> tuple[np.ndarray, list[str | None]]:
    """(code per row, key per code): the row's ``by`` key (:func:`energylens.model.calibration.row_keys`),
    its weight precision (blank or absent: its checkpoint's, :func:`_precision_codes`) and its GPU (the GPU table's name), "<key> @ <precision> @
    <gpu>"; None for a row without a model. Vectorised: one name per distinct triple."""
    c, names = row_keys(configs, by)
    base = list(names) + [None]  # code -1 (no model) -> no key
    c = np.where(c < 0, len(base) - 1, c)
    pc, precisions = _precision_codes(configs, len(c))
    gc, gpus = _text_codes(configs, "gpu", len(c), _canonical_gpu)
    triples, inverse = np.unique(np.stack([c, pc, gc], axis=1), axis=0, return_inverse=True)
    keys = [None if base[i] is None else f"{base[i]} @ {precisions[j]} @ {gpus[g]}" for i, j, g in triples]
    return np.asarray(inverse, dtype=np.intp).reshape(-1), keys


def _log_offsets(cal: Calibration, k: np.ndarray, names: list[str | None]) -> np.ndarray:
    """Each row's log offset under ``cal`` (NaN: key not seen in training)."""
    return cal._per_code(names)[k] if len(names) else np.full(len(k), np.nan)


@dataclass(frozen=True)
class LatencyCalibration:
    """Per-output calibrations (None: no training row measured that output) keyed by ``by``."""

    by: str
    ttft_s: Calibration | None
    tpot_s: Calibration | None

    def factors(self, configs: Any) -> tuple[np.ndarray, np.ndarray]:
        """(TTFT factor, TPOT factor) of each row of ``configs``: exp(offset), 1 for a key not seen."""
        k, names = latency_keys(configs, self.by)  # ValueError naming the column when 'model' is absent
        return tuple(np.ones(len(k)) if cal is None  # type: ignore[return-value]
                     else np.exp(np.nan_to_num(_log_offsets(cal, k, names), nan=0.0))
                     for cal in (self.ttft_s, self.tpot_s))

    def factors_of(self, models: list[str], precisions: list[str], gpus: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """(TTFT factor, TPOT factor) of each (model, weight precision, GPU), e.g. a search space's combos."""
        return self.factors({"model": np.asarray(models, dtype=object),
                             "precision": np.asarray(precisions, dtype=object), "gpu": np.asarray(gpus, dtype=object)})

    def seen(self, configs: Any) -> np.ndarray:
        """Per row: did training see its key (for the TPOT offset, else the TTFT one)?"""
        cal = self.tpot_s if self.tpot_s is not None else self.ttft_s
        k, names = latency_keys(configs, self.by)
        return np.zeros(len(k), dtype=bool) if cal is None else np.isfinite(_log_offsets(cal, k, names))

    def describe(self, top: int = 5) -> list[str]:
        lines = []
        for name, cal in zip(OUTPUTS, (self.ttft_s, self.tpot_s), strict=True):
            if cal is not None:
                lines += [f"latency {name} " + cal.describe(top)[0], *cal.describe(top)[1:]]
        return lines or [f"latency calibration by {self.by}: no measured TTFT or TPOT in training"]

    def to_state(self) -> dict[str, Any]:
        return {"by": self.by, **{name: None if c is None else c.to_state()
                                  for name, c in zip(OUTPUTS, (self.ttft_s, self.tpot_s), strict=True)}}


def _fit_one(pred: np.ndarray, meas: np.ndarray, c: np.ndarray, names: list, by: str) -> Calibration | None:
    """The shrunk offsets of one output (module docstring of :mod:`energylens.model.calibration`)."""
    key_of_row = np.array(list(names), dtype=object)[c]
    ok = np.array([k is not None for k in key_of_row], dtype=bool) & np.isfinite(meas) & (meas > 0) & (pred > 0)
    return shrunk_calibration(by, key_of_row, meas, pred) if ok.any() else None


def fit_latency_calibration(model: Any, frame: Any, by: str) -> LatencyCalibration:
    """The TTFT and TPOT offsets of a fitted latency model on its training rows ``frame``."""
    check_calibration_key(by)
    c, names = latency_keys(frame, by)
    ev = _core.evaluate(model._template, model._columns(frame), model.theta)
    cals = []
    for name, pred in zip(OUTPUTS, (ev.out0, ev.out1), strict=True):
        meas = np.asarray(frame[name], dtype=np.float64) if name in frame else np.full(len(pred), np.nan)
        cals.append(_fit_one(np.asarray(pred, dtype=np.float64), meas, c, names, by))
    return LatencyCalibration(by, *cals)


def read_latency_calibration(state: Any, where: str) -> LatencyCalibration | None:
    """The calibration a model file's latency state holds (None when absent); ModelFileError naming the key."""
    if state is None:
        return None
    if not isinstance(state, dict) or set(state) != _STATE_KEYS:
        raise ModelFileError(f"{where} calibration: expected an object with keys {sorted(_STATE_KEYS)}")
    try:
        by = check_calibration_key(state["by"])
    except ValueError as exc:
        raise ModelFileError(f"{where} calibration: {exc}") from None
    if by is None:
        raise ModelFileError(f"{where} calibration: 'by' must name a key")
    cals = [read_calibration(state[name], f"{where} {name}") for name in OUTPUTS]
    if any(cal is not None and cal.by != by for cal in cals):
        raise ModelFileError(f"{where} calibration: the outputs' keys differ from 'by' = {by!r}")
    return LatencyCalibration(by, *cals)
