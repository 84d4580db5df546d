"""A trace's per-source meta (``update_period_s``, ``averaging_window_s``, ``hold_s``) keyed by a name that is no
source was kept and never read: ``{"instant": 0.025}`` for the H200 polls left the instant readings' window unknown,
so attribute() fitted one (idle 119.9 W against 122.8 W with the window the user gave), without a word. Now the
trace is refused where it is made or read, naming the key and the sources."""

import json

import numpy as np
import pyarrow.parquet as pq
import pytest

from energylens.errors import EnergyLensError
from energylens.measure.trace import Trace


def _samples():
    n = 10
    return {"t_ns": np.arange(n, dtype=np.int64) * 100_000_000, "gpu": np.zeros(n, np.int32),
            "power_w": np.full(n, 100.0), "energy_j": np.full(n, np.nan), "source": ["nvml_instant"] * n}


@pytest.mark.parametrize("key", ["update_period_s", "averaging_window_s", "hold_s"])
@pytest.mark.parametrize("name", ["instant", "nvml_instnt", "NVML_INSTANT"])
def test_a_per_source_meta_key_that_is_no_source_is_refused(key, name):
    with pytest.raises(EnergyLensError, match=rf"meta '{key}' names {name!r}, which is no source.*nvml_instant"):
        Trace(samples=_samples(), meta={key: {name: 0.025}})


@pytest.mark.parametrize("key", ["update_period_s", "averaging_window_s", "hold_s"])
def test_a_known_source_is_kept(key):
    t = Trace(samples=_samples(), meta={key: {"nvml_instant": 0.025, "nvml_energy": None}})
    assert t.meta[key] == {"nvml_instant": 0.025, "nvml_energy": None}


def test_hold_s_that_is_not_seconds_is_refused_where_the_trace_is_made():
    # it passed the Trace and failed only in the hole search of a later window, as a ValueError naming no trace
    with pytest.raises(EnergyLensError, match=r"Trace: trace meta 'hold_s' must be"):
        Trace(samples=_samples(), meta={"hold_s": {"nvml_instant": "1s"}})


def test_a_saved_trace_with_such_a_key_is_refused_naming_the_file(tmp_path):
    path = tmp_path / "t.parquet"
    Trace(samples=_samples()).save(path)
    table = pq.read_table(path)
    header = json.loads(table.schema.metadata[b"energylens.trace"])
    header["meta"]["averaging_window_s"] = {"instant": 0.025}
    table = table.replace_schema_metadata({**table.schema.metadata, b"energylens.trace": json.dumps(header)})
    pq.write_table(table, path)
    with pytest.raises(EnergyLensError, match=rf"{path}.*'instant', which is no source"):
        Trace.load(path)
