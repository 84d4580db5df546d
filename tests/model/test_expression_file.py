"""An expression model's file (``EnergyModel.from_expression(...).save``) is read without evaluating its text
(``sympify`` ran any Python a model file held), checked as the template's file is (a wrong type, a
non-finite number, a bootstrap table of the wrong shape: ModelFileError naming the file and the key, never a
traceback or a model that loads and misbehaves), and written as standard JSON (no Infinity tokens)."""

import copy
import json
import math
import subprocess
import sys

import numpy as np
import pytest

from energylens.cli import main
from energylens.errors import ModelFileError
from energylens.model import EnergyModel, load_model
from energylens.profiles.datasets import load_profiles_or_bundled


@pytest.fixture(scope="module")
def bundled():
    return load_profiles_or_bundled("bundled").reset_index(drop=True)


@pytest.fixture(scope="module")
def saved(bundled, tmp_path_factory):
    path = tmp_path_factory.mktemp("expr") / "m.json"
    EnergyModel.from_expression("2.0*tp*pp*tdp_w*output_tokens/batch_size + 5.0", bootstrap=20).fit(bundled).save(path)
    return json.loads(path.read_text())


def _write(tmp_path, doc, name="edited.json"):
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return path


def test_a_model_file_cannot_run_code_on_load(saved, tmp_path):
    marker = tmp_path / "ran"
    for text in (f"__import__('os').system('touch {marker}')",
                 f"Add(Symbol('c0'), __import__('pathlib').Path('{marker}').touch() or Integer(1))",
                 f"Symbol.__init__.__globals__['os'].system('touch {marker}')"):
        doc = copy.deepcopy(saved)
        doc["energy"]["expression"] = text
        with pytest.raises(ModelFileError, match=r"edited\.json: expression model expression is not a SymPy"):
            load_model(_write(tmp_path, doc))
        assert not marker.exists()


def _e(key, value):
    return lambda d: d["energy"].__setitem__(key, value)


def _sub(key, inner, value):
    return lambda d: d["energy"][key].__setitem__(inner, value)


EDITS = [
    ("params nan", _sub("params", "c0", math.nan), "params c0 = nan is not a finite number"),
    ("params extra", _sub("params", "zz", 1.0), "params names ['c0', 'c1', 'zz']"),
    ("boot columns", _e("bootstrap_params", [[1.0]] * 20), "bootstrap_params has 1 columns, expected 2"),
    ("boot nan", lambda d: d["energy"]["bootstrap_params"][0].__setitem__(0, math.nan),
     "bootstrap_params must be a table of finite numbers"),
    ("boot rows", lambda d: d["energy"]["bootstrap_params"].pop(), "bootstrap_params has 19 rows"),
    ("residuals", lambda d: d["energy"]["train_residuals"].__setitem__(0, math.inf), "train_residuals must be"),
    ("residuals dropped", lambda d: d["energy"].pop("train_residuals"),
     "train_residuals holds 0 residuals for the fit summary's 356 measurements"),
    ("option key", _sub("options", "bogus", 1), "options: unknown key(s) ['bogus']"),
    ("options none", _e("options", None), "options: expected an object"),
    ("loss", _sub("options", "loss", "zzz"), "options are not valid: loss must be"),
    ("fit key", _sub("fit", "bogus", 1), "fit summary is not valid"),
    ("fit list", _e("fit", [1]), "fit = [1] must be the fit summary (an object)"),
    ("bounds", _e("bounds", "x"), "bounds = 'x' must be an object"),
    ("bounds pair", _e("bounds", {"c0": [1]}), "bounds c0 = [1] is not a [lower, upper] pair"),
    ("outside", _e("bounds", {"c0": [0, 1]}), "params c0 = 7."),
    ("start", _e("start", [1, 2]), "start = [1, 2] must be an object"),
    ("replicates", _e("bootstrap_replicates", "x"), "bootstrap_replicates = 'x' must be a whole number"),
    ("name", _e("name", {"a": 1}), "name = {'a': 1} must be a string"),
    ("unknown key", _e("zzz", 1), "unknown key(s) ['zzz']"),
    ("missing", lambda d: d["energy"].pop("expression"), "key 'expression' missing"),
    ("latency", lambda d: d.__setitem__("latency", {"template": "x"}), "latency holds a latency model beside"),
]


@pytest.mark.parametrize("name,edit,message", EDITS, ids=[e[0] for e in EDITS])
def test_an_edited_expression_file_names_what_is_wrong(saved, tmp_path, name, edit, message):
    doc = copy.deepcopy(saved)
    edit(doc)
    with pytest.raises(ModelFileError, match=r"edited\.json") as err:
        load_model(_write(tmp_path, doc))
    assert message in str(err.value), str(err.value)


def test_cli_predict_on_an_edited_expression_file_exits_2_without_traceback(saved, bundled, tmp_path, capsys):
    doc = copy.deepcopy(saved)
    doc["energy"]["options"]["bogus"] = 1
    data = tmp_path / "p.csv"
    bundled.iloc[:3].to_csv(data, index=False)
    assert main(["predict", str(_write(tmp_path, doc)), str(data), "-o", str(tmp_path / "o.csv")]) == 2
    err = capsys.readouterr().err
    assert "edited.json: expression model options: unknown key(s) ['bogus']" in err and "Traceback" not in err
    assert not (tmp_path / "o.csv").exists()


