"""Discover: symbolic regression over profiling data, to find which terms energy needs.

From scratch (energy per request, or a phase, over the template's physically meaningful groups) or on
the fitted template's log-residuals (the terms it lacks). Backends: pyoperon (default) and PySR (when
Julia is present). Fronts are refitted and scored natively; a chosen expression becomes an energy model
through ``EnergyModel.from_expression``. Imports :mod:`energylens.profiles`, :mod:`energylens.model`
and :mod:`energylens.compare`.
"""

from energylens.discover.backends import BackendChoice, BackendUnavailable, select_backend
from energylens.discover.report import write_report
from energylens.discover.search import TARGETS, DiscoveryResult, FrontEntry, discover, expression_model

__all__ = ["discover", "DiscoveryResult", "FrontEntry", "TARGETS", "select_backend", "BackendChoice",
           "BackendUnavailable", "write_report", "expression_model"]
