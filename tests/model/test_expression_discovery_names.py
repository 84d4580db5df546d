"""A formula printed by ``energylens discover`` (its table's expression column, over the discovery's variables
``E_mem``, ``E_layer``, ``B``, ``Lin_k``, ...) pasted into ``EnergyModel.from_expression`` was refused: "symbol(s)
['E_layer', ...] are neither feature columns nor constants; features: [...]", with no word of what the names are or
what to write. The energy discovery's variables are now read as their definitions over the feature columns (the
``variables:`` line the command prints), so the pasted formula is the model the discovery scored; a residual
discovery's variables (``intensity``, ...) are refused with how to build template x exp(g); any other unknown name
lists the variables too, with a close match."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import sympy as sp

from energylens.discover.variables import energy_variables, residual_variables, substitute
from energylens.model import EnergyModel
from energylens.model.compile import UnsupportedExpressionError
from energylens.model.discovery_names import RESIDUAL_ONLY_VARIABLES
from energylens.profiles.datasets import mlenergy_v2
from energylens.profiles.features import build_features

PRINTED = "165.248*E_layer + 37.9983*sqrt(E_seq)*sqrt(0.395533*E_mem + 2.2077*E_pf) - 4.83271"


@pytest.fixture(scope="module")
def features():
    return build_features(mlenergy_v2().head(30))


def test_printed_formula_is_the_discovery_formula(features):
    pasted = EnergyModel.from_expression(PRINTED)
    truth = EnergyModel.from_expression(substitute(sp.sympify(PRINTED), energy_variables()))
    assert set(pasted.feature_names) == set(truth.feature_names)
    np.testing.assert_allclose(pasted.predict_features(features), truth.predict_features(features), rtol=1e-12)
    assert pasted.param_names == truth.param_names == ("c0", "c1", "c2", "c3", "c4")


def test_every_energy_variable_and_shape_name(features):
    expr = "1.0*E_mem + 2.0*E_comp + 3.0*E_pf + 4.0*E_layer + 5.0*E_seq + 6.0*B + 7.0*Lin_k + 8.0*Lout_k + tp*pp"
    pasted = EnergyModel.from_expression(expr).predict_features(features)
    v = {k: np.asarray(EnergyModel.from_expression(f"1.0*{k}").predict_features(features)) for k in
         ("E_mem", "E_comp", "E_pf", "E_layer", "E_seq", "B", "Lin_k", "Lout_k")}
    np.testing.assert_allclose(v["B"], features["batch_size"])
    np.testing.assert_allclose(v["Lin_k"], features["input_tokens"] / 1000)
    want = sum(w * v[k] for w, k in zip(range(1, 9), v, strict=False)) + features["tp"] * features["pp"]
    np.testing.assert_allclose(pasted, want, rtol=1e-12)


def test_residual_only_names_are_the_residual_discoverys_own():
    assert set(RESIDUAL_ONLY_VARIABLES) == set(residual_variables()) - set(energy_variables())


def test_fit_predict_save_load_of_a_pasted_formula(tmp_path, features):
    data = mlenergy_v2().head(60)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = EnergyModel.from_expression(PRINTED, bootstrap=0).fit(data)
    path = tmp_path / "m.json"
    model.save(path)
    back = EnergyModel.load(path)
    np.testing.assert_array_equal(back.predict_features(features), model.predict_features(features))
    assert "E_layer" not in str(back.expression) and "n_layers" in str(back.expression)


def test_residual_variable_says_how_to_build_the_corrected_model():
    with pytest.raises(UnsupportedExpressionError) as err:
        EnergyModel.from_expression("0.15 - 57.0*intensity/B")
    text = str(err.value)
    assert "'intensity'" in text and "residual" in text and "template=" in text and "expression_model" in text


def test_unknown_name_lists_the_variables_and_a_close_match():
    with pytest.raises(UnsupportedExpressionError) as err:
        EnergyModel.from_expression("2.0*E_layers + 1.0")
    text = str(err.value)
    assert "'E_layers'" in text and "did you mean 'E_layer'" in text and "E_mem" in text and "batch_size" in text


def test_a_constant_named_as_a_variable_stays_a_constant(features):
    model = EnergyModel.from_expression("B*batch_size", params={"B": 2.0})
    assert model.param_names == ("B",)
    np.testing.assert_allclose(model.predict_features(features), 2.0 * features["batch_size"])
