"""A model file written by a newer energylens (its ``energylens_version`` above the installed one) loaded without
a word: only the file format's version was checked, so a model fitted with fixes or templates this package lacks
predicted here as if it were its own. Now loading it warns (NewerModelFileWarning), naming both versions; a file
of this version or an older one, or one whose version text is no release number, loads silently."""

from __future__ import annotations

import json
import warnings

import pytest

import energylens
from energylens import EnergyModel, NewerModelFileWarning
from energylens.model import load_model
from energylens.profiles.datasets import mlenergy_v2


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    path = tmp_path_factory.mktemp("m") / "model.json"
    EnergyModel(bootstrap=0).fit(mlenergy_v2().head(40)).save(path)
    return path


def _as_written_by(saved, tmp_path, version: str):
    doc = json.loads(saved.read_text())
    doc["energylens_version"] = version
    path = tmp_path / "model.json"
    path.write_text(json.dumps(doc))
    return path


@pytest.mark.parametrize("load", [EnergyModel.load, load_model])
def test_a_file_of_a_newer_energylens_warns_naming_both_versions(saved, tmp_path, load):
    path = _as_written_by(saved, tmp_path, "9.0.0")
    with pytest.warns(NewerModelFileWarning) as caught:
        model = load(path)
    text = str(caught[0].message)
    assert str(path) in text and "9.0.0" in text and energylens.__version__ in text, text
    assert caught[0].filename == __file__  # pointed at the caller's line
    assert model.predict(mlenergy_v2().head(3), check_range=False).shape == (3,)  # still loads


@pytest.mark.parametrize("version", [None, "0.0.1", "0.1.0rc1", "dev", "?"])
def test_a_file_of_this_or_an_older_energylens_loads_silently(saved, tmp_path, version):
    path = _as_written_by(saved, tmp_path, version or energylens.__version__)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        EnergyModel.load(path)
