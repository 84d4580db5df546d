"""``energylens discover ... --report DIR``: discovery.md's front table had no expression column (the command's
table ends with one; the report gave them only further down, as LaTeX). The table now gives each entry's
expression as the command prints it, in a code span with ``|`` escaped (GFM splits cells at a bare ``|`` even in
code; ``*`` and ``_`` are literal there), a long one cut with a pointer to its full text under Expressions."""

from __future__ import annotations

import pytest

pytest.importorskip("matplotlib")

from energylens.discover.report import write_report  # noqa: E402
from energylens.discover.result import DiscoveryResult, FrontEntry  # noqa: E402

SCORES = {"r2": 0.9, "top1": 0.5, "parallelism_top1": 0.5, "pairwise": 0.8, "mape": 12.0}
SHORT = "2.5*batch_size*x_tp + 0.1"
PIPED = "Abs(x_tp)|1"  # a | in a formula (as a backend may print an or) must not split the row's cells
LONG = " + ".join(f"{k}.25*batch_size*input_tokens*exp(-0.5*x_tp)" for k in range(1, 6))


def _result() -> DiscoveryResult:
    front = [FrontEntry(complexity=5 + i, expression=f, latex="x", cv_error=0.1, formula=f, heldout=dict(SCORES))
             for i, f in enumerate((SHORT, PIPED, LONG))]
    return DiscoveryResult(target="energy", backend="operon", backend_reason="test", seed=0, n_train=10,
                           n_heldout=5, variables={}, front=front, template=dict(SCORES), chosen=0, seconds=1.0,
                           profiles="p.csv")


def _rows(md: str) -> list[str]:
    return [x for x in md.splitlines() if x.startswith("| ") and not x.startswith("| |")]


def test_front_table_gives_each_expression(tmp_path):
    md = write_report(_result(), tmp_path).read_text()
    header = next(x for x in md.splitlines() if x.startswith("| | complexity"))
    assert header.rstrip(" |").endswith("expression"), header
    rows = _rows(md)
    cells = [r.replace("\\|", "").count("|") for r in rows]
    assert len(set(cells)) == 1 and cells[0] == header.count("|"), rows  # no cell split by a formula's |
    assert f"`{SHORT}`" in rows[1]
    assert "`Abs(x_tp)\\|1`" in rows[2], rows[2]


def test_a_long_expression_is_cut_and_given_in_full_below(tmp_path):
    md = write_report(_result(), tmp_path).read_text()
    row = _rows(md)[3]
    assert LONG not in row and LONG[:40] in row and "in full under Expressions" in row, row
    below = md.split("## Expressions", 1)[1]
    assert f"`{LONG}`" in below
