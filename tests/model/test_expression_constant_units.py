"""An expression model's fitted constants (``EnergyModel.from_expression``, ``fit --expression``) were printed with
an empty unit column, where the template's parameters have units. A constant whose unit follows from where it
stands (a term of the energy, J per request; a factor inside exp() or log(), whose argument is a pure number)
and from the features' units (:data:`energylens.profiles.features.FEATURE_UNITS`) now has it; any other says
"unit not derived"."""

from __future__ import annotations

import pytest

pytest.importorskip("sympy")

from energylens.cli.main import main  # noqa: E402
from energylens.model import EnergyModel  # noqa: E402
from energylens.model.expression_units import NOT_DERIVED, constant_units  # noqa: E402


def _units(text: str, params=None) -> dict[str, str]:
    return {n: p.unit for n, p in EnergyModel.from_expression(text, params=params).params.items()}


def test_terms_of_the_energy_take_joules_over_their_features():
    u = _units("2.0 + 3.0*tp + 0.5*weight_bytes_per_step/hbm_bytes_per_s")
    assert u == {"c0": "J", "c1": "J", "c2": "J/s"}


def test_factors_inside_exp_and_log_make_their_argument_a_number():
    u = _units("5.0*tdp_w*exp(-0.2*batch_size)*log(0.1*peak_flops_per_s)")
    assert u["c0"] == "J/W"
    assert u["c1"] == "1/sequences" and u["c2"] == "s/FLOP"


def test_a_constant_with_no_single_place_says_so():
    u = _units("a*b*tp + sqrt(c + tp)", {"a": 2.0, "b": 3.0, "c": 1.5})  # a*b: split unknown; sqrt: no rule
    assert set(u.values()) == {NOT_DERIVED}


def test_the_function_reads_any_unit_table():
    import sympy as sp
    c0, c1, x = sp.symbols("c0 c1 x")
    assert constant_units(c0 * x + c1, ("c0", "c1"), {"x": "B/token"}) == {"c0": "J*token/B", "c1": "J"}


def test_fit_expression_prints_a_residual_corrections_units(tmp_path, capsys, monkeypatch):
    import sympy as sp

    from energylens.discover import search as ds

    tp = sp.Symbol("tp")  # a residual discovery's variable; its correction g stands inside exp(g)
    monkeypatch.setattr(ds, "run_backend", lambda *a, **k: [(5, 0.03 - 0.01 * tp)])
    disc = tmp_path / "d.json"
    assert main(["discover", "bundled", "--target", "residual", "-o", str(disc), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["fit", "bundled", "--expression", str(disc), "-o", str(tmp_path / "m.json")]) == 0
    rows = [x.split() for x in capsys.readouterr().out.splitlines() if x.strip().startswith(("g0 ", "g1 "))]
    assert len(rows) == 2 and all(r[-1] == "1" for r in rows), rows
