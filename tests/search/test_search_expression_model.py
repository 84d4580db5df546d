"""``energylens search --model-file`` of an expression energy model (``EnergyModel.from_expression``, a formula from
``energylens discover``) said "holds only a latency model; the search needs an energy model": it holds an energy
model, one the search cannot price configurations with (the engine evaluates the closed-form template and its
latency model). It now says so and what to pass."""

import warnings

import pytest

import energylens
from energylens.cli.main import main
from energylens.model import EnergyModel
from energylens.profiles.datasets import mlenergy_v2

EXPR = "0.001*input_tokens*tp + 0.01*output_tokens + 3.0"


@pytest.fixture(scope="module")
def expression_file(tmp_path_factory):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = EnergyModel.from_expression(EXPR, bootstrap=0).fit(mlenergy_v2().head(40))
    path = tmp_path_factory.mktemp("m") / "expr.json"
    model.save(path)
    return model, path


def test_the_api_names_an_expression_model(expression_file):
    model, path = expression_file
    for given in (model, str(path)):
        with pytest.raises(ValueError) as info:
            energylens.search("meta-llama/Llama-3.1-8B-Instruct", "H100", input_tokens=512, output_tokens=256,
                              energy_model=given)
        text = str(info.value)
        assert "holds only a latency model" not in text and "expression energy model" in text
        assert "energylens fit" in text


def test_the_command_says_it_and_exits_2(expression_file, capsys):
    _, path = expression_file
    code = main(["search", "--model", "meta-llama/Llama-3.1-8B-Instruct", "--gpus", "H100", "--input-tokens", "512",
                 "--output-tokens", "256", "--model-file", str(path)])
    err = capsys.readouterr().err
    assert code == 2 and "holds only a latency model" not in err and "expression energy model" in err
