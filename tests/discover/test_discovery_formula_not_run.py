"""A discovery file's ``formula`` was read with sympy.sympify (expression_model, and until 2026-12-07 the duplicate check), which runs text
as Python: a discovery JSON received from someone else ran what its formula held. The text is now parsed and checked
first (as EnergyModel.from_expression's): a formula that is not one is refused, naming the file and the entry, and
nothing in it runs."""
from __future__ import annotations

import json

import pytest
import sympy as sp

from energylens.discover import search as ds
from energylens.discover.variables import energy_variables


@pytest.fixture(scope="module")
def result():
    e_mem, e_pf = (sp.Symbol(n) for n in ("E_mem", "E_pf"))
    assert {"E_mem", "E_pf"} <= set(energy_variables())
    mp = pytest.MonkeyPatch()
    mp.setattr(ds, "run_backend", lambda *a, **k: [(7, 2.0 * e_mem + 1.5 * e_pf + 1.0)])
    try:
        yield ds.discover("bundled", train_size=352, progress=False)
    finally:
        mp.undo()


def _payload(marker) -> str:
    return f"__import__('pathlib').Path({str(marker)!r}).write_text('ran') or tp"


def test_a_file_whose_formula_is_code_is_refused_and_nothing_runs(result, tmp_path):
    marker = tmp_path / "marker"
    doc = json.loads(result.to_json())
    doc["front"][result.chosen]["formula"] = _payload(marker)
    path = tmp_path / "sent.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(ValueError, match=rf"front\[{result.chosen}\]\.formula is not a SymPy expression .*__import__"):
        ds.expression_model(ds.load_discovery(path), bootstrap=0)
    assert not marker.exists()


def test_a_result_made_in_memory_is_checked_too(result, tmp_path):
    marker = tmp_path / "marker"
    bad = ds.DiscoveryResult.from_dict(json.loads(result.to_json()))
    bad.front[bad.chosen].formula = _payload(marker)
    with pytest.raises(ValueError, match=r"__import__"):
        ds.expression_model(bad, bootstrap=0)
    assert not marker.exists()


def test_a_file_with_formulas_still_reads(result, tmp_path):
    path = tmp_path / "d.json"
    path.write_text(result.to_json())
    model = ds.expression_model(ds.load_discovery(path), bootstrap=0)
    assert "E_" not in str(model.to_sympy())
