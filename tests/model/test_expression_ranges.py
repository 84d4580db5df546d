"""EnergyModel.predict warns once (ExtrapolationWarning) where rows lie outside the fitted data's range by more
than EXTRAPOLATION_FACTOR and keeps the ranges in its model file (train_ranges); ExpressionEnergyModel
predicted 10x the training output_tokens without a word, had no ``check_range`` / ``n_threads`` /
``chunk_rows`` arguments, and its file kept no ranges. It now stores the ranges of the features its expression
reads, warns with the template's text shape, takes the template's arguments, and a file written before
(no train_ranges) still loads, with no range check and no warning.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from tests.model.expression_fixtures import EXPR, bundled_rows, fitted_expression

from energylens import _core, parallel
from energylens.errors import ExtrapolationWarning, ModelFileError
from energylens.model import EnergyModel, expression_fit, load_model
from energylens.profiles.features import build_features


@pytest.fixture(scope="module")
def bundled() -> pd.DataFrame:
    return bundled_rows()


@pytest.fixture(scope="module")
def model(bundled):
    return fitted_expression(bundled, bootstrap=20)


def _outside(bundled: pd.DataFrame) -> pd.DataFrame:
    rows = bundled.head(6).copy()
    rows.loc[[1, 4], "output_tokens"] = 5000.0  # the training rows' maximum is 513
    return rows


def _extrapolation_warnings(call) -> list[str]:
    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always")
        call()
    ours = [w for w in got if issubclass(w.category, ExtrapolationWarning)]
    assert all(w.filename == __file__ for w in ours), [w.filename for w in ours]  # the caller's line, as the template's
    return [str(w.message) for w in ours]


def test_fit_stores_the_ranges_of_the_features_the_expression_reads(model, bundled):
    ranges = model.train_ranges
    assert sorted(ranges) == sorted(model.feature_names)
    assert ranges["output_tokens"] == [float(bundled["output_tokens"].min()), float(bundled["output_tokens"].max())]


def test_predict_and_interval_warn_once_as_the_template_does(model, bundled):
    rows = _outside(bundled)
    for name, call in (("predict", lambda: model.predict(rows)),
                       ("predict_interval", lambda: model.predict_interval(rows))):
        got = _extrapolation_warnings(call)
        assert len(got) == 1, got
        assert got[0].startswith(f"ExpressionEnergyModel.{name}: 2 of 6 rows lie outside the fitted data's range by "
                                 "more than a factor 2 (output_tokens: 2 row(s), up to 5000 vs fitted "
                                 "[62.57, 513.3]); predictions there are extrapolations"), got[0]
    # one warning for the call, however many chunks
    assert len(_extrapolation_warnings(lambda: model.predict(rows, chunk_rows=1))) == 1
    # the template words it the same way
    template = EnergyModel(bootstrap=0, n_starts=1).fit(bundled, latency=False)
    theirs = _extrapolation_warnings(lambda: template.predict(rows))
    assert len(theirs) == 1 and theirs[0].split(": ", 1)[1].startswith("2 of 6 rows lie outside the fitted data's")


def test_check_range_false_opts_out(model, bundled):
    rows = _outside(bundled)
    assert _extrapolation_warnings(lambda: model.predict(rows, check_range=False)) == []
    assert _extrapolation_warnings(lambda: model.predict_interval(rows, check_range=False)) == []
    assert _extrapolation_warnings(lambda: model.predict(bundled)) == []  # the training rows themselves
    # the comparison harness's protocol: held-out splits extrapolate on purpose (as compare.methods' template)
    assert _extrapolation_warnings(lambda: np.testing.assert_array_equal(model.predict_energy(rows), model.predict(
        rows, check_range=False))) == []
    with pytest.raises(TypeError, match="check_range must be True or False"):
        model.predict(rows, check_range="no")
    got = _extrapolation_warnings(lambda: np.testing.assert_array_equal(model.extrapolated(rows),
                                                                         [False, True, False, False, True, False]))
    assert len(got) == 1 and got[0].startswith("ExpressionEnergyModel.extrapolated: 2 of 6 rows lie outside"), got


def test_the_file_keeps_the_ranges_and_a_file_without_them_loads_unchecked(model, bundled, tmp_path):
    path = tmp_path / "expr.json"
    model.save(path)
    doc = json.loads(path.read_text())
    assert doc["energy"]["train_ranges"] == model.train_ranges
    rows = _outside(bundled)
    back = load_model(path)
    assert back.train_ranges == model.train_ranges
    assert len(_extrapolation_warnings(lambda: back.predict(rows))) == 1
    del doc["energy"]["train_ranges"]  # a file written before ranges were stored
    path.write_text(json.dumps(doc))
    old = load_model(path)
    assert old.train_ranges is None
    assert _extrapolation_warnings(lambda: np.testing.assert_array_equal(old.predict(rows), model.predict(
        rows, check_range=False))) == []
    assert not old.extrapolated(rows).any()


@pytest.mark.parametrize(("ranges", "message"), [
    ({"output_tokens": [513.0, 62.0]}, r"train_ranges output_tokens = \[513.0, 62.0\] is not a \[min, max\] pair"),
    ({"output_tokens": [1.0, "x"]}, r"train_ranges output_tokens = \[1.0, 'x'\] is not a \[min, max\] pair"),
    ({"input_tokens": [1.0, 2.0]}, r"train_ranges: \['input_tokens'\] are not features the expression reads"),
    ([1.0, 2.0], r"train_ranges = \[1.0, 2.0\] must be an object of feature -> \[min, max\]"),
])
def test_a_bad_train_ranges_entry_is_named(model, tmp_path, ranges, message):
    path = tmp_path / "expr.json"
    model.save(path)
    doc = json.loads(path.read_text())
    doc["energy"]["train_ranges"] = ranges
    path.write_text(json.dumps(doc))
    with pytest.raises(ModelFileError, match=message):
        load_model(path)


def test_n_threads_reaches_every_native_call(monkeypatch, model, bundled):
    calls: list[tuple[str, int]] = []

    def recording(name):
        real = getattr(_core, name)

        def wrapper(*args, **kwargs):
            calls.append((name, parallel.num_threads()))
            return real(*args, **kwargs)
        return wrapper

    for name in ("fit_expression", "bootstrap_expression"):
        monkeypatch.setattr(expression_fit._core, name, recording(name))
    fitted = EnergyModel.from_expression(EXPR, bootstrap=10, n_starts=1)
    real_evaluate = fitted.compiled.evaluate

    class Recorded:  # the compiled expression, its evaluate recorded
        def __getattr__(self, key):
            return getattr(fitted.__dict__["_real"], key)

        def evaluate(self, *args, **kwargs):
            calls.append(("evaluate", parallel.num_threads()))
            return real_evaluate(*args, **kwargs)

    fitted.__dict__["_real"] = fitted.compiled
    monkeypatch.setattr(fitted, "compiled", Recorded())
    before = parallel.num_threads()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted.fit(bundled, n_threads=1)
        fitted.predict(bundled, n_threads=1)
        fitted.predict_interval(bundled, n_threads=1)
        fitted.predict_features(build_features(bundled), n_threads=1)
    names = {n for n, _ in calls}
    assert names == {"fit_expression", "bootstrap_expression", "evaluate"}
    assert {k for _, k in calls} == {1}
    assert parallel.num_threads() == before
    with pytest.raises(ValueError, match="n_threads"):
        model.predict(bundled, n_threads=0)
    np.testing.assert_array_equal(model.predict(bundled, n_threads=2), model.predict(bundled, n_threads=1))


def test_cli_predict_writes_the_extrapolated_column_for_an_expression_model(model, bundled, tmp_path, capsys):
    """energylens predict said 'an expression model stores no training ranges: no extrapolated column' and
    wrote none; the file now keeps them, so the column is written as for the template, and the warning comes
    once (from the column), not again from each prediction."""
    from energylens.cli import main

    path = tmp_path / "expr.json"
    model.save(path)
    configs = tmp_path / "configs.csv"
    _outside(bundled).drop(columns=["energy_j"]).to_csv(configs, index=False)
    out = tmp_path / "pred.csv"
    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always")
        assert main(["predict", str(path), str(configs), "-o", str(out)]) == 0
    written = pd.read_csv(out)
    assert written["extrapolated"].tolist() == [False, True, False, False, True, False]
    assert len([w for w in got if issubclass(w.category, ExtrapolationWarning)]) == 1
    assert "no training ranges" not in capsys.readouterr().err
