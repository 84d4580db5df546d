"""A discovery result file's text for tests: a front of the given formulas, as ``energylens discover`` writes it
(needs sympy: callers importorskip it first)."""

from __future__ import annotations

import sympy as sp

from energylens.discover.result import DiscoveryResult, FrontEntry
from energylens.profiles.features import FEATURE_NAMES


def discovery_json(*formulas: str) -> str:
    """The JSON of a discovery on ``elsewhere.csv`` whose front holds ``formulas`` (complexities 5, 6, ...), entry 0
    chosen."""
    names = {n: sp.Symbol(n, positive=True) for n in FEATURE_NAMES}  # as discover writes its formulas
    front = [FrontEntry(complexity=5 + i, expression=f, latex="", cv_error=0.1,
                        formula=sp.srepr(sp.sympify(f, locals=names)), heldout={"mape": 0.1})
             for i, f in enumerate(formulas)]
    return DiscoveryResult(target="energy", backend="operon", backend_reason="test", seed=0, n_train=10,
                           n_heldout=5, variables={}, front=front, template={"mape": 0.1}, chosen=0, seconds=1.0,
                           profiles="elsewhere.csv").to_json()
