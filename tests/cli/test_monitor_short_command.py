"""``energylens monitor -- true``: a command shorter than a few ms was reported 'ran 0.00 s' and 'its window: 0.00 s
0.0 J  avg 150.0 W, counter 0.0 J', the figures rounded to nothing (the average, 150 W, computed from them, could
not be checked against them). Short figures now keep three significant digits in the same units. Real subprocesses
on ``--source synthetic`` (150 W for its first 0.5 s)."""

from __future__ import annotations

import re

import numpy as np
import pytest
from tests.cli.test_monitor_command import _run

from energylens.cli.monitor_command import joules_text, seconds_text


@pytest.mark.parametrize("command", [["true"], ["sleep", "0.03"]])
def test_a_short_commands_run_and_window_are_not_rounded_to_zero(command):
    res = _run(["--", *command])
    err = res.stderr.decode()
    assert res.returncode == 0, err
    ran = float(re.search(r"^  ran ([0-9.]+) s, exit status 0", err, re.M)[1])
    window = re.search(r"its window: ([0-9.]+) s +([0-9.]+) J +avg ([0-9.]+) W", err)
    assert window, err
    duration_s, energy_j, avg_w = map(float, window.groups())
    assert ran > 0 and duration_s > 0 and energy_j > 0, err
    assert abs(energy_j / duration_s - avg_w) <= 0.01 * avg_w, err  # the printed figures agree (3 digits each)
    assert avg_w == pytest.approx(150.0, abs=0.5), err


def test_a_counter_figure_over_less_than_its_update_period_is_marked_interpolated():
    """The counter's figure for a window of 0.4 ms ('counter 0.1 J') was printed as a reading beside the power's,
    agreeing with it by construction: the counter updates every 100 ms, and inside one update its difference is
    the interpolation's slope times the window. It is now marked so; a window of several updates is not."""
    err = _run(["--", "true"]).stderr.decode()
    assert re.search(r"its window: [0-9.]+ s .*, counter ~[0-9.]+ J \(interpolated: shorter than the counter's "
                     r"100 ms update period\)", err), err
    err = _run(["--", "sleep", "0.5"]).stderr.decode()
    window = re.search(r"its window: .*", err)[0]
    assert re.search(r", counter [0-9.]+ J$", window) and "interpolated" not in err, err


def test_a_run_interrupted_at_once_is_not_rounded_to_zero(tmp_path):
    """Ctrl-C right after the 'sampling' line: 'sampled 0.00 s', 'total: 0.0 J', 'interrupted (Ctrl-C) after 0.00 s
    of the 60 s --duration' for a window of 0.3 ms."""
    from tests.cli.test_monitor_ctrl_c import _ctrl_c_after_start, _start

    proc = _start(["monitor", "--source", "synthetic", "--duration", "60", "-o", str(tmp_path / "t.parquet")])
    stdout, err = _ctrl_c_after_start(proc)
    assert proc.returncode == 130, err
    sampled = float(re.search(r"sampled ([0-9.]+) s", stdout)[1])
    total_j, avg_w = map(float, re.search(r"total: +([0-9.]+) J +avg +([0-9.]+) W", stdout).groups())
    after = float(re.search(r"interrupted \(Ctrl-C\) after ([0-9.]+) s of the 60 s", err)[1])
    assert sampled > 0 and total_j > 0 and after > 0, stdout + err
    assert abs(total_j / sampled - avg_w) <= 0.01 * avg_w, stdout


def test_the_printed_duration_and_energy_keep_three_digits_so_they_give_the_average():
    """'its window: 0.033 s  4.9 J  avg 150.0 W' (CI, a 30 ms command): energies of 1-10 J kept one decimal (two
    digits) and durations of 0.1-1 s two decimals, so the printed figures disagreed with the average by 1-4 %;
    both keep at least three significant digits now."""
    for d in np.geomspace(1e-3, 300.0, 400):
        assert float(joules_text(150.0 * d)) / float(seconds_text(d)) == pytest.approx(150.0, rel=0.01), d
