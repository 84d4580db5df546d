"""``energylens monitor [options] -- CMD`` killed where Python cannot act (SIGKILL: ``kill -9``, the OOM killer) or
by SIGQUIT (Ctrl-\\): the command, in a session of its own, ran on alone. On Linux it now gets SIGTERM when monitor
dies (PR_SET_PDEATHSIG), and SIGQUIT is sent on like Ctrl-C / SIGTERM / SIGHUP; and a number after a given
--duration is named as taken for the command. Real subprocesses on ``--source synthetic``."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time

import pytest

import energylens.cli.monitor_command as command_run
from energylens.cli.main import main

PY = sys.executable
CLI = [PY, "-c", "import sys; from energylens.cli.main import main; sys.exit(main())", "monitor", "--source",
       "synthetic"]
linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")


def _running(pid: int) -> bool:
    """Whether ``pid`` runs: it exists and is no zombie (an orphan's exit is reaped by whoever adopted it, which
    in a container may be late or never)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (FileNotFoundError, ProcessLookupError):
        return False


def _stops_within(pid: int, seconds: float = 5.0) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if not _running(pid):
            return True
        time.sleep(0.02)
    return False


def _monitor_with(child: str, *options: str) -> tuple[subprocess.Popen, int]:
    """monitor running ``python -c child``, which prints its pid first; (monitor, the command's pid)."""
    proc = subprocess.Popen([*CLI, *options, "--", PY, "-c", child], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    return proc, int(proc.stdout.readline())


@linux
def test_the_command_dies_with_a_monitor_killed_by_sigkill():
    """kill -9 (or the OOM killer) on monitor left the command running, reparented, for good."""
    child = "import os, time; print(os.getpid(), flush=True); time.sleep(60)"
    proc, pid = _monitor_with(child)
    try:
        assert _running(pid)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        assert _stops_within(pid), "the command is still running after monitor was killed"
    finally:
        proc.kill()
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


@linux
def test_a_command_that_catches_the_sigterm_can_clean_up():
    """The signal sent when monitor dies is SIGTERM (a server can stop its workers), not SIGKILL."""
    child = ("import os, signal, sys, time\n"
             "signal.signal(signal.SIGTERM, lambda s, f: (print('SIGTERM', flush=True), sys.exit(0)))\n"
             "print(os.getpid(), flush=True); time.sleep(60)\n")
    proc, pid = _monitor_with(child)
    try:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        assert _stops_within(pid)
        assert proc.stdout.read() == b"SIGTERM\n"
    finally:
        proc.kill()
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


@linux
def test_a_command_whose_monitor_died_before_it_asked_for_the_signal_exits():
    """The race: monitor dies between the fork and the prctl call, so no signal would ever come; the child
    checks its parent afterwards and exits. Here the child waits until its parent has gone before calling it."""
    read, write = os.pipe()
    middle = os.fork()
    if middle == 0:  # monitor's part: makes the hook, forks the command, dies at once
        try:
            os.close(read)
            hook = command_run.dies_with_parent()
            command = os.fork()
            if command == 0:
                try:
                    while os.getppid() == hook.parent:  # (the parent gone before prctl)
                        time.sleep(0.01)
                    hook()
                    os.write(write, b"survived\n")
                finally:
                    os._exit(0)
            os.write(write, f"{command}\n".encode())
        finally:  # (never back into pytest from a fork)
            os._exit(0)
    os.close(write)
    os.waitpid(middle, 0)
    with os.fdopen(read, "rb") as f:
        lines = f.read().split()
    assert lines and lines[0].isdigit(), lines
    pid = int(lines[0])
    assert b"survived" not in lines
    assert _stops_within(pid)


def test_no_hook_where_prctl_is_not_there(monkeypatch):
    """Not Linux (macOS, the BSDs): the command starts as before, with nothing run between fork and exec."""
    monkeypatch.setattr(sys, "platform", "darwin")
    assert command_run.dies_with_parent() is None


def test_a_sigquit_to_monitor_is_sent_on_to_the_command():
    """Ctrl-\\ (SIGQUIT to monitor, the terminal's foreground job) ended monitor at once, leaving the command."""
    child = ("import os, signal, sys, time\n"
             "signal.signal(signal.SIGQUIT, lambda s, f: (print('got SIGQUIT', flush=True), sys.exit(4)))\n"
             "print(os.getpid(), flush=True); time.sleep(20)\n")
    proc, pid = _monitor_with(child)
    try:
        os.kill(proc.pid, signal.SIGQUIT)
        proc.wait(timeout=15)
        stdout, stderr = proc.communicate(timeout=5)
    finally:
        proc.kill()
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    err = stderr.decode()
    assert proc.returncode == 4, err
    assert stdout == b"got SIGQUIT\n" and "exit status 4 (sent SIGQUIT)" in err, err


def test_a_number_after_a_given_duration_is_named_as_taken_for_the_command(capsys):
    """``monitor --duration 3 1.5`` suggested '--duration 1.5', though --duration 3 was given."""
    assert main(["monitor", "--source", "synthetic", "--duration", "3", "1.5"]) == 2
    err = capsys.readouterr().err
    assert "1.5: no such command (not on PATH)" in err, err
    assert "--duration 1.5" not in err, err
    assert "taken as the command" in err and "--duration 3" in err and " -- " in err, err