def test_every_operator_round_trips_bit_for_bit_as_standard_json(bundled, tmp_path):
    expr = ("c*tp*tdp_w*output_tokens/batch_size*exp(-input_tokens/8192.0)*(1 + Abs(tanh(log(pp + 1))))"
            "*Max(1, Min(2, sqrt(dp))) + pi/3 + d")
    model = EnergyModel.from_expression(expr, params={"c": 0.05, "d": 5.0}, bounds={"c": (0.0, 1.0)},
                                        bootstrap=12, n_starts=1).fit(bundled)
    path = tmp_path / "m.json"
    model.save(path)
    doc = json.loads(path.read_text(), parse_constant=lambda c: pytest.fail(f"{c} in the model file"))
    assert doc["energy"]["bounds"] == {"c": [0.0, 1.0], "d": [None, None]}
    back = load_model(path)
    assert back.expression == model.expression and back.summary == model.summary
    np.testing.assert_array_equal(back.predict(bundled), model.predict(bundled))
    np.testing.assert_array_equal(back.predict_interval(bundled.iloc[:20]), model.predict_interval(bundled.iloc[:20]))


def test_a_file_written_with_infinity_bounds_still_loads(saved, bundled, tmp_path):
    doc = copy.deepcopy(saved)
    doc["energy"]["bounds"] = {"c0": [-math.inf, math.inf], "c1": [0.0, math.inf]}  # as energylens wrote before
    back = load_model(_write(tmp_path, doc))
    assert back.params["c0"].lower == -math.inf and back.params["c1"].upper == math.inf
    assert back.params["c1"].lower == 0.0


def test_a_fit_that_is_not_finite_is_not_saved(bundled, tmp_path):
    """A fit whose predictions are infinite on training rows (log(0) where tp = 1) was written, Infinity
    tokens and all, as a file that load then refused."""
    model = EnergyModel.from_expression("2.0*tdp_w*output_tokens/batch_size*log(tp - 1) + 5.0",
                                        bootstrap=0).fit(bundled)
    assert model.summary.status == "non_finite"
    with pytest.raises(ValueError, match=r"not saving .*m\.json: the fitted expression is not finite on \d+ "
                                         r"training rows .*fit status non_finite"):
        model.save(tmp_path / "m.json")
    assert not (tmp_path / "m.json").exists()


def test_a_power_too_large_to_compute_is_refused_not_computed(saved, tmp_path):
    """SymPy computes a power of exact numbers exactly: an expression edited to Pow(10, 10**12) stalled the load."""
    doc = copy.deepcopy(saved)
    big = "Pow(Integer(10), Integer(1000000000000))"
    doc["energy"]["expression"] = doc["energy"]["expression"].replace("Integer(-1)", big, 1)
    assert big in doc["energy"]["expression"]
    path = _write(tmp_path, doc)
    run = subprocess.run([sys.executable, "-c", f"from energylens.model import load_model; load_model({str(path)!r})"],
                         capture_output=True, text=True, timeout=120)  # (a stalled load fails here, not hangs)
    assert run.returncode == 1 and "a power of exact numbers (exponent 1000000000000) of about" in run.stderr


@pytest.mark.parametrize("written_before", [False, True], ids=["constants stored", "file without them"])
def test_a_file_whose_keys_were_sorted_keeps_each_bootstrap_column_with_its_constant(bundled, tmp_path,
                                                                                     written_before):
    """The constants' order (the bootstrap table's columns) was the key order of "start": a tool that sorts
    JSON keys (jq -S) gave each column to another constant without a word. A file without the stored order
    (written before it was) sorted on purpose to where the order is unchanged still loads."""
    model = EnergyModel.from_expression("b*tp*tdp_w*output_tokens/batch_size + a", params={"b": 0.05, "a": 5.0},
                                        bootstrap=12, n_starts=1).fit(bundled)
    path = tmp_path / "m.json"
    model.save(path)
    doc = json.loads(path.read_text())
    if written_before:
        del doc["energy"]["constants"]
        doc["energy"]["start"] = dict(reversed(doc["energy"]["start"].items()))  # a, b: the columns' order is b, a
        doc["energy"]["bootstrap_params"] = [row[::-1] for row in doc["energy"]["bootstrap_params"]]
    path.write_text(json.dumps(doc, sort_keys=True))
    back = load_model(path)
    np.testing.assert_array_equal(back.predict_interval(bundled.iloc[:20]), model.predict_interval(bundled.iloc[:20]))
    assert dict(zip(back.param_names, back.theta, strict=True)) == dict(zip(model.param_names, model.theta, strict=True))


def test_stored_constants_must_match_start(saved, tmp_path):
    doc = copy.deepcopy(saved)
    doc["energy"]["constants"] = ["c0", "c0"]
    with pytest.raises(ModelFileError, match=r"edited\.json: expression model constants = \['c0', 'c0'\] must list"):
        load_model(_write(tmp_path, doc))
