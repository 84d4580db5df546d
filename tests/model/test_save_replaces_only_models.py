"""``EnergyModel.save(path)`` replaced whatever file was at ``path``: a user's measurements (``profiles.csv``), a
README, a discovery result were gone without a word, where ``energylens fit -o`` refuses any existing file that is
not a model file (docs/robustness.md). The Python save now refuses the same files (OutputError naming the path and
what to do, the file untouched); an earlier model file and an empty file (``tempfile.NamedTemporaryFile``'s) are
replaced as before."""

from __future__ import annotations

import json

import pytest
from tests.model.small_models import small_models

from energylens.errors import EnergyLensError, OutputError


@pytest.fixture(scope="module")
def models():
    return small_models()


@pytest.mark.parametrize("kind", ["template", "expression", "latency"])
@pytest.mark.parametrize("name, text", [
    ("profiles.csv", "model,gpu,tp\nx,H100,1\n"),
    ("notes.json", '{"a": 1}'),
    ("discovered.json", json.dumps({"format": "energylens.discovery", "version": 1})),
])
def test_a_file_that_is_not_a_model_is_refused_and_kept(tmp_path, models, kind, name, text):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(OutputError) as err:
        models[kind].save(path)
    assert isinstance(err.value, EnergyLensError)
    assert str(path) in str(err.value) and "not an energylens model file" in str(err.value)
    assert path.read_text() == text


@pytest.mark.parametrize("kind", ["template", "expression", "latency"])
def test_a_model_file_or_an_empty_file_is_replaced(tmp_path, models, kind):
    path = tmp_path / "m.json"
    path.write_text("")
    models[kind].save(path)
    models[kind].save(path)  # an earlier model file
    assert json.loads(path.read_text())["format"] == "energylens.model"


@pytest.mark.parametrize("kind", ["template", "expression"])
def test_a_missing_folder_or_a_folder_is_named(tmp_path, models, kind):
    """A missing folder read "m.json: cannot write here (No such file or directory)" and a folder "could not
    write (Is a directory)": each now says which folder and what to do."""
    with pytest.raises(OutputError, match=r"folder .*nope/sub does not exist; create it"):
        models[kind].save(tmp_path / "nope" / "sub" / "m.json")
    with pytest.raises(OutputError, match=r"is a folder; give a file path"):
        models[kind].save(tmp_path)
