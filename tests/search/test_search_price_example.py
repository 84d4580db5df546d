"""A --price missing a searched GPU was told "give every searched GPU one (H100=2.5,H200=3.4)": a search of H100 and
L40S priced at H100=2 read an example naming H200, which it never searched, at prices it never gave. The message now
builds the example from the prices given and the GPU that lacks one, in the --price syntax."""

import subprocess
import sys

import pytest

import energylens
from energylens.search.api import bundled_model

L8 = "meta-llama/Llama-3.1-8B-Instruct"


def test_the_example_is_the_given_prices_and_the_missing_gpu():
    with pytest.raises(ValueError) as err:
        energylens.search(L8, "H100,L40S", input_tokens=1000, output_tokens=300, energy_model=bundled_model(),
                          price_per_gpu_hour={"H100": 2.0}, objective="cost")
    text = str(err.value)
    assert "has no price for L40S: give every searched GPU one (--price H100=2,L40S=PRICE per GPU-hour)" in text, text
    assert "H200" not in text and "2.5" not in text, text


def test_the_command_says_the_same():
    out = subprocess.run([sys.executable, "-m", "energylens", "search", "--model", L8, "--gpus", "H100,L40S",
                          "--input-tokens", "1000", "--output-tokens", "300", "--objective", "cost", "--price",
                          "H100=2", "--model-file", "bundled"], capture_output=True, text=True, check=False)
    assert out.returncode == 2, out.stderr
    assert "give every searched GPU one (--price H100=2,L40S=PRICE per GPU-hour)" in out.stderr, out.stderr
