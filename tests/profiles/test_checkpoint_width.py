"""A checkpoint name's width word (Int8, W8A8, 8bit, Int4 ...) decides its format over the method word (GPTQ,
AWQ), which implies 4-bit only on its own: Qwen2.5-72B-Instruct-GPTQ-Int8 was priced as int4 and its TP2 on
two 40 GB GPUs reported feasible, though 72.7 GB of 8-bit weights do not fit there."""

import pytest

import energylens
from energylens.profiles.checkpoints import checkpoint_precision
from energylens.search.api import bundled_model


@pytest.mark.parametrize("name, fmt", [
    ("Qwen/Qwen2.5-72B-Instruct-GPTQ-Int8", "int8"),
    ("Qwen/Qwen2.5-72B-Instruct-GPTQ-Int4", "int4"),
    ("Qwen/Qwen2.5-7B-Instruct-GPTQ-Int8", "int8"),
    ("Qwen/Qwen2.5-72B-Instruct-AWQ", "int4"),
    ("TheBloke/Llama-2-7B-Chat-GPTQ", "int4"),                        # the method alone: 4-bit
    ("neuralmagic/Meta-Llama-3.1-70B-Instruct-quantized.w8a8", "int8"),
    ("neuralmagic/Meta-Llama-3.1-8B-Instruct-quantized.w4a16", "int4"),
    ("RedHatAI/Meta-Llama-3.1-8B-Instruct-FP8-dynamic", "fp8"),
    ("unsloth/Llama-3.3-70B-Instruct-bnb-8bit", "int8"),
    ("someone/Model-AWQ-8bit", "int8"),                               # the width, wherever it stands
])
def test_width_word_wins_over_method_word(name, fmt):
    assert checkpoint_precision(name) == fmt


def test_gptq_int8_checkpoint_is_searched_in_8_bit_and_named_in_the_precision_line():
    r = energylens.search(model="Qwen/Qwen2.5-72B-Instruct-GPTQ-Int8", gpus="A100-SXM4-40GB", tp=[1, 2],
                          max_num_seqs=[1], input_tokens=512, output_tokens=256, energy_model=bundled_model(),
                          bootstrap=False)
    assert r.settings["precisions"] == ["int8"]
    assert r.feasible == 0 and r.rejected["memory_weights"] == 2  # 72.7 GB of int8 weights: not on 2 x 40 GB
    assert r.settings["checkpoint_precisions"] == {"Qwen/Qwen2.5-72B-Instruct-GPTQ-Int8": "int8"}
    assert "(Qwen/Qwen2.5-72B-Instruct-GPTQ-Int8 int8)" in r.summary()  # the checkpoint as named, not the base row
    int4 = energylens.search(model="Qwen/Qwen2.5-72B-Instruct-GPTQ-Int4", gpus="A100-SXM4-40GB", tp=[2],
                             max_num_seqs=[1], input_tokens=512, output_tokens=256, energy_model=bundled_model(),
                             bootstrap=False)
    assert int4.settings["precisions"] == ["int4"] and int4.feasible == 1


def test_llm_compressor_checkpoints_find_their_model():
    """neuralmagic's / RedHatAI's '-quantized.w8a8' names got the right width but no model row until 2026-12-05
    ('quantized' was not a variant word), so the search could not run them."""
    r = energylens.search(model="neuralmagic/Meta-Llama-3.1-70B-Instruct-quantized.w8a8", gpus="H100", tp=[1, 2],
                          max_num_seqs=[4], input_tokens=512, output_tokens=256, energy_model=bundled_model(),
                          bootstrap=False)
    assert r.settings["precisions"] == ["int8"]
    # 72.7 GB of weights (68.4e9 int8 + embedding and lm_head 2.1e9 in bf16): TP1 fits beside a batch of 4 on
    # 80 GB (a batch of 8 is 0.2 GiB over), as TP2 does
    assert r.feasible == 2
