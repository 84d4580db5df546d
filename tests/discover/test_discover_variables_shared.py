"""The energy discovery's variables were defined twice (discover/variables.py and model/discovery_names.py, which
EnergyModel.from_expression reads a pasted formula's variables by), kept equal only by a test. discover now builds
them from model.discovery_names: the ``variables:`` line it prints is those definitions, so a formula pasted from
its table is read by the very definitions it was searched over."""
from __future__ import annotations

import sympy as sp

from energylens.discover import search as ds
from energylens.discover.variables import energy_variables, feature_symbol
from energylens.model.discovery_names import discovery_energy_variables
from energylens.profiles.features import FEATURE_NAMES


def test_discover_variables_are_the_shared_definitions():
    positive = {n: feature_symbol(n) for n in FEATURE_NAMES}
    assert energy_variables() == discovery_energy_variables(positive)


def test_the_printed_variables_line_is_what_a_pasted_formula_reads(monkeypatch):
    e_mem = sp.Symbol("E_mem")
    monkeypatch.setattr(ds, "run_backend", lambda *a, **k: [(5, 2.0 * e_mem + 1.0)])
    result = ds.discover("bundled", train_size=352, progress=False)
    shared = discovery_energy_variables()
    assert result.variables == {k: str(v) for k, v in shared.items()}
    for name, text in result.variables.items():  # the printed text reads back as the definition from_expression uses
        assert sp.simplify(sp.sympify(text) - shared[name]) == 0, name
