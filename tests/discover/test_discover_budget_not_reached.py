"""``energylens discover bundled --target residual --time-budget 30`` searched for 1.5 s and said "operon ran 200 of
200 generations in 1.5 s, stopped by the generation cap: the same --seed reproduces this front": a researcher who
asked for 30 s was not told that the budget played no part, nor what lets it bind (the default --generations 200
ends first on small data). The line now says the budget was not reached and that a larger --generations searches
longer; a search the budget stopped reads as before."""
from __future__ import annotations

import pytest

pytest.importorskip("sympy")

from energylens.discover import search as ds  # noqa: E402

SETTINGS = {"generations": 200, "time_budget_s": 30.0, "seed": 0}


def test_a_cap_reached_within_the_budget_says_the_budget_did_not_bind():
    note = ds.search_summary({"stopped_by": "generations", "generations_run": 200, "seconds": 1.5}, SETTINGS, "operon")
    assert note == ("operon ran 200 of 200 generations in 1.5 s, stopped by the generation cap: the same --seed "
                    "reproduces this front (the 30 s time budget was not reached: a larger --generations searches "
                    "longer)")


def test_a_search_the_budget_stopped_reads_as_before():
    note = ds.search_summary({"stopped_by": "time budget", "generations_run": 280, "seconds": 30.2},
                             {**SETTINGS, "generations": 100000}, "operon")
    assert note.startswith("operon ran 280 of 100000 generations in 30.2 s, stopped by the 30 s time budget: a rerun "
                           "may differ") and "not reached" not in note
