"""One source of truth: the native TemplateDescriptor (cpp/src/templates.cpp) is THE list of features and
parameters. Python reads it (profiles.features, model.reference, model.symbolic) and the docs tables are
checked against it here, so a feature or parameter added in C++ shows up everywhere or fails a test."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from energylens import _core
from energylens.model import reference as R
from energylens.profiles import features as FE

DOCS = Path(__file__).resolve().parents[2] / "docs" / "model.md"
ENERGY = _core.describe_template("energy")
LATENCY = _core.describe_template("latency")


def _section(text: str, heading: str) -> str:
    start = text.index(heading)
    end = text.find("\n## ", start + len(heading))
    return text[start:end if end >= 0 else len(text)]


def _table_rows(section: str) -> list[list[str]]:
    rows = [line for line in section.splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in row.strip("|").split("|")] for row in rows[2:]]  # skip header + rule


def test_both_templates_share_one_feature_list_with_units_and_meanings():
    assert ENERGY.feature_names == LATENCY.feature_names
    assert len(set(ENERGY.feature_names)) == ENERGY.n_features
    assert all(ENERGY.feature_units) and all(ENERGY.feature_descriptions)


def test_python_feature_lists_are_the_descriptor():
    assert FE.FEATURE_NAMES == ENERGY.feature_names
    assert list(FE.FEATURE_UNITS) == list(ENERGY.feature_names)
    assert tuple(FE.FEATURE_UNITS.values()) == ENERGY.feature_units
    assert R.REQUIRED_FEATURES == ENERGY.feature_names


@pytest.mark.parametrize(("desc", "prefix"), [(ENERGY, "ENERGY"), (LATENCY, "LATENCY")])
def test_reference_parameter_metadata_is_the_descriptor(desc, prefix):
    assert getattr(R, f"{prefix}_PARAM_NAMES") == desc.param_names
    assert getattr(R, f"{prefix}_PARAM_UNITS") == desc.param_units
    assert getattr(R, f"{prefix}_PARAM_DESCRIPTIONS") == desc.param_descriptions
    for what in ("lower", "upper", "init"):
        constant = getattr(R, f"{prefix}_PARAM_{what.upper()}")
        np.testing.assert_array_equal(constant, getattr(desc, what))
        assert not constant.flags.writeable  # a module constant: tests and callers copy before changing


def test_symbolic_forms_name_every_feature_and_parameter():
    sympy = pytest.importorskip("sympy")
    from energylens.model import symbolic

    assert tuple(symbolic.feature_symbols()) == ENERGY.feature_names
    prefill, decode = symbolic.energy_expressions()
    ttft, tpot = symbolic.latency_expressions()
    used = {str(s) for e in (prefill, decode, ttft, tpot) for s in e.free_symbols}
    latex = {name: sympy.latex(sympy.Symbol(symbolic._LATEX[name])) for name in symbolic._LATEX}
    for name in (*ENERGY.feature_names, *ENERGY.param_names, *LATENCY.param_names):
        assert name in symbolic._LATEX, f"{name} has no LaTeX symbol in energylens.model.symbolic"
        assert symbolic._LATEX[name] in used or latex[name] in used, f"{name} does not enter the sympy forms"


def test_docs_feature_table_is_the_descriptor():
    rows = _table_rows(_section(DOCS.read_text(), "## 1. Inputs"))
    documented: dict[str, str] = {}
    for cells in rows:
        for name in re.findall(r"`([a-z][a-z0-9_]*)`", cells[0]):
            documented[name] = cells[1]
    assert tuple(documented) == ENERGY.feature_names
    assert tuple(documented.values()) == ENERGY.feature_units


def test_docs_energy_parameter_table_is_the_descriptor():
    rows = _table_rows(_section(DOCS.read_text(), "## 3. The 12 energy parameters"))
    assert len(rows) == ENERGY.n_params
    for j, cells in enumerate(rows):
        assert int(cells[0]) == j
        assert cells[1] == f"`{ENERGY.param_names[j]}`"
        lo, hi = (float(v) for v in cells[4].strip("[]").split(","))
        assert (lo, hi) == (ENERGY.lower[j], ENERGY.upper[j]), ENERGY.param_names[j]
        assert float(cells[5]) == ENERGY.init[j], ENERGY.param_names[j]


def test_docs_latency_parameters_are_the_descriptor():
    section = _section(DOCS.read_text(), "## 4. Latency model")
    listed = re.findall(r"\b([a-z]+(?:_[a-z]+)+)\b", section.split("(same meaning")[0])
    shared = [n for n in listed if n in LATENCY.param_names]
    assert tuple(shared) == LATENCY.param_names[:-2]  # the energy model's time parameters
    assert all(f"`{name}`" in section for name in LATENCY.param_names[-2:])  # the latency model's own
