"""Fixtures shared by the measure tests."""

import csv
from pathlib import Path

import numpy as np
import pytest

from energylens.measure.trace import Trace

DATA = Path(__file__).parent / "data"


@pytest.fixture
def h200_trace() -> Trace:
    """The real H200 NVML slice (tests/measure/data/h200_nvml_slice.csv) as a Trace: instant power,
    the ~1 s average and the energy counter of one GPU, starting 10 s into the steady clock."""
    with open(DATA / "h200_nvml_slice.csv") as f:
        rows = list(csv.reader(line for line in f if not line.startswith("#")))
    body = np.array(rows[1:], dtype=np.float64)
    t_ns = np.round(body[:, 0] * 1e9).astype(np.int64) + 10_000_000_000
    n = len(t_ns)
    nan = np.full(n, np.nan)
    samples = {
        "t_ns": np.concatenate([t_ns, t_ns, t_ns]),
        "gpu": np.zeros(3 * n, np.int32),
        "power_w": np.concatenate([body[:, 3] / 1000, body[:, 1] / 1000, nan]),
        "energy_j": np.concatenate([nan, nan, body[:, 2] / 1000]),
        "source": np.array(["nvml_instant"] * n + ["nvml_average"] * n + ["nvml_energy"] * n, dtype=object),
    }
    return Trace(samples=samples, meta={"gpus": [{"index": 0, "name": "NVIDIA H200", "uuid": "GPU-h200"}],
                                       "update_period_s": {"nvml_instant": 0.1, "nvml_energy": 0.1}})
