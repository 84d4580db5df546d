"""What a compared method is: the :class:`Method` protocol (every member the runner reads), the defaults of
:class:`MethodBase`, the check the runner applies (:func:`check_method`), and ours, :class:`ClosedForm`.

A method has a ``name``, ``fit(train_df) -> self``, ``predict_energy(df) -> ndarray`` (joules per request,
one value per row), ``has_tpot()`` / ``predict_tpot(df)`` (seconds per output token, where the method has a
latency model), ``predicts_energy_scale`` (``False`` for a method whose "energy" is only a ranking score:
MAPE is then not defined for it) and ``run_notes()`` (numbers about its last prediction that the report
shows). The baselines are in :mod:`energylens.compare.baselines`, the list of methods a comparison runs
in :mod:`energylens.compare.registry`.

Imports :mod:`energylens.model` (ours) only.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from energylens.errors import DegenerateFitWarning
from energylens.model import EnergyModel

__all__ = ["Method", "MethodBase", "METHOD_MEMBERS", "check_method", "ClosedForm"]


@runtime_checkable
class Method(Protocol):
    """Every member ``energylens.compare.runner`` reads from a method; it reads nothing else.

    ``name``: the method's label in every table. ``predicts_energy_scale``: ``False`` when
    ``predict_energy`` is only a ranking score (MAPE is then n/a). ``fit`` returns the method itself.
    ``has_tpot()``: whether ``predict_tpot`` works after this fit; when it is ``False`` the TPOT SLO filter
    uses the measured TPOT (said in the table). ``run_notes()``: numbers about the last
    ``predict_energy`` call that the report shows, averaged per split family (e.g. wilkins2024's
    ``pooled_fraction``); empty for most methods.
    """

    name: str
    predicts_energy_scale: bool

    def fit(self, train_df: pd.DataFrame) -> Method: ...

    def predict_energy(self, df: pd.DataFrame) -> np.ndarray: ...

    def has_tpot(self) -> bool: ...

    def predict_tpot(self, df: pd.DataFrame) -> np.ndarray: ...

    def run_notes(self) -> Mapping[str, float]: ...


#: The members of :class:`Method`, in the order :func:`check_method` reports missing ones.
METHOD_MEMBERS = ("name", "predicts_energy_scale", "fit", "predict_energy", "has_tpot", "predict_tpot",
                  "run_notes")


class MethodBase:
    """Defaults for a :class:`Method`: an energy scale, no latency model, no run notes.

    Subclasses set ``name`` and implement ``fit`` and ``predict_energy``; a method with a latency model
    overrides ``has_tpot`` and ``predict_tpot``.
    """

    name: str = ""
    predicts_energy_scale: bool = True

    def fit(self, train_df: pd.DataFrame) -> MethodBase:
        raise NotImplementedError(f"{type(self).__name__} does not implement fit")

    def predict_energy(self, df: pd.DataFrame) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} does not implement predict_energy")

    def has_tpot(self) -> bool:
        return False

    def predict_tpot(self, df: pd.DataFrame) -> np.ndarray:
        raise NotImplementedError(f"{self.name} has no latency model")

    def run_notes(self) -> Mapping[str, float]:
        return {}


def check_method(method: Any) -> None:
    """``TypeError`` naming the :class:`Method` members ``method`` lacks (the runner calls it per method)."""
    missing = [m for m in METHOD_MEMBERS if not hasattr(method, m)]
    if missing:
        label = getattr(method, "name", type(method).__name__)
        raise TypeError(f"method {label!r} ({type(method).__name__}) lacks {missing} of the Method protocol "
                        f"(energylens.compare.methods.Method); subclass MethodBase for the defaults")


class ClosedForm(MethodBase):
    """Ours: the closed-form energy model, ``energylens.model.EnergyModel``.

    Fitted with ``bootstrap=0`` (the evaluation needs point predictions only) and the model's
    default seeded multi-start. TPOT comes from the ``LatencyModel`` that ``EnergyModel.fit`` fits
    alongside when the rows carry ``tpot_s``; without it ``has_tpot()`` is false and the
    evaluation uses measured TPOT for its SLO filter (said in the table).
    """

    predicts_energy_scale = True

    def __init__(self, name: str = "energylens", seed: int = 0, calibration: str | None = None,
                 model_options: dict[str, Any] | None = None) -> None:
        self.name = name
        self.seed = seed
        self.calibration = calibration  # opt-in offsets per key (energylens.model.calibration), None: none
        self.model_options = dict(model_options or {})  # further EnergyModel options (e.g. prior, prior_weight)
        self._model: Any = None
        self._latency: Any = None

    def fit(self, train_df: pd.DataFrame) -> ClosedForm:
        with warnings.catch_warnings():  # the sample-efficiency curve fits on as few rows as there are
            warnings.simplefilter("ignore", DegenerateFitWarning)  # parameters on purpose; scores show it
            self._model = EnergyModel(bootstrap=0, seed=self.seed, calibration=self.calibration,
                                      **self.model_options).fit(train_df)
        self._latency = self._model.latency_model
        return self

    def predict_energy(self, df: pd.DataFrame) -> np.ndarray:
        if self._model is None:
            raise RuntimeError("ClosedForm.predict_energy called before fit")
        return np.asarray(self._model.predict(df, check_range=False), dtype=float)  # splits extrapolate on purpose

    def has_tpot(self) -> bool:
        return self._latency is not None

    def predict_tpot(self, df: pd.DataFrame) -> np.ndarray:
        if self._latency is None:
            raise NotImplementedError("no latency model was fitted")
        return self._latency.predict(df, check_range=False)["tpot_s_pred"].to_numpy(dtype=float)
