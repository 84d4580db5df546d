"""Active profiling: a D-optimal start, then measure next where the fitted model's bootstrap is least
sure about the optimum and where a measurement most lowers the candidates' prediction variance.

**Start (design).** Until ``min_rows`` rows are measured there is no fit to ask. The start is a greedy,
locally D-optimal design for the closed-form energy template: at the template's start parameters
``theta0`` (no measured energy involved), each candidate's sensitivity row ``d log E / d log theta`` is
computed (:func:`relative_jacobian`), and the next row is the one that most increases
``log det`` of the measured rows' information matrix (:func:`d_optimal_gain`). The first row is drawn
with the seed. A random start often leaves parameters unidentified (no multi-GPU row for the
all-reduce term, no large batch for the per-sequence overhead) and the first fits then extrapolate
badly; the design covers every direction the 12 parameters act in before exploiting.
``design="random"`` keeps the uniform random start.

**Then.** Candidates are grouped as configuration choice is judged (``task, model, gpu`` by default, the
evaluation's groups). After each measurement the closed-form :class:`EnergyModel` is refitted with a
small bootstrap; each replicate's predictions (measured rows keep their measured energy) give, per
group, how often each candidate is the cheapest: ``p_opt``. An unmeasured candidate scores

    score = p_opt * (1 - p_opt) + p_opt * [group not settled] + w_info * gain / max(gain)
            (+ w_spread * rel_spread / max(rel_spread), 0 by default)

i.e. contested optima first, then the most probable optimum of a group whose optimum is still
unmeasured, then (weight ``w_info``) the information gain at the *fitted* parameters. By default
(``information="i-optimal"``) that gain is :func:`i_optimal_gain`: how much the measurement lowers the
summed predicted variance of ``log E`` over the unmeasured candidates, i.e. the error the user will see
on the configurations not measured. ``information="d-optimal"`` (the chooser before) uses the
parameters' joint variance, :func:`d_optimal_gain`, which weighs every parameter direction alike: once
the start has identified them it kept returning to the few extreme rows that load on rarely used
directions (TP 8, PP 2, the largest models: 37 % / 19 % / 43 % of its picks 20-42 on v2
against 17 % / 5 % / 21 % of the rows), and the held-out MAPE on v2 stalled at 0.119 from 20 to 40
measurements (docs/profiling.md section 6.1; on the template before the pipeline-microbatch change: on
today's both terms reach random-50 on v2 at 32-33 measurements, and on v3 at 12). The start stays D-optimal: before any fit, identifying
every parameter matters more than the candidates' average (``start_information="i-optimal"`` measured
worse on v2 and v3). The older spread term (the single row whose own prediction scatters most) kept picking
extreme configurations where the template fits worst.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from energylens import _core
from energylens.model import EnergyModel
from energylens.profiles import build_features

__all__ = ["ActiveChooser", "acquisition_scores", "d_optimal_gain", "relative_jacobian", "DEFAULT_GROUP_BY",
           "DESIGNS", "i_optimal_gain", "INFORMATION"]

DEFAULT_GROUP_BY = ("task", "model", "gpu")
DESIGNS = ("d-optimal", "random")
_TEMPLATE = "energy"  # the native template EnergyModel fits (tests check the parameter names agree)


def relative_jacobian(candidates: pd.DataFrame, theta: np.ndarray | None = None) -> np.ndarray:
    """Sensitivity of the log energy to each parameter, ``d log E / d theta * theta0``, shape (rows, 12).

    ``theta``: where to evaluate (default: the template's start values ``theta0``). Scaling by ``theta0``
    (not by ``theta``) keeps a parameter fitted at its bound of 0 in the design.
    """
    desc = _core.describe_template(_TEMPLATE)
    theta0 = np.asarray(desc.init, dtype=np.float64)
    th = theta0 if theta is None else np.asarray(theta, dtype=np.float64)
    feats = build_features(candidates)
    cols = [np.ascontiguousarray(feats[n], dtype=np.float64) for n in desc.feature_names]
    ev = _core.evaluate(_TEMPLATE, cols, th, jacobian=True)
    energy = np.maximum(ev.out0 + ev.out1, 1e-300)
    return (ev.jacobian0 + ev.jacobian1) * theta0[None, :] / energy[:, None]


def _information(jac, measured: np.ndarray, ridge: float):
    """What both information criteria start from: ``jac`` as float64, the rows with a finite sensitivity,
    ``jac`` with the other rows zeroed, and ``(ridge I + J_m^T J_m)^+`` over the finite measured rows."""
    jac = np.asarray(jac, dtype=np.float64)
    ok = np.isfinite(jac).all(axis=1)
    jm = jac[measured & ok]
    a = np.linalg.pinv(ridge * np.eye(jac.shape[1]) + jm.T @ jm)
    return jac, ok, np.where(ok[:, None], jac, 0.0), a


def d_optimal_gain(jac: np.ndarray, measured: np.ndarray, ridge: float = 1e-6) -> np.ndarray:
    """Increase of ``log det`` of the information matrix ``ridge I + J_m^T J_m`` (``J_m``: the measured
    rows of ``jac``) from measuring each row: ``log(1 + j M^-1 j^T)``; ``-inf`` for measured rows and rows
    whose sensitivity is not finite."""
    jac, ok, safe, a = _information(jac, measured, ridge)
    gain = np.log1p(np.maximum(np.einsum("ij,jk,ik->i", safe, a, safe), 0.0))
    gain[measured | ~ok] = -np.inf
    return gain


def i_optimal_gain(jac: np.ndarray, measured: np.ndarray, ridge: float = 1e-6) -> np.ndarray:
    """Decrease of the summed prediction variance ``sum_t j_t M^-1 j_t^T`` over the unmeasured rows ``t``
    (``M = ridge I + J_m^T J_m``) from measuring each row: ``j A S A j^T / (1 + j A j^T)`` with
    ``A = M^-1`` and ``S = J_t^T J_t`` (rank-one update of ``M``); ``-inf`` for measured rows and rows
    whose sensitivity is not finite. Unlike :func:`d_optimal_gain` it weighs each parameter direction by
    how much the candidates' predictions depend on it, so a direction only a few extreme rows load on
    counts for those few rows only."""
    jac, ok, safe, a = _information(jac, measured, ridge)
    jt = jac[~measured & ok]
    ja = safe @ a
    num = np.einsum("ij,jk,ik->i", ja, jt.T @ jt, ja)
    den = 1.0 + np.einsum("ij,ij->i", ja, safe)
    gain = np.maximum(num, 0.0) / np.maximum(den, 1e-300)
    gain[measured | ~ok] = -np.inf
    return gain


_CRITERIA = {"d-optimal": d_optimal_gain, "i-optimal": i_optimal_gain}
INFORMATION = tuple(_CRITERIA)


def _group_codes(frame: pd.DataFrame, group_by: Sequence[str]) -> np.ndarray:
    cols = [c for c in group_by if c in frame]
    if not cols:
        return np.zeros(len(frame), dtype=np.int64)
    return frame.groupby(cols, sort=False, dropna=False).ngroup().to_numpy()


def acquisition_scores(boot: np.ndarray, measured: np.ndarray, energy: np.ndarray, groups: np.ndarray,
                       spread_weight: float = 3.0, coverage_weight: float = 0.0) -> np.ndarray:
    """Score of every row (``-inf`` for measured rows) from bootstrap predictions ``boot`` (B, n).

    ``measured``: bool (n,); ``energy``: the measured energy where measured; ``groups``: codes (n,).
    """
    vals = np.where(measured[None, :], energy[None, :], boot)
    p_opt = np.zeros(boot.shape[1])
    for g in np.unique(groups):
        idx = np.flatnonzero(groups == g)
        winners = idx[np.argmin(vals[:, idx], axis=1)]
        counts = np.bincount(winners, minlength=boot.shape[1])[idx]
        p_opt[idx] = counts / boot.shape[0]
    unsettled = np.zeros(boot.shape[1], dtype=bool)
    for g in np.unique(groups):
        idx = np.flatnonzero(groups == g)
        unsettled[idx] = p_opt[idx][measured[idx]].sum() < 0.95  # the optimum may be an unmeasured row
    mean = np.maximum(boot.mean(axis=0), 1e-12)
    rel = boot.std(axis=0) / mean
    top = rel[~measured].max() if (~measured).any() else 1.0
    n_in_group = np.bincount(groups, weights=measured.astype(float))[groups]
    score = (p_opt * (1 - p_opt) + p_opt * unsettled + spread_weight * rel / max(top, 1e-12)
             + coverage_weight / (1.0 + n_in_group))
    score[measured] = -np.inf
    return score


@dataclass
class ActiveChooser:
    """Chooses rows of ``candidates`` (schema-v1 frame; ``energy_j`` ignored) one at a time.

    ``measured_energy``: row index -> measured energy per request (J). :meth:`next_index` returns the
    row to measure next, ``None`` when every row is measured. After an active (not start-design) choice,
    ``last_model`` is the fit it used and ``last_scores`` its score's two parts per row: ``"optimum"``
    (the p_opt terms, plus spread and coverage if weighted; ``-inf`` for measured rows) and
    ``"information"`` (``w_info * gain / max(gain)``); the chosen row maximises their sum; ``last_boot`` its
    bootstrap predictions (B, n) and ``last_energy`` the measured energies (NaN elsewhere). The choice
    depends only on the candidates, the measured rows and ``seed`` (so a resumed sweep continues where it
    stopped). ``design``: how the first ``min_rows`` rows are chosen, ``"d-optimal"`` (see the module
    docstring) or ``"random"``. ``information`` / ``start_information``: the information gain of the active phase / of the start
    design, ``"i-optimal"`` or ``"d-optimal"`` (:data:`INFORMATION`).
    """

    candidates: pd.DataFrame
    group_by: Sequence[str] = DEFAULT_GROUP_BY
    min_rows: int = 15
    bootstrap: int = 40
    seed: int = 0
    spread_weight: float = 0.0
    coverage_weight: float = 0.0
    design: str = "d-optimal"
    information_weight: float = 3.0
    information: str = "i-optimal"
    start_information: str = "d-optimal"

    def __post_init__(self) -> None:
        if self.design not in DESIGNS:
            raise ValueError(f"design must be one of {', '.join(DESIGNS)}, got {self.design!r}")
        for key in ("information", "start_information"):
            if getattr(self, key) not in _CRITERIA:
                raise ValueError(f"{key} must be one of {', '.join(INFORMATION)}, got {getattr(self, key)!r}")
        for key, low in (("bootstrap", 2), ("min_rows", 1), ("information_weight", 0), ("spread_weight", 0),
                         ("coverage_weight", 0)):  # (one replicate gives no p_opt; a negative weight inverts)
            if not getattr(self, key) >= low:
                raise ValueError(f"{key} must be >= {low}, got {getattr(self, key)!r}")
        self._groups = _group_codes(self.candidates, self.group_by)
        self._jac: np.ndarray | None = None
        self.last_model: EnergyModel | None = None
        self.last_scores: dict[str, np.ndarray] | None = None
        self.last_boot: np.ndarray | None = None
        self.last_energy: np.ndarray | None = None

    @property
    def groups(self) -> np.ndarray:
        """Each candidate's group code (``group_by``)."""
        return self._groups

    def _rng(self, n_measured: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, n_measured])

    def design_index(self, measured: np.ndarray) -> int:
        """The next row of the start design given the measured rows (bool mask, not all measured)."""
        free = np.flatnonzero(~measured)
        if self.design == "random" or not measured.any():
            return int(self._rng(int(measured.sum())).choice(free))
        if self._jac is None:
            with warnings.catch_warnings():  # e.g. architecture estimated for a local model: said by the fit
                warnings.simplefilter("ignore")
                self._jac = relative_jacobian(self.candidates)
        gain = _CRITERIA[self.start_information](self._jac, measured)
        return int(np.argmax(gain)) if np.isfinite(gain).any() else int(self._rng(int(measured.sum())).choice(free))

    def next_index(self, measured_energy: dict[int, float]) -> int | None:
        n = len(self.candidates)
        measured = np.zeros(n, dtype=bool)
        measured[list(measured_energy)] = True
        if measured.all():
            return None
        if measured.sum() < self.min_rows:
            return self.design_index(measured)
        energy = np.full(n, np.nan)
        for i, e in measured_energy.items():
            energy[i] = e
        train = self.candidates.iloc[np.flatnonzero(measured)].copy()
        train["energy_j"] = energy[measured]
        model = EnergyModel(bootstrap=self.bootstrap, n_starts=3, seed=self.seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(train, latency=False)
            boot = model.predict_bootstrap(self.candidates)
        self.last_model = model
        if boot.shape[0] < 2:
            return self.design_index(measured)
        optimum = acquisition_scores(boot, measured, energy, self._groups, self.spread_weight, self.coverage_weight)
        self.last_boot, self.last_energy = boot, energy
        information = np.zeros(n)
        if self.information_weight:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                gain = _CRITERIA[self.information](relative_jacobian(self.candidates, model.theta), measured)
            finite = np.isfinite(gain)
            if finite.any():
                top = max(float(gain[finite].max()), 1e-300)
                information = self.information_weight * np.where(finite, gain / top, 0.0)
        self.last_scores = {"optimum": optimum, "information": information}
        return int(np.argmax(optimum + information))
