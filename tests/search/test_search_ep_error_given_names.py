"""An ep value no searched model's experts take is an error naming each model as the user gave it (an alias or
another checkpoint of the row), as the remedies do (settings["model_names_given"]); until 2026-12-07 it named the
model table's short name: `--model kimi-k2 --ep 5` was told "Kimi-K2-Instruct has 384 ... Kimi-K2-Instruct: --ep
2,3,4,...", a name the user never typed."""

import pytest

import energylens
from energylens.cli.main import main
from energylens.search.api import bundled_model

KW = dict(gpus="H100", input_tokens=512, output_tokens=256, max_num_seqs=[8], bootstrap=False)


def _error(models, **kw) -> str:
    with pytest.raises(ValueError) as info:
        energylens.search(model=models, tp=1, energy_model=bundled_model(), **KW, **kw)
    return str(info.value)


def test_an_alias_is_named_as_typed():
    text = _error("kimi-k2", ep=5)
    assert text.startswith("ep=5 divides the experts of none of the models (kimi-k2 has 384); ep values that do: "
                           "kimi-k2: --ep 2,3,4,6,"), text
    assert "Kimi-K2-Instruct" not in text


def test_each_model_is_named_as_typed():
    text = _error(["moonshotai/Kimi-K2-Thinking", "Qwen/Qwen3-235B-A22B-FP8"], ep=5)
    assert ("(moonshotai/Kimi-K2-Thinking has 384, Qwen/Qwen3-235B-A22B-FP8 has 128); ep values that do: "
            "moonshotai/Kimi-K2-Thinking: --ep 2,") in text, text
    assert "; Qwen/Qwen3-235B-A22B-FP8: --ep 2,4,8,16,32,64,128 (the EP group" in text, text


def test_a_dense_model_is_named_as_typed():
    text = _error("meta-llama/Llama-3.1-8B-Instruct", ep=2)
    assert text.startswith("ep=2 divides the experts of none of the models (meta-llama/Llama-3.1-8B-Instruct has 1)")


def test_the_cli_names_the_model_as_typed(capsys):
    assert main(["search", "--model", "kimi-k2", "--gpus", "H100", "--tp", "1", "--ep", "5", "--input-tokens", "512",
                 "--output-tokens", "256"]) == 2
    assert "ep=5 divides the experts of none of the models (kimi-k2 has 384)" in capsys.readouterr().err
