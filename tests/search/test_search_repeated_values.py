"""A precision, KV-cache dtype or workload point given twice (after normalising: bf16,BF16; fp8,fp8_e4m3) is
refused naming the option and both values: it was searched twice, each row listed twice with P(best) 0.5 and
an explanation that "ties with" itself."""

import numpy as np
import pytest

import energylens
from energylens.cli.main import main
from energylens.search.api import bundled_model
from energylens.search.space import build_space

KW = dict(input_tokens=512, output_tokens=256)


@pytest.mark.parametrize("extra, message", [
    (dict(precision="bf16,BF16"), r"precision \(--precision\): 'bf16' and 'BF16' are the same weight format \(bf16\)"),
    (dict(precision=["fp8", "bf16", "bfloat16"]), r"'bf16' and 'bfloat16' are the same weight format \(bf16\)"),
    (dict(kv_cache_dtype="fp8,fp8_e4m3"),
     r"kv_cache_dtype \(--kv-cache-dtype\): 'fp8' and 'fp8_e4m3' are the same KV-cache dtype \(fp8\)"),
    (dict(input_tokens=[512, 512]), r"--input-tokens / --output-tokens\): workload points 1 and 2 are the same "
                                    r"\(512 in, 256 out\)"),
    (dict(input_tokens=[512, 1024, 512], output_tokens=[256, 256, 256]), r"workload points 1 and 3 are the same"),
])
def test_repeated_values_are_refused_naming_option_and_values(extra, message):
    with pytest.raises(ValueError, match=message):
        build_space("meta-llama/Llama-3.1-8B-Instruct", "H100", **{**KW, **extra})


def test_distinct_values_and_repeated_quantiles_of_a_distribution_pass():
    space = build_space("meta-llama/Llama-3.1-8B-Instruct", "H100", input_tokens=[512, 512], output_tokens=[256, 512],
                        precision="bf16,fp8", kv_cache_dtype="auto,fp8")
    assert [c.precision for c in space.combos] == ["bf16", "bf16", "fp8", "fp8"] and len(space.workloads) == 2
    dist = build_space("meta-llama/Llama-3.1-8B-Instruct", "H100", input_tokens=[512, 512, 2048], output_tokens=256,
                       workload_weights="equal")  # equal quantiles: a distribution may repeat a point
    np.testing.assert_allclose(dist.workload_weights, [1 / 3] * 3)


def test_search_and_cli_refuse_a_repeated_precision(capsys):
    with pytest.raises(ValueError, match="same weight format"):
        energylens.search(model="meta-llama/Llama-3.1-8B-Instruct", gpus="H100", precision="bf16,BF16",
                          energy_model=bundled_model(), **KW)
    assert main(["search", "--model", "meta-llama/Llama-3.1-8B-Instruct", "--gpus", "H100", "--input-tokens", "512",
                 "--output-tokens", "256", "--precision", "bf16,BF16"]) == 2
    assert "precision (--precision): 'bf16' and 'BF16' are the same weight format" in capsys.readouterr().err


@pytest.mark.parametrize("models, extra, message", [
    ("meta-llama/Llama-3.1-8B-Instruct", dict(kv_cache_dtype="auto,bf16"),
     r"'auto' and 'bf16' give the same KV cache for bf16 weights \(2 bytes per element"),
    ("meta-llama/Llama-3.1-8B-Instruct", dict(kv_cache_dtype="fp8,auto,fp16", precision="bf16,fp8"),
     r"'auto' and 'fp16' give the same KV cache for bf16, fp8 weights"),
    ("meta-llama/Llama-3.1-8B-Instruct", dict(kv_cache_dtype="bf16,fp16"), r"'bf16' and 'fp16' give the same"),
])
def test_kv_dtypes_priced_alike_are_refused(models, extra, message):
    """``--kv-cache-dtype auto,bf16`` on bf16 weights: auto keeps the cache in the activation dtype, so the two are
    one deployment; each was listed twice at the same energy with P(best) 0.5 and "ties with" itself."""
    with pytest.raises(ValueError, match=message):
        build_space(models, "H100", **{**KW, **extra})


def test_kv_dtypes_that_differ_for_a_searched_format_pass():
    """auto is fp32 for fp32 weights: auto and bf16 differ there, so both are searched."""
    space = build_space("meta-llama/Llama-3.1-8B-Instruct", "H100", precision="bf16,fp32", kv_cache_dtype="auto,bf16",
                        **KW)
    assert len(space.combos) == 4
