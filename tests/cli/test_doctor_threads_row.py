"""doctor's `native threads` row read '1 (OMP_NUM_THREADS or CPU affinity lowers it)' whether OMP_NUM_THREADS=1,
a taskset or nothing had lowered it: the reader could not tell why the native loops ran on one of the machine's
CPUs. The row now names what lowered it (the variable's value, the affinity's CPU count) or says all CPUs are
used. Each case runs doctor in its own process: OpenMP reads its variable once."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest


def _row(env_extra: dict[str, str], prefix: list[str] | None = None) -> str:
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    env.update(env_extra)
    code = "import sys\nfrom energylens.cli import main\nsys.exit(main(['doctor']))\n"
    out = subprocess.run([*(prefix or []), sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         timeout=120).stdout
    return next(x for x in out.splitlines() if x.startswith("native threads"))


def test_omp_num_threads_is_named_with_its_value():
    assert "OMP_NUM_THREADS=1" in _row({"OMP_NUM_THREADS": "1"})


def test_unlowered_says_all_cpus():
    usable = len(os.sched_getaffinity(0))
    if usable < (os.cpu_count() or usable):
        pytest.skip("this process's CPU affinity already lowers it")
    assert f"all {usable} CPUs" in _row({})


def test_affinity_is_named_with_the_cpu_count():
    if len(os.sched_getaffinity(0)) < 2 or not os.path.exists("/usr/bin/taskset"):
        pytest.skip("needs 2 CPUs and taskset")
    row = _row({}, ["taskset", "-c", "0"])
    assert f"CPU affinity: 1 of {os.cpu_count()} CPUs" in row


def test_an_omp_num_threads_that_lowers_nothing_is_not_named_as_the_cause():
    """OMP_NUM_THREADS=8 on a 2-CPU machine read '2 (OMP_NUM_THREADS=8)' and OMP_NUM_THREADS=abc (libgomp: 'Invalid
    value', ignored) read '2 (OMP_NUM_THREADS=abc)', as if the variable had set the count; neither lowers it."""
    usable = len(os.sched_getaffinity(0))
    if usable < (os.cpu_count() or usable):
        pytest.skip("this process's CPU affinity already lowers it")
    row = _row({"OMP_NUM_THREADS": str(usable + 6)})
    assert row.split(":", 1)[1].strip().startswith(f"{usable} (all {usable} CPUs"), row
    assert f"OMP_NUM_THREADS={usable + 6} is not below the {usable} CPUs" in row and "lowers nothing" in row, row
    row = _row({"OMP_NUM_THREADS": "abc"})
    assert f"(all {usable} CPUs" in row and "OMP_NUM_THREADS='abc' is not a thread count: OpenMP ignores it" in row, row
