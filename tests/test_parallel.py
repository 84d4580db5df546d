"""Threads and instruction-set levels of the native loops: every level and every thread count gives the
same predictions; small inputs stay on one thread; the cap is honoured and restored."""

from __future__ import annotations

import platform
from pathlib import Path

import numpy as np
import pytest

from energylens import _core, parallel
from energylens.model import EnergyModel
from energylens.profiles.datasets import mlenergy_v2
from energylens.profiles.features import build_features


@pytest.fixture(scope="module")
def fitted():
    data = mlenergy_v2()
    model = EnergyModel(bootstrap=0).fit(data.sample(50, random_state=0))
    feats = build_features(data)
    return model, {k: np.tile(v, 800) for k, v in feats.items()}  # ~2.8e5 rows: several chunks, 2 threads


def test_every_isa_level_agrees_with_baseline(fitted):
    model, feats = fitted
    with parallel.use_isa("baseline"):
        base = model.predict_features(feats)
    assert parallel.supported_isas()[0] == "baseline"
    for level in parallel.supported_isas():
        with parallel.use_isa(level):
            assert parallel.isa() == level
            out = model.predict_features(feats)
        np.testing.assert_allclose(out, base, rtol=1e-13, atol=0)
    assert parallel.isa() == parallel.supported_isas()[-1]


@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64") or not Path("/proc/cpuinfo").is_file(),
                    reason="the levels are x86-64's; /proc/cpuinfo (Linux) is the independent reading")
def test_the_levels_are_what_the_cpu_flags_allow():
    """Every test that loops over supported_isas() checks only the levels it lists: a detection that fell back to
    baseline would pass them all. /proc/cpuinfo's flags (what the kernel enabled) say which levels this CPU has."""
    flags = set()
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("flags"):
            flags = set(line.split(":", 1)[1].split())
            break
    if {"avx512f", "avx512bw", "avx512dq", "avx512vl"} <= flags:
        want = ["baseline", "avx2", "avx512"]
    elif {"avx2", "fma"} <= flags:
        want = ["baseline", "avx2"]
    else:
        want = ["baseline"]
    assert parallel.supported_isas() == want, sorted(flags & {"avx2", "fma", "avx512f", "avx512bw", "avx512dq"})


def test_unsupported_isa_is_refused():
    with pytest.raises(ValueError, match="unknown instruction-set level"):
        _core.set_isa("sse9")


@pytest.mark.parametrize("n_threads", [1, 2, 3])
def test_thread_counts_agree_bit_for_bit(fitted, n_threads):
    model, feats = fitted
    with parallel.threads(1):
        one = model.predict_features(feats)
    with parallel.threads(n_threads):
        assert parallel.num_threads() == n_threads
        out = model.predict_features(feats)
    np.testing.assert_array_equal(out, one)


def test_threads_restored_and_validated():
    before = parallel.num_threads()
    with parallel.threads(1):
        assert parallel.num_threads() == 1
    assert parallel.num_threads() == before
    with pytest.raises(ValueError, match=">= 1"):
        with parallel.threads(0):
            pass
    with pytest.raises(ValueError, match=r"n_threads must be >= 0 \(0: the CPUs this process may use\)"):
        _core.set_max_threads(-1)


def test_numpy_integers_are_thread_counts_and_the_range_is_named(fitted):
    """Any integer (a NumPy one too) is a thread count; beyond a C int is a ValueError naming n_threads and the
    range, not the binding's raw type error; a bool or a float is still refused."""
    model, _ = fitted
    rows = mlenergy_v2().iloc[:5]
    np.testing.assert_array_equal(model.predict(rows, n_threads=np.int64(2)), model.predict(rows, n_threads=2))
    with parallel.threads(np.uint8(3)):
        assert parallel.num_threads() == 3
    before = parallel.num_threads()
    try:
        parallel.set_num_threads(np.int32(1))
        assert parallel.num_threads() == 1
        parallel.set_num_threads(parallel.MAX_THREADS)
    finally:
        parallel.set_num_threads(0)
    assert parallel.num_threads() == before
    for bad in (2**31, -1):
        with pytest.raises(ValueError, match=r"^n_threads must be >= 0 and <= 2147483647 "):
            parallel.set_num_threads(bad)
    with pytest.raises(ValueError, match=r"^n_threads must be >= 1 and <= 2147483647 "):
        model.predict(rows, n_threads=np.int64(2**31))
    for bad in (True, 2.0, "2"):
        with pytest.raises(TypeError, match="n_threads must be an integer"):
            parallel.set_num_threads(bad)
        with pytest.raises(ValueError, match="n_threads must be an integer >= 1"):
            model.predict(rows, n_threads=bad)


def test_a_cap_belongs_to_the_thread_that_set_it():
    """n_threads= of one Python thread's call neither reaches another thread's calls nor is restored over
    them (a process-wide cap leaked into the other thread, and overlapping blocks could end stuck at 1)."""
    import threading

    default = parallel.num_threads()
    inside, leave = threading.Event(), threading.Event()
    seen: dict[str, int] = {}

    def capped() -> None:
        with parallel.threads(1):
            seen["other"] = parallel.num_threads()
            inside.set()
            leave.wait(timeout=10)
            seen["other, after main's block"] = parallel.num_threads()

    worker = threading.Thread(target=capped)
    worker.start()
    assert inside.wait(timeout=10)
    seen["main"] = parallel.num_threads()
    with parallel.threads(3):
        seen["main, capped"] = parallel.num_threads()
    leave.set()
    worker.join(timeout=10)
    assert seen == {"other": 1, "main": default, "main, capped": 3, "other, after main's block": 1}
    assert parallel.num_threads() == default


def test_small_inputs_use_one_thread():
    with parallel.threads(8):
        assert _core.threads_for(1000, 32768) == 1
        assert _core.threads_for(65535, 32768) == 1
        assert _core.threads_for(65536, 32768) == 2
        assert _core.threads_for(10**8, 32768) == 8


def test_default_is_the_affinity_mask():
    import os

    parallel.set_num_threads(0)
    assert parallel.num_threads() <= len(os.sched_getaffinity(0))
    assert _core.available_cpus() == len(os.sched_getaffinity(0))


def test_idle_helpers_burn_no_cpu(fitted):
    """A helper polls for the next job only briefly (50 us) after a parallel call, then sleeps: a process
    that has stopped calling uses no CPU (process time over 0.3 s of sleep, helpers included)."""
    import time

    model, feats = fitted
    with parallel.threads(2):
        for _ in range(5):
            model.predict_features(feats)
        assert _core.pool_helpers() >= 1
        time.sleep(0.05)
        cpu0 = time.process_time()
        time.sleep(0.3)
        idle_cpu_s = time.process_time() - cpu0
    assert idle_cpu_s < 0.03, f"{idle_cpu_s:.3f} s of CPU while idle"


def test_honours_n_threads_shows_n_threads_in_the_signature():
    """help(energylens.attribute) listed every keyword but n_threads, which it takes (the signature came from the
    wrapped function): the wrapper's signature now adds it, keyword-only, default None."""
    import inspect

    import energylens
    from energylens.parallel import honours_n_threads

    for fn in (energylens.attribute, energylens.attribute_phases):
        param = inspect.signature(fn).parameters["n_threads"]
        assert param.kind is inspect.Parameter.KEYWORD_ONLY and param.default is None

    @honours_n_threads
    def f(a, *, b=1, **rest):
        return a, b, rest

    assert list(inspect.signature(f).parameters) == ["a", "b", "n_threads", "rest"]
    assert f(1, b=2, n_threads=1, c=3) == (1, 2, {"c": 3})
