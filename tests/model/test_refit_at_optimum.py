"""A least-squares fit that starts on its optimum (a model refitted on its own training rows from its fitted
constants) found no step that lowers the cost, only rounding, and reported status ``no_progress``, converged
False: the user read "did not converge". The native fitter now calls such a start converged (``converged_cost``)
where its Gauss-Newton model predicts a decrease within ftol of the cost; a fit stuck where a decrease is predicted
and none is found (at a kink) still reports ``no_progress``, not converged."""

from __future__ import annotations

import pytest

pytest.importorskip("sympy")

from energylens import EnergyModel  # noqa: E402
from energylens.profiles.datasets import mlenergy_v2  # noqa: E402


@pytest.fixture(scope="module")
def train():
    return mlenergy_v2().sample(80, random_state=0)


def _fit(expr: str, params: dict[str, float], rows):
    return EnergyModel.from_expression(expr, params=params, bootstrap=0, n_starts=1).fit(rows)


def _values(model) -> dict[str, float]:
    return {k: p.value for k, p in model.params.items()}


def test_refits_from_the_optimum_report_converged(train):
    expr, params = "a * E_comp + b * E_mem + c", {"a": 1.0, "b": 1.0, "c": 1.0}
    at_optimum = 0
    for _ in range(8):  # each refit starts where the last ended; within a few the start is the optimum itself
        model = _fit(expr, params, train)
        assert model.summary.converged and model.summary.status.startswith("converged"), model.summary
        at_optimum += model.summary.iterations == 0
        params = _values(model)
    assert at_optimum, "no refit started on the optimum: the case is not exercised"


def test_a_fit_stuck_at_a_kink_is_still_not_converged(train):
    base = _values(_fit("b * E_mem + c", {"b": 1.0, "c": 1.0}, train))
    # -|a| E_comp: the rows want +E_comp, the term can only subtract it; at a = 1e-30 the gradient says lower a,
    # and every step (through the kink or not) raises the cost
    model = _fit("b * E_mem + c - Abs(a) * E_comp", {"a": 1e-30, **base}, train)
    assert model.summary.status == "no_progress" and not model.summary.converged, model.summary
