"""Signal naming (energylens.measure.signals): one table, the native signal list, and the mappings
derived from it (native source name -> Trace source, Trace rows -> native signal ids for replay)."""

import numpy as np
import pytest

from energylens import _core
from energylens.measure.signals import SIGNAL_TO_SOURCE, SIGNALS, signal_ids, signal_sources, trace_source_of
from energylens.measure.trace import SOURCES


def test_the_table_lists_the_native_signals_in_id_order_and_records_them_as_trace_sources():
    assert [s.signal for s in SIGNALS] == list(_core.signal_names())
    assert set(SIGNAL_TO_SOURCE.values()) <= set(SOURCES)
    assert list(signal_sources()) == [s.source for s in SIGNALS]
    assert {s.quantity for s in SIGNALS} == {"power", "energy"}


@pytest.mark.parametrize("name, source", [
    ("nvml_sample_buffer", "nvml_samples"), ("nvml_instant", "nvml_instant"), ("nvml_power_usage", "nvml_average"),
    ("nvml_energy_counter", "nvml_energy"), ("dcgm", "dcgm"), ("synthetic_sample_buffer", "nvml_samples"),
    ("synthetic_instant", "nvml_instant"), ("synthetic_energy_counter", "nvml_energy"), ("replay", None),
    ("synthetic_nonsense", None), ("something_else", None),
])
def test_native_source_names_map_to_trace_sources(name, source):
    assert trace_source_of(name) == source


def test_signal_ids_invert_the_table_row_by_row():
    ids = {name: i for i, name in enumerate(_core.signal_names())}
    source = np.array(["nvml_samples", "nvml_instant", "nvml_average", "nvml_energy", "dcgm", "dcgm",
                       "synthetic", "synthetic", "replay", "nvml_energy"], dtype=object)
    power = np.array([1.0, 2.0, 3.0, np.nan, 4.0, np.nan, 5.0, np.nan, 6.0, 7.0])
    got = signal_ids(source, power)
    assert got.dtype == np.int32
    assert [_core.signal_names()[i] for i in got] == [
        "sample_buffer", "instant", "average", "energy_counter", "dcgm_power", "dcgm_energy",
        "instant", "energy_counter", "instant", "energy_counter"]
    # every table row comes back as itself when it carries its own quantity
    for s in SIGNALS:
        p = np.array([1.0 if s.quantity == "power" else np.nan])
        assert signal_ids(np.array([s.source], dtype=object), p)[0] == ids[s.signal]
    assert signal_ids(np.empty(0, object), np.empty(0)).size == 0
