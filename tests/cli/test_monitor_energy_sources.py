"""``energylens monitor`` printed every total as ``901.5 J  avg 300.3 W, counter 901.5 J``: where ``energy_j`` is the
energy counter's figure (``energy_source``: the power stream is NVML's instant field, and the run long against the
counter's uncertainty at its ends) the same figure twice, as if two estimates agreed, and the power readings' own
figure nowhere. Each figure is now printed once, labelled by its source, and the other estimate beside it: the
power readings' (``power_energy_j``) where it exists and differs, the counter's where ``energy_j`` is the power
stream's. Runs in-process on the synthetic sampler (a 150 W / 450 W square wave)."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

import energylens.cli.monitor as cli_monitor
from energylens.cli.main import main
from energylens.cli.monitor_command import sources_text
from energylens.measure.sampler import PowerSampler


def _run(monkeypatch, capsys, chain: tuple[str, ...], duration_s: float) -> list[str]:
    def sampler(args):
        t = np.arange(0.0, 60.0, 0.5)
        return PowerSampler.synthetic([(t, np.where(np.arange(t.size) % 2 == 0, 150.0, 450.0))], chain=chain)

    monkeypatch.setattr(cli_monitor, "_sampler", sampler)
    assert main(["monitor", "--source", "synthetic", "--duration", str(duration_s), "--interval", "1"]) == 0
    out = capsys.readouterr().out
    return [line for line in out.splitlines() if re.match(r"  (GPU0|total):", line)]


def test_a_counter_sourced_total_is_printed_once_with_the_power_readings_beside_it(monkeypatch, capsys):
    # instant readings, 4 s: energy_j is the counter's (from ~2 s: ten times its ~200 ms uncertainty at the ends)
    lines = _run(monkeypatch, capsys, ("instant",), 4.0)
    assert len(lines) == 2, lines
    for line in lines:
        got = re.fullmatch(r"  \S+: +([0-9.]+) J  avg +[0-9.]+ W  \(counter: nvml_energy\)"
                           r"(?:, power ([0-9.]+) J \(nvml_instant\))?", line)
        assert got, line
        assert "counter " not in line, line  # (was ', counter 901.5 J' beside 901.5 J)
        energy, power = float(got[1]), got[2]
        assert energy == pytest.approx(300.0 * 4.0, rel=0.05), line
        if power is not None:
            assert float(power) != energy and float(power) == pytest.approx(1200.0, rel=0.1), line


def test_a_power_sourced_total_is_labelled_and_keeps_the_counters_figure(monkeypatch, capsys):
    lines = _run(monkeypatch, capsys, ("sample_buffer", "instant"), 0.6)  # the driver buffer: its figure
    assert len(lines) == 2, lines
    for line in lines:
        got = re.fullmatch(r"  \S+: +([0-9.]+) J  avg +[0-9.]+ W  \(power: nvml_samples\), counter ([0-9.]+) J", line)
        assert got, line
        assert "power " not in line.split(")", 1)[1], line  # the power figure is energy_j: printed once


@pytest.mark.parametrize(("args", "expected"), [
    # energy_j the counter's: the power readings' figure where it differs as printed, else nothing more
    ((901.3, "nvml_energy", 886.0, "nvml_instant", 901.3), "  (counter: nvml_energy), power 886.0 J (nvml_instant)"),
    ((901.3, "nvml_energy", 901.34, "nvml_instant", 901.3), "  (counter: nvml_energy)"),
    ((901.3, "dcgm", math.nan, "nvml_instant", 901.3), "  (counter: dcgm)"),
    # energy_j the power stream's: the counter's beside it, where there is one
    ((75.3, "nvml_instant", 75.3, "nvml_instant", 81.7), "  (power: nvml_instant), counter 81.7 J"),
    ((75.3, "nvml_samples+nvml_instant", 75.3, "nvml_samples+nvml_instant", math.nan),
     "  (power: nvml_samples+nvml_instant)"),
    # GPUs that took different ones (a total): both other figures
    ((500.0, "nvml_energy+nvml_instant", 480.0, "nvml_instant", 510.0),
     "  (counter on some GPUs, power on others: nvml_energy+nvml_instant), counter 510.0 J, power 480.0 J "
     "(nvml_instant)"),
    # DCGM's power stream and its counter share the name: told apart by the figure
    ((640.0, "dcgm", 600.0, "dcgm", 640.0), "  (counter: dcgm), power 600.0 J (dcgm)"),
    ((600.0, "dcgm", 600.0, "dcgm", 640.0), "  (power: dcgm), counter 640.0 J"),
    # no figure: the counter's alone, as before
    ((math.nan, "", math.nan, "", 12.0), ", counter 12.0 J"),
])
def test_sources_text(args, expected):
    assert sources_text(*args[:5], 3.0, 0.1) == expected
