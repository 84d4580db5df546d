"""What a timing bench records beside its times (imported by the bench scripts, run from bench/): the CPU and
its share of cores, the Python and library versions (:func:`machine`), and the load average at the end, written
with the result as one JSON file (:func:`write_result`); and the plainest timing, the median of a few calls after
a warm-up (:func:`median_seconds`, :func:`call_seconds`)."""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from pathlib import Path


def machine(**versions: str) -> dict:
    """The CPU's model name, the cores this process may run on, Python's version and ``versions`` (name -> version
    of the libraries the bench times)."""
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    return {"cpu": cpu, "cpus_in_mask": len(os.sched_getaffinity(0)), "python": platform.python_version(), **versions}


def call_seconds(fn, calls: int, warm_up: int = 1) -> list[float]:
    """Wall seconds of each of ``calls`` consecutive calls of ``fn`` after ``warm_up`` untimed calls."""
    for _ in range(warm_up):
        fn()
    samples = []
    for _ in range(calls):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return samples


def median_seconds(fn, repeats: int) -> float:
    """Median wall seconds of ``repeats`` calls of ``fn`` after one warm-up call."""
    return statistics.median(call_seconds(fn, repeats))


def write_result(path: Path, result: dict, machine_info: dict) -> None:
    """``result`` with the load average now and ``machine_info``, as indented JSON at ``path`` (folders made)."""
    result["load_average"] = os.getloadavg()
    result["machine"] = machine_info
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=1) + "\n")
