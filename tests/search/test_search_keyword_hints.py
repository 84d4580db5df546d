"""A keyword search() does not take names the closest real parameter(s) (``rate=20`` -> ``rate_per_s``), for
every keyword of search(), as the CLI's argparse names an option one letter off; found before any work, and
the check costs nothing on a call whose keywords are all real (it runs only once the call has failed)."""

import inspect

import pytest

import energylens
from energylens.search.api import search as api_search

L8 = "meta-llama/Llama-3.1-8B-Instruct"
PARAMS = [n for n, p in inspect.signature(api_search).parameters.items() if p.kind is not p.VAR_KEYWORD]


@pytest.mark.parametrize(("wrong", "meant"), [("rate", "rate_per_s"), ("tpot_limit", "tpot_limit_s"),
                                              ("ttft_limit", "ttft_limit_s"), ("weights", "workload_weights"),
                                              ("input_len", "input_tokens"), ("max_num_seq", "max_num_seqs"),
                                              ("carbon", "carbon_g_per_kwh"), ("price", "price_per_gpu_hour")])
def test_unknown_keyword_names_the_closest_parameter(wrong, meant):
    with pytest.raises(TypeError) as info:
        energylens.search(L8, "H100", input_tokens=512, output_tokens=256, **{wrong: 20})
    text = str(info.value)
    assert f"'{wrong}'" in text and f"'{meant}'" in text, text


@pytest.mark.parametrize("name", PARAMS)
def test_every_keyword_one_letter_off_is_named(name):
    wrong = name[:-1] if len(name) > 3 else name + "x"  # a letter dropped (or added)
    with pytest.raises(TypeError, match=f"'{name}'"):
        energylens.search.search(**{wrong: 1})


def test_no_close_name_lists_the_parameters_instead():
    with pytest.raises(TypeError) as info:
        energylens.search(L8, "H100", input_tokens=512, output_tokens=256, zzzqqq=1)
    assert "'zzzqqq'" in str(info.value) and "rate_per_s" in str(info.value)  # the keywords search() takes


def test_two_unknown_keywords_are_both_named():
    with pytest.raises(TypeError) as info:
        energylens.search(L8, "H100", input_tokens=512, output_tokens=256, rate=20, tpot_limit=0.05)
    text = str(info.value)
    assert "'rate'" in text and "'rate_per_s'" in text and "'tpot_limit'" in text and "'tpot_limit_s'" in text


def test_signature_and_help_unchanged():
    assert list(inspect.signature(energylens.search).parameters) == PARAMS  # the callable module, as the function
    assert "rate_per_s" in (api_search.__doc__ or "")


@pytest.mark.parametrize(("vllm", "meant"), [("tensor_parallel_size", "tp"), ("pipeline_parallel_size", "pp"),
                                             ("data_parallel_size", "dp"), ("enable_expert_parallel", "ep"),
                                             ("expert_parallel_size", "ep"), ("quantization", "precision")])
def test_vllm_option_names_point_to_the_axis(vllm, meant):
    """A vLLM user's own option names: ``quantization='fp8'`` was told "did you mean 'max_utilization'?", and
    ``tensor_parallel_size=8`` got no hint at all; each now names the axis that is its counterpart."""
    with pytest.raises(TypeError) as info:
        energylens.search("Qwen/Qwen3-30B-A3B", "H100", input_tokens=512, output_tokens=256, **{vllm: 8})
    text = str(info.value)
    assert f"'{vllm}': vLLM's name; here '{meant}'" in text and "max_utilization'?" not in text, text
    if vllm == "enable_expert_parallel":
        assert "tp x dp" in text, text
