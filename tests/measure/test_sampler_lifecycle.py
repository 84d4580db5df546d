"""The native sampler's lifecycle across threads and sources: start() and stop() on two threads,
one source object shared within or between samplers, a replay restarted, out-of-range replay GPUs."""

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from energylens import _core
from energylens.errors import EnergyLensError


def synthetic():
    return _core.synthetic_source([np.array([0], np.int64)], [np.array([100.0])], "instant", 100_000_000,
                                  25_000_000, 20_000_000, 100_000_000, 1e6, 0, -1)


def replay(n=1000, step_ns=1_000_000):
    t = np.arange(n, dtype=np.int64) * step_ns
    return _core.replay_source(t, np.zeros(n, np.int32), np.ones(n, np.int32), np.full(n, 100.0),
                               np.full(n, np.nan), False, True, 1.0)


def test_stop_racing_start_on_another_thread_neither_crashes_nor_leaves_it_running():
    # Before the lifecycle lock a stop() between start()'s running_ = true and its thread creation joined
    # nothing and the sampler's destructor hit std::terminate (rc 134): run in a child so that shows as a failure.
    code = textwrap.dedent("""
        import threading, numpy as np, energylens._core as c
        for i in range(300):
            src = c.synthetic_source([np.array([0], np.int64)], [np.array([100.0])], "instant", 100_000_000,
                                     25_000_000, 20_000_000, 100_000_000, 1e6, 0, -1)
            s = c.PowerSampler([src], [], 0, 1 << 10)
            done = threading.Event()
            def stopper():
                while not done.is_set():
                    s.stop()
            t = threading.Thread(target=stopper)
            t.start()
            s.start(); done.set(); t.join()
            s.stop()
            assert not s.running
            del s
        print("ok")
    """)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "ok" in r.stdout



def test_one_source_twice_in_a_sampler_is_a_value_error():
    # Two threads polled one replay and it emitted its samples up to 1.6 times.
    src = replay()
    with pytest.raises(ValueError, match="'replay' is passed twice"):
        _core.PowerSampler([src], [src], 0, 1 << 10)
    with pytest.raises(ValueError, match="passed twice"):
        _core.PowerSampler([src, src], [], 0, 1 << 10)
    with pytest.raises(ValueError, match="passed twice"):
        _core.PowerSampler([synthetic()], [src, src], 0, 1 << 10)


def test_two_samplers_cannot_run_one_source_at_once():
    src = replay()
    a = _core.PowerSampler([src], [], 0, 1 << 12)
    b = _core.PowerSampler([synthetic()], [src], 0, 1 << 12)
    a.start()
    # Was std::logic_error: a plain RuntimeError outside EnergyLensError, and no word on what to do.
    with pytest.raises(EnergyLensError, match="'replay' is in use by another running sampler") as e:
        b.start()
    assert type(e.value) is EnergyLensError
    assert "stop that sampler first, or give this one a source of its own" in str(e.value)
    assert not b.running
    a.flush()
    a.stop()
    assert len(a.drain()["t_ns"]) == 1000
    b.start()  # released by a.stop(), and b's failed start released what it had claimed
    b.stop()
    a.start()  # and by b.stop()
    a.stop()


def test_a_restarted_replay_plays_again():
    s = _core.PowerSampler([replay()], [], 0, 1 << 12)
    for _ in range(2):
        s.start()
        s.flush()
        s.stop()
        assert len(s.drain()["t_ns"]) == 1000


@pytest.mark.parametrize("gpu", [2**31 - 1, 1 << 16])
def test_replay_refuses_gpu_indices_that_are_no_position(gpu):
    # gpu INT32_MAX overflowed gpu + 1 (signed overflow, UBSan) when counting the GPUs.
    with pytest.raises(ValueError, match="not a GPU position"):
        _core.replay_source(np.array([0, 1000], np.int64), np.array([0, gpu], np.int32), np.array([1, 1], np.int32),
                            np.array([100.0, 100.0]), np.array([np.nan, np.nan]), False, True, 1.0)
    src = _core.replay_source(np.array([0, 1000], np.int64), np.array([0, (1 << 16) - 1], np.int32),
                              np.array([1, 1], np.int32), np.array([100.0, 100.0]), np.array([np.nan, np.nan]),
                              False, True, 1.0)
    assert src.gpu_count == 1 << 16
