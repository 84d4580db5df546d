"""A model file whose energy ``template`` names no model this energylens reads (an expression model's file with its
id edited, or one a newer energylens wrote with a template of its own) said "energy model: unknown key(s)
['bounds', 'constants', 'expression', ...]; known: [...]": the keys of another kind of model, not what is wrong.
The template id is now checked first: the error names it and the ids this energylens reads."""

from __future__ import annotations

import pytest
from tests.model.small_models import save_edited, small_models

from energylens.errors import ModelFileError
from energylens.model import EnergyModel


@pytest.fixture(scope="module")
def models():
    return small_models()


@pytest.mark.parametrize("kind", ["template", "expression"])
@pytest.mark.parametrize("template", ["energylens.energy.v99", "energylens.expression.v2", ""])
def test_unknown_template_is_named(tmp_path, models, kind, template):
    path = tmp_path / "m.json"
    save_edited(models[kind], path, lambda doc: doc["energy"].__setitem__("template", template))
    with pytest.raises(ModelFileError) as err:
        EnergyModel.load(path)
    text = str(err.value)
    assert str(path) in text and repr(template) in text and "unknown key" not in text
    assert "'energylens.energy.v2'" in text and "'energylens.expression.v1'" in text


def test_latency_template_edited(tmp_path, models):
    path = tmp_path / "m.json"
    save_edited(models["template"], path, lambda doc: doc["latency"].__setitem__("template", "energylens.latency.v99"))
    with pytest.raises(ModelFileError, match=r"latency template 'energylens.latency.v99'.*'energylens.latency.v3'"):
        EnergyModel.load(path)
