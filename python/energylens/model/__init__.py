"""Model: the closed-form energy and latency models (fit, predict, intervals, persistence), their NumPy
reference (:mod:`.reference`, the test oracle), their sympy forms (:mod:`.symbolic`), device-array
evaluation (:mod:`.device`) and the model file (:mod:`.persistence`). Feature and parameter names come from
the native TemplateDescriptor (``_core.describe_template``), never retyped.

Takes frames or feature arrays; the only file formats it knows are its own model files. Imports
:mod:`energylens.profiles` (features, validation), :mod:`energylens.errors` and the native core.
"""

from energylens.model.closed_form import (
    MODEL_FILE_VERSION,
    EnergyModel,
    FitSummary,
    LatencyModel,
    Param,
    load_model,
)

__all__ = ["EnergyModel", "LatencyModel", "Param", "FitSummary", "load_model", "MODEL_FILE_VERSION"]
