"""Active profiling: measure next where the fitted model's bootstrap is least sure about the optimum.

Candidates are grouped as configuration choice is judged (``task, model, gpu`` by default, the
evaluation's groups). After each measurement the closed-form :class:`EnergyModel` is refitted with a
small bootstrap; each replicate's predictions (measured rows keep their measured energy) give, per
group, how often each candidate is the cheapest: ``p_opt``. An unmeasured candidate scores

    score = p_opt * (1 - p_opt) + p_opt * [group not settled] + w * rel_spread / max(rel_spread)

i.e. contested optima first, then the most probable optimum of a group whose optimum is still
unmeasured, then (weight ``w``) the widest relative bootstrap spread, which keeps MAPE improving.
Until ``min_rows`` rows are measured (the 12 parameters need at least 12), picks are uniform at random.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from energylens.model import EnergyModel

__all__ = ["ActiveChooser", "acquisition_scores", "DEFAULT_GROUP_BY"]

DEFAULT_GROUP_BY = ("task", "model", "gpu")


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
    row to measure next, ``None`` when every row is measured.
    """

    candidates: pd.DataFrame
    group_by: Sequence[str] = DEFAULT_GROUP_BY
    min_rows: int = 15
    bootstrap: int = 40
    seed: int = 0
    spread_weight: float = 3.0
    coverage_weight: float = 0.0

    def __post_init__(self) -> None:
        self._rng = np.random.default_rng(self.seed)
        self._groups = _group_codes(self.candidates, self.group_by)
        self.last_model: EnergyModel | None = None

    def next_index(self, measured_energy: dict[int, float]) -> int | None:
        n = len(self.candidates)
        measured = np.zeros(n, dtype=bool)
        measured[list(measured_energy)] = True
        free = np.flatnonzero(~measured)
        if free.size == 0:
            return None
        if measured.sum() < self.min_rows:
            return int(self._rng.choice(free))
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
            return int(self._rng.choice(free))
        score = acquisition_scores(boot, measured, energy, self._groups, self.spread_weight, self.coverage_weight)
        return int(np.argmax(score))
