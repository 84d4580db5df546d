"""``--kv-cache-dtype`` names the cache of a vLLM deployment: vLLM 0.x takes auto, float16, bfloat16 and the fp8
(and other quantised) kinds, no float32 (``CacheDType`` in vllm/config/cache.py). ``fp32`` / ``float32`` were
searched and listed ("kv-fp32"), a deployment vLLM refuses; now the search refuses them, saying that ``auto``
keeps an fp32 model's cache in fp32. ``fp16`` stays: the package's name of the float16 cache
(docs/profile-schema.md), as ``fp8`` is of fp8_e4m3."""

from __future__ import annotations

import pytest

from energylens.cli import main
from energylens.search import search

ARGS = dict(model="meta-llama/Llama-3.1-8B-Instruct", gpus="H100", input_tokens=512, output_tokens=256,
            max_num_seqs=[64], tp=[1])


@pytest.mark.parametrize("kv", ["fp32", "float32", "FP32"])
def test_a_float32_kv_cache_is_refused_naming_vllm(kv):
    with pytest.raises(ValueError, match=rf"kv_cache_dtype \(--kv-cache-dtype\): {kv!r} .*vLLM.*auto"):
        search(**ARGS, kv_cache_dtype=["fp8", kv])


@pytest.mark.parametrize("kv", ["fp16", "float16", "bfloat16", "fp8_e5m2", "auto"])
def test_the_caches_vllm_takes_are_searched(kv):
    result = search(**ARGS, kv_cache_dtype=kv)
    assert result.feasible > 0 and len(result.top["kv_cache_dtype"]) > 0


def test_the_command_line_says_it_and_fails(capsys):
    code = main(["search", "--model", ARGS["model"], "--gpus", "H100", "--input-tokens", "512",
                 "--output-tokens", "256", "--kv-cache-dtype", "fp32"])
    err = capsys.readouterr().err
    assert code != 0 and "'fp32'" in err and "vLLM" in err, err
