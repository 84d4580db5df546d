"""``predict_interval(level=90)`` (a percentage, as the CLI's report prints coverage) said "level must be a number in
(0, 1), got 90" without the fraction meant; a model file without ``version`` said "model file version None is not
supported (this energylens reads versions 1..2)" and one whose version is the text "2" "version '2' is not supported
... reads versions 1..2": neither said what is wrong with the file. Each now says it."""

from __future__ import annotations

import warnings

import pytest
from tests.model.small_models import save_edited

from energylens.errors import ModelFileError
from energylens.model import EnergyModel
from energylens.model.persistence import MODEL_FILE_VERSION
from energylens.profiles.datasets import mlenergy_v2


@pytest.fixture(scope="module")
def model():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return EnergyModel(bootstrap=20).fit(mlenergy_v2().head(40), latency=False)


@pytest.mark.parametrize("level, hint", [(90, "0.9 for a 90 % interval"), (95.5, "0.955 for a 95.5 % interval")])
def test_percent_level_names_the_fraction(model, level, hint):
    with pytest.raises(ValueError, match="level must be a number in") as err:
        model.predict_interval(mlenergy_v2().head(2), level=level)
    assert hint in str(err.value)


@pytest.mark.parametrize("level", [0, 1, 150, -0.5])
def test_other_levels_give_no_percent_hint(model, level):
    with pytest.raises(ValueError, match="level must be a number in") as err:
        model.predict_interval(mlenergy_v2().head(2), level=level)
    assert "interval)" not in str(err.value)


@pytest.mark.parametrize("edit, said", [
    (lambda d: d.pop("version"), "has no 'version'"),
    (lambda d: d.__setitem__("version", "2"), "version '2' must be a whole number"),
    (lambda d: d.__setitem__("version", 2.0), "version 2.0 must be a whole number"),
    (lambda d: d.__setitem__("version", MODEL_FILE_VERSION + 1), "upgrade energylens"),
])
def test_version_errors_say_what_is_wrong(tmp_path, model, edit, said):
    path = tmp_path / "m.json"
    save_edited(model, path, edit)
    with pytest.raises(ModelFileError) as err:
        EnergyModel.load(path)
    assert str(path) in str(err.value) and said in str(err.value)


def test_a_level_near_one_is_not_rounded_in_the_warning():
    """replicates_note printed level 1 - 1e-12 as 'a 1 interval ... may cover less than 1'."""
    from energylens.model.intervals import replicates_note
    note = replicates_note(1 - 1e-12, 50)
    assert "a 0.999999999999 interval" in note and "less than 0.999999999999" in note
    assert "a 0.9 interval" in replicates_note(0.9, 50)
