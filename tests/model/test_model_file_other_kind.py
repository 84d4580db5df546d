"""A model file read by the class of another kind of model. ExpressionEnergyModel.load of a template
EnergyModel's file (energylens fit's usual output, a latency model beside it) said 'latency holds a latency
model beside an expression energy model, which a save never writes (the file was edited or assembled by hand:
refit, ...)': the file was neither edited nor an expression model's. Without a latency model it said only
"template 'energylens.energy.v2' is not 'energylens.expression.v1'". Both now say which model the file holds
and what reads it. The other pairings were already clear and are held here: EnergyModel.load of an expression
file gives the ExpressionEnergyModel (documented), of a latency-only file 'holds no energy model';
LatencyModel.load of an expression file 'holds no latency model', of an energy file its latency model."""

from __future__ import annotations

import warnings

import pytest

from energylens.errors import ModelFileError
from energylens.model import EnergyModel, ExpressionEnergyModel, LatencyModel, load_model
from energylens.profiles.datasets import mlenergy_v2


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    rows = mlenergy_v2()[lambda d: d["gpu"].str.contains("H100")].head(60)
    tmp = tmp_path_factory.mktemp("kinds")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        both = EnergyModel(bootstrap=0).fit(rows)
        both.save(tmp / "both.json")
        EnergyModel(bootstrap=0).fit(rows, latency=False).save(tmp / "energy.json")
        both.latency_model.save(tmp / "latency.json")
        EnergyModel.from_expression("0.01*input_tokens + 3.0", bootstrap=0).fit(rows).save(tmp / "expr.json")
    return {p.stem: p for p in tmp.iterdir()}


@pytest.mark.parametrize("name", ["both", "energy"])
def test_an_expression_load_of_a_template_file_names_what_it_holds(files, name):
    template = EnergyModel().template_id
    with pytest.raises(ModelFileError, match=rf"{name}.json: holds an EnergyModel") as exc:
        ExpressionEnergyModel.load(files[name])
    text = str(exc.value)
    assert f"holds an EnergyModel (template '{template}'), not an expression model" in text, text
    assert "EnergyModel.load or load_model" in text, text
    assert "edited" not in text and "beside" not in text, text
    assert type(load_model(files[name])) is EnergyModel  # what the message offers reads it


def test_an_expression_load_of_a_latency_file_says_so(files):
    with pytest.raises(ModelFileError, match=r"latency.json: holds no energy model \(a LatencyModel only: "
                                             r"LatencyModel.load or load_model reads it\)"):
        ExpressionEnergyModel.load(files["latency"])


def test_the_other_pairings(files):
    assert type(EnergyModel.load(files["expr"])) is ExpressionEnergyModel
    assert type(LatencyModel.load(files["both"])) is LatencyModel
    with pytest.raises(ModelFileError, match="latency.json: holds no energy model"):
        EnergyModel.load(files["latency"])
    with pytest.raises(ModelFileError, match="expr.json: holds no latency model"):
        LatencyModel.load(files["expr"])


def test_an_energy_load_of_a_latency_file_names_what_reads_it(files):
    """EnergyModel.load of a latency-only file said only 'holds no energy model' (ExpressionEnergyModel.load said
    which model it holds and what reads it); it now says the same."""
    with pytest.raises(ModelFileError, match=r"latency.json: holds no energy model \(a LatencyModel only: "
                                             r"LatencyModel.load or load_model reads it\)"):
        EnergyModel.load(files["latency"])
    assert type(load_model(files["latency"])) is LatencyModel  # what the message offers reads it


@pytest.mark.parametrize("name, holds", [("energy", "an EnergyModel fitted without latency"),
                                         ("expr", "an ExpressionEnergyModel")])
def test_a_latency_load_of_a_file_without_one_says_what_it_holds(files, name, holds):
    """LatencyModel.load of an energy-only file said only 'holds no latency model'."""
    with pytest.raises(ModelFileError, match=rf"{name}.json: holds no latency model \({holds} only: "
                                             r"EnergyModel.load or load_model reads it") as exc:
        LatencyModel.load(files[name])
    assert "ttft_s" in str(exc.value) and "tpot_s" in str(exc.value)  # how to get one
    assert type(load_model(files[name])) is {"energy": EnergyModel, "expr": ExpressionEnergyModel}[name]
