"""A trace's ``gpu`` column is a position in ``meta["gpus"]``. A trace whose meta lists one GPU was accepted with
readings on gpu 3, made, saved and read back without a word, and failed later in a replay naming positions only
('the samples' gpu column holds [3]'); it is now an EnergyLensError where the trace is made or read, naming the
GPUs it has (kernels keep CUPTI's device ordinal). And a trace read back with NVML's mW left undivided was warned
about as 'Trace: ...', not naming the file read."""

from __future__ import annotations

import json
import warnings

import pyarrow.parquet as pq
import pytest

from energylens.errors import EnergyLensError
from energylens.measure import Trace, synthetic_trace
from energylens.measure.units import UnitsWarning


@pytest.fixture(scope="module")
def trace() -> Trace:
    return synthetic_trace(duration_s=1.0, seed=3)[0]


def test_readings_on_a_gpu_the_meta_does_not_list_are_refused_naming_the_gpus(trace):
    with pytest.raises(EnergyLensError, match=r"samples\.gpu holds 3 .*meta\['gpus'\] lists 1 GPU: 0 "
                                              r"\(index 0, synthetic\)"):
        Trace(samples=trace.samples.assign(gpu=3), meta=trace.meta)


def test_kernels_keep_cuptis_device_ordinal(trace):
    """A kernel's gpu is CUPTI's CUDA device ordinal: one on a GPU not sampled is kept (a refusal would lose the
    recording at EnergyMonitor.trace())."""
    assert set(Trace(samples=trace.samples, kernels=trace.kernels.assign(gpu=1), meta=trace.meta).kernels["gpu"]) == {1}


def test_a_saved_trace_with_readings_on_an_unlisted_gpu_is_refused_naming_the_file(trace, tmp_path):
    path = tmp_path / "t.parquet"
    Trace(samples=trace.samples.assign(gpu=3), meta={**trace.meta, "gpus": []}).save(path)
    table = pq.read_table(path)  # the meta edited to list one GPU, as another tool (or a hand) could write it
    header = json.loads(table.schema.metadata[b"energylens.trace"])
    header["meta"]["gpus"] = trace.meta["gpus"]
    del header["meta_crc32"]  # (another tool writes none; a hand edit keeping energylens' is refused as corrupt)
    pq.write_table(table.replace_schema_metadata({b"energylens.trace": json.dumps(header).encode()}), path)
    with pytest.raises(EnergyLensError, match=rf"{path}: .*samples\.gpu holds 3"):
        Trace.load(path)


def test_listed_gpus_and_a_trace_listing_none_are_accepted(trace):
    two = {**trace.meta, "gpus": [{"index": 0, "name": "a"}, {"index": 1, "name": "b"}]}
    assert Trace(samples=trace.samples.assign(gpu=1), meta=two).samples["gpu"].max() == 1
    assert Trace(samples=trace.samples.assign(gpu=3), meta={}).samples["gpu"].max() == 3  # nothing to check against


def test_a_synthetic_trace_on_gpu_1_lists_that_position():
    tr = synthetic_trace(duration_s=0.5, gpu=1, seed=0)[0]
    assert len(tr.meta["gpus"]) == 2 and tr.meta["gpus"][1]["index"] == 1
    assert set(tr.samples["gpu"]) == {1} and set(tr.kernels["gpu"]) == {1}


def test_the_units_warning_of_a_trace_read_back_names_the_file(trace, tmp_path):
    path = tmp_path / "mw.parquet"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnitsWarning)
        Trace(samples=trace.samples.assign(power_w=trace.samples["power_w"] * 1000.0), meta=trace.meta).save(path)
    with pytest.warns(UnitsWarning) as caught:
        Trace.load(path)
    messages = [str(w.message) for w in caught if issubclass(w.category, UnitsWarning)]
    assert messages and all(m.startswith(f"{path}: samples.power_w") for m in messages), messages
