"""``energylens monitor``'s live line is each interval's mean power (python/energylens/cli/monitor_live.py).

It printed one instantaneous reading at the moment of the line: on ``--source synthetic`` (150 W / 450 W steps of
0.5 s) the default 0.5 s lines fell on the wave's edges and one run read 150, 450, 450, 450 W; ``--interval 1``
read 450 W on every line of a wave whose mean is 300 W. Each line now gives the energy of the interval since the line
before over its length, integrated from the readings the trace records, and labels the interval it covers."""

from __future__ import annotations

import re

import numpy as np
import pytest

from energylens.cli.main import main

LINE = re.compile(r"^ *(\d+\.\d\d)-(\d+\.\d\d) s  GPU0 +([0-9.]+) W  total +([0-9.]+) W$", re.M)


def _run(capsys, *args):
    assert main(["monitor", "--source", "synthetic", *args]) == 0
    out = capsys.readouterr().out
    return out, [tuple(map(float, m)) for m in LINE.findall(out)]


def _wave_mean(a: float, b: float) -> float:
    """The synthetic square wave's mean over [a, b] s: 150 W on [0, 0.5), 450 W on [0.5, 1.0), and so on."""
    t = np.linspace(a, b, 20001)
    return float(np.mean(np.where(np.floor(t / 0.5) % 2 == 0, 150.0, 450.0)))


def test_a_line_a_whole_period_long_reads_the_waves_mean_not_an_edge(capsys):
    out, lines = _run(capsys, "--duration", "3.2", "--interval", "1")
    assert len(lines) >= 3, out
    for a, b, gpu0, total in lines[:3]:  # (the last line is the 0.2 s rest of the run)
        assert b - a == pytest.approx(1.0, abs=0.15), out
        assert gpu0 == total and gpu0 == pytest.approx(_wave_mean(a, b), abs=15.0), out
        assert gpu0 == pytest.approx(300.0, abs=25.0), out


def test_the_lines_are_the_means_of_their_intervals_and_add_up_to_the_total(capsys):
    """At the default 0.5 s each line is the mean of the wave over the interval it names; the intervals follow one
    another from 0, so the lines' energies add up to the printed total, less the run's rest after the last line."""
    out, lines = _run(capsys, "--duration", "2.2")
    assert len(lines) >= 4 and lines[0][0] == 0.0, out
    assert all(prev[1] == nxt[0] for prev, nxt in zip(lines, lines[1:], strict=False)), out
    for a, b, gpu0, _ in lines:
        assert gpu0 == pytest.approx(_wave_mean(a, b), abs=0.03 * 450 / max(b - a, 0.05) + 5.0), (a, b, out)
    energy = sum((b - a) * w for a, b, w, _ in lines)
    total_j = float(re.search(r"total: +([0-9.]+) J", out)[1])
    sampled = float(re.search(r"sampled ([0-9.]+) s", out)[1])
    assert energy == pytest.approx(total_j - 450.0 * (sampled - lines[-1][1]), rel=0.03), out


def test_a_line_never_names_a_time_past_the_runs_end(capsys):
    """``--duration 0.05`` printed its line at "0.1 s" (0.0508 s rounded up) above "sampled 0.0508 s"."""
    out, lines = _run(capsys, "--duration", "0.05")
    sampled = float(re.search(r"sampled ([0-9.]+) s", out)[1])
    assert lines and all(b <= sampled for _, b, _, _ in lines), out
    assert lines[-1][2] == pytest.approx(150.0, abs=0.5), out  # the wave's first 0.5 s
