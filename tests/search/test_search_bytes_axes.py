"""Search axes given as bytes (a value never decoded): ``tp=b"2"`` was searched as TP 2 without a word, ``gpus=[...,
b"A100-SXM4-40GB"]`` was "unknown GPU \"b'A100-SXM4-40GB'\"" with close matches, and ``gpus=bytearray(b"H100")`` was
iterated byte by byte ("unknown GPU '72'"). Each is now a ValueError naming the axis, the value and its type, before
anything is resolved (the mapping requests of predict refuse bytes alike: tests/model/test_mapping_text_numbers.py)."""

from __future__ import annotations

import pytest

import energylens

L8 = "meta-llama/Meta-Llama-3.1-8B-Instruct"
KW = dict(input_tokens=512, output_tokens=256, top=1)


@pytest.mark.parametrize("axis, value, said", [
    ("tp", b"2", r"tp: b'2' is a bytes value"),
    ("tp", [1, b"2"], r"tp: b'2' is a bytes value"),
    ("gpus", ["H100", b"A100-SXM4-40GB"], r"gpus: b'A100-SXM4-40GB' is a bytes value"),
    ("gpus", bytearray(b"H100"), r"gpus: bytearray\(b'H100'\) is a bytearray value"),
    ("model", b"meta-llama/Meta-Llama-3.1-8B-Instruct", r"models: b'meta-llama/.*' is a bytes value"),
    ("precision", memoryview(b"bf16"), r"precision: <memory at .*> is a memoryview value")])
def test_a_bytes_axis_value_is_named(axis, value, said):
    args = dict(model=L8, gpus=["H100"], **KW)
    args[axis] = value
    with pytest.raises(ValueError, match=said + r", not text or a number: decode it \(a str\)"):
        energylens.search(**args)
