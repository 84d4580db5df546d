"""A discovery's front expression as a compared method of :mod:`energylens.compare` (``energylens evaluate
--expression``), so it is scored on the same splits as the template and the baselines.

Each fit is the Python route of docs/discover.md on the split's training rows, as ``energylens fit --expression``
takes it: ``fit_front_expression(result, index, train_rows, bootstrap=0, seed=seed)`` for an ``energy`` discovery; for a ``residual`` one the template is first
fitted on the same training rows (``EnergyModel(bootstrap=0, seed=seed).fit(train_rows, latency=False)``) and
``template x exp(g)`` refits g's constants, as the discovery scored it. Imports :mod:`energylens.compare` and
:mod:`energylens.model`.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from energylens.compare.methods import MethodBase
from energylens.discover.adopt import fit_front_expression, front_formula, no_expression
from energylens.discover.result import DiscoveryResult
from energylens.errors import DegenerateFitWarning
from energylens.model import EnergyModel

__all__ = ["DiscoveredExpression", "expression_method_name", "front_index"]


def front_index(result: DiscoveryResult, index: int | None) -> int:
    """The front index ``index`` names (None: the chosen one); a ValueError naming the front's size otherwise."""
    n = len(result.front)
    if not n:  # found none: why and what to rerun, as fit --expression says
        raise ValueError(no_expression(result))
    if index is None:
        if result.chosen is None:
            raise ValueError("this discovery result has no scored expression (its run was interrupted before one "
                             "was scored): rerun the discovery, or pick a front index")
        return int(result.chosen)
    if not 0 <= index < n:
        raise ValueError(f"index {index}: this discovery's front holds {n} expression(s), index 0..{n - 1} (the "
                         "first column of discover's table)")
    return int(index)


def expression_method_name(result: DiscoveryResult, index: int) -> str:
    """The method's label in the evaluation's tables: ``discovered<INDEX>-c<COMPLEXITY>`` (front entry and its
    complexity, as discover's table numbers them)."""
    return f"discovered{index}-c{result.front[index].complexity}"


class DiscoveredExpression(MethodBase):
    """Front entry ``index`` (None: the chosen one) of a discovery ``result`` (``load_discovery(path)``), refitted
    on each split's training rows (``bootstrap=0``, seeded with the method's seed). ``model_options`` go to
    :meth:`EnergyModel.from_expression` (``residual``, ``loss``, ``n_starts``, ``max_iterations``, ...). No
    latency model: the TPOT SLO filter uses the measured TPOT, as for every method without one.

    A discovery of target ``prefill`` / ``decode`` (a phase's energy, not energy per request), an index outside the
    front, or a formula that does not compile is a ValueError here, before any fit.
    """

    predicts_energy_scale = True

    def __init__(self, result: DiscoveryResult, index: int | None = None, *, name: str | None = None, seed: int = 0,
                 **model_options: Any) -> None:
        if result.target not in ("energy", "residual"):
            raise ValueError(f"a discovery of target {result.target!r} models one phase's energy, not energy per "
                             "request: evaluate an 'energy' or 'residual' discovery")
        self.index = front_index(result, index)
        self.result = result
        self.seed = seed
        self.model_options = dict(model_options)
        self.name = name if name is not None else expression_method_name(result, self.index)
        front_formula(result.front, self.index)  # a formula that does not parse: said now, not in every fit
        self._model: Any = None

    @property
    def complexity(self) -> int:
        """The front entry's complexity (nodes, as discover's table counts them)."""
        return int(self.result.front[self.index].complexity)

    @property
    def expression(self) -> str:
        """The front entry's expression as discover printed it."""
        return str(self.result.front[self.index].expression)

    def fit(self, train_df: pd.DataFrame) -> DiscoveredExpression:
        with warnings.catch_warnings():  # the curve fits on as few rows as there are constants on purpose, as
            warnings.simplefilter("ignore", DegenerateFitWarning)  # ClosedForm does; the scores show it
            template = None
            if self.result.target == "residual":  # g corrects the template fitted on the same training rows
                template = EnergyModel(bootstrap=0, seed=self.seed).fit(train_df, latency=False)
            self._model = self._refit(train_df, template)
        return self

    def _refit(self, train_df: pd.DataFrame, template: EnergyModel | None) -> Any:
        """The route's fit from the start the discovery's own refit takes (:func:`fit_front_expression`: where the
        discovery's constants predict <= 0 energy on a training row, the relative error first, then the log
        residual from there). A ValueError where no fit can evaluate the rows (the runner records the split as
        failed)."""
        opts = {"bootstrap": 0, "seed": self.seed, **self.model_options}
        model = fit_front_expression(self.result, self.index, train_df, template=template, **opts)
        if model.summary.status == "non_finite" and template is None and opts.get("residual", "log") == "log":
            raise ValueError(f"{self.name}: no fit on the {len(train_df)} training rows: the expression is not finite "
                             "there, with the discovery's constants or a relative-error fit")
        return model

    def run_notes(self) -> Mapping[str, float]:
        """``converged``: 1 where the last fit converged, 0 where it stopped short (its predictions are still
        scored, as the template's are); the runner averages it per split family (``info["notes"]``)."""
        s = None if self._model is None else self._model.summary
        return {} if s is None else {"converged": float(bool(s.converged))}

    def predict_energy(self, df: pd.DataFrame) -> np.ndarray:
        if self._model is None:
            raise RuntimeError(f"{self.name}: predict_energy called before fit")
        return np.asarray(self._model.predict(df, check_range=False), dtype=float)  # splits extrapolate on purpose
