"""An expression model refitted in place (``model.fit(new_rows)``) while another thread predicts with it: its fit
replaces the state in one step (test_expression_refit_in_one_step.py), but ``predict`` read the constants once per
chunk and ``predict_interval`` read the measurement factors, then the bootstrap refits, then (per chunk) nothing
more of the fit, so a refit landing between those reads gave values of neither fit. Each prediction call now works
on the model's state as one fit, as the template's (test_refit_while_predicting.py). The refit is made to land
mid-call here, as a thread's would."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from tests.model.expression_fixtures import EXPR

from energylens.model import EnergyModel
from energylens.profiles.datasets import mlenergy_v2


@pytest.fixture(scope="module")
def data():
    data = mlenergy_v2()
    return data.sample(80, random_state=1), data.sample(80, random_state=2), data.iloc[::11].reset_index(drop=True)


# (20 refits: a 0.9 interval warns IntervalLevelWarning, beside the point here)
pytestmark = pytest.mark.filterwarnings("ignore::energylens.errors.IntervalLevelWarning")


def _fitted(rows):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return EnergyModel.from_expression(EXPR, bootstrap=20, n_starts=1).fit(rows)


def _landing(model, new_rows, method: str, after: int, call):
    """``call(model)`` with ``model.fit(new_rows)`` run right after the ``after``-th (1-based) call of the model's
    ``method`` in it (the original method's result is returned)."""
    original, calls = getattr(type(model), method), []

    def hooked(*args, **kwargs):
        out = original(model, *args, **kwargs)
        calls.append(True)
        if len(calls) == after:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model.fit(new_rows)
        return out

    setattr(model, method, hooked)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return call(model)
    finally:
        vars(model).pop(method, None)
        assert len(calls) >= after


def _one_of(got, *fits):
    return any(np.array_equal(got, want, equal_nan=True) for want in fits)


CASES = {  # call, the method after which the refit lands, after its how-many-th call
    "predict": (lambda m, rows: m.predict(rows, chunk_rows=3), "_columns", 2),
    "predict_interval": (lambda m, rows: m.predict_interval(rows).to_numpy(), "measurement_factors", 1),
}


@pytest.mark.parametrize("name", CASES)
def test_an_expression_prediction_is_of_one_fit(data, name):
    a, b, rows = data
    call, method, after = CASES[name]
    old, new = call(_fitted(a), rows), call(_fitted(b), rows)
    assert not np.array_equal(old, new)
    got = _landing(_fitted(a), b, method, after, lambda m: call(m, rows))
    assert _one_of(got, old, new), f"{name}: neither the old fit's nor the new one's"
