"""Trace.load / Trace.save given a path that is no file: ``Trace.load("")`` (an unset shell variable) said ': no
such trace file', naming nothing; ``Trace.load(folder)`` read the folder as a Parquet dataset and said 'not an
energylens trace (schema metadata key ... is missing)'; ``save("")`` said '.: could not write (Is a directory)'.
Each now says what the path is."""

from __future__ import annotations

import subprocess
import sys

import pytest

from energylens.errors import EnergyLensError, OutputError
from energylens.measure import Trace, synthetic_trace
from energylens.measure.sampler import PowerSampler


def test_an_empty_path_is_named_as_empty():
    with pytest.raises(EnergyLensError, match=r"^Trace\.load: the path is empty"):
        Trace.load("")
    with pytest.raises(OutputError, match=r"^Trace\.save: the path is empty"):
        synthetic_trace(duration_s=0.3)[0].save("")


def test_a_folder_is_named_as_a_folder(tmp_path):
    folder = tmp_path / "run.parquet"
    folder.mkdir()
    with pytest.raises(EnergyLensError, match=rf"^{folder}: is a folder, not a trace file"):
        Trace.load(folder)


@pytest.mark.parametrize("name", ["run.csv", "run.json", "run.CSV"])
def test_a_name_of_another_format_is_refused_before_writing(tmp_path, name):
    # Trace.save("run.csv") wrote a Parquet file named .csv (pandas.read_csv then read bytes), which
    # energylens monitor -o already refuses
    with pytest.raises(OutputError, match=rf"Trace\.save: {name}.*Parquet.*\.parquet or \.pq"):
        synthetic_trace(duration_s=0.3)[0].save(tmp_path / name)
    assert not (tmp_path / name).exists()


@pytest.mark.parametrize("name", ["run.parquet", "run.PQ", "run"])
def test_a_parquet_name_or_one_without_a_suffix_is_written(tmp_path, name):
    synthetic_trace(duration_s=0.3)[0].save(tmp_path / name)
    assert Trace.load(tmp_path / name).samples.shape[0] > 0


def test_a_path_under_the_home_folder_is_expanded(tmp_path, monkeypatch):
    """Trace.save('~/run.parquet') said 'cannot write here (No such file or directory)' and Trace.load('~/...') 'no
    such trace file', where pandas (to_parquet, read_csv) reads ~ as the home folder."""
    monkeypatch.setenv("HOME", str(tmp_path))
    trace = synthetic_trace(duration_s=1.0, seed=0)[0]
    trace.save("~/run.parquet")
    assert (tmp_path / "run.parquet").is_file()
    assert Trace.load("~/run.parquet").samples.equals(trace.samples)
    with PowerSampler.replay("~/run.parquet", realtime=False) as sampler:
        assert sampler.samples()["t_ns"].size == len(trace.samples)


def test_a_replay_without_realtime_holds_the_whole_trace_as_soon_as_it_starts(tmp_path):
    """samples() right after entering PowerSampler.replay(..., realtime=False) read 0 samples or all of them, by a
    race with the sampling thread's first poll (the home-folder test above failed on it once in a few runs)."""
    trace = synthetic_trace(duration_s=1.0, seed=0)[0]
    trace.save(tmp_path / "run.parquet")
    # the first replay of a process lost the race most often: each run is a fresh process
    code = ("import sys; from energylens.measure.sampler import PowerSampler\n"
            "with PowerSampler.replay(sys.argv[1], realtime=False) as s: print(s.samples()['t_ns'].size)")
    for _ in range(3):
        out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "run.parquet")], capture_output=True,
                             text=True, timeout=120, check=True).stdout
        assert int(out) == len(trace.samples)
