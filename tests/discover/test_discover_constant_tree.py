"""``energylens discover bundled --target residual --time-budget 20`` (seed 0) showed a front entry of complexity 8
whose expression was one number, -3.6e-9, scoring as the template: operon's tree (its value 0.0165292900060000
before the refit) is a constant, counted at 8 nodes (its nodes cancel, plus the linear scaling's). Such an entry is
now counted as what it shows, a constant (complexity 1), the backend's count kept as ``backend_complexity``, and
the printed table, discovery.md and the result file say so; ``fit --expression`` still fits it."""

from __future__ import annotations

import json

import pytest
import sympy as sp

from energylens.cli import main
from energylens.discover import load_discovery
from energylens.discover import search as ds


@pytest.fixture()
def constant_front(monkeypatch):
    x = sp.Symbol("tp")  # a residual variable
    front = [(5, 2.0 * x + 1.0), (8, sp.Float(0.0165292900060000))]  # operon's seed-0 tree of 8 nodes
    monkeypatch.setattr(ds, "run_backend", lambda *a, **k: list(front))


def test_a_constant_tree_is_counted_as_a_constant(constant_front, capsys, tmp_path):
    out = tmp_path / "d.json"
    assert main(["discover", "bundled", "--target", "residual", "-o", str(out), "--quiet",
                 "--report", str(tmp_path / "rep")]) == 0
    printed = capsys.readouterr().out
    res = load_discovery(out)
    const = [e for e in res.front if not any(c.isalpha() for c in e.expression.replace("e-", ""))]
    assert len(const) == 1 and const[0].complexity == 1 and const[0].backend_complexity == 8
    assert [e.complexity for e in res.front] == sorted(e.complexity for e in res.front)
    i = res.front.index(const[0])
    row = [x for x in printed.splitlines() if x[:3].strip().rstrip("*") == str(i)][0]
    assert row.split()[1] == "1", row
    note = "a constant (no variable): counted as complexity 1, where operon counted 8"
    assert note in printed
    md = (tmp_path / "rep" / "discovery.md").read_text()
    assert note in md and f"| {i}" in md
    assert json.loads(out.read_text())["front"][i]["backend_complexity"] == 8
    model = tmp_path / "m.json"
    assert main(["fit", "bundled", "--expression", str(out), "--pick", str(i), "-o", str(model)]) == 0


def test_result_files_without_the_field_still_load(constant_front, tmp_path):
    out = tmp_path / "d.json"
    assert main(["discover", "bundled", "--target", "residual", "-o", str(out), "--quiet"]) == 0
    doc = json.loads(out.read_text())
    for e in doc["front"]:
        e.pop("backend_complexity")
    out.write_text(json.dumps(doc))
    assert all(e.backend_complexity is None for e in load_discovery(out).front)
