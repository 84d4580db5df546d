"""A bare ``fp4`` on the search's precision axis is each model's checkpoint's fp4 format, as the profile schema
reads the cell (energylens.profiles.bare_fp4): ``nvidia/*-FP4`` NVFP4 (W4A4 on Blackwell), gpt-oss MXFP4 (W4A16).
It went through the weight alias, so ``--precision fp4`` searched an NVFP4 checkpoint as MXFP4 (16-bit GEMMs)."""

import warnings

import pytest

import energylens
from energylens.profiles.bare_fp4 import AmbiguousPrecisionWarning
from energylens.search.api import bundled_model

AXES = dict(gpus="B200", input_tokens=512, output_tokens=256, tp=[1, 2], max_num_seqs=[8, 64], bootstrap=False)


def _formats(model: str, precision) -> tuple[set[str], list[str]]:
    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always")
        r = energylens.search(model=model, precision=precision, energy_model=bundled_model(), top=100, **AXES)
    return set(r.top["precision"]), [str(w.message) for w in got if issubclass(w.category, AmbiguousPrecisionWarning)]


@pytest.mark.parametrize(("model", "expected"), [
    ("nvidia/Llama-3.3-70B-Instruct-FP4", {"nvfp4", "bf16"}),
    ("openai/gpt-oss-120b", {"mxfp4", "bf16"}),
])
def test_the_checkpoint_says_which_fp4(model, expected):
    assert _formats(model, "fp4,bf16") == (expected, [])


def test_a_checkpoint_that_does_not_say_is_mxfp4_with_a_warning():
    formats, notes = _formats("meta-llama/Llama-3.1-70B-Instruct", ["fp4"])
    assert formats == {"mxfp4"}
    assert len(notes) == 1 and "'meta-llama/Llama-3.1-70B-Instruct'" in notes[0] and "--precision" in notes[0]


def test_fp4_and_the_format_it_stands_for_are_searched_once():
    assert _formats("openai/gpt-oss-120b", "fp4,mxfp4") == ({"mxfp4"}, [])
    assert _formats("nvidia/Llama-3.3-70B-Instruct-FP4", "fp4,nvfp4") == ({"nvfp4"}, [])
    assert _formats("nvidia/Llama-3.3-70B-Instruct-FP4", "fp4,mxfp4") == ({"nvfp4", "mxfp4"}, [])


def test_a_spelled_out_format_is_left_alone():
    assert _formats("nvidia/Llama-3.3-70B-Instruct-FP4", "mxfp4") == ({"mxfp4"}, [])
    with pytest.raises(ValueError, match="'bf16' and 'BF16' are the same weight format"):
        _formats("openai/gpt-oss-120b", "bf16,BF16")
