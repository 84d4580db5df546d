"""``energylens monitor -- CMD`` where CMD is stopped (``kill -STOP``, a job paused by hand): Ctrl-C sent on to it did
nothing until --grace ran out (a stopped process acts on no signal but SIGKILL and SIGCONT), so it was SIGKILLed
10 s later with no chance to clean up ('killed by SIGKILL (exit status 137) (sent SIGINT, then SIGKILL)'). A signal
sent on is now followed by SIGCONT to the command's group, as the supervisor's stop does for what it leaves: the
command acts on it at once."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time

import pytest
from tests.cli.test_monitor_command import CLI


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_ctrl_c_reaches_a_stopped_command_at_once(tmp_path):
    pid_file = tmp_path / "pid"
    proc = subprocess.Popen([*CLI, "--", "sh", "-c", f"echo $$ > {pid_file}.tmp; mv {pid_file}.tmp {pid_file}; "
                             "kill -STOP $$; exit 0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    command = None
    try:
        end = time.monotonic() + 30
        while command is None or open(f"/proc/{command}/stat").read().rsplit(")", 1)[1].split()[0] != "T":
            assert time.monotonic() < end, "the command did not stop itself"
            time.sleep(0.02)
            if command is None and pid_file.exists():
                command = int(pid_file.read_text())
        started = time.monotonic()
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=30)
        assert time.monotonic() - started < 5, err  # (not the 10 s --grace)
        assert "killed by SIGINT (exit status 130) (sent SIGINT)" in err and "SIGKILL" not in err, err
        assert proc.returncode == 130, err
    finally:
        proc.kill()
        if command is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(command, signal.SIGKILL)
