"""The sampler's lock-free SPSC ring under a concurrent native producer and consumer, and the C++
unit test (cpp/tests/test_ring_buffer.cpp) when a build tree has it."""

import subprocess

import pytest

from cpp_binaries import cpp_test_binary
from energylens import _core


def test_every_value_arrives_once_in_order_when_the_producer_waits():
    r = _core._ring_selftest(300_000, 256, True)
    assert r["received"] == 300_000
    assert r["in_order"]  # exactly 0, 1, 2, ...: nothing lost, nothing duplicated


def test_a_full_ring_counts_drops_and_never_blocks():
    # The producer never retries: whatever the consumer misses is counted, nothing is lost silently.
    r = _core._ring_selftest(200_000, 8, False)
    assert r["received"] + r["dropped"] == 200_000
    assert r["in_order"]


@pytest.mark.parametrize("capacity", [0, 1, 3, 100])
def test_capacity_must_be_a_power_of_two(capacity):
    with pytest.raises(ValueError, match="power of two"):
        _core._ring_selftest(10, capacity, True)


@pytest.mark.parametrize("name", ["test_ring_buffer", "test_sampler"])
def test_cpp_unit_test_passes(name):
    exe = cpp_test_binary(name)  # (skips where no build tree has it, or it is older than the C++ sources)
    out = subprocess.run([str(exe)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
