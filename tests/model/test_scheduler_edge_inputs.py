"""Inputs a scheduler's loop passes at its edges: no candidates at all (an empty list of requests), and feature
columns so large that the closed form overflows in the evaluation dtype (the scheduler audit of 2026-12-07)."""

from __future__ import annotations

import re
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from energylens.model import EnergyModel
from energylens.profiles.datasets import mlenergy_v2
from energylens.profiles.features import build_features

sys.path.insert(0, str(Path(__file__).parent))
from small_models import small_models  # noqa: E402


@pytest.fixture(scope="module")
def models():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return small_models()


@pytest.fixture(scope="module")
def features():
    rows = mlenergy_v2().head(3)
    return {k: np.asarray(v, dtype=np.float64) for k, v in build_features(rows).items()}


@pytest.mark.parametrize("empty", [[], ()])
def test_an_empty_list_of_requests_is_an_empty_result(models, empty):
    # predict([]) said 'must be ... a mapping ... or a list of mappings, not list' (it is one, of none) while an
    # empty DataFrame of the same columns gives an empty result; a scheduler with no candidates this tick got a
    # TypeError.
    template, latency = models["template"], models["latency"]
    got = template.predict(empty)
    assert isinstance(got, np.ndarray) and got.shape == (0,) and got.dtype == np.float64
    assert len(template.predict_phases(empty)) == 0
    assert template.extrapolated(empty).shape == (0,)
    assert list(latency.predict(empty).columns) == ["ttft_s_pred", "tpot_s_pred", "time_in_system_s_pred"]
    assert models["expression"].predict(empty).shape == (0,)


@pytest.mark.parametrize("dtype, column, value", [(np.float64, "batch_size", 1e200),
                                                  (np.float64, "input_tokens", 1e200),
                                                  (np.float32, "input_tokens", 1e20)])
def test_an_overflowing_feature_is_an_error_not_nan(models, features, dtype, column, value):
    # Finite features passed the domain check and the energy came back nan without a word (batch_size 1e200;
    # input_tokens 1e20 in the float32 loop, within float32's range): no right answer and no error.
    template = models["template"]
    cols = {k: v.astype(dtype) for k, v in features.items()}
    cols[column] = np.array([1.0, value, 2.0], dtype=dtype)
    with pytest.raises(ValueError, match=rf"row 1 .*nan.* {np.dtype(dtype).name}.*{column}"):
        template.predict_features(cols, dtype=dtype)
    with pytest.raises(ValueError, match="row 1"):
        template.evaluate_features(cols, dtype=dtype)
    # validate=False is the hot loop's opt-out: unchecked, as documented
    assert np.isnan(template.predict_features(cols, dtype=dtype, validate=False)[1])
    # the other rows' values are unchanged by the check (same bits as without it)
    ok = {k: v[[0, 2]] for k, v in cols.items()}
    assert np.array_equal(template.predict_features(ok, dtype=dtype),
                          template.predict_features(ok, dtype=dtype, validate=False))


def test_an_expression_model_overflowing_is_an_error_too(features):
    # 0.01 * output_tokens * batch_size at 1e200 each came back -inf (a negative fitted constant) without a word.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = EnergyModel.from_expression("0.01*output_tokens*batch_size + 3.0", bootstrap=0).fit(
            mlenergy_v2().head(40))
    cols = dict(features, batch_size=np.array([1.0, 1e200, 2.0]), output_tokens=np.array([5.0, 1e200, 6.0]))
    with pytest.raises(ValueError, match=r"feature row 1 gives -?inf in float64 .*formula overflows"):
        model.predict_features(cols)
    assert not np.isfinite(model.predict_features(cols, validate=False)[1])


def test_hot_loop_columns_skip_the_per_column_type_checks(models, features, monkeypatch):
    # predict_features on one row cost ~30 us against ~4 us for the native pass, most of it the type check and
    # conversion of each of the 26 columns, which a contiguous 1-D array of the call's dtype cannot fail.
    import energylens.model.feature_eval as feature_eval  # (the template's feature columns are checked there)

    template = models["template"]
    seen = []
    real = feature_eval.check_feature_real
    monkeypatch.setattr(feature_eval, "check_feature_real", lambda name, raw: (seen.append(name), real(name, raw)))
    fast = template.predict_features(features)
    assert seen == []
    slow = template.predict_features({k: list(v) for k, v in features.items()})
    assert len(seen) == len(template.feature_names)
    assert fast.tobytes() == slow.tobytes()
    # a float32 column under the default dtype, a strided view, a 2-D array still take the checked path
    strided = {k: np.repeat(v, 2)[::2] for k, v in features.items()}
    assert template.predict_features(strided).tobytes() == fast.tobytes()
    with pytest.raises(ValueError, match="must be a scalar or 1-D"):
        template.predict_features(dict(features, tp=np.ones((3, 1))))


