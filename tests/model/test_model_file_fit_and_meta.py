"""A model file is a fitted model: one whose ``fit`` summary is null or absent (an edited file, or an
expression model saved before it was fitted) is refused on load, naming the file and the model, since the
checks of the residual counts and measured rows rest on that summary; an unfitted model of either kind is
not saved. The file's own fields are checked too: ``param_units`` must be the template's units,
``created_unix_s`` a time, ``energylens_version`` text."""

import copy
import json
import math

import pytest

from energylens.cli import main
from energylens.errors import ModelFileError, NewerModelFileWarning
from energylens.model import EnergyModel, LatencyModel, load_model
from energylens.profiles.datasets import load_profiles_or_bundled

EXPR = "2.0*tp*pp*tdp_w*output_tokens/batch_size + 5.0"


@pytest.fixture(scope="module")
def doc(small_model_file):
    return json.loads(small_model_file.read_text())


def _write(tmp_path, doc, name="edited.json"):
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return path


@pytest.mark.parametrize("part", ["energy", "latency"])
@pytest.mark.parametrize("how", ["null", "absent"])
def test_a_template_file_without_its_fit_summary_is_refused(doc, tmp_path, part, how):
    """With fit null, load skipped the residual-count and measured-rows checks and the model predicted."""
    edited = copy.deepcopy(doc)
    if how == "null":
        edited[part]["fit"] = None
    else:
        del edited[part]["fit"]
    path = _write(tmp_path, edited)
    with pytest.raises(ModelFileError, match=rf"edited\.json: {part} model fit is {'null' if how == 'null' else 'missing'}: "):
        load_model(path)
    if part == "latency":
        with pytest.raises(ModelFileError, match=r"edited\.json: latency model fit is"):
            LatencyModel.load(path)


@pytest.mark.parametrize("part", ["energy", "latency"])
def test_an_empty_fit_summary_is_refused(doc, tmp_path, part):
    """fit {} read as no summary (a falsy object), so the residual counts went unchecked as with null."""
    edited = copy.deepcopy(doc)
    edited[part]["fit"] = {}
    with pytest.raises(ModelFileError, match=rf"edited\.json: {part} fit summary is not valid"):
        load_model(_write(tmp_path, edited))


def test_cli_predict_refuses_a_file_without_its_fit_summary(doc, tmp_path, capsys):
    edited = copy.deepcopy(doc)
    edited["energy"]["fit"] = None
    data = tmp_path / "p.csv"
    load_profiles_or_bundled("bundled").head(3).to_csv(data, index=False)
    assert main(["predict", str(_write(tmp_path, edited)), str(data), "-o", str(tmp_path / "o.csv")]) == 2
    err = capsys.readouterr().err
    assert "edited.json: energy model fit is null" in err and "Traceback" not in err
    assert not (tmp_path / "o.csv").exists()


def test_an_unfitted_expression_model_is_not_saved(tmp_path):
    """It was saved (fit null), loaded back and predicted with the expression's start constants."""
    model = EnergyModel.from_expression(EXPR, bootstrap=0)
    with pytest.raises(ValueError, match=r"not saving .*m\.json: this ExpressionEnergyModel is not fitted"):
        model.save(tmp_path / "m.json")
    assert not (tmp_path / "m.json").exists()


def test_an_expression_file_without_its_fit_summary_is_refused(tmp_path):
    bundled = load_profiles_or_bundled("bundled")
    path = tmp_path / "m.json"
    EnergyModel.from_expression(EXPR, bootstrap=0).fit(bundled).save(path)
    edited = json.loads(path.read_text())
    edited["energy"]["fit"] = None
    edited["energy"]["train_residuals"] = []
    with pytest.raises(ModelFileError, match=r"edited\.json: expression model fit is null"):
        load_model(_write(tmp_path, edited))


@pytest.mark.parametrize("part", ["energy", "latency"])
def test_param_units_must_be_the_templates(doc, tmp_path, part):
    edited = copy.deepcopy(doc)
    edited[part]["param_units"]["eta_memory"] = "W"
    with pytest.raises(ModelFileError, match=rf"edited\.json: {part} param_units eta_memory = 'W' is not this "
                                             r"template's unit '1"):
        load_model(_write(tmp_path, edited))


@pytest.mark.parametrize("value,message", [
    (["a"], "param_units = ['a'] must be an object of parameter name -> unit"),
    ({"colour": "1"}, "param_units names ['colour'], which are not parameters of energylens.energy"),
    ({"eta_memory": 1}, "param_units eta_memory = 1 is not this template's unit"),
])
def test_param_units_shape(doc, tmp_path, value, message):
    edited = copy.deepcopy(doc)
    edited["energy"]["param_units"] = {**edited["energy"]["param_units"], **value} if isinstance(value, dict) else value
    with pytest.raises(ModelFileError, match="edited.json") as err:
        load_model(_write(tmp_path, edited))
    assert message in str(err.value), str(err.value)


def test_param_units_missing_a_parameter_is_refused(doc, tmp_path):
    edited = copy.deepcopy(doc)
    del edited["energy"]["param_units"]["pp_bubble"]
    with pytest.raises(ModelFileError, match=r"edited\.json: energy param_units lacks \['pp_bubble'\]"):
        load_model(_write(tmp_path, edited))


@pytest.mark.parametrize("value", ["yesterday", -5, True, None, math.inf, math.nan, [1]])
def test_created_unix_s_must_be_a_time(doc, tmp_path, value):
    edited = copy.deepcopy(doc)
    edited["created_unix_s"] = value
    with pytest.raises(ModelFileError, match=r"edited\.json: created_unix_s = .* must be the time the file was "
                                             r"written \(seconds since 1970, a finite number >= 0\)"):
        load_model(_write(tmp_path, edited))


@pytest.mark.parametrize("value", [2, None, ["0.1.0"], ""])
def test_energylens_version_must_be_text(doc, tmp_path, value):
    edited = copy.deepcopy(doc)
    edited["energylens_version"] = value
    with pytest.raises(ModelFileError, match=r"edited\.json: energylens_version = .* must be the version text of "
                                             "the energylens that wrote the file"):
        load_model(_write(tmp_path, edited))


@pytest.mark.parametrize("key", ["created_unix_s", "energylens_version"])
def test_a_file_without_the_writers_records_loads(doc, tmp_path, key):
    """They record who wrote the file and when; nothing reads them, so a file assembled without them loads."""
    edited = copy.deepcopy(doc)
    del edited[key]
    assert (load_model(_write(tmp_path, edited)).theta == load_model(_write(tmp_path, doc, "orig.json")).theta).all()


def test_a_newer_energylens_version_with_a_supported_file_version_loads(doc, tmp_path):
    """The file's ``version`` says whether this energylens reads it; a newer writer is warned about (its tables and
    fixes are not this version's: tests/model/test_model_file_newer_version.py), not refused."""
    edited = copy.deepcopy(doc)
    edited["energylens_version"] = "99.0.0"
    with pytest.warns(NewerModelFileWarning, match="99.0.0"):
        back = load_model(_write(tmp_path, edited))
    assert (back.theta == load_model(_write(tmp_path, doc, "orig.json")).theta).all()
