"""A prior for the energy fit: pull the 12 parameters toward those of another fit (opt-in).

``EnergyModel(prior="bundled")`` adds, per parameter, the residual sqrt(w) (log(theta_j + c_j) -
log(prior_j + c_j)) to the native fit (c_j = 1e-3 x the parameter's upper bound; ``FitOptions.prior``),
so a few measurements of a new GPU or serving stack borrow the rest from a fit on other data: a weak
pull that the measurements outweigh as they grow, and a fit from fewer rows than parameters becomes
possible. The prior is:

* ``"bundled"``: the template fitted on the bundled ML.ENERGY v2 rows (vLLM 0.5.4, A100 / H100);
* a model file (``energylens fit`` output) or a fitted :class:`~energylens.model.EnergyModel`;
* the 12 values themselves, in template order (what a model file saves, so a refit is reproducible).

``prior_weight`` w defaults to :data:`DEFAULT_PRIOR_WEIGHT`. Measured (``python bench/prior_transfer.py``,
docs/model.md "Accuracy round 8"): on ML.ENERGY v3 H100 the bundled prior lifts held-out Top-1 from 0.876
to 0.926 when fitted on 20 rows and from 0.931 to 0.951 on 50 (MAPE 0.184 -> 0.174 and 0.155 -> 0.155); in
the other direction (the v2 rows under a prior fitted on the v3 rows) it helps on 20 rows (Top-1 0.749 ->
0.767) but costs Top-1 on 50 (0.786 -> 0.767): a prior from another stack can pull a stack's own ranking,
so it is an option, not the default.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["DEFAULT_PRIOR_WEIGHT", "prior_values", "checked_prior_weight"]

#: Weight w of the prior's residuals when a prior is given without one.
DEFAULT_PRIOR_WEIGHT = 0.01


def prior_values(prior: Any, desc: Any) -> tuple[float, ...]:
    """The 12 values of a prior given as numbers (template order), each finite and within its bounds.
    (``"bundled"``, model files and fitted models are resolved by ``EnergyModel``, which fits and reads
    them: :func:`energylens.model.closed_form.resolve_prior`.)"""
    names = list(desc.param_names)
    if isinstance(prior, Mapping):  # name -> value, or a fitted model's ``params`` (name -> Param)
        unknown, missing = sorted(set(prior) - set(names)), [n for n in names if n not in prior]
        if unknown or missing:
            raise ValueError(f"prior: a mapping needs exactly the parameters of {desc.id}; "
                             f"unknown {unknown}, missing {missing}")
        prior = [getattr(prior[n], "value", prior[n]) for n in names]
    try:
        values = np.asarray(prior, dtype=np.float64).ravel()
    except (TypeError, ValueError):
        raise ValueError(f"prior must be 'bundled', a model file, a fitted EnergyModel, {len(names)} numbers in "
                         f"the order of {desc.id}'s parameters or a mapping name -> value; got "
                         f"{type(prior).__name__}") from None
    if values.size != len(names):
        raise ValueError(f"prior: {values.size} values for the {len(names)} parameters of {desc.id} "
                         f"({', '.join(names)}), or 'bundled', a model file or a fitted EnergyModel")
    for j, name in enumerate(names):
        lo, hi = float(desc.lower[j]), float(desc.upper[j])
        if not (math.isfinite(values[j]) and lo <= values[j] <= hi):
            raise ValueError(f"prior: {name} = {float(values[j])!r} is outside its bounds [{lo:g}, {hi:g}]")
    return tuple(map(float, values))


def checked_prior_weight(prior_weight: float | None, values: tuple[float, ...] | None) -> float:
    """The weight of a prior's residuals: ``prior_weight``, or :data:`DEFAULT_PRIOR_WEIGHT` with a prior and 0
    without when None; ValueError unless finite and >= 0, and > 0 only with a prior (``values`` not None)."""
    weight = (DEFAULT_PRIOR_WEIGHT if values is not None else 0.0) if prior_weight is None else float(prior_weight)
    if not (math.isfinite(weight) and weight >= 0) or (weight > 0 and values is None):
        raise ValueError(f"prior_weight must be finite and >= 0, and > 0 only with a prior; got {prior_weight!r} "
                         f"with prior {'given' if values is not None else 'None'}")
    return weight