def test_fitting_an_empty_list_says_it_is_empty(models):
    # before: 'must be ... a list of mappings, not list'; an empty list read as 0 rows would say a column is missing
    for model in (EnergyModel(bootstrap=0), models["latency"].__class__()):
        with pytest.raises(ValueError, match="list of measurements is empty"):
            model.fit([])


def _old_bootstrap(model, configs):
    """predict_bootstrap as it was: the schema's full pass, then every replicate on the features."""
    from energylens import _core
    from energylens.model.base import load_configs

    columns = model._columns(load_configs(configs, require_energy=False))
    out0, out1 = _core.evaluate_replicates(model._template, columns, model._boot)
    return out0 + out1


def test_predict_bootstrap_takes_the_light_path(monkeypatch):
    # predict_bootstrap on one request took ~2.2 ms (the schema's full pass every call) against ~0.1 ms for
    # predict on the same row; it takes predict's light path now, with the same bits.
    import energylens.model.base as base
    import energylens.model.configs as configs
    from energylens.profiles import schema

    data = mlenergy_v2()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = EnergyModel(bootstrap=12, n_starts=1).fit(data.sample(60, random_state=0))
    request = pd.DataFrame({c: data[c].to_numpy()[:3]  # a raw frame, as a scheduler builds it
                            for c in ("model", "gpu", "tp", "batch_size", "input_tokens", "output_tokens")})
    rows = data.sample(200, random_state=3)
    full = rows.assign(precision=rows["precision"].str.upper())  # 'BF16': the schema rewrites it (full path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = {name: _old_bootstrap(model, c).tobytes()
                for name, c in (("request", request), ("dict", request.iloc[0].to_dict()), ("rows", rows),
                                ("full", full))}
        assert model.predict_bootstrap(rows).tobytes() == want["rows"]
        assert model.predict_bootstrap(full).tobytes() == want["full"]

    def no_schema(*_a, **_k):
        raise AssertionError("a plain request must not take the schema pass")

    monkeypatch.setattr(configs, "as_profiles", no_schema)
    monkeypatch.setattr(base, "load_configs", no_schema)
    monkeypatch.setattr(schema, "as_profiles", no_schema)
    assert model.predict_bootstrap(request).tobytes() == want["request"]
    assert model.predict_bootstrap(request.iloc[0].to_dict()).tobytes() == want["dict"]
    assert model.predict_bootstrap([]).shape == (12, 0)


def test_expression_predict_features_does_not_print_its_expression(features, monkeypatch):
    # ExpressionEnergyModel.predict_features printed its sympy expression on every call, for an error message it
    # rarely gave: ~170 us a call against ~5 us for the native evaluation.
    import sympy

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = EnergyModel.from_expression("0.01*output_tokens*batch_size + 3.0*tp", bootstrap=0).fit(
            mlenergy_v2().head(40))
    want = model.predict_features(features).tobytes()
    text = str(model.expression)

    def no_printing(self):
        raise AssertionError("the expression printed on a call that works")

    monkeypatch.setattr(sympy.Basic, "__str__", no_printing)
    assert model.predict_features(features).tobytes() == want
    assert model.predict_features({k: list(v) for k, v in features.items()}).tobytes() == want
    monkeypatch.undo()
    with pytest.raises(ValueError, match=re.escape(f"missing for the expression {text}")):
        model.predict_features({k: v for k, v in features.items() if k != "tp"})


@pytest.mark.parametrize("expr", ["0.01*output_tokens*batch_size + 3.0*tp",
                                  "2e-12*weight_bytes_per_step/hbm_bytes_per_s*output_tokens*tdp_w + 0.5*tdp_w"])
def test_expression_predict_builds_features_natively_with_the_same_bits(expr, monkeypatch):
    # An expression model's predict built a light-path table's features with features.py in Python (~220 of a
    # one-row predict's ~360 us) where the template uses the native feature pass; it uses that pass now.
    import energylens.model.expression as expression

    data = mlenergy_v2()
    raw = pd.DataFrame({c: data[c].to_numpy() for c in ("model", "gpu", "tp", "pp", "batch_size", "input_tokens",
                                                          "output_tokens", "precision")})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = EnergyModel.from_expression(expr, bootstrap=10).fit(data.sample(80, random_state=0))
        calls = []
        native = expression.feature_rows
        monkeypatch.setattr(expression, "feature_rows", lambda light: calls.append(1) or native(light))
        got = model.predict(raw), model.predict_interval(raw)
        assert calls
        monkeypatch.setattr(expression, "feature_rows", lambda light: None)  # features.py, as before
        want = model.predict(raw), model.predict_interval(raw)
    assert got[0].tobytes() == want[0].tobytes()
    pd.testing.assert_frame_equal(got[1], want[1], check_exact=True)
