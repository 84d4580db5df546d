"""Ctrl-C or SIGTERM of a sweep says what was kept: how many units' rows the store holds and how to go on.
Before 2026-12-06 it read only "finished outputs were kept, unfinished ones removed", not naming the store,
its rows or --resume. The signal follows the sweep's own progress line of its third unit."""

from __future__ import annotations

import os
import re
import signal
import subprocess

import pytest

from energylens.profiling import Store

pytestmark = pytest.mark.torch


@pytest.mark.parametrize("signum,status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_stopped_sweep_names_the_rows_kept_and_resume(tiny_sweep, tmp_path, signum, status):
    _, cmd = tiny_sweep(output_len=[3, 5, 7])
    out = tmp_path / "store"
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    for line in proc.stdout:
        if line.startswith("[3/18]"):
            break
    else:
        pytest.fail(f"no progress line: {proc.communicate()[1][-2000:]}")
    os.killpg(proc.pid, signum)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == status, err
    kept = len(Store(out).statuses())
    assert 3 <= kept < 18
    said = [line for line in err.splitlines() if "interrupted (Ctrl-C)" in line or "terminated (SIGTERM)" in line]
    assert len(said) == 1, err
    assert re.search(rf"the store {out} keeps {kept} units' rows \(every unit that finished\); `energylens profile .* --resume` "
                     "measures the rest", said[0]), err
    assert not list(out.rglob("*.tmp"))
    assert subprocess.run(cmd + ["--resume"], capture_output=True, timeout=300).returncode == 0
    rows = Store(out).rows()
    assert len(rows) == 18 and rows["config_id"].is_unique
