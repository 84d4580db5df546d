"""A tp value no searched model's heads take, the default tp's note of the values dropped, and a pp above a
model's layers name each model as the user gave it (an alias, or another checkpoint of the table's row), as the ep
error (2833d64c) and the remedies do; until 2026-12-07 they named the model table's name:
`--model meta-llama/Llama-3.1-8B-Instruct --tp 3` was told "Meta-Llama-3.1-8B-Instruct has 32 ...
Meta-Llama-3.1-8B-Instruct: --tp 1,2,4,8", and `--pp 33` "the 32 layers of meta-llama/Meta-Llama-3.1-8B-Instruct",
names the user never typed."""

import pytest

import energylens
from energylens.cli.main import main
from energylens.search.api import bundled_model

KW = dict(gpus="H100", input_tokens=512, output_tokens=256, max_num_seqs=[8], bootstrap=False)
LLAMA = "meta-llama/Llama-3.1-8B-Instruct"  # the table's row: meta-llama/Meta-Llama-3.1-8B-Instruct


def _error(models, **kw) -> str:
    with pytest.raises(ValueError) as info:
        energylens.search(model=models, energy_model=bundled_model(), **{**KW, **kw})
    return str(info.value)


def test_a_tp_no_heads_take_names_the_model_as_typed():
    text = _error(LLAMA, tp=3)
    assert text == (f"tp=3 divides the attention heads of none of the models ({LLAMA} has 32); tp values that do, "
                    f"within a node of 8 GPUs (--node-size): {LLAMA}: --tp 1,2,4,8")


def test_the_kv_heads_refusal_names_each_model_as_typed():
    text = _error(["phi-4", "Qwen/Qwen2.5-7B-Instruct"], tp=8)
    assert text.startswith("tp=8 suits none of the models (phi-4 has 40 attention heads and 10 KV heads, "
                           "Qwen/Qwen2.5-7B-Instruct has 28 attention heads and 4 KV heads;"), text
    assert text.endswith("phi-4: --tp 1,2,5; Qwen/Qwen2.5-7B-Instruct: --tp 1,2,4"), text


def test_the_default_tp_note_names_the_model_as_typed():
    r = energylens.search(model="Qwen/Qwen2.5-7B-Instruct", energy_model=bundled_model(), **KW)
    assert r.settings["tp_note"].endswith("tp 8 divides the attention heads of none of the models "
                                          "(Qwen/Qwen2.5-7B-Instruct has 28)"), r.settings["tp_note"]


def test_a_pp_above_the_layers_names_the_model_as_typed():
    text = _error(LLAMA, tp=1, pp=[1, 33])
    assert text.startswith(f"pp=33 exceeds the 32 layers of {LLAMA}: "), text


def test_the_cli_names_the_model_as_typed(capsys):
    args = ["search", "--model", LLAMA, "--gpus", "H100", "--input-tokens", "512", "--output-tokens", "256"]
    assert main([*args, "--tp", "3"]) == 2
    err = capsys.readouterr().err
    assert f"({LLAMA} has 32)" in err and "Meta-Llama" not in err, err
    assert main([*args, "--tp", "1", "--pp", "33"]) == 2
    err = capsys.readouterr().err
    assert f"the 32 layers of {LLAMA}:" in err and "Meta-Llama" not in err, err
