"""``energylens monitor`` whose power chain failed before its first reading of the run (the GPU lost at once) while
the energy counter went on being read: the totals read 'nan J' with no counter figure, and 'sampled' gave the time
until the run was closed, although the counter's readings covered the run up to their last one. The totals now
cover the time up to the last reading of either kind, so the counter's energy is printed."""

from __future__ import annotations

import re

import energylens.cli.monitor as cli_monitor
from energylens.cli.main import main
from energylens.measure.sampler import PowerSampler


def test_a_power_chain_lost_at_once_still_reports_the_counters_energy(monkeypatch, capsys):
    def dying(args):
        return PowerSampler.synthetic([([0.0], [200.0])], chain=("sample_buffer",),
                                      fail_after_s={"sample_buffer": 0.005}, buffer_poll_s=0.02)

    monkeypatch.setattr(cli_monitor, "_sampler", dying)
    assert main(["monitor", "--source", "synthetic", "--duration", "1.0", "--interval", "0.5"]) == 1
    out, err = capsys.readouterr()
    assert "sampling stopped after" in err and "GPU is lost" in err, err
    total = re.search(r"total: +(\S+) J .*counter ([\d.]+) J", out)
    assert total, out
    seconds = float(re.search(r"sampled ([\d.]+) s", out)[1])
    assert 0.1 < seconds <= 1.1
    assert abs(float(total[2]) - 200.0 * seconds) < 0.15 * 200.0 * seconds, out  # 200 W for the time covered
