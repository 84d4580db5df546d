"""ExpressionEnergyModel.predict_interval did not refuse as EnergyModel.predict_interval does
(ClosedFormModel.intervals_unavailable, IntervalsUnavailableError 'EnergyModel: prediction intervals are not
available: ...'):

* a fit on as many distinct rows as constants raised a plain ValueError without the class and 'prediction
  intervals are not available' (and there was no intervals_unavailable() to ask first, which
  energylens predict and the search ask the template);
* a fit whose summary records no more distinct rows than constants while calling the constants identified (a
  file written before n_distinct_configs was recorded, which reads as identifiable) got an interval: with
  n <= p residuals the scatter is not inflated at all, so the interval was falsely narrow, where the template
  refuses 'N distinct row(s) for P parameters';
* its residual scatter was inflated by sqrt(rows / (rows - constants)) over all rows, exact copies included,
  where the template counts distinct rows (model_factors): five copies of 4 rows for 3 constants inflated by
  1.08 instead of 2.

Fewer rows than constants are refused by fit itself, as before (tested here too).
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

from energylens.errors import IntervalLevelWarning, IntervalsUnavailableError
from energylens.model import EnergyModel, load_model
from energylens.profiles.datasets import mlenergy_v2

ROW = {"model": "meta-llama/Meta-Llama-3.1-8B-Instruct", "gpu": "NVIDIA H100 80GB HBM3", "tp": 1,
       "batch_size": 16.0, "input_tokens": 512.0, "output_tokens": 256.0, "energy_j": 40.0}
EXPR = "0.01*input_tokens + 0.05*output_tokens + 3.0"  # three constants


def _rows(n: int) -> pd.DataFrame:
    """``n`` distinct configurations whose energies the expression does not fit exactly."""
    wobble = [1.0, 1.3, 0.8, 1.1, 0.9, 1.2, 0.7, 1.05]
    return pd.DataFrame([dict(ROW, input_tokens=100.0 * (k + 1), output_tokens=50.0 * (k + 2),
                              energy_j=(1.0 + 0.02 * (k + 1) * 100 + 0.05 * 50.0 * (k + 2)) * wobble[k])
                         for k in range(n)])


def _fit(rows: pd.DataFrame, bootstrap: int = 100):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return EnergyModel.from_expression(EXPR, bootstrap=bootstrap).fit(rows)


def test_fewer_rows_than_constants_are_refused_by_fit():
    with pytest.raises(ValueError, match=r"ExpressionEnergyModel.fit: 2 rows for 3 constants"):
        _fit(_rows(2))


def test_as_many_rows_as_constants_is_refused_as_the_template_refuses():
    model = _fit(_rows(3))
    why = model.intervals_unavailable()
    assert why is not None and why.startswith("the training data had 3 distinct configuration(s) for 3 constants"), why
    with pytest.raises(IntervalsUnavailableError, match=r"^ExpressionEnergyModel: prediction intervals are not "
                                                        r"available: the training data had 3 distinct configuration"):
        model.predict_interval(_rows(1))


def test_the_template_refuses_the_same_way():
    data = mlenergy_v2()
    rows = data[data["gpu"].str.contains("A100")].head(12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = EnergyModel(bootstrap=20).fit(rows, latency=False)
    with pytest.raises(IntervalsUnavailableError, match=r"^EnergyModel: prediction intervals are not available: "
                                                        r"the training data had \d+ distinct configuration"):
        model.predict_interval(rows)


def _edited(model, tmp_path, **fit_fields):
    path = tmp_path / "m.json"
    model.save(path)
    doc = json.loads(path.read_text())
    doc["energy"]["fit"].update(fit_fields)
    path.write_text(json.dumps(doc))
    return load_model(path)


def test_no_more_distinct_rows_than_constants_is_refused(tmp_path):
    """A summary that records 3 distinct rows for 3 constants but no n_distinct_configs (identifiable, as an
    older file reads): the template refuses such a fit; the expression gave an interval."""
    model = _fit(_rows(4))
    assert model.intervals_unavailable() is None and model.predict_interval(_rows(1)).notna().all().all()
    loaded = _edited(model, tmp_path, n_distinct_rows=3, n_distinct_configs=None)
    assert loaded.summary.identifiable
    assert "3 distinct row(s) for 3 constants" in loaded.intervals_unavailable()
    with pytest.raises(IntervalsUnavailableError, match=r"^ExpressionEnergyModel: prediction intervals are not "
                                                        r"available: the training data had 3 distinct row\(s\) for "
                                                        r"3 constants: too few residuals"):
        loaded.predict_interval(_rows(1))


def test_without_enough_replicates_it_says_how_many():
    assert _fit(_rows(4), bootstrap=0).intervals_unavailable() == (
        "no bootstrap replicates: fit with bootstrap >= 10 to get intervals")
    few = _fit(_rows(4), bootstrap=5)
    assert len(few.bootstrap_params) <= 5
    with pytest.raises(IntervalsUnavailableError, match="bootstrap refits: fit with bootstrap >= 10"):
        few.predict_interval(_rows(1))


def test_too_few_replicates_for_the_level_warn_as_the_templates():
    model = _fit(_rows(4), bootstrap=20)
    with pytest.warns(IntervalLevelWarning, match="ExpressionEnergyModel.predict_interval: a 0.9 interval from"):
        model.predict_interval(_rows(1))


def test_copies_do_not_count_as_residuals():
    rows = pd.concat([_rows(4)] * 5, ignore_index=True)
    model = _fit(rows)
    s = model.summary
    assert (s.n_rows, s.n_distinct_rows, s.n_distinct_configs) == (20, 4, 4)
    r = model._residuals
    expected = np.sort(np.exp(-np.sqrt(4 / (4 - 3)) * np.log1p(r)))  # the template's: distinct rows only
    np.testing.assert_allclose(model.measurement_factors(), expected, rtol=1e-12)
    assert len(model.bootstrap_params) == s.bootstrap_converged


def test_an_unfitted_model_says_it_is_not_fitted():
    """(It said 'no bootstrap replicates: fit with bootstrap >= 10', though it was made with bootstrap=200.)"""
    model = EnergyModel.from_expression(EXPR)
    assert model.bootstrap_replicates == 200
    with pytest.raises(IntervalsUnavailableError, match=r"^ExpressionEnergyModel: prediction intervals are not "
                                                        r"available: this ExpressionEnergyModel is not fitted yet"):
        model.predict_interval(_rows(1))
