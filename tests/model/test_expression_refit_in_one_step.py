"""An expression model's refit dropped its bootstrap before running the new one and set its constants, residuals
and summary one by one: a refit stopped in its bootstrap (Ctrl-C; the progress callback raising) left the old
constants with no bootstrap, so predict_interval refused ("no bootstrap replicates") on a model that still said it
was fitted, and a thread calling predict_interval during another thread's refit saw the same (or a mix of old
constants and new refits). The template's fit replaces its state in one step at the end; the expression model's
now does too."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from energylens.model import EnergyModel
from energylens.model.fit_options import BOOTSTRAP_PROGRESS
from energylens.profiles.datasets import mlenergy_v2

EXPR = "0.001*input_tokens*tp + 0.01*output_tokens + 3.0"


@pytest.fixture()
def fitted():
    data = mlenergy_v2()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = EnergyModel.from_expression(EXPR, bootstrap=40).fit(data.head(60))
        return model, data, model.predict_interval(data.head(5)).to_numpy()


def _with_progress(callback, fn):
    token = BOOTSTRAP_PROGRESS.set(callback)
    try:
        return fn()
    finally:
        BOOTSTRAP_PROGRESS.reset(token)


def test_a_stopped_refit_leaves_the_model_as_it_was(fitted):
    model, data, interval = fitted
    theta, summary = model.theta, model.summary

    def stop(*_):
        raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _with_progress(stop, lambda: model.fit(data.tail(100)))
    assert np.array_equal(model.theta, theta) and model.summary is summary
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        np.testing.assert_array_equal(model.predict_interval(data.head(5)).to_numpy(), interval)


def test_a_reader_during_a_refit_sees_the_old_state(fitted):
    model, data, interval = fitted
    seen = []

    def look(*_):  # called during the refit's bootstrap, as another thread may read the model
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            seen.append(model.predict_interval(data.head(5)).to_numpy())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _with_progress(look, lambda: model.fit(data.tail(100)))
        after = model.predict_interval(data.head(5)).to_numpy()
    assert seen and all(np.array_equal(s, interval) for s in seen)
    assert not np.array_equal(after, interval) and model.summary.n_rows == 100
