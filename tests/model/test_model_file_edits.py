"""A hand-edited model file is a ModelFileError naming the file and the key, never a Python traceback or a
model that loads and then misbehaves (a negative count, a prior that refits the bundled data on load)."""

import copy
import json

import numpy as np
import pytest

from energylens.errors import ModelFileError
from energylens.model.closed_form import EnergyModel, load_model
from energylens.profiles.datasets import load_profiles_or_bundled


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    bundled = load_profiles_or_bundled("bundled")
    path = tmp_path_factory.mktemp("model") / "m.json"
    EnergyModel(bootstrap=12, seed=3, calibration="family").fit(bundled).save(path)
    return json.loads(path.read_text())


def _energy(doc):
    return doc["energy"]


EDITS = [
    ("version", lambda d: d.__setitem__("version", True), "version True"),
    ("energy", lambda d: d.__setitem__("energy", 5), "energy = 5 must be"),
    ("latency", lambda d: d.__setitem__("latency", []), "latency = [] must be"),
    ("options", lambda d: _energy(d).__setitem__("options", None), "options = None must be an object"),
    ("params", lambda d: _energy(d).__setitem__("params", None), "params = None must be an object"),
    ("template", lambda d: _energy(d).__setitem__("template", []), "template = [] must be a string"),
    ("replicates", lambda d: _energy(d).__setitem__("bootstrap_replicates", 1.5), "bootstrap_replicates = 1.5"),
    ("prior", lambda d: _energy(d)["options"].__setitem__("prior", "bundled"), "options.prior = 'bundled'"),
    ("fit", lambda d: _energy(d).__setitem__("fit", 5), "fit = 5 must be the fit summary (an object)"),
    ("n_rows", lambda d: _energy(d)["fit"].__setitem__("n_rows", "x"), "n_rows = 'x' must be a whole number"),
    ("identifiable", lambda d: _energy(d)["fit"].__setitem__("identifiable", "no"), "identifiable = 'no'"),
    ("distinct rows", lambda d: _energy(d)["fit"].__setitem__("n_distinct_rows", 10**6),
     "fit summary is not valid (n_distinct_rows = 1000000 exceeds n_rows"),
    ("distinct configs", lambda d: _energy(d)["fit"].__setitem__("n_distinct_configs", 10**6),
     "n_distinct_configs = 1000000 exceeds n_distinct_rows"),
    ("starts", lambda d: _energy(d)["fit"].__setitem__("starts_converged", 99), "starts_converged = 99 exceeds starts"),
    ("cost", lambda d: _energy(d)["fit"].__setitem__("cost", "x"), "cost = 'x' must be a number"),
    ("train_mape", lambda d: _energy(d)["fit"].__setitem__("train_mape", None), "train_mape = None must be a number"),
    ("boot bounds", lambda d: _energy(d)["bootstrap_params"][0].__setitem__(0, -1e9), "bootstrap_params row 1"),
    ("residual", lambda d: _energy(d)["residual_sample"].__setitem__(0, -1.5), "residual_sample holds -1.5"),
    ("v1 residuals", lambda d: _energy(d).__setitem__("train_residuals", [0.1, -1.0]), "train_residuals holds -1.0"),
    ("counts", lambda d: _energy(d)["calibration"].__setitem__(
        "counts", [-1] * len(_energy(d)["calibration"]["keys"])), "counts must be finite and >= 0"),
    ("k", lambda d: _energy(d)["calibration"].__setitem__("k", -1.0), "k must be >= 0"),
    ("dup keys", lambda d: _energy(d)["calibration"].__setitem__(
        "keys", [_energy(d)["calibration"]["keys"][0]] * len(_energy(d)["calibration"]["keys"])), "keys repeat"),
    ("residual count", lambda d: _energy(d).__setitem__("residual_count", 10**6),
     "energy residual count(s) [1000000] disagree with the fit summary's n_measurements"),
    ("cal key", lambda d: _energy(d)["calibration"]["keys"].__setitem__(0, 1.5),
     "keys must be a list of text keys, one per calibrated group; got 1.5"),
    ("cal sample", lambda d: _energy(d)["calibration"].__setitem__("residual_sample", [[0.1]]), "residual_sample"),
]


@pytest.mark.parametrize("name,edit,message", EDITS, ids=[e[0] for e in EDITS])
def test_an_edited_file_names_what_is_wrong(saved, tmp_path, name, edit, message):
    doc = copy.deepcopy(saved)
    edit(doc)
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(ModelFileError, match="edited.json") as err:
        load_model(path)
    assert message in str(err.value), str(err.value)


def test_one_row_per_calibration_key_writes_valid_json_and_loads(tmp_path):
    """Undefined variances (no within-key scatter) are written as null, not the NaN token other JSON readers
    refuse, and read back as NaN."""
    rows = load_profiles_or_bundled("bundled").drop_duplicates("model").head(20)
    model = EnergyModel(bootstrap=12, calibration="model").fit(rows)
    assert np.isnan(model.calibration.within_var)
    path = tmp_path / "m.json"
    model.save(path)
    json.loads(path.read_text(), parse_constant=lambda c: pytest.fail(f"{c} in the model file"))
    assert np.isnan(load_model(path).calibration.within_var)
