"""Model: the closed-form energy and latency models (fit, predict, intervals, persistence), their NumPy
reference (:mod:`.reference`, the test oracle), their sympy forms (:mod:`.symbolic`), device-array
evaluation (:mod:`.device`) and the model file (:mod:`.persistence`). Feature and parameter names come from
the native TemplateDescriptor (``_core.describe_template``), never retyped.

Takes frames or feature arrays; the only file formats it knows are its own model files. Imports
:mod:`energylens.profiles` (features, validation), :mod:`energylens.errors` and the native core.
"""

from energylens.model.closed_form import MODEL_FILE_VERSION, EnergyModel, LatencyModel, load_model
from energylens.model.fit_summary import FitSummary, Param

__all__ = ["EnergyModel", "LatencyModel", "Param", "FitSummary", "load_model", "MODEL_FILE_VERSION", "ExpressionEnergyModel"]


def __getattr__(name: str):
    """``ExpressionEnergyModel`` loads on first access (it needs SymPy; the template path does not)."""
    if name == "ExpressionEnergyModel":
        from energylens.model.expression import ExpressionEnergyModel

        return ExpressionEnergyModel
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
