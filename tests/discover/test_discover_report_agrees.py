"""``discovery.md`` read beside the command's output. The command printed the CV column as ``CV%`` (9.85) and the
report as ``CV error`` (0.0985): one figure in two units, so a reader comparing the two saw different numbers; and
the report's "Merged" paragraph left out each merged expression's complexity, which the command's note gives
("complexity 20 into 7"), so two merged entries whose refitted expressions print alike read as one listed twice
(the ML.ENERGY v3 H100 export, default run). The report now has the command's ``CV %`` figures and the
complexities."""
from __future__ import annotations

import json

import pytest

sp = pytest.importorskip("sympy")
pytest.importorskip("matplotlib")

from energylens.cli import main  # noqa: E402
from energylens.discover import search as ds  # noqa: E402


def test_the_report_shows_the_cv_figures_and_merged_complexities_the_command_printed(monkeypatch, capsys, tmp_path):
    e_mem, e_pf = (sp.Symbol(n) for n in ("E_mem", "E_pf"))
    front = [(5, 2.0 * e_mem + 1.0), (7, 2.0 * e_mem + 1.5 * e_pf + 1.0), (9, 3.0 * (e_mem + 0.5 * e_pf) + 2.0)]
    monkeypatch.setattr(ds, "run_backend", lambda *a, **k: front)
    out = tmp_path / "d.json"
    assert main(["discover", "bundled", "-o", str(out), "--quiet", "--report", str(tmp_path / "r")]) == 0
    printed = capsys.readouterr().out
    doc = json.loads(out.read_text())
    page = (tmp_path / "r" / "discovery.md").read_text()
    header = next(line for line in page.splitlines() if line.startswith("| | complexity"))
    assert header.rstrip(" |").endswith("CV % | expression"), header  # the command's table ends so too
    for i, e in enumerate(doc["front"]):
        cv = f"{100 * e['cv_error']:.2f}"
        row = next(line for line in printed.splitlines() if line.startswith(f"{i:>2}"))
        assert cv in row.split(), (cv, row)
        cells = next(line for line in page.splitlines() if line.startswith(f"| {i}")).strip(" |").split(" | ")
        assert cells[-2] == cv, (cv, cells)
        assert cells[-1] == f"`{e['expression']}`" and row.endswith(e["expression"]), (row, cells)
    assert doc["merged"], doc["merged"]  # the third is the second up to its constants
    for m in doc["merged"]:
        assert f"complexity {m['complexity']} into {m['into']}" in printed
        assert f"complexity {m['complexity']}, `{m['expression']}` into {m['into']}" in page, page
