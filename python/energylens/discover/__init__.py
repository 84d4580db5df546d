"""Discover: symbolic regression over profiling data, to find which terms energy needs.

From scratch (energy per request, or a phase, over the template's physically meaningful groups) or on
the fitted template's log-residuals (the terms it lacks). Backends: pyoperon (default) and PySR (when
Julia is present). Fronts are refitted and scored natively; a chosen expression becomes an energy model
through ``EnergyModel.from_expression``. Imports :mod:`energylens.profiles`, :mod:`energylens.model`
and :mod:`energylens.compare`.
"""

import importlib
from typing import Any

# Public name -> defining module, imported on first access: ``energylens doctor`` reads the backend choice
# (discover.select) without paying for SymPy and matplotlib, which the search and report need.
_LAZY = {
    "discover": "search", "DiscoveryResult": "result", "FrontEntry": "result", "DiscoveryInterrupted": "result", "TARGETS": "search",
    "expression_model": "adopt", "fit_front_expression": "adopt", "shown": "result", "heldout_counts": "search", "load_discovery": "result", "recounted_note": "result", "write_report": "report", "select_backend": "select",
    "BackendChoice": "select", "BackendUnavailable": "select", "DiscoveredExpression": "method",
}

__all__ = ["discover", "DiscoveryResult", "DiscoveryInterrupted", "FrontEntry", "TARGETS", "select_backend", "BackendChoice",
           "BackendUnavailable", "write_report", "expression_model", "fit_front_expression", "shown", "heldout_counts", "load_discovery",
           "recounted_note", "DiscoveredExpression"]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'energylens.discover' has no attribute {name!r}")
    return getattr(importlib.import_module(f"energylens.discover.{module}"), name)
