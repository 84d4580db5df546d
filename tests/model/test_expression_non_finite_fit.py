"""An expression fit whose predictions are not finite, or not positive under residual='log', on some training
rows returned without a word: log(tp - 1) on 19 tp = 1 rows of 40 'fitted' (summary.status 'non_finite', the
constants left at their start values, train_mape inf), and 0.01*input_tokens - 1000 predicted -998 J per
request. Only summary.status said so, and save refused it later. EnergyModel.fit raises there
(domain.non_finite_fit_error); an expression fit is kept as before (its status is read, save refuses it:
tests/model/test_expression_file.py), and now warns (DegenerateFitWarning) naming how many rows, which (as
the schema names a frame's rows) and what to change."""

from __future__ import annotations

import warnings

import pytest

from energylens.errors import DegenerateFitWarning
from energylens.model import EnergyModel
from energylens.profiles.datasets import mlenergy_v2


@pytest.fixture(scope="module")
def rows():
    return mlenergy_v2().head(40)


def test_predictions_not_finite_on_some_rows_warn(rows):
    tp1 = (rows["tp"] == 1).to_numpy().nonzero()[0]
    with pytest.warns(DegenerateFitWarning, match=rf"^ExpressionEnergyModel.fit: the fitted expression is not "
                                                  rf"finite on {len(tp1)} of 40 training rows \(.*csv: data rows "
                                                  rf"{tp1[0] + 1}, {tp1[1] + 1}, .*\(1-based, header not counted\)"):
        model = EnergyModel.from_expression("1.0*log(tp - 1) + 3.0*input_tokens", bootstrap=0).fit(rows)
    assert model.summary.status == "non_finite"  # kept, as before


def test_predictions_not_positive_under_log_residuals_warn(rows):
    with pytest.warns(DegenerateFitWarning, match=r"not finite or not positive \(residual='log' takes the log of "
                                                  r"predicted / measured\) on 40 of 40 training rows .*bound the "
                                                  r"constants or change the expression"):
        EnergyModel.from_expression("0.01*input_tokens - 1000.0", bootstrap=0).fit(rows)


def test_a_finite_fit_warns_nothing(rows):
    with warnings.catch_warnings():
        warnings.simplefilter("error", DegenerateFitWarning)
        model = EnergyModel.from_expression("0.01*input_tokens*tp + 3.0", bootstrap=0).fit(rows)
    assert model.summary.status != "non_finite"
