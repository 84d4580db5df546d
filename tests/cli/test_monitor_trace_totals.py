"""``energylens monitor --duration 1.2 -o run.parquet`` printed 'sampled 1.20 s ... total: 330.1 J', but the trace held
no record of that window (no marks; its samples span 1.30 s, 345.0 J between the first and last reading), so the
totals could not be recomputed from the file. The trace now marks the totals' window ('monitor start' / 'monitor
end'); the energy between them, read back with the documented replay, is the printed total."""

from __future__ import annotations

import re

import pytest
from tests.cli.test_monitor_command import _run

from energylens.measure.monitor import EnergyMonitor
from energylens.measure.sampler import PowerSampler
from energylens.measure.trace import Trace


def _between(trace: Trace, first: str, last: str):
    at = dict(zip(trace.marks["label"], trace.marks["t_ns"], strict=True))
    with EnergyMonitor(PowerSampler.replay(trace, realtime=False, rebase=False), sync=False, wait=False) as mon:
        return mon.measure("read back", int(at[first]), int(at[last]))


@pytest.mark.parametrize("run", [["--duration", "0.8"], ["--", "sleep", "0.6"]])
def test_the_printed_totals_are_the_energy_between_the_traces_monitor_marks(tmp_path, run):
    out = tmp_path / "run.parquet"
    res = _run(["-o", str(out), *run])
    text = res.stdout.decode() + res.stderr.decode()
    assert res.returncode == 0, text
    sampled = float(re.search(r"sampled ([0-9.]+) s", text)[1])
    totals = re.search(r"total: +([0-9.]+) J +avg +[0-9.]+ W  \(power: nvml_samples\), counter ([0-9.]+) J", text)
    total_j, counter_j = map(float, totals.groups())
    trace = Trace.load(out)
    labels = list(trace.marks.sort_values("t_ns", kind="stable")["label"])
    assert labels[0] == "monitor start" and labels[-1] == "monitor end", labels
    m = _between(trace, "monitor start", "monitor end")
    assert round(m.duration_s, 2) == pytest.approx(sampled, abs=0.0051), text
    assert m.energy_j == pytest.approx(total_j, abs=0.051), text
    assert m.counter_energy_j == pytest.approx(counter_j, abs=0.051), text
    if run[0] == "--":
        assert labels == ["monitor start", "command start", "command exit", "monitor end"]
