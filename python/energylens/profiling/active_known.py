"""When active profiling stops before its budget: the fitted model is *known*.

After each active choice (the start design is done, the closed-form model refitted with its bootstrap) the
fit is read (:func:`read_fit`): for every group of candidates (a sweep's ``model, gpu, input and output
lengths``) its **pick**, the candidate most bootstrap replicates call the cheapest (measured rows keep
their measured energy), and that share, ``p_opt``; and the **interval width**, the median over the
unmeasured candidates of the bootstrap's 90 % interval of the predicted energy relative to its median
(``(q95 - q5) / q50``). A fit is *known* when every group's pick has ``p_opt >= 0.9`` and the width is at most
the target (``--known-width``, 0.20 by default: the unmeasured configurations predicted within about +-10 %, the
closed-form model's held-out error on measured data, MAPE ~0.12 on ML.ENERGY v2). The model is known, and the sweep stops, when the last
``fits`` (3) fits were each known and named the same pick in every group: three measurements, each where the
model was least sure, moved no pick and left the intervals within the target.

Why these: what a sweep is for is the pick per group and the predictions around it; ``p_opt`` is the
bootstrap's own word on the pick (the chooser's ``settled`` test uses 0.95 of the measured rows), the width
its word on the predictions the user will read for unmeasured configurations; the run of unchanged fits
guards against one lucky refit. The bootstrap measures the fit's noise, not the template's bias: a template
that fits a sweep badly can still look sure, so --budget stays the bound (docs/profiling.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["Fit", "KnownRule", "read_fit", "fit_to_json", "fit_from_json", "STOPS", "P_OPT", "FITS", "WIDTH"]

STOPS = ("known", "budget")
P_OPT = 0.9  #: a pick is settled when this share of the bootstrap replicates call it the cheapest
FITS = 3  #: consecutive known fits with the same picks that make the model known
WIDTH = 0.20  #: default target of the median relative 90 % interval width


@dataclass(frozen=True)
class Fit:
    """One fit's reading: each group's pick (a candidate's label), how many picks are settled, of how many
    groups, and the median relative 90 % interval width over the unmeasured candidates (0 when none is left)."""

    picks: tuple[str, ...]
    settled: int
    groups: int
    width: float


def read_fit(boot: np.ndarray, energy: np.ndarray, groups: np.ndarray, labels: Sequence[str],
             p_opt: float = P_OPT) -> Fit:
    """The reading of bootstrap predictions ``boot`` (B, n): ``energy`` the measured energy (NaN where not
    measured), ``groups`` the candidates' group codes, ``labels`` their names (a pick is named by its label)."""
    measured = np.isfinite(energy)
    vals = np.where(measured[None, :], energy[None, :], boot)
    picks, settled = [], 0
    for g in np.unique(groups):
        idx = np.flatnonzero(groups == g)
        votes = np.bincount(np.argmin(vals[:, idx], axis=1), minlength=len(idx))
        picks.append(str(labels[idx[int(np.argmax(votes))]]))
        settled += votes.max() / boot.shape[0] >= p_opt
    width = 0.0
    if (~measured).any():
        lo, mid, hi = np.quantile(boot[:, ~measured], [0.05, 0.5, 0.95], axis=0)
        width = float(np.median((hi - lo) / np.maximum(mid, 1e-300)))
    return Fit(tuple(picks), int(settled), len(picks), width)


def fit_to_json(fit: Fit | None) -> dict[str, Any] | None:
    """A reading as JSON (``None``: a fit without a bootstrap), for the store's record of the rule."""
    return None if fit is None else {"picks": list(fit.picks), "settled": fit.settled, "groups": fit.groups,
                                     "width": fit.width}


def fit_from_json(obj: Any) -> Fit | None:
    """The reading :func:`fit_to_json` wrote; ValueError where ``obj`` is not one."""
    if obj is None:
        return None
    try:
        picks, settled, groups, width = obj["picks"], obj["settled"], obj["groups"], obj["width"]
        if not (isinstance(picks, list) and all(isinstance(p, str) for p in picks)):
            raise TypeError("picks")
        return Fit(tuple(picks), int(settled), int(groups), float(width))
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"not a fit's reading ({type(exc).__name__}: {exc})") from None


@dataclass
class KnownRule:
    """The stop rule: :meth:`add` each active fit's reading (``None``: a fit without a bootstrap, which breaks
    the run); :attr:`known` once the last ``fits`` readings are each known with the same picks."""

    width: float = WIDTH
    fits: int = FITS
    history: list[Fit | None] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not 0 < self.width <= 1:
            raise ValueError(f"--known-width is a relative interval width in (0, 1] (0.1: 10 %), got {self.width!r}")
        if self.fits < 1:
            raise ValueError(f"fits must be >= 1, got {self.fits!r}")

    def add(self, fit: Fit | None) -> None:
        self.history.append(fit)

    def fit_known(self, fit: Fit | None) -> bool:
        return fit is not None and fit.settled == fit.groups and fit.width <= self.width

    @property
    def streak(self) -> int:
        """How many of the last readings are known with the picks of the last one."""
        n = 0
        for fit in reversed(self.history):
            if not self.fit_known(fit) or fit.picks != self.history[-1].picks:
                break
            n += 1
        return n

    @property
    def known(self) -> bool:
        return self.streak >= self.fits

    def describe(self) -> str:
        """The progress line's account of the last reading: ``model: 3 of 4 picks settled, intervals 14 %
        (target 10 %), known 0 of 3 fits``."""
        fit = self.history[-1] if self.history else None
        if fit is None:
            return "model: no bootstrap fit"
        return (f"model: {fit.settled} of {fit.groups} picks settled, intervals {100 * fit.width:.0f} % "
                f"(target {100 * self.width:.0f} %), known {min(self.streak, self.fits)} of {self.fits} fits")
